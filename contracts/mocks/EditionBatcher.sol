// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Collection} from "../Collection.sol";
import {ICollectionTypes} from "../interfaces/ICollection.sol";

/// @title EditionBatcher
/// @notice TEST ONLY. An edition admin (grant it EDITION_ADMIN_ROLE) that creates many small editions per
///         transaction, so tests can build collections with more editions than one transaction could loop over.
contract EditionBatcher {
    /// @notice Creates `count` editions of `collection`: max supply 1,000, a free public phase 0 that never ends.
    function createEditions(Collection collection, uint256 count) external {
        ICollectionTypes.EditionSettings memory settings = ICollectionTypes.EditionSettings(
            1_000,
            0,
            false,
            false,
            address(0),
            0,
            ""
        );
        ICollectionTypes.Phase[] memory phases = new ICollectionTypes.Phase[](1);
        phases[0] = ICollectionTypes.Phase(0, type(uint32).max, 0, 0, bytes32(0));
        for (uint256 i; i < count; ++i) {
            collection.createEdition(settings, phases);
        }
    }
}
