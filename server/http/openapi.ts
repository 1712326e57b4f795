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
    instance: z.string().describe("urn:uuid:<request id>; the same id is in the x-request-id header and our logs"),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi("Problem", { description: "RFC 9457 problem details" });

/** Standard problem answers, to spread into a route's `responses`. */
export function problemResponses(...statuses: number[]) {
  const text: Record<number, string> = {
    400: "Invalid input; `errors` names each field",
    401: "Not signed in",
    403: "Not allowed",
    404: "Unknown resource",
    409: "Conflict",
    422: "A rule is not met",
    429: "Rate-limited (see Retry-After)",
    503: "Unavailable",
  };
  return Object.fromEntries(
    statuses.map((s) => [s, { description: text[s] ?? "Error", content: { "application/problem+json": { schema: problemSchema } } }]),
  );
}

/** Every route documents who may call it (API-CONVENTIONS.md); `x-required-role` says it in the OpenAPI entry. */
export type RequiredRole = "public" | "collector" | "partner" | "operator";

export function buildOpenApiDocument(registry: OpenAPIRegistry) {
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: "3.1.0",
    info: {
      title: "Perkmint API",
      version: "1",
      description:
        "Amounts, token ids and block numbers are decimal strings; addresses are EIP-55 checksummed; lists are " +
        "`{ items, nextCursor }` with `limit` and an opaque `cursor`; errors are application/problem+json.",
    },
  });
}
