// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ForceSend
/// @notice TEST ONLY. Sends its value to `to` without calling it (SELFDESTRUCT in the creating transaction).
contract ForceSend {
    constructor(address payable to) payable {
        selfdestruct(to);
    }
}
