// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC1155Receiver} from "@openzeppelin/contracts/token/ERC1155/IERC1155Receiver.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";

/// @title ERC1155ReceiverMock
/// @notice TEST ONLY. A contract holder whose receive hook accepts, rejects, reverts, or calls back into a target
///         (to test re-entrancy through ERC-1155 acceptance checks). It can also act as a helper that sends any
///         call, e.g. a mint paid by the helper for some recipient.
contract ERC1155ReceiverMock is IERC1155Receiver {
    enum Mode {
        Accept,
        WrongMagic,
        Revert,
        Reenter
    }

    Mode public mode;
    address public target;
    bytes public reentry;
    uint256 public reentryValue;
    /// @notice Whether the last re-entrant call succeeded, and its return or revert data.
    bool public reentrySucceeded;
    bytes public reentryResult;
    /// @notice How many times each acceptance hook was called.
    uint256 public singleHookCalls;
    uint256 public batchHookCalls;

    error Rejected();

    function configure(Mode mode_, address target_, bytes calldata reentry_, uint256 reentryValue_) external {
        mode = mode_;
        target = target_;
        reentry = reentry_;
        reentryValue = reentryValue_;
    }

    /// @notice Sends `data` with `value` to `to`, bubbling up a revert.
    function execute(address to, bytes calldata data, uint256 value) external payable returns (bytes memory) {
        (bool ok, bytes memory result) = to.call{value: value}(data);
        if (!ok) {
            // Re-raises the callee's revert data unchanged, which Solidity cannot do.
            // solhint-disable-next-line no-inline-assembly
            assembly ("memory-safe") {
                revert(add(result, 0x20), mload(result))
            }
        }
        return result;
    }

    function onERC1155Received(address, address, uint256, uint256, bytes calldata) external returns (bytes4) {
        ++singleHookCalls;
        return _respond(IERC1155Receiver.onERC1155Received.selector);
    }

    function onERC1155BatchReceived(
        address,
        address,
        uint256[] calldata,
        uint256[] calldata,
        bytes calldata
    ) external returns (bytes4) {
        ++batchHookCalls;
        return _respond(IERC1155Receiver.onERC1155BatchReceived.selector);
    }

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == type(IERC1155Receiver).interfaceId || interfaceId == type(IERC165).interfaceId;
    }

    receive() external payable {}

    function _respond(bytes4 magic) private returns (bytes4) {
        if (mode == Mode.WrongMagic) return 0xdeadbeef;
        if (mode == Mode.Revert) revert Rejected();
        if (mode == Mode.Reenter) {
            mode = Mode.Accept; // once
            (reentrySucceeded, reentryResult) = target.call{value: reentryValue}(reentry);
        }
        return magic;
    }
}
