// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";

/// @title BenchToken
/// @notice TEST ONLY. An ERC-1155 where anyone mints, burns and moves anyone's tokens, so one transaction can emit
///         many transfer events. Used by the indexer's benchmark and its reorg, crash and fault tests. Never deploy it
///         anywhere that matters.
contract BenchToken is ERC1155 {
    /// @notice One token movement: a mint when `from` is zero, a burn when `to` is zero, else a transfer.
    struct Op {
        address from;
        address to;
        uint256 id;
        uint256 amount;
    }

    constructor() ERC1155("bench://{id}") {}

    /// @notice Applies `ops` in order; each emits one TransferSingle.
    function run(Op[] calldata ops) external {
        for (uint256 i; i < ops.length; ++i) {
            Op calldata op = ops[i];
            if (op.from == address(0)) _mint(op.to, op.id, op.amount, "");
            else if (op.to == address(0)) _burn(op.from, op.id, op.amount);
            else _safeTransferFrom(op.from, op.to, op.id, op.amount, "");
        }
    }

    /// @notice Mints several ids at once to each recipient: one TransferBatch per recipient.
    function mintBatches(address[] calldata to, uint256[] calldata ids, uint256[] calldata amounts) external {
        for (uint256 i; i < to.length; ++i) _mintBatch(to[i], ids, amounts, "");
    }

    /// @notice Moves several ids at once from `from` to `to`: one TransferBatch.
    function moveBatch(address from, address to, uint256[] calldata ids, uint256[] calldata amounts) external {
        _safeBatchTransferFrom(from, to, ids, amounts, "");
    }

    /// @notice Emits URI for `id`, as a metadata update would.
    function setURI(uint256 id, string calldata value) external {
        emit URI(value, id);
    }
}
