// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title EtherReceiverMock
/// @notice TEST ONLY. A payout recipient that accepts ether, rejects it, or re-enters a target when paid. It can
///         also send any call (e.g. to withdraw what it is owed to another address).
contract EtherReceiverMock {
    enum Mode {
        Accept,
        Reject,
        Reenter
    }

    Mode public mode;
    address public target;
    bytes public reentry;
    bool public reentrySucceeded;
    bytes public reentryResult;

    function configure(Mode mode_, address target_, bytes calldata reentry_) external {
        mode = mode_;
        target = target_;
        reentry = reentry_;
    }

    /// @notice Sends `data` to `to`, bubbling up a revert.
    function execute(address to, bytes calldata data) external returns (bytes memory) {
        (bool ok, bytes memory result) = to.call(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 0x20), mload(result))
            }
        }
        return result;
    }

    receive() external payable {
        if (mode == Mode.Reject) revert("EtherReceiverMock: rejected");
        if (mode == Mode.Reenter) {
            mode = Mode.Accept; // once
            (reentrySucceeded, reentryResult) = target.call(reentry);
        }
    }
}

/// @title ForceSend
/// @notice TEST ONLY. Sends its value to `to` without calling it (SELFDESTRUCT in the creating transaction).
contract ForceSend {
    constructor(address payable to) payable {
        selfdestruct(to);
    }
}
