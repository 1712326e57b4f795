import { z } from "zod";
import { limitSchema, pageQuerySchema, queryValue } from "../http/pagination.ts";
import { defineRoute, type RouteDeclaration } from "../http/route.ts";
import { addressSchema, uintStringSchema } from "../http/schemas.ts";
import { getCollection, getEdition, listDrops, listEditions } from "./editions.ts";
import type { CatalogDeps } from "./editions.ts";
import {
  getHoldings,
  listCollectionActivity,
  listEditionActivity,
  listEditionHolders,
  listWalletActivity,
} from "./ownership.ts";
import {
  activityListSchema,
  collectionAnswerSchema,
  editionAnswerSchema,
  editionListSchema,
  holderListSchema,
  holdingListSchema,
} from "./schemas.ts";

/**
 * The public read side of the catalog (server/catalog): collections, editions, drops, holders, holdings and
 * activity. Each handler is one call of a catalog function; the functions' typed errors (CatalogError) are problems
 * already (404 unknown, 400 bad cursor, 422 a block outside the index).
 */

const collectionParams = z.object({
  address: addressSchema.describe("the collection's address (any case; mixed case checksummed)"),
});
const editionParams = collectionParams.extend({
  tokenId: uintStringSchema.describe("the edition's token id, decimal"),
});
const walletParams = z.object({
  address: addressSchema.describe("the wallet's address (any case; mixed case checksummed)"),
});

const page = (query: { limit: number; cursor?: string }) => ({
  limit: query.limit,
  ...(query.cursor ? { cursor: query.cursor } : {}),
});

/** `?asOfBlock=` on holdings: a past block's balances (decimal, within what the index keeps). */
const holdingsQuerySchema = pageQuerySchema.extend({
  asOfBlock: queryValue()
    .regex(/^(0|[1-9][0-9]{0,18})$/, "must be a decimal block number")
    .transform((v) => BigInt(v))
    .refine((v) => v < 2n ** 63n, "must be a decimal block number")
    .optional(),
});

export function catalogRoutes(deps: CatalogDeps & { startBlock?: bigint }): RouteDeclaration[] {
  const lower = (address: string) => address.toLowerCase();
  return [
    defineRoute({
      method: "get",
      path: "/v1/collections/{address}",
      summary: "One collection: owner (following ownership transfers), contract URI, pause, default royalty, editions",
      tags: ["collections"],
      role: "public",
      params: collectionParams,
      responses: { 200: { description: "The collection, as of `asOfBlock`", schema: collectionAnswerSchema } },
      errors: [404],
      handler: async ({ params }) => ({ body: await getCollection(deps, lower(params.address)) }),
    }),
    defineRoute({
      method: "get",
      path: "/v1/collections/{address}/editions",
      summary: "A collection's editions by token id, each with the phase open now and the next one",
      tags: ["collections"],
      role: "public",
      params: collectionParams,
      query: pageQuerySchema,
      responses: { 200: { description: "A page of editions, ordered by token id", schema: editionListSchema } },
      errors: [404],
      handler: async ({ params, query }) => ({ body: await listEditions(deps, lower(params.address), page(query)) }),
    }),
    defineRoute({
      method: "get",
      path: "/v1/collections/{address}/editions/{tokenId}",
      summary: "One edition: supply, supply left, URI and whether it is frozen, royalty, flags, every sale phase",
      description:
        "`currentPhase` and `nextPhase` are judged by the indexed head's block time (`headTime`), not the clock.",
      tags: ["collections"],
      role: "public",
      params: editionParams,
      responses: { 200: { description: "The edition, as of `asOfBlock`", schema: editionAnswerSchema } },
      errors: [404],
      handler: async ({ params }) => ({ body: await getEdition(deps, lower(params.address), params.tokenId) }),
    }),
    defineRoute({
      method: "get",
      path: "/v1/collections/{address}/editions/{tokenId}/holders",
      summary: "An edition's holders, largest balance first (then by address), with held-since",
      tags: ["collections"],
      role: "public",
      params: editionParams,
      query: pageQuerySchema,
      responses: { 200: { description: "A page of holders as of `asOfBlock`", schema: holderListSchema } },
      errors: [404],
      handler: async ({ params, query }) => ({
        body: await listEditionHolders(deps, lower(params.address), params.tokenId, page(query)),
      }),
    }),
    defineRoute({
      method: "get",
      path: "/v1/collections/{address}/activity",
      summary: "A collection's activity, newest first: mints (price paid, referrer), transfers, burns, redemptions",
      tags: ["collections"],
      role: "public",
      params: collectionParams,
      query: pageQuerySchema,
      responses: { 200: { description: "A page of activity, newest first", schema: activityListSchema } },
      errors: [404],
      handler: async ({ params, query }) => ({
        body: await listCollectionActivity(deps, lower(params.address), page(query)),
      }),
    }),
    defineRoute({
      method: "get",
      path: "/v1/collections/{address}/editions/{tokenId}/activity",
      summary: "An edition's activity, newest first",
      tags: ["collections"],
      role: "public",
      params: editionParams,
      query: pageQuerySchema,
      responses: { 200: { description: "A page of activity, newest first", schema: activityListSchema } },
      errors: [404],
      handler: async ({ params, query }) => ({
        body: await listEditionActivity(deps, lower(params.address), params.tokenId, page(query)),
      }),
    }),
    defineRoute({
      method: "get",
      path: "/v1/drops",
      summary: "Editions with a sale phase open now or upcoming, across collections, soonest first",
      tags: ["collections"],
      role: "public",
      query: z.strictObject({
        limit: limitSchema.optional().transform((v) => v ?? 50),
        cursor: pageQuerySchema.shape.cursor,
      }),
      responses: { 200: { description: "A page of drops, soonest first", schema: editionListSchema } },
      handler: async ({ query }) => ({ body: await listDrops(deps, page(query)) }),
    }),
    defineRoute({
      method: "get",
      path: "/v1/wallets/{address}/holdings",
      summary: "A wallet's non-zero balances by (collection, tokenId), now or as of a past block (`asOfBlock`)",
      tags: ["wallets"],
      role: "public",
      params: walletParams,
      query: holdingsQuerySchema,
      responses: { 200: { description: "A page of holdings as of `asOfBlock`", schema: holdingListSchema } },
      errors: [422],
      handler: async ({ params, query }) => ({
        body: await getHoldings(deps, lower(params.address), {
          ...page(query),
          ...(query.asOfBlock !== undefined ? { asOfBlock: query.asOfBlock } : {}),
        }),
      }),
    }),
    defineRoute({
      method: "get",
      path: "/v1/wallets/{address}/activity",
      summary: "A wallet's activity (sent and received), newest first",
      tags: ["wallets"],
      role: "public",
      params: walletParams,
      query: pageQuerySchema,
      responses: { 200: { description: "A page of activity, newest first", schema: activityListSchema } },
      handler: async ({ params, query }) => ({
        body: await listWalletActivity(deps, lower(params.address), page(query)),
      }),
    }),
  ];
}
