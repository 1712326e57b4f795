import { getAddress } from "viem";
import { z } from "zod";
import type { PrismaClient } from "../database/client.ts";
import { cursorPart, decodeCursor, encodeCursor, pageQuerySchema } from "../http/pagination.ts";
import { defineRoute, type RouteDeclaration } from "../http/route.ts";
import { listCollections } from "../indexer/reads.ts";

/** The sort key after which the next page starts: (created block, address). */
const cursorSchema = z.tuple([cursorPart.blockNumber, cursorPart.address]);

export const collectionSchema = z
  .object({
    chainId: z.number().int(),
    address: z.string().describe("EIP-55 checksummed"),
    owner: z.string().describe("the partner who owns the collection"),
    contractUri: z.string(),
    createdBlock: z.string().describe("decimal block number"),
    createdTx: z.string(),
  })
  .meta({ id: "Collection" });

export const collectionPageSchema = z
  .object({ items: z.array(collectionSchema), nextCursor: z.string().nullable() })
  .meta({ id: "CollectionPage" });

export function collectionsRoutes(deps: { prisma: PrismaClient; chainId: number }): RouteDeclaration[] {
  const list = defineRoute({
    method: "get",
    path: "/v1/collections",
    summary: "Collections discovered by the indexer, oldest first (by creation block, then address)",
    role: "public",
    query: pageQuerySchema,
    responses: { 200: { description: "A page of collections", schema: collectionPageSchema } },
    async handler({ query }) {
      const after = decodeCursor(query.cursor, cursorSchema);
      const rows = await listCollections(deps.prisma, deps.chainId, {
        limit: query.limit + 1,
        ...(after ? { after: { createdBlock: after[0], address: after[1] } } : {}),
      });
      const page = rows.slice(0, query.limit);
      const last = page.at(-1);
      return {
        body: {
          items: page.map((c) => ({
            chainId: deps.chainId,
            address: getAddress(c.address),
            owner: getAddress(c.owner),
            contractUri: c.contractUri,
            createdBlock: c.createdBlock.toString(),
            createdTx: c.createdTx,
          })),
          nextCursor:
            rows.length > query.limit && last ? encodeCursor([last.createdBlock.toString(), last.address]) : null,
        },
      };
    },
  });
  return [list];
}
