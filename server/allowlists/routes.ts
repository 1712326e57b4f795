import type pg from "pg";
import { z } from "zod";
import { pageQuerySchema } from "../http/pagination.ts";
import { defineRoute, type RouteDeclaration } from "../http/route.ts";
import { addressSchema } from "../http/schemas.ts";
import { allowlistProblem } from "./errors.ts";
import {
  allowlistIdSchema,
  allowlistPageSchema,
  allowlistProofParamsSchema,
  allowlistProofSchema,
  allowlistSchema,
  createAllowlistBodySchema,
} from "./schemas.ts";
import { createAllowlist, getAllowlist, getAllowlistProof, listAllowlists } from "./service.ts";

/** Domain errors as their problem answers; anything else goes on to the error handler. */
async function answering<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw allowlistProblem(error) ?? error;
  }
}

const collectionParams = z.object({ address: addressSchema.describe("the collection's address") });

/**
 * Allowlists: a partner uploads one (CSV or JSON) for a sale phase of an edition, gets the Merkle root and the
 * `setPhase` call to make on-chain; anyone reads a wallet's allowance and proof to mint with.
 */
export function allowlistRoutes(deps: { db: pg.Pool; chainId: number }): RouteDeclaration[] {
  return [
    defineRoute({
      method: "post",
      path: "/v1/collections/{address}/allowlists",
      summary:
        "Upload an allowlist for a sale phase: every bad row is reported by line, and nothing is stored unless all are good",
      tags: ["allowlists"],
      role: "partner",
      partnerOf: ({ params }) => params.address.toLowerCase(),
      writes: true,
      params: collectionParams,
      body: createAllowlistBodySchema,
      bodyLimitBytes: 34 * 1024 * 1024,
      responses: {
        201: { description: "The stored list, its root and the setPhase call to send", schema: allowlistSchema },
      },
      handler: async ({ params, body, caller }) => ({
        status: 201,
        body: await answering(() =>
          createAllowlist(deps, {
            chainId: deps.chainId,
            collection: params.address,
            partnerAddress: caller!.address,
            edition: body.edition,
            phase: body.phase,
            sale: body.sale,
            name: body.name,
            format: body.format,
            content: body.content,
          }),
        ),
      }),
    }),
    defineRoute({
      method: "get",
      path: "/v1/collections/{address}/allowlists",
      summary: "The collection's allowlists, newest first",
      tags: ["allowlists"],
      role: "partner",
      partnerOf: ({ params }) => params.address.toLowerCase(),
      params: collectionParams,
      query: pageQuerySchema,
      responses: { 200: { description: "A page of allowlists", schema: allowlistPageSchema } },
      handler: async ({ params, query }) => ({
        body: await answering(() =>
          listAllowlists(deps, {
            chainId: deps.chainId,
            collection: params.address,
            limit: query.limit,
            cursor: query.cursor,
          }),
        ),
      }),
    }),
    defineRoute({
      method: "get",
      path: "/v1/allowlists/{id}",
      summary: "One allowlist: its phase, root, size and the setPhase call",
      tags: ["allowlists"],
      role: "public",
      params: z.object({ id: allowlistIdSchema }),
      responses: { 200: { description: "The allowlist", schema: allowlistSchema } },
      errors: [404],
      handler: async ({ params }) => ({
        body: await answering(() => getAllowlist(deps, { chainId: deps.chainId, allowlistId: params.id })),
      }),
    }),
    defineRoute({
      method: "get",
      path: "/v1/allowlists/{id}/proofs/{address}",
      summary: "A wallet's allowance and Merkle proof on an allowlist, for mintAllowlisted",
      tags: ["allowlists"],
      role: "public",
      params: allowlistProofParamsSchema,
      responses: { 200: { description: "The allowance and proof", schema: allowlistProofSchema } },
      errors: [404],
      handler: async ({ params }) => ({
        body: await answering(() =>
          getAllowlistProof(deps, { chainId: deps.chainId, allowlistId: params.id, address: params.address }),
        ),
      }),
    }),
  ];
}
