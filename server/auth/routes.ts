import { getAddress } from "viem";
import { z } from "zod";
import type { PrismaClient } from "../database/client.ts";
import { HttpProblem, problemTitle } from "../http/problem.ts";
import { defineRoute, type RouteDeclaration } from "../http/route.ts";
import { addressSchema } from "../http/schemas.ts";
import type { SignInBinding } from "../referrals/bindings.ts";
import { referralCodeSchema } from "../referrals/schemas.ts";
import { clearedSessionCookie, sessionCookie, type AuthService, type AuthSettings } from "./service.ts";

/** A partner may hold this many API keys that are not revoked. */
export const MAX_ACTIVE_API_KEYS = 100;

const nonceSchema = z
  .object({ nonce: z.string(), expiresAt: z.string().describe("ISO 8601; the nonce is single use") })
  .meta({ id: "SignInNonce" });

const verifyBodySchema = z
  .strictObject({
    message: z.string().min(1).max(4096).describe("The EIP-4361 message the wallet signed"),
    signature: z
      .string()
      .regex(/^0x([0-9a-fA-F]{2})+$/, "must be 0x-prefixed hex bytes")
      .max(20_000)
      .transform((v) => v as `0x${string}`),
    referralCode: referralCodeSchema
      .optional()
      .describe(
        "A referral code (from a PUBLIC_URL/r/CODE link): binds the wallet to its referrer at its first sign-in",
      ),
  })
  .meta({ id: "SignInRequest" });

const sessionSchema = z
  .object({
    address: z.string().describe("EIP-55"),
    token: z
      .string()
      .describe("The session token, for clients that send it as `Authorization: Bearer`; browsers use the cookie"),
    expiresAt: z.string(),
    referral: z
      .object({
        bound: z.boolean(),
        referrer: z.string().nullable().describe("EIP-55; when bound"),
        reason: z
          .enum([
            "unknown_code",
            "self_referral",
            "not_first_sign_in",
            "already_minted",
            "already_bound",
            "mutual_referral",
          ])
          .nullable()
          .describe("Why the code bound nothing"),
      })
      .optional()
      .describe("Only when the request carried a referralCode"),
  })
  .meta({ id: "Session" });

const meSchema = z
  .object({
    address: z.string(),
    roles: z.array(z.enum(["holder", "partner", "operator"])),
    collections: z.array(z.string()).describe("The collections this wallet owns (as indexed)"),
  })
  .meta({ id: "Me" });

const apiKeyAccess = z.enum(["read", "read-write"]);

const apiKeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    collections: z.array(z.string()),
    access: apiKeyAccess,
    createdAt: z.string(),
    lastUsedAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
  })
  .meta({ id: "ApiKey" });

const createdApiKeySchema = apiKeySchema
  .extend({ key: z.string().describe("The key itself: shown this once, stored only hashed") })
  .meta({ id: "CreatedApiKey" });

const createApiKeyBodySchema = z
  .strictObject({
    name: z.string().trim().min(1).max(100),
    collections: z.array(addressSchema).min(1).max(100),
    access: apiKeyAccess,
  })
  .meta({ id: "CreateApiKeyRequest" });

type ApiKeyRow = Awaited<ReturnType<AuthService["listApiKeys"]>>[number];
const apiKeyJson = (row: ApiKeyRow) => ({
  id: row.id,
  name: row.name,
  collections: row.collections.map((c) => getAddress(c)),
  access: row.canWrite ? ("read-write" as const) : ("read" as const),
  createdAt: row.createdAt.toISOString(),
  lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
  revokedAt: row.revokedAt?.toISOString() ?? null,
});

export function authRoutes(deps: {
  auth: AuthService;
  settings: AuthSettings;
  prisma: PrismaClient;
  chainId: number;
  /** The referrals module's binding at sign-in (server/referrals/bindings.ts). */
  bindReferral?: (input: { wallet: string; code: string; firstSignIn: boolean }) => Promise<SignInBinding>;
}): RouteDeclaration[] {
  const { auth, settings } = deps;
  const ownedCollections = async (address: string) =>
    (
      await deps.prisma.collection.findMany({
        where: { chainId: deps.chainId, owner: address.toLowerCase() },
        orderBy: [{ createdBlock: "asc" }, { address: "asc" }],
        select: { address: true },
      })
    ).map((c) => c.address);

  return [
    defineRoute({
      method: "get",
      path: "/v1/auth/nonce",
      summary: "A single-use nonce for a Sign-In with Ethereum message (valid 10 minutes)",
      tags: ["auth"],
      role: "public",
      responses: { 200: { description: "A fresh nonce", schema: nonceSchema } },
      async handler() {
        const { nonce, expiresAt } = await auth.createNonce();
        return { body: { nonce, expiresAt: expiresAt.toISOString() }, headers: { "cache-control": "no-store" } };
      },
    }),
    defineRoute({
      method: "post",
      path: "/v1/auth/verify",
      summary: "Sign in: a signed EIP-4361 message for this platform's origin and chain opens a session",
      description:
        "The message's domain and URI must be this platform's PUBLIC_URL, its chain id the indexed chain, its nonce one " +
        "from GET /v1/auth/nonce (single use), issued within the last 10 minutes (60 s of clock skew allowed). " +
        "Smart-contract wallets (EIP-1271) and counterfactual ones (ERC-6492) are accepted. Sets the " +
        "`perkmint_session` cookie (httpOnly, SameSite=Lax) and returns the same token for bearer clients. A " +
        "`referralCode` binds the wallet to its referrer at its first sign-in ever, if no mint of it is indexed " +
        "(`referral` in the answer says whether it bound, or why not); it never fails the sign-in.",
      tags: ["auth"],
      role: "public",
      body: verifyBodySchema,
      bodyLimitBytes: 32 * 1024,
      responses: { 200: { description: "Signed in", schema: sessionSchema } },
      errors: [401],
      async handler({ body }) {
        const session = await auth.signIn(body.message, body.signature);
        const referral =
          body.referralCode !== undefined && deps.bindReferral
            ? await deps.bindReferral({
                wallet: session.address,
                code: body.referralCode,
                firstSignIn: session.firstSignIn,
              })
            : undefined;
        return {
          body: {
            address: session.address,
            token: session.token,
            expiresAt: session.expiresAt.toISOString(),
            ...(referral
              ? {
                  referral: referral.bound
                    ? { bound: true, referrer: getAddress(referral.referrer), reason: null }
                    : { bound: false, referrer: null, reason: referral.reason },
                }
              : {}),
          },
          headers: { "set-cookie": sessionCookie(session.token, settings), "cache-control": "no-store" },
        };
      },
    }),
    defineRoute({
      method: "post",
      path: "/v1/auth/logout",
      summary: "Sign out: ends this session (its cookie or bearer token stops working at once)",
      tags: ["auth"],
      role: "holder",
      responses: { 204: { description: "Signed out" } },
      async handler({ req }) {
        const credential = auth.credentialOf(req);
        if (credential) await auth.revokeSession(credential.token);
        return { status: 204, headers: { "set-cookie": clearedSessionCookie(settings) } };
      },
    }),
    defineRoute({
      method: "get",
      path: "/v1/me",
      summary: "The signed-in wallet: its address, roles and the collections it owns",
      tags: ["me"],
      role: "holder",
      responses: { 200: { description: "The signed-in wallet", schema: meSchema } },
      async handler({ caller }) {
        const collections = await ownedCollections(caller!.address);
        const roles = [
          "holder" as const,
          ...(collections.length > 0 ? ["partner" as const] : []),
          ...(caller!.isOperator ? ["operator" as const] : []),
        ];
        return {
          body: { address: caller!.address, roles, collections: collections.map((c) => getAddress(c)) },
          headers: { "cache-control": "private, no-store" },
        };
      },
    }),
    defineRoute({
      method: "post",
      path: "/v1/partner/api-keys",
      summary: "Create an API key for the partner's own servers, scoped to collections it owns (the key is shown once)",
      tags: ["partner"],
      role: "holder",
      body: createApiKeyBodySchema,
      responses: { 201: { description: "The new key", schema: createdApiKeySchema } },
      errors: [409],
      async handler({ body, caller }) {
        const owned = new Set(await ownedCollections(caller!.address));
        const collections = [...new Set(body.collections.map((c) => c.toLowerCase()))];
        const foreign = collections.filter((c) => !owned.has(c));
        if (foreign.length > 0) {
          throw new HttpProblem(
            403,
            problemTitle(403),
            `You do not own ${foreign.map((c) => getAddress(c)).join(", ")}.`,
            [{ path: "body.collections", message: "must be collections you own" }],
          );
        }
        const active = (await auth.listApiKeys(caller!.address)).filter((k) => !k.revokedAt).length;
        if (active >= MAX_ACTIVE_API_KEYS) {
          throw new HttpProblem(
            409,
            problemTitle(409),
            `You already have ${MAX_ACTIVE_API_KEYS} active API keys; revoke one first.`,
          );
        }
        const { key, row } = await auth.createApiKey(caller!.address, {
          name: body.name,
          collections,
          write: body.access === "read-write",
        });
        return { status: 201, body: { ...apiKeyJson(row), key }, headers: { "cache-control": "no-store" } };
      },
    }),
    defineRoute({
      method: "get",
      path: "/v1/partner/api-keys",
      summary: "The partner's API keys, newest first, with when each was last used (never the keys themselves)",
      tags: ["partner"],
      role: "holder",
      responses: {
        200: {
          description: `Every key of the signed-in partner (at most ${MAX_ACTIVE_API_KEYS} active ones), so no cursor is needed`,
          schema: z.object({ items: z.array(apiKeySchema), nextCursor: z.null() }).meta({ id: "ApiKeyList" }),
        },
      },
      async handler({ caller }) {
        const rows = await auth.listApiKeys(caller!.address);
        return {
          body: { items: rows.map(apiKeyJson), nextCursor: null },
          headers: { "cache-control": "private, no-store" },
        };
      },
    }),
    defineRoute({
      method: "delete",
      path: "/v1/partner/api-keys/{id}",
      summary: "Revoke one of the partner's API keys (it stops working at once)",
      tags: ["partner"],
      role: "holder",
      params: z.object({ id: z.uuid() }),
      responses: { 204: { description: "Revoked (or already revoked)" } },
      errors: [404],
      async handler({ params, caller }) {
        if (!(await auth.revokeApiKey(caller!.address, params.id))) {
          throw new HttpProblem(404, problemTitle(404), "You have no API key with this id.");
        }
        return { status: 204 };
      },
    }),
  ];
}
