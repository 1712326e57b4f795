// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC1155Upgradeable} from "@openzeppelin/contracts-upgradeable/token/ERC1155/ERC1155Upgradeable.sol";
import {OwnableUpgradeable} from "@openzeppelin/contracts-upgradeable/access/OwnableUpgradeable.sol";

/// @title Collection
/// @notice One IP partner's ERC-1155 collection. Deployed as an ERC-1167 clone by {EditionFactory} and initialised
///         once. Each token id is an edition with a hard max supply and a price in the native currency.
contract Collection is ERC1155Upgradeable, OwnableUpgradeable {
    struct Edition {
        uint128 price;
        uint64 maxSupply;
        uint64 minted;
    }

    /// @notice Collection-level metadata (ERC-7572 style `contractURI`).
    string public contractURI;
    /// @notice Number of editions created; edition ids run from 1 to `editionCount`.
    uint256 public editionCount;
    mapping(uint256 id => Edition) internal _editions;

    /// @notice Emitted when the owner creates an edition.
    event EditionCreated(uint256 indexed id, uint256 maxSupply, uint256 price);

    error UnknownEdition(uint256 id);
    error InvalidMaxSupply(uint256 maxSupply);
    error ZeroQuantity();
    error ExceedsMaxSupply(uint256 id, uint256 maxSupply, uint256 minted, uint256 requested);
    error WrongPayment(uint256 expected, uint256 paid);

    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor() {
        _disableInitializers();
    }

    /// @notice Initialises a fresh clone. Callable once.
    /// @param owner_ The partner who owns the collection.
    /// @param contractURI_ Collection metadata URI.
    /// @param baseURI_ ERC-1155 metadata URI template (`{id}` substitution).
    function initialize(address owner_, string calldata contractURI_, string calldata baseURI_) external initializer {
        __ERC1155_init(baseURI_);
        __Ownable_init(owner_);
        contractURI = contractURI_;
    }

    /// @notice Creates an edition with a hard max supply and a unit price (wei).
    /// @return id The new edition's token id.
    function createEdition(uint64 maxSupply, uint128 price) external onlyOwner returns (uint256 id) {
        if (maxSupply == 0) revert InvalidMaxSupply(maxSupply);
        id = ++editionCount;
        _editions[id] = Edition({price: price, maxSupply: maxSupply, minted: 0});
        emit EditionCreated(id, maxSupply, price);
    }

    /// @notice Mints `quantity` of edition `id` to `to`, paying exactly `price * quantity`.
    function mint(address to, uint256 id, uint256 quantity) external payable {
        Edition storage e = _editions[id];
        uint256 maxSupply = e.maxSupply;
        if (maxSupply == 0) revert UnknownEdition(id);
        if (quantity == 0) revert ZeroQuantity();
        uint256 minted = e.minted;
        if (minted + quantity > maxSupply) revert ExceedsMaxSupply(id, maxSupply, minted, quantity);
        uint256 expected = uint256(e.price) * quantity;
        if (msg.value != expected) revert WrongPayment(expected, msg.value);
        e.minted = uint64(minted + quantity);
        _mint(to, id, quantity, "");
    }

    /// @notice An edition's price, max supply and minted count.
    function edition(uint256 id) external view returns (Edition memory) {
        return _editions[id];
    }
}
