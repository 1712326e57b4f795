import type { Request } from "express";
import type pg from "pg";
import { RateLimiterPostgres, RateLimiterRes } from "rate-limiter-flexible";
import { HttpProblem, problemTitle } from "./problem.ts";
import type { Caller } from "./route.ts";

/**
 * Rate limits per client IP and per signed-in wallet, counted in PostgreSQL (rate-limiter-flexible's atomic
 * upsert), so every API process behind a load balancer shares them and one process per core answers like one.
 * A request over a limit is a 429 problem with Retry-After.
 */
export type RateLimits = { ipPerMinute: number; walletPerMinute: number };

export function createRateLimiter(pool: pg.Pool, limits: RateLimits) {
  // The table comes from a migration (tableCreated): the library would otherwise create it asynchronously and refuse
  // calls made before that.
  const common = {
    storeClient: pool,
    storeType: "pool",
    tableName: "rate_limit",
    tableCreated: true,
    duration: 60,
    clearExpiredByTimeout: false,
  };
  const perIp = new RateLimiterPostgres({ ...common, keyPrefix: "ip", points: limits.ipPerMinute });
  const perWallet = new RateLimiterPostgres({ ...common, keyPrefix: "wallet", points: limits.walletPerMinute });
  const consume = async (limiter: RateLimiterPostgres, key: string, what: string) => {
    try {
      await limiter.consume(key);
    } catch (result) {
      if (!(result instanceof RateLimiterRes)) throw result;
      const retryAfter = Math.max(1, Math.ceil(result.msBeforeNext / 1000));
      throw new HttpProblem(
        429,
        problemTitle(429),
        `Too many requests from this ${what}; retry in ${retryAfter} s.`,
        undefined,
        {
          "retry-after": String(retryAfter),
        },
      );
    }
  };
  return async (req: Request, caller: Caller | null) => {
    await consume(perIp, req.ip ?? "unknown", "address");
    if (caller) await consume(perWallet, caller.address.toLowerCase(), "wallet");
  };
}
