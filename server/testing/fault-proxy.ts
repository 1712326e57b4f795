import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { findFreePort } from "../lib/ports.ts";
import { prng } from "./chain.ts";

export type FaultKind = "500" | "429" | "timeout" | "truncated" | "reset" | "rpc-error";

export type FaultProxy = {
  url: string;
  /** Requests seen, faults injected by kind, and eth_getLogs calls refused as too wide (see `maxLogRange`). */
  stats: { requests: number; faults: Record<FaultKind, number>; refusedRanges: number };
  close(): Promise<void>;
};

/**
 * A loopback HTTP proxy in front of a JSON-RPC node that answers a share of the calls with faults: HTTP 500, 429,
 * a hang longer than the client's timeout, JSON truncated in the middle, a reset connection, or a JSON-RPC
 * internal error. Deterministic for a given seed and request order. With `maxLogRange`, it also refuses every
 * eth_getLogs spanning more blocks, as hosted providers do (code -32005, "query returned more than 10000 results").
 */
export async function startFaultProxy(options: {
  upstream: string;
  faultRate: number;
  seed: number;
  hangMs?: number;
  maxLogRange?: number;
}): Promise<FaultProxy> {
  const rand = prng(options.seed);
  const kinds: FaultKind[] = ["500", "429", "timeout", "truncated", "reset", "rpc-error"];
  const stats = {
    requests: 0,
    faults: Object.fromEntries(kinds.map((k) => [k, 0])) as Record<FaultKind, number>,
    refusedRanges: 0,
  };
  type Call = { id: number; method: string; params?: { fromBlock?: string; toBlock?: string }[] };
  const tooWide = (call: Call) => {
    const filter = call.params?.[0];
    if (options.maxLogRange === undefined || call.method !== "eth_getLogs" || !filter?.fromBlock || !filter.toBlock)
      return false;
    return Number(filter.toBlock) - Number(filter.fromBlock) + 1 > options.maxLogRange;
  };
  /** The upstream answer with every too-wide eth_getLogs replaced by the provider's refusal. */
  const refuseWideRanges = (requestBody: string, answer: string): string => {
    if (options.maxLogRange === undefined) return answer;
    const calls = ([] as Call[]).concat(JSON.parse(requestBody) as Call | Call[]);
    const refused = new Set(calls.filter(tooWide).map((c) => c.id));
    if (refused.size === 0) return answer;
    stats.refusedRanges += refused.size;
    const refusal = (id: number) => ({
      jsonrpc: "2.0",
      id,
      error: { code: -32005, message: "query returned more than 10000 results" },
    });
    const parsed = JSON.parse(answer) as { id: number } | { id: number }[];
    return JSON.stringify(
      Array.isArray(parsed) ? parsed.map((a) => (refused.has(a.id) ? refusal(a.id) : a)) : refusal(parsed.id),
    );
  };
  const hangMs = options.hangMs ?? 1500;
  const hanging = new Set<ServerResponse>();

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString();
    stats.requests++;
    const fault = rand.next() < options.faultRate ? kinds[Math.floor(rand.next() * kinds.length)]! : undefined;
    if (fault) stats.faults[fault]++;
    switch (fault) {
      case "500":
        res.writeHead(500, { "content-type": "text/plain" }).end("upstream exploded");
        return;
      case "429":
        res.writeHead(429, { "retry-after": "0" }).end(JSON.stringify({ error: "rate limited" }));
        return;
      case "timeout":
        hanging.add(res);
        setTimeout(() => (hanging.delete(res), res.destroy()), hangMs).unref();
        return;
      case "reset":
        res.socket?.destroy();
        return;
      case "rpc-error": {
        const parsed = JSON.parse(body) as { id: number } | { id: number }[];
        const error = (id: number) => ({
          jsonrpc: "2.0",
          id,
          error: { code: -32603, message: "Internal error: backend busy" },
        });
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(Array.isArray(parsed) ? parsed.map((p) => error(p.id)) : error(parsed.id)));
        return;
      }
    }
    let upstream: Response;
    try {
      upstream = await fetch(options.upstream, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
    } catch {
      res.writeHead(502).end();
      return;
    }
    const text = refuseWideRanges(body, await upstream.text());
    res.writeHead(upstream.status, { "content-type": "application/json" });
    res.end(fault === "truncated" ? text.slice(0, Math.max(1, Math.floor(text.length / 2))) : text);
  };

  const port = await findFreePort();
  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  // A truncated answer must still look complete at the HTTP level, so it is sent whole with a short body.
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    close: () =>
      new Promise((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
