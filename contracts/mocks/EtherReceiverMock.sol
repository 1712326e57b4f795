// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title EtherReceiverMock
/// @notice TEST ONLY. A payout recipient that accepts ether, rejects it, or re-enters a target when paid.
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
