import { createPublicClient, http, webSocket, type PublicClient } from "viem";

/** A read client for the configured RPC: WebSocket for ws(s):// URLs, HTTP otherwise, with retries on faults. */
export function createChainClient(rpcUrl: string, options: { pollingIntervalMs?: number } = {}): PublicClient {
  const transport = rpcUrl.startsWith("ws")
    ? webSocket(rpcUrl, { retryCount: 5, timeout: 10_000 })
    : http(rpcUrl, { retryCount: 5, retryDelay: 100, timeout: 10_000 });
  return createPublicClient({ transport, pollingInterval: options.pollingIntervalMs ?? 1000 });
}
