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

    /// @notice Payment refused (mode Reject).
    error Rejected();

    function configure(Mode mode_, address target_, bytes calldata reentry_) external {
        mode = mode_;
        target = target_;
        reentry = reentry_;
    }

    /// @notice Sends `data` to `to`, bubbling up a revert.
    function execute(address to, bytes calldata data) external returns (bytes memory) {
        // The mock's purpose: send an arbitrary call as this contract.
        // solhint-disable-next-line avoid-low-level-calls
        (bool ok, bytes memory result) = to.call(data);
        if (!ok) {
            // Re-raises the callee's revert data unchanged, which Solidity cannot do.
            // solhint-disable-next-line no-inline-assembly
            assembly ("memory-safe") {
                revert(add(result, 0x20), mload(result))
            }
        }
        return result;
    }

    // Rejecting or re-entering when paid is what this mock tests.
    // solhint-disable-next-line no-complex-fallback
    receive() external payable {
        if (mode == Mode.Reject) revert Rejected();
        if (mode == Mode.Reenter) {
            mode = Mode.Accept; // once
            // The re-entrant call under test, any target and data.
            // solhint-disable-next-line avoid-low-level-calls
            (reentrySucceeded, reentryResult) = target.call(reentry);
        }
    }
}
