import { Router } from "express";
import { getAddress } from "viem";
import { z } from "zod";
import type { PrismaClient } from "../database/client.ts";
import { problemResponses, type OpenAPIRegistry } from "../http/openapi.ts";
import { cursorPart, decodeCursor, encodeCursor, pageQuerySchema } from "../http/pagination.ts";
import { parseInput } from "../http/problem.ts";
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
  .openapi("Holding");

export function describeWalletsRoutes(registry: OpenAPIRegistry) {
  registry.registerPath({
    method: "get",
    path: "/v1/wallets/{address}/holdings",
    summary: "A wallet's non-zero ERC-1155 balances across Perkmint collections, ordered by (collection, tokenId)",
    "x-required-role": "public",
    request: { params: z.object({ address: z.string().describe("all lower or all upper case, or mixed case with a valid EIP-55 checksum") }), query: pageQuerySchema },
    responses: {
      200: {
        description: "A page of holdings as of the indexed block `asOfBlock`",
        content: {
          "application/json": {
            schema: z.object({
              address: z.string(),
              asOfBlock: z.string().nullable(),
              items: z.array(holdingSchema),
              nextCursor: z.string().nullable(),
            }),
          },
        },
      },
      ...problemResponses(400),
    },
  });
}

/**
 * GET /v1/wallets/:address/holdings: the wallet's non-zero ERC-1155 balances across Perkmint collections,
 * ordered by (collection, tokenId), as of the indexed block `asOfBlock`.
 */
export function walletsRouter(deps: { prisma: PrismaClient; chainId: number }) {
  const router = Router();
  router.get("/v1/wallets/:address/holdings", async (req, res) => {
    const { address } = parseInput(z.object({ address: addressSchema }), req.params, "path");
    const query = parseInput(pageQuerySchema, req.query, "query");
    const after = decodeCursor(query.cursor, cursorSchema);
    const { asOfBlock, holdings } = await getHoldings(deps.prisma, deps.chainId, address, {
      limit: query.limit + 1,
      ...(after ? { after: { collection: after[0], tokenId: after[1] } } : {}),
    });
    const page = holdings.slice(0, query.limit);
    const last = page.at(-1);
    res.json({
      address,
      asOfBlock: asOfBlock?.toString() ?? null,
      items: page.map((h) => ({
        collection: getAddress(h.collection),
        tokenId: h.tokenId.toString(),
        amount: h.amount.toString(),
      })),
      nextCursor: holdings.length > query.limit && last ? encodeCursor([last.collection, last.tokenId.toString()]) : null,
    });
  });
  return router;
}
