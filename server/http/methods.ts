import type { RequestHandler, Router } from "express";
import { match } from "path-to-regexp";
import { HttpProblem, problemTitle } from "./problem.ts";

/** A route as registered: its Express path and its methods (upper case). */
export type RegisteredRoute = { path: string; methods: string[] };

/**
 * The routes a Router holds (those added with router.get/post/...), read from its stack. Every router is mounted at
 * the root, so these are the app's paths. A declarative route layer can hand its declarations in directly instead.
 */
export function routesOf(router: Router): RegisteredRoute[] {
  const stack = (router as unknown as { stack: { route?: { path: unknown; methods: Record<string, boolean> } }[] })
    .stack;
  return stack.flatMap((layer) =>
    layer.route && typeof layer.route.path === "string"
      ? [
          {
            path: layer.route.path,
            methods: Object.keys(layer.route.methods)
              .filter((m) => m !== "_all")
              .map((m) => m.toUpperCase()),
          },
        ]
      : [],
  );
}

/**
 * Mounted after every route: a path that exists with other methods is a 405 with `Allow` (GET implies HEAD, as
 * Express answers it), anything else falls through to the 404 handler. Paths match as Express matches them.
 */
export function methodNotAllowed(routes: RegisteredRoute[]): RequestHandler {
  const matchers = routes.map((r) => ({ test: match(r.path, { decode: false }), methods: r.methods }));
  return (req, res, next) => {
    const allowed = new Set<string>();
    for (const m of matchers) {
      if (!m.test(req.path)) continue;
      for (const method of m.methods) {
        allowed.add(method);
        if (method === "GET") allowed.add("HEAD");
      }
    }
    if (allowed.size === 0 || allowed.has(req.method)) return next();
    const allow = [...allowed].sort().join(", ");
    res.set("allow", allow);
    next(new HttpProblem(405, problemTitle(405), `${req.method} is not allowed on ${req.path}; allowed: ${allow}.`));
  };
}
