import { getAddress } from "viem";
import { z } from "zod";
import type { PrismaClient } from "../database/client.ts";
import { cursorPart, decodeCursor, encodeCursor, pageQuerySchema } from "../http/pagination.ts";
import { defineRoute, type RouteDeclaration } from "../http/route.ts";
import { addressSchema } from "../http/schemas.ts";
import { getHoldings } from "../indexer/reads.ts";

/** The sort key after which the next page starts: (collection, token id). */
const cursorSchema = z.tuple([cursorPart.address, cursorPart.uint256]);

export const holdingSchema = z
  .object({
    collection: z.string().describe("EIP-55 checksummed collection address"),
    tokenId: z.string().describe("edition token id, decimal"),
    amount: z.string().describe("balance, decimal"),
  })
  .meta({ id: "Holding" });

export const holdingPageSchema = z
  .object({
    address: z.string(),
    asOfBlock: z.string().nullable().describe("the indexed block these balances are at (null before the first batch)"),
    items: z.array(holdingSchema),
    nextCursor: z.string().nullable(),
  })
  .meta({ id: "HoldingPage" });

export const walletParamsSchema = z.object({
  address: addressSchema.describe("all lower or all upper case, or mixed case with a valid EIP-55 checksum"),
});

export function walletsRoutes(deps: { prisma: PrismaClient; chainId: number }): RouteDeclaration[] {
  const holdings = defineRoute({
    method: "get",
    path: "/v1/wallets/{address}/holdings",
    summary: "A wallet's non-zero ERC-1155 balances across Perkmint collections, ordered by (collection, tokenId)",
    role: "public",
    params: walletParamsSchema,
    query: pageQuerySchema,
    responses: {
      200: { description: "A page of holdings as of the indexed block `asOfBlock`", schema: holdingPageSchema },
    },
    async handler({ params, query }) {
      const after = decodeCursor(query.cursor, cursorSchema);
      const { asOfBlock, holdings } = await getHoldings(deps.prisma, deps.chainId, params.address, {
        limit: query.limit + 1,
        ...(after ? { after: { collection: after[0], tokenId: after[1] } } : {}),
      });
      const page = holdings.slice(0, query.limit);
      const last = page.at(-1);
      return {
        body: {
          address: params.address,
          asOfBlock: asOfBlock?.toString() ?? null,
          items: page.map((h) => ({
            collection: getAddress(h.collection),
            tokenId: h.tokenId.toString(),
            amount: h.amount.toString(),
          })),
          nextCursor:
            holdings.length > query.limit && last ? encodeCursor([last.collection, last.tokenId.toString()]) : null,
        },
      };
    },
  });
  return [holdings];
}
