import type { ErrorRequestHandler, RequestHandler, Response } from "express";
import type { Logger } from "pino";
import { z } from "zod";

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
  constructor(status: number, title: string, detail: string, errors?: ProblemFieldError[], headers?: Record<string, string>) {
    super(detail);
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.errors = errors;
    this.headers = headers;
    this.name = "HttpProblem";
  }
}

const TYPES: Record<number, string> = {
  400: "validation-error",
  401: "not-signed-in",
  403: "forbidden",
  404: "not-found",
  405: "method-not-allowed",
  409: "conflict",
  413: "payload-too-large",
  415: "unsupported-media-type",
  422: "rule-not-met",
  429: "rate-limited",
  500: "internal-error",
  503: "unavailable",
};

export function sendProblem(res: Response, problem: HttpProblem) {
  const requestId = String(res.locals.requestId ?? "");
  res
    .status(problem.status)
    .set(problem.headers ?? {})
    .type("application/problem+json")
    .send(
      JSON.stringify({
        type: `https://perkmint.dev/problems/${TYPES[problem.status] ?? "error"}`,
        title: problem.title,
        status: problem.status,
        detail: problem.detail,
        instance: `urn:uuid:${requestId}`,
        ...(problem.errors ? { errors: problem.errors } : {}),
      }),
    );
}

/** Validates one part of the request; on failure throws a 400 naming each bad field (`query.limit`, …). */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, where: "path" | "query" | "body" | "header"): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors = result.error.issues.map((issue) => ({
    path: [where, ...issue.path.map(String)].join("."),
    message: issue.message,
  }));
  throw new HttpProblem(
    400,
    "Invalid request",
    errors.map((e) => `${e.path}: ${e.message}`).join("; "),
    errors,
  );
}

export const notFoundHandler: RequestHandler = (req) => {
  throw new HttpProblem(404, "Not found", `No route for ${req.method} ${req.path}. The routes are described at /openapi.json.`);
};

/** Answers every error as problem+json. A 5xx is a bug: it is logged with its stack and the client gets no internals. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    if (error instanceof HttpProblem) return sendProblem(res, error);
    // body-parser errors carry a status (400 malformed JSON, 413 too large, 415 bad charset).
    const status = typeof error?.status === "number" ? error.status : typeof error?.statusCode === "number" ? error.statusCode : 500;
    if (status >= 400 && status < 500) {
      const detail =
        error?.type === "entity.parse.failed"
          ? "The request body is not valid JSON."
          : error?.type === "entity.too.large"
            ? "The request body is too large."
            : String(error?.message ?? "Bad request");
      return sendProblem(res, new HttpProblem(status, "Bad request", detail, error?.type === "entity.parse.failed" ? [{ path: "body", message: "invalid JSON" }] : undefined));
    }
    logger.error({ err: error, requestId: res.locals.requestId, method: req.method, url: req.originalUrl }, "unhandled error");
    sendProblem(res, new HttpProblem(500, "Internal error", "The server failed to answer. This is a bug; the request id identifies it in our logs."));
  };
}
