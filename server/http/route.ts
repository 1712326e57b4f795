import { createHash } from "node:crypto";
import express, { type Request, type RequestHandler, type Response, type Router } from "express";
import { z } from "zod";
import { jsonBody, refuseOversizedBodies } from "./body.ts";
import { problemResponses, type OpenAPIRegistry } from "./openapi.ts";
import { HttpProblem, parseInput, problemTitle } from "./problem.ts";

/**
 * One declaration per route. A route is declared once — method, path, who may call it, zod schemas for its path,
 * query, body and every answer, a summary and its handler — and everything else is derived from that declaration:
 * the Express route, its body parser (only routes that take a body parse one), input validation (400 naming each
 * field), the role check (401/403), the answer's check against its declared schema (in tests), the 405 handler's
 * list of methods, and the route's OpenAPI 3.1 entry. No path string or schema is written twice.
 */

export type HttpMethod = "get" | "post" | "put" | "patch" | "delete";

/**
 * Who may call a route, checked in one place (here) from its declaration:
 * - `public`: anyone;
 * - `holder`: any signed-in wallet;
 * - `partner`: the current on-chain owner (as indexed) of the collection the route names (`partnerOf`), or a partner
 *   API key scoped to that collection; someone else's collection is a 403, not a 404;
 * - `operator`: an address in OPERATOR_ADDRESSES.
 */
export type RouteRole = "public" | "holder" | "partner" | "operator";

/** Who is calling: a signed-in wallet (session cookie or bearer token) or a partner API key. */
export type Caller = {
  address: `0x${string}`;
  via: "session" | "api-key";
  /** For API keys: the collections the key may act on, and whether it may write. */
  scope?: { collections: string[]; write: boolean };
  isOperator: boolean;
};

/** What the route layer needs from the rest of the server: who is calling, and who owns a collection. */
export type RouteServices = {
  /** The caller of a request, or null for an anonymous one (a bad or expired credential throws a 401 problem). */
  authenticate(req: Request): Promise<Caller | null>;
  /** The collection's current owner as indexed (lower-case address), or null when the collection is unknown. */
  collectionOwner(collection: string): Promise<string | null>;
  /** Counts the request against its rate limits; throws a 429 problem when one is exceeded. */
  rateLimit?(req: Request, caller: Caller | null): Promise<void>;
};

export type RouteAnswer = {
  description: string;
  /** The answer's schema (JSON unless `contentType` says otherwise); none for an empty answer. */
  schema?: z.ZodType;
  contentType?: string;
};

type Input<P, Q, B> = { params: P; query: Q; body: B };

/** What a handler returns: a JSON answer (status 200 unless given). Handlers that stream (files) answer `res` themselves. */
export type Reply = { status?: number; body?: unknown; headers?: Record<string, string> };

export type RouteContext<P, Q, B> = Input<P, Q, B> & {
  caller: Caller | null;
  req: Request;
  res: Response;
  /** The request's bytes, for routes that declare `rawBody`. */
  rawBody?: Buffer;
};

export type RouteDeclaration<
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
> = {
  method: HttpMethod;
  /** OpenAPI path template, e.g. `/v1/wallets/{address}/holdings`. */
  path: string;
  summary: string;
  description?: string;
  tags?: string[];
  role: RouteRole;
  /** For `partner` routes: the (lower-case) collection the caller must own, from the validated input. */
  partnerOf?: (input: Input<z.infer<P>, z.infer<Q>, z.infer<B>>) => string;
  /** API keys may call a partner route only when scoped to write, unless the route only reads. */
  writes?: boolean;
  params?: P;
  query?: Q;
  body?: B;
  /** Largest body this route accepts (default: jsonBody's). */
  bodyLimitBytes?: number;
  /**
   * A route that takes raw bytes (an image upload) instead of JSON: its handler gets them as `rawBody`; `body` is
   * then not declared. The media types are documented; what the bytes are is for the handler to decide (by content,
   * never by the header).
   */
  rawBody?: { limitBytes: number; mediaTypes: string[] };
  /** Every answer the route gives on success, by status. */
  responses: Record<number, RouteAnswer>;
  /** Error statuses the route itself can answer besides those the layer adds (400, 401, 403, 405, 429, 503, 504). */
  errors?: number[];
  handler: (ctx: RouteContext<z.infer<P>, z.infer<Q>, z.infer<B>>) => Promise<Reply | void> | Reply | void;
};

/** Declares a route; the identity function, there for type inference of the handler's input. */
export function defineRoute<
  P extends z.ZodType = z.ZodUndefined,
  Q extends z.ZodType = z.ZodUndefined,
  B extends z.ZodType = z.ZodUndefined,
>(declaration: RouteDeclaration<P, Q, B>): RouteDeclaration {
  return declaration;
}

/** `/v1/wallets/{address}` → `/v1/wallets/:address` (Express's syntax). */
export function expressPath(path: string): string {
  return path.replace(/\{([A-Za-z0-9_]+)\}/g, ":$1");
}

export type MountOptions = {
  services: RouteServices;
  /**
   * Check every JSON answer against the route's declared schema for its status (tests turn it on): a drift between
   * the code and the document fails loudly, as a 500 naming the route and the field.
   */
  checkResponses?: boolean;
};

/** The caller the route's role admits, or a 401/403 problem. */
async function admit(
  route: RouteDeclaration,
  input: Input<unknown, unknown, unknown>,
  caller: Caller | null,
  services: RouteServices,
) {
  if (route.role === "public") return;
  if (!caller)
    throw new HttpProblem(
      401,
      problemTitle(401),
      "Sign in with your wallet (POST /v1/auth/verify) or send a bearer token.",
    );
  if (route.role === "holder") {
    if (caller.via === "api-key")
      throw new HttpProblem(403, problemTitle(403), "Partner API keys may call partner routes only.");
    return;
  }
  if (route.role === "operator") {
    if (!caller.isOperator || caller.via !== "session")
      throw new HttpProblem(403, problemTitle(403), "Only platform operators may do this.");
    return;
  }
  const collection = route.partnerOf?.(input);
  if (!collection) throw new Error(`partner route ${route.method.toUpperCase()} ${route.path} declares no partnerOf`);
  const owner = await services.collectionOwner(collection);
  if (owner === null)
    throw new HttpProblem(404, problemTitle(404), `No collection ${collection} is indexed on this chain.`);
  if (caller.via === "api-key") {
    if (!caller.scope?.collections.includes(collection))
      throw new HttpProblem(403, problemTitle(403), "This API key is not scoped to this collection.");
    if (route.writes && !caller.scope.write)
      throw new HttpProblem(403, problemTitle(403), "This API key may only read.");
    if (owner !== caller.address.toLowerCase())
      throw new HttpProblem(403, problemTitle(403), "The key's partner no longer owns this collection.");
    return;
  }
  if (owner !== caller.address.toLowerCase())
    throw new HttpProblem(403, problemTitle(403), "Only the collection's owner may do this.");
}

function checkAnswer(route: RouteDeclaration, status: number, body: unknown) {
  const declared = route.responses[status];
  const where = `${route.method.toUpperCase()} ${route.path}`;
  if (!declared) throw new Error(`${where} answered ${status}, which it does not declare`);
  if (!declared.schema) return;
  const result = declared.schema.safeParse(body);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    throw new Error(`${where} answered ${status} with a body its declaration does not describe: ${issues}`);
  }
}

function handlerFor(route: RouteDeclaration, options: MountOptions): RequestHandler {
  return async (req, res) => {
    // Who is calling and whether they may call now come first: a flood of malformed requests counts too.
    const caller = await options.services.authenticate(req);
    await options.services.rateLimit?.(req, caller);
    const input = {
      params: route.params ? parseInput(route.params, req.params, "path") : undefined,
      query: route.query
        ? parseInput(route.query, req.query, "query")
        : parseInput(z.strictObject({}), req.query, "query"),
      body: route.body ? parseInput(route.body, req.body, "body") : undefined,
    };
    await admit(route, input, caller, options.services);
    const rawBody = route.rawBody ? (Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0)) : undefined;
    const reply = await route.handler({ ...input, caller, req, res, ...(rawBody ? { rawBody } : {}) });
    if (!reply || res.headersSent) return;
    const status = reply.status ?? 200;
    if (options.checkResponses) checkAnswer(route, status, reply.body);
    res.status(status).set(reply.headers ?? {});
    if (reply.body === undefined) return void res.end();
    const json = JSON.stringify(reply.body);
    if (route.role === "public" && route.method === "get" && status === 200 && !res.get("cache-control")) {
      // A public read is the same for everyone at a given index state, and an answer that depends on ownership names
      // its asOfBlock, so its hash changes whenever the index moves: a validator that is exactly right. Caches may
      // keep it for a second (the index moves with each block) and must revalidate after.
      const etag = `"${createHash("sha256").update(json).digest("base64url").slice(0, 27)}"`;
      res.set({ etag, "cache-control": "public, max-age=1, must-revalidate" });
      if (
        req
          .get("if-none-match")
          ?.split(/\s*,\s*/)
          .includes(etag)
      )
        return void res.status(304).end();
    }
    res.type("application/json").send(json);
  };
}

/** Registers each route on `router` (an Express app or Router), body parser first where the route takes a body. */
export function mountRoutes(
  router: Router | express.Express,
  routes: readonly RouteDeclaration[],
  options: MountOptions,
) {
  const seen = new Set<string>();
  for (const route of routes) {
    const key = `${route.method} ${route.path}`;
    if (seen.has(key)) throw new Error(`route declared twice: ${key}`);
    seen.add(key);
    const before = route.rawBody
      ? [
          refuseOversizedBodies(route.rawBody.limitBytes),
          express.raw({ type: () => true, limit: route.rawBody.limitBytes }),
        ]
      : route.body
        ? jsonBody(route.bodyLimitBytes ? { limitBytes: route.bodyLimitBytes } : {})
        : [];
    const handlers: RequestHandler[] = [...before, handlerFor(route, options)];
    (router as Router)[route.method](expressPath(route.path), ...handlers);
  }
}

/** The routes' methods by Express path, for the 405 handler. */
export function routeMethods(routes: readonly RouteDeclaration[]): { path: string; methods: string[] }[] {
  const byPath = new Map<string, Set<string>>();
  for (const r of routes) {
    const path = expressPath(r.path);
    byPath.set(path, (byPath.get(path) ?? new Set()).add(r.method.toUpperCase()));
  }
  return [...byPath].map(([path, methods]) => ({ path, methods: [...methods] }));
}

/** `get /v1/wallets/{address}/holdings` → `getV1WalletsAddressHoldings`: unique, stable, derived from the path. */
function operationId(route: RouteDeclaration): string {
  const words = route.path.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return route.method + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join("");
}

/** Adds each route's OpenAPI entry: its inputs, answers, role and the error answers the layer can give. */
export function describeRoutes(registry: OpenAPIRegistry, routes: readonly RouteDeclaration[]) {
  for (const route of routes) {
    const layerErrors = [
      // Every route validates its query (unknown parameters are refused), so every route can answer 400.
      400,
      ...(route.role === "public" ? [] : [401, 403]),
      ...(route.body || route.rawBody ? [413, 415] : []),
      429,
      503,
      504,
    ];
    const statuses = [...new Set([...layerErrors, ...(route.errors ?? [])])].sort((a, b) => a - b);
    registry.registerPath({
      method: route.method,
      path: route.path,
      operationId: operationId(route),
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: route.tags ?? [route.path.split("/")[2] ?? "platform"],
      "x-required-role": route.role,
      security: route.role === "public" ? [] : [{ session: [] }, { bearer: [] }],
      request: {
        ...(route.params ? { params: route.params as z.ZodObject } : {}),
        ...(route.query ? { query: route.query as z.ZodObject } : {}),
        ...(route.body ? { body: { required: true, content: { "application/json": { schema: route.body } } } } : {}),
        ...(route.rawBody
          ? {
              body: {
                required: true,
                content: Object.fromEntries(
                  route.rawBody.mediaTypes.map((t) => [t, { schema: z.string().meta({ format: "binary" }) }]),
                ),
              },
            }
          : {}),
      },
      responses: {
        // The layer's problem answers first: a route's own declaration of a status (e.g. /health's 503) wins.
        ...problemResponses(...statuses),
        ...Object.fromEntries(
          Object.entries(route.responses).map(([status, answer]) => [
            status,
            {
              description: answer.description,
              ...(answer.schema
                ? { content: { [answer.contentType ?? "application/json"]: { schema: answer.schema } } }
                : {}),
            },
          ]),
        ),
      },
    });
  }
}
