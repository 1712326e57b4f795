import type { PrismaClient } from "../database/client.ts";

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

export type Holding = { collection: string; tokenId: bigint; amount: bigint };

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

/**
 * A wallet's non-zero balances ordered by (collection, tokenId), with the indexed block they are valid at;
 * both read in one repeatable-read snapshot so the block and the balances agree.
 */
export async function getHoldings(
  prisma: PrismaClient,
  chainId: number,
  owner: string,
  page: { limit: number; after?: { collection: string; tokenId: bigint } },
): Promise<{ asOfBlock: bigint | null; holdings: Holding[] }> {
  const { after } = page;
  const [checkpoint, rows] = await prisma.$transaction(
    [
      prisma.indexerCheckpoint.findUnique({ where: { chainId } }),
      prisma.tokenBalance.findMany({
        where: {
          chainId,
          owner: owner.toLowerCase(),
          amount: { gt: 0 },
          ...(after
            ? {
                OR: [
                  { collection: { gt: after.collection } },
                  { collection: after.collection, tokenId: { gt: after.tokenId.toString() } },
                ],
              }
            : {}),
        },
        orderBy: [{ collection: "asc" }, { tokenId: "asc" }],
        take: page.limit,
      }),
    ],
    { isolationLevel: "RepeatableRead" },
  );
  return {
    asOfBlock: checkpoint?.blockNumber ?? null,
    holdings: rows.map((r) => ({ collection: r.collection, tokenId: BigInt(r.tokenId.toFixed(0)), amount: BigInt(r.amount.toFixed(0)) })),
  };
}
