// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {Collection} from "./Collection.sol";

/// @title EditionFactory
/// @notice Deploys each partner's {Collection} as a cheap ERC-1167 clone of one implementation.
contract EditionFactory {
    /// @notice The {Collection} implementation every clone delegates to.
    address public immutable implementation;

    /// @notice Emitted for every new collection; the indexer discovers collections from this event.
    event CollectionCreated(address indexed collection, address indexed owner, string contractURI);

    constructor(address implementation_) {
        implementation = implementation_;
    }

    /// @notice Creates a collection owned by the caller.
    /// @return collection The new collection's address.
    function createCollection(string calldata contractURI_, string calldata baseURI_)
        external
        returns (address collection)
    {
        collection = Clones.clone(implementation);
        Collection(collection).initialize(msg.sender, contractURI_, baseURI_);
        emit CollectionCreated(collection, msg.sender, contractURI_);
    }
}
