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

export async function getIndexedBlock(prisma: PrismaClient, chainId: number): Promise<bigint | null> {
  const checkpoint = await prisma.indexerCheckpoint.findUnique({ where: { chainId } });
  return checkpoint?.blockNumber ?? null;
}

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
  const indexed = await getIndexedBlock(prisma, chainId);
  if (indexed === null || query.blockNumber > indexed) return null;
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

/** Holders of an edition ordered by owner address, starting after `after`. */
export async function listHolders(
  prisma: PrismaClient,
  chainId: number,
  query: { collection: string; tokenId: bigint },
  page: { limit: number; after?: string },
): Promise<{ owner: string; amount: bigint; heldSinceBlock: bigint | null }[]> {
  const rows = await prisma.tokenBalance.findMany({
    where: {
      chainId,
      collection: lower(query.collection),
      tokenId: query.tokenId.toString(),
      amount: { gt: 0 },
      ...(page.after ? { owner: { gt: lower(page.after) } } : {}),
    },
    orderBy: { owner: "asc" },
    take: page.limit,
  });
  return rows.map((r) => ({ owner: r.owner, amount: BigInt(r.amount.toFixed(0)), heldSinceBlock: r.heldSinceBlock }));
}

export type Activity = {
  blockNumber: bigint;
  blockTime: Date;
  txHash: string;
  logIndex: number;
  batchIndex: number;
  collection: string;
  tokenId: bigint;
  from: string;
  to: string;
  amount: bigint;
};

/** A wallet's transfers (in and out), newest first, starting before `before` (block, log index, batch index). */
export async function getActivity(
  prisma: PrismaClient,
  chainId: number,
  owner: string,
  page: { limit: number; before?: { blockNumber: bigint; logIndex: number; batchIndex: number } },
): Promise<Activity[]> {
  const o = lower(owner);
  const b = page.before;
  // token_transfer is a view over the raw events (one row per (log, id)); the wallet's side is found through the
  // indexed sender and recipient columns of chain_event.
  const rows = await prisma.$queryRaw<
    {
      block_number: bigint;
      block_time: Date;
      tx_hash: string;
      log_index: number;
      batch_index: number;
      collection: string;
      token_id: string;
      from_address: string;
      to_address: string;
      amount: string;
    }[]
  >`
    SELECT block_number, block_time, tx_hash, log_index, batch_index, collection, token_id::text, from_address, to_address, amount::text
    FROM token_transfer
    WHERE chain_id = ${chainId} AND (${walletSide("from_address", o)} OR ${walletSide("to_address", o)})
      AND (${b === undefined}
           OR (block_number, log_index, batch_index) < (${b?.blockNumber ?? 0n}::bigint, ${b?.logIndex ?? 0}::int, ${b?.batchIndex ?? 0}::int))
    ORDER BY block_number DESC, log_index DESC, batch_index DESC
    LIMIT ${page.limit}`;
  return rows.map((r) => ({
    blockNumber: BigInt(r.block_number),
    blockTime: r.block_time,
    txHash: r.tx_hash,
    logIndex: r.log_index,
    batchIndex: r.batch_index,
    collection: r.collection,
    tokenId: BigInt(r.token_id),
    from: r.from_address,
    to: r.to_address,
    amount: BigInt(r.amount),
  }));
}
