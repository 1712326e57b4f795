import type { RequestHandler } from "express";
import { HttpProblem, problemTitle, RETRY_AFTER_SECONDS, sendProblem } from "./problem.ts";

/**
 * Every request is answered within `timeoutMs`: when its route has not answered by then (a dependency that hangs
 * beyond its own timeouts), it gets a 504 problem with Retry-After, and whatever the route does later is dropped (the
 * error handler and sendProblem skip a response already sent). The dependency timeouts (database connect and
 * statement timeouts) are shorter, so this is the backstop, not the usual path.
 */
export function requestDeadline(timeoutMs: number): RequestHandler {
  return (_req, res, next) => {
    const timer = setTimeout(() => {
      sendProblem(
        res,
        new HttpProblem(
          504,
          problemTitle(504),
          `The request did not complete within ${timeoutMs} ms. Retry in a few seconds.`,
          undefined,
          {
            "retry-after": String(RETRY_AFTER_SECONDS),
          },
        ),
      );
    }, timeoutMs);
    timer.unref();
    const clear = () => clearTimeout(timer);
    res.once("finish", clear);
    res.once("close", clear);
    next();
  };
}
