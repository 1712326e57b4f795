// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {IERC1155MetadataURI} from "@openzeppelin/contracts/token/ERC1155/extensions/IERC1155MetadataURI.sol";
import {ERC1155Utils} from "@openzeppelin/contracts/token/ERC1155/utils/ERC1155Utils.sol";
import {IERC1155Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {ERC165, IERC165} from "@openzeppelin/contracts/utils/introspection/ERC165.sol";

/// @title PackedERC1155
/// @author Perkmint
/// @notice A minimal ERC-1155 whose balance word also carries per-holder counters.
/// @dev Why not OpenZeppelin's ERC1155: a limited-edition mint must read and write the holder's per-phase mint count
///      on every mint, and a separate storage slot for it costs a cold SSTORE (22,100 gas for a new holder, 5,000
///      otherwise). Here each `(id, account)` word holds the token balance in its low 32 bits and seven 32-bit
///      counters above it (see {Collection}), so one SSTORE updates both. Balances fit in 32 bits because the
///      derived contract caps every id's total supply below 2^32 (a uint32 max supply). Errors, events, acceptance checks
///      and approval rules are OpenZeppelin's (IERC1155Errors, ERC1155Utils), so behaviour matches OZ 5.7's ERC1155,
///      down to which event a batch of one id emits (test/contracts/tokens.test.ts compares the two).
abstract contract PackedERC1155 is ERC165, IERC1155, IERC1155MetadataURI, IERC1155Errors {
    /// @dev Low 32 bits of a packed word: the token balance.
    uint256 internal constant BALANCE_MASK = 0xffffffff;

    /// @dev id => account => packed word (balance in bits 0..31; the derived contract owns bits 32..255).
    mapping(uint256 id => mapping(address account => uint256 packed)) internal _packed;
    mapping(address account => mapping(address operator => bool)) private _operatorApprovals;

    /// @inheritdoc IERC165
    function supportsInterface(bytes4 interfaceId) public view virtual override(ERC165, IERC165) returns (bool) {
        return
            interfaceId == type(IERC1155).interfaceId ||
            interfaceId == type(IERC1155MetadataURI).interfaceId ||
            super.supportsInterface(interfaceId);
    }

    /// @inheritdoc IERC1155
    function balanceOf(address account, uint256 id) public view returns (uint256) {
        return _packed[id][account] & BALANCE_MASK;
    }

    /// @inheritdoc IERC1155
    function balanceOfBatch(
        address[] calldata accounts,
        uint256[] calldata ids
    ) external view returns (uint256[] memory balances) {
        if (accounts.length != ids.length) revert ERC1155InvalidArrayLength(ids.length, accounts.length);
        balances = new uint256[](accounts.length);
        for (uint256 i; i < accounts.length; ++i) {
            balances[i] = _packed[ids[i]][accounts[i]] & BALANCE_MASK;
        }
    }

    /// @inheritdoc IERC1155
    function setApprovalForAll(address operator, bool approved) external {
        if (operator == address(0)) revert ERC1155InvalidOperator(address(0));
        _operatorApprovals[msg.sender][operator] = approved;
        emit ApprovalForAll(msg.sender, operator, approved);
    }

    /// @inheritdoc IERC1155
    function isApprovedForAll(address account, address operator) public view returns (bool) {
        return _operatorApprovals[account][operator];
    }

    /// @inheritdoc IERC1155
    function safeTransferFrom(address from, address to, uint256 id, uint256 value, bytes calldata data) external {
        _checkOperator(from);
        if (to == address(0)) revert ERC1155InvalidReceiver(address(0));
        _checkTransferable(id);
        _move(from, to, id, value);
        emit TransferSingle(msg.sender, from, to, id, value);
        ERC1155Utils.checkOnERC1155Received(msg.sender, from, to, id, value, data);
    }

    /// @inheritdoc IERC1155
    function safeBatchTransferFrom(
        address from,
        address to,
        uint256[] calldata ids,
        uint256[] calldata values,
        bytes calldata data
    ) external {
        _checkOperator(from);
        if (to == address(0)) revert ERC1155InvalidReceiver(address(0));
        if (ids.length != values.length) revert ERC1155InvalidArrayLength(ids.length, values.length);
        for (uint256 i; i < ids.length; ++i) {
            _checkTransferable(ids[i]);
            _move(from, to, ids[i], values[i]);
        }
        // As OpenZeppelin 5's ERC1155._update: a batch of one id is announced as a TransferSingle (the receiver's
        // batch hook is still the one called, as OpenZeppelin's safeBatchTransferFrom does).
        if (ids.length == 1) emit TransferSingle(msg.sender, from, to, ids[0], values[0]);
        else emit TransferBatch(msg.sender, from, to, ids, values);
        ERC1155Utils.checkOnERC1155BatchReceived(msg.sender, from, to, ids, values, data);
    }

    /// @notice The metadata URI of token `id` (ERC-1155 metadata extension).
    /// @param id Token id.
    function uri(uint256 id) public view virtual returns (string memory);

    /// @dev Reverts unless tokens of `id` may move between two holders (e.g. not soulbound).
    function _checkTransferable(uint256 id) internal view virtual;

    /// @dev Reverts unless the caller is `from` or an approved operator of `from`.
    function _checkOperator(address from) internal view {
        if (from != msg.sender && !_operatorApprovals[from][msg.sender]) {
            revert ERC1155MissingApprovalForAll(msg.sender, from);
        }
    }

    /// @dev Moves `value` of `id` from `from` to `to`, touching only the balance bits of both words.
    function _move(address from, address to, uint256 id, uint256 value) private {
        if (from == address(0)) revert ERC1155InvalidSender(address(0));
        mapping(address => uint256) storage balances = _packed[id];
        uint256 fromWord = balances[from];
        uint256 fromBalance = fromWord & BALANCE_MASK;
        if (value > fromBalance) revert ERC1155InsufficientBalance(from, fromBalance, value, id);
        unchecked {
            // value <= fromBalance < 2^32, and the receiver's balance plus value is at most the id's supply (< 2^32):
            // neither word's balance bits can borrow from or carry into the counters above them.
            balances[from] = fromWord - value;
            balances[to] += value;
        }
    }

    /// @dev Burns `value` of `id` held by `from`; the caller emits the event after any bookkeeping of its own.
    function _burnBalance(address from, uint256 id, uint256 value) internal {
        mapping(address => uint256) storage balances = _packed[id];
        uint256 word = balances[from];
        uint256 balance = word & BALANCE_MASK;
        if (value > balance) revert ERC1155InsufficientBalance(from, balance, value, id);
        unchecked {
            balances[from] = word - value;
        }
    }
}
