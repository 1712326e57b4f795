import type { PrismaClient } from "../database/client.ts";
import { Prisma } from "../generated/prisma/client.ts";
import { ZERO_ADDRESS } from "./store.ts";

/**
 * Read side of the indexer's tables. Other modules read ownership only through these functions, and every answer
 * carries the block it was computed at.
 */

export type CollectionSummary = {
  address: string;
  owner: string;
  contractUri: string;
  createdBlock: bigint;
  createdTx: string;
};

/** Collections ordered by (createdBlock, address), starting after `after`. */
export async function listCollections(
  prisma: PrismaClient,
  chainId: number,
  page: { limit: number; after?: { createdBlock: bigint; address: string } },
): Promise<CollectionSummary[]> {
  const { after } = page;
  const rows = await prisma.collection.findMany({
    where: {
      chainId,
      ...(after
        ? {
            OR: [
              { createdBlock: { gt: after.createdBlock } },
              { createdBlock: after.createdBlock, address: { gt: after.address } },
            ],
          }
        : {}),
    },
    orderBy: [{ createdBlock: "asc" }, { address: "asc" }],
    take: page.limit,
  });
  return rows.map((r) => ({
    address: r.address,
    owner: r.owner,
    contractUri: r.contractUri,
    createdBlock: r.createdBlock,
    createdTx: r.createdTx,
  }));
}

/** The checkpoint with its block's time and when it last moved (for /health's lag in seconds and stall detection). */
export async function getIndexerProgress(
  prisma: PrismaClient,
  chainId: number,
): Promise<{ blockNumber: bigint; blockTime: Date | null; updatedAt: Date } | null> {
  const checkpoint = await prisma.indexerCheckpoint.findUnique({ where: { chainId } });
  if (!checkpoint) return null;
  const block = await prisma.indexedBlock.findUnique({
    where: { chainId_number: { chainId, number: checkpoint.blockNumber } },
  });
  return { blockNumber: checkpoint.blockNumber, blockTime: block?.timestamp ?? null, updatedAt: checkpoint.updatedAt };
}

const lower = (a: string) => a.toLowerCase();

/**
 * The per-wallet indexes of chain_event leave out the zero address (see its migration). A read for a real wallet
 * says so in the same words as the index, a constant the planner can match, so the index applies; a read for the
 * zero address itself (every mint and burn) scans instead.
 */
const walletSide = (column: "from_address" | "to_address", owner: string) =>
  owner === ZERO_ADDRESS
    ? Prisma.sql`${Prisma.raw(column)} = ${owner}`
    : Prisma.sql`(${Prisma.raw(column)} = ${owner} AND ${Prisma.raw(column)} <> ${Prisma.raw(`'${ZERO_ADDRESS}'`)})`;

/**
 * A wallet's balance of one edition as of the end of `blockNumber` (any past block still on the indexed branch),
 * summed from the transfers up to it. Null when the block is not indexed yet.
 */
export async function getBalanceAt(
  prisma: PrismaClient,
  chainId: number,
  query: { owner: string; collection: string; tokenId: bigint; blockNumber: bigint },
): Promise<bigint | null> {
  const checkpoint = await prisma.indexerCheckpoint.findUnique({ where: { chainId } });
  if (!checkpoint || query.blockNumber > checkpoint.blockNumber) return null;
  const owner = lower(query.owner);
  const rows = await prisma.$queryRaw<{ amount: string }[]>`
    SELECT (coalesce((SELECT sum(amount) FROM token_transfer WHERE chain_id = ${chainId} AND ${walletSide("to_address", owner)}
                        AND collection = ${lower(query.collection)} AND token_id = ${query.tokenId.toString()}::numeric
                        AND block_number <= ${query.blockNumber} AND from_address <> to_address), 0)
          - coalesce((SELECT sum(amount) FROM token_transfer WHERE chain_id = ${chainId} AND ${walletSide("from_address", owner)}
                        AND collection = ${lower(query.collection)} AND token_id = ${query.tokenId.toString()}::numeric
                        AND block_number <= ${query.blockNumber} AND from_address <> to_address), 0))::text AS amount`;
  return BigInt(rows[0]!.amount);
}

export type HeldSince = { amount: bigint; sinceBlock: bigint; since: Date } | null;

/** Since when `owner` has continuously held a positive balance of the edition (perks: "held for N days"). */
export async function getHeldSince(
  prisma: PrismaClient,
  chainId: number,
  query: { owner: string; collection: string; tokenId: bigint },
): Promise<HeldSince> {
  const row = await prisma.tokenBalance.findUnique({
    where: {
      chainId_collection_tokenId_owner: {
        chainId,
        collection: lower(query.collection),
        tokenId: query.tokenId.toString(),
        owner: lower(query.owner),
      },
    },
  });
  if (!row || row.heldSinceBlock === null || row.heldSinceTime === null) return null;
  return { amount: BigInt(row.amount.toFixed(0)), sinceBlock: row.heldSinceBlock, since: row.heldSinceTime };
}

export type EditionSupply = { minted: bigint; burned: bigint; supply: bigint; holders: number };

export async function getEditionSupply(
  prisma: PrismaClient,
  chainId: number,
  query: { collection: string; tokenId: bigint },
): Promise<EditionSupply | null> {
  const row = await prisma.tokenSupply.findUnique({
    where: {
      chainId_collection_tokenId: { chainId, collection: lower(query.collection), tokenId: query.tokenId.toString() },
    },
  });
  if (!row) return null;
  return {
    minted: BigInt(row.minted.toFixed(0)),
    burned: BigInt(row.burned.toFixed(0)),
    supply: BigInt(row.supply.toFixed(0)),
    holders: row.holders,
  };
}
