import express, { type RequestHandler } from "express";
import { HttpProblem, problemTitle } from "./problem.ts";

/**
 * Request bodies. Nothing reads a body unless its route says so (`jsonBody`), and a declared length beyond what any
 * route accepts is refused before a byte of it is read (`refuseOversizedBodies`): a GET declaring
 * `Content-Length: 10000000000` used to hold its connection until Node's own timeout.
 */

/** The largest body any route accepts, unless it declares its own (smaller) limit. */
export const DEFAULT_BODY_LIMIT_BYTES = 100 * 1024;

function declaredLength(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const n = Number(header);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * Refuses at once (413, then closes the connection, whose unread body is not worth reading) a request that declares a
 * body larger than `limitBytes`. Mounted before every route.
 */
export function refuseOversizedBodies(limitBytes = DEFAULT_BODY_LIMIT_BYTES): RequestHandler {
  return (req, res, next) => {
    const length = declaredLength(req.headers["content-length"]);
    if (length !== undefined && length > limitBytes) {
      res.set("connection", "close");
      return next(
        new HttpProblem(
          413,
          problemTitle(413),
          `The request body is larger than this server accepts (${limitBytes} bytes).`,
        ),
      );
    }
    next();
  };
}

/**
 * The body parser of a route that takes a JSON body: `application/json` only (415 otherwise), at most `limitBytes`
 * (413, refused from the declared length before reading when there is one), malformed JSON a 400 naming `body`.
 */
export function jsonBody(options: { limitBytes?: number } = {}): RequestHandler[] {
  const limit = options.limitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  return [
    refuseOversizedBodies(limit),
    (req, _res, next) => {
      const hasBody =
        req.headers["transfer-encoding"] !== undefined || (declaredLength(req.headers["content-length"]) ?? 0) > 0;
      if (hasBody && !req.is("application/json")) {
        return next(
          new HttpProblem(
            415,
            problemTitle(415),
            "This route takes a JSON body: send it with Content-Type: application/json.",
          ),
        );
      }
      next();
    },
    express.json({ limit, type: "application/json", strict: true }),
  ];
}
