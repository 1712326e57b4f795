// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice Deliberately failing (see ../README.md): a failing Solidity test must make the test runner exit non-zero.
contract FailingGateTest {
    function test_deliberatelyFails() external pure {
        require(1 + 1 == 3, "deliberate failure");
    }
}
