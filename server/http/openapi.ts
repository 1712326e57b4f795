import { extendZodWithOpenApi, OpenAPIRegistry, OpenApiGeneratorV31 } from "@asteasolutions/zod-to-openapi";
import { z } from "zod";

extendZodWithOpenApi(z);

export { OpenAPIRegistry };

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z
      .string()
      .describe(
        "urn:uuid:<request id> (or a tag URI carrying a client's own id); the same id is in the x-request-id header and our logs",
      ),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: "Problem", description: "RFC 9457 problem details" });

/** Standard problem answers, to spread into a route's `responses`. */
export function problemResponses(...statuses: number[]) {
  const text: Record<number, string> = {
    400: "Invalid input; `errors` names each field",
    401: "Not signed in",
    403: "Not allowed",
    404: "Unknown resource",
    405: "Method not allowed (see Allow)",
    409: "Conflict",
    413: "Body too large",
    415: "Body not JSON",
    422: "A rule is not met",
    429: "Rate-limited (see Retry-After)",
    503: "Unavailable: the database is down (see Retry-After)",
    504: "The database did not answer in time, or the request took longer than its deadline (see Retry-After)",
  };
  return Object.fromEntries(
    statuses.map((s) => [
      s,
      { description: text[s] ?? "Error", content: { "application/problem+json": { schema: problemSchema } } },
    ]),
  );
}

export function buildOpenApiDocument(registry: OpenAPIRegistry, options: { serverUrl?: string } = {}) {
  registry.registerComponent("securitySchemes", "session", {
    type: "apiKey",
    in: "cookie",
    name: "perkmint_session",
    description: "The session cookie set by POST /v1/auth/verify (Sign-In with Ethereum).",
  });
  registry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    description: "A session token from POST /v1/auth/verify, or a partner API key.",
  });
  const document = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: "3.1.0",
    info: {
      title: "Perkmint API",
      version: "1",
      license: { name: "MIT", identifier: "MIT" },
      description:
        "Amounts, token ids and block numbers are decimal strings; addresses are EIP-55 checksummed; lists are " +
        "`{ items, nextCursor }` with `limit` and an opaque `cursor`; errors are application/problem+json. " +
        "Each operation's `x-required-role` says who may call it: public, holder (any signed-in wallet), partner " +
        "(the collection's current owner, or its API key) or operator.",
    },
    servers: [{ url: options.serverUrl ?? "http://127.0.0.1:3000", description: "This Perkmint server" }],
  });
  // Every tag an operation uses, declared once with a description (OpenAPI linters want them declared).
  const tags = new Set<string>();
  for (const item of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(item as Record<string, { tags?: string[] }>))
      for (const t of operation.tags ?? []) tags.add(t);
  }
  document.tags = [...tags]
    .sort()
    .map((name) => ({ name, description: TAG_DESCRIPTIONS[name] ?? `The ${name} routes` }));
  return document;
}

const TAG_DESCRIPTIONS: Record<string, string> = {
  platform: "Health, metrics and this document",
  collections: "Partner collections and their editions",
  wallets: "What a wallet holds and did",
  auth: "Sign-In with Ethereum and sessions",
  me: "The signed-in wallet",
};
