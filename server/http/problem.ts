import type { ErrorRequestHandler, RequestHandler, Response } from "express";
import type { Logger } from "pino";
import { z } from "zod";
import { databaseFault } from "../database/faults.ts";
import { OutageLog } from "../lib/outage.ts";

export type ProblemFieldError = { path: string; message: string };

/**
 * An RFC 9457 problem. Throw it from a route; the error handler answers it as `application/problem+json`.
 */
export class HttpProblem extends Error {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly errors?: ProblemFieldError[];
  readonly headers?: Record<string, string>;
  constructor(
    status: number,
    title: string,
    detail: string,
    errors?: ProblemFieldError[],
    headers?: Record<string, string>,
  ) {
    super(detail);
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.errors = errors;
    this.headers = headers;
    this.name = "HttpProblem";
  }
}

/** Each status's problem type (appended to https://perkmint.dev/problems/) and title. */
const PROBLEMS: Record<number, { type: string; title: string }> = {
  400: { type: "validation-error", title: "Invalid request" },
  401: { type: "not-signed-in", title: "Not signed in" },
  403: { type: "forbidden", title: "Forbidden" },
  404: { type: "not-found", title: "Not found" },
  405: { type: "method-not-allowed", title: "Method not allowed" },
  408: { type: "request-timeout", title: "Request timeout" },
  409: { type: "conflict", title: "Conflict" },
  411: { type: "length-required", title: "Length required" },
  413: { type: "content-too-large", title: "Content too large" },
  415: { type: "unsupported-media-type", title: "Unsupported media type" },
  422: { type: "rule-not-met", title: "Rule not met" },
  429: { type: "rate-limited", title: "Too many requests" },
  500: { type: "internal-error", title: "Internal error" },
  503: { type: "unavailable", title: "Service unavailable" },
  504: { type: "timeout", title: "Timed out" },
};

/** The standard title of a status, for problems thrown without one of their own. */
export function problemTitle(status: number): string {
  return PROBLEMS[status]?.title ?? (status >= 500 ? "Server error" : "Bad request");
}

/** A client may retry a 503/504 after this many seconds (the Retry-After header). */
export const RETRY_AFTER_SECONDS = 5;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The problem's `instance`: `urn:uuid:<id>` when the request id is a UUID (ours always are), else a tag URI (RFC 4151)
 * carrying the client's own request id, which need not be a UUID.
 */
export function problemInstance(requestId: string): string {
  return UUID.test(requestId) ? `urn:uuid:${requestId.toLowerCase()}` : `tag:perkmint.dev,2026:request:${requestId}`;
}

export function sendProblem(res: Response, problem: HttpProblem) {
  if (res.headersSent) return;
  const requestId = String(res.locals.requestId ?? "");
  res
    .status(problem.status)
    .set(problem.headers ?? {})
    .type("application/problem+json")
    .send(
      JSON.stringify({
        type: `https://perkmint.dev/problems/${PROBLEMS[problem.status]?.type ?? "error"}`,
        title: problem.title,
        status: problem.status,
        detail: problem.detail,
        instance: problemInstance(requestId),
        ...(problem.errors ? { errors: problem.errors } : {}),
      }),
    );
}

/** A dependency (the database) is down or not answering: 503, or 504 for a timeout, both with Retry-After. */
export function unavailableProblem(what: string, kind: "unavailable" | "timeout"): HttpProblem {
  const retry = { "retry-after": String(RETRY_AFTER_SECONDS) };
  return kind === "timeout"
    ? new HttpProblem(
        504,
        problemTitle(504),
        `The ${what} did not answer in time. Retry in a few seconds.`,
        undefined,
        retry,
      )
    : new HttpProblem(503, problemTitle(503), `The ${what} is unavailable. Retry in a few seconds.`, undefined, retry);
}

/** Validates one part of the request; on failure throws a 400 naming each bad field (`query.limit`, …). */
export function parseInput<S extends z.ZodType>(
  schema: S,
  value: unknown,
  where: "path" | "query" | "body" | "header",
): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors: ProblemFieldError[] = result.error.issues.flatMap((issue) =>
    // A strict object names the parameters it does not know in one issue: one error each, at their own path.
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => ({
          path: [where, ...issue.path.map(String), key].join("."),
          message: `unknown ${where === "query" ? "parameter" : "field"}`,
        }))
      : [{ path: [where, ...issue.path.map(String)].join("."), message: issue.message }],
  );
  throw new HttpProblem(400, problemTitle(400), errors.map((e) => `${e.path}: ${e.message}`).join("; "), errors);
}

export const notFoundHandler: RequestHandler = (req) => {
  throw new HttpProblem(
    404,
    problemTitle(404),
    `No route for ${req.method} ${req.path}. The routes are described at /openapi.json.`,
  );
};

/** body-parser's and the router's client errors, by their `type`: our own words, never the parser's. */
function clientErrorProblem(error: { status: number; type?: unknown; limit?: unknown; name?: unknown }): HttpProblem {
  switch (error.type) {
    case "entity.parse.failed":
      return new HttpProblem(400, problemTitle(400), "The request body is not valid JSON.", [
        { path: "body", message: "invalid JSON" },
      ]);
    case "entity.too.large":
      return new HttpProblem(
        413,
        problemTitle(413),
        `The request body is larger than this route accepts${typeof error.limit === "number" ? ` (${error.limit} bytes)` : ""}.`,
      );
    case "charset.unsupported":
      return new HttpProblem(415, problemTitle(415), "The request body's charset is not supported; send UTF-8.");
    case "encoding.unsupported":
      return new HttpProblem(
        415,
        problemTitle(415),
        "The request body's Content-Encoding is not supported; send it uncompressed.",
      );
    case "request.aborted":
    case "request.size.invalid":
      return new HttpProblem(400, problemTitle(400), "The request body ended before its declared length.", [
        { path: "body", message: "incomplete" },
      ]);
  }
  if (error.name === "URIError" || (error.status === 400 && error.type === undefined)) {
    // The router could not percent-decode a path parameter.
    return new HttpProblem(400, problemTitle(400), "The request path is not valid percent-encoded UTF-8.", [
      { path: "path", message: "invalid percent-encoding" },
    ]);
  }
  return new HttpProblem(
    error.status,
    problemTitle(error.status),
    `The request was refused (${problemTitle(error.status).toLowerCase()}).`,
  );
}

/**
 * Answers every error as problem+json. A database that is down or hung is a 503/504 with Retry-After; any other
 * 5xx is a bug: it is logged with its stack and the client gets no internals.
 */
export function errorHandler(
  logger: Logger,
  databaseOutage = new OutageLog({ logger, what: "database (API)" }),
): ErrorRequestHandler {
  return (error, req, res, _next) => {
    // The request deadline already answered (see requestDeadline); the late error has nobody to go to.
    if (res.headersSent) return;
    if (error instanceof HttpProblem) return sendProblem(res, error);
    const fault = databaseFault(error);
    if (fault) {
      // Once per outage (and a summary now and then), not once per request.
      databaseOutage.failure(error, {
        requestId: res.locals.requestId,
        method: req.method,
        url: req.originalUrl,
        fault,
      });
      return sendProblem(res, unavailableProblem("database", fault));
    }
    // Express, body-parser and the router throw plain errors carrying a status: read only what we use of them.
    const thrown = (error ?? {}) as {
      status?: unknown;
      statusCode?: unknown;
      type?: unknown;
      limit?: unknown;
      name?: unknown;
    };
    const status =
      typeof thrown.status === "number"
        ? thrown.status
        : typeof thrown.statusCode === "number"
          ? thrown.statusCode
          : 500;
    if (status >= 400 && status < 500)
      return sendProblem(
        res,
        clientErrorProblem({ type: thrown.type, limit: thrown.limit, status, name: thrown.name }),
      );
    logger.error(
      { err: error, requestId: res.locals.requestId, method: req.method, url: req.originalUrl },
      "unhandled error",
    );
    sendProblem(
      res,
      new HttpProblem(
        500,
        problemTitle(500),
        "The server failed to answer. This is a bug; the request id identifies it in our logs.",
      ),
    );
  };
}
