import { mkdtemp } from "node:fs/promises";
import type { Server } from "node:http";
import os from "node:os";
import path from "node:path";
import type { LocalAccount } from "viem";
import { createSiweMessage } from "viem/siwe";
import { createApp, type AppDeps } from "../http/app.ts";
import { findFreePort } from "../lib/ports.ts";

export type Answer = { status: number; headers: Headers; body: Record<string, unknown> | undefined };

export type TestApi = Awaited<ReturnType<typeof startTestApi>>;

/**
 * An API server for a test suite, on a free port chosen first so that PUBLIC_URL (which SIWE messages name) is
 * known; every JSON answer is checked against its route's declared schema. Uploaded images go to a temporary data
 * folder of the suite's own.
 */
export async function startTestApi(deps: Omit<AppDeps, "auth"> & { auth?: AppDeps["auth"] }) {
  const port = await findFreePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const dataDir = deps.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), "perkmint-api-data-")));
  const app = createApp({ ...deps, dataDir, auth: { publicUrl, ...deps.auth }, checkResponses: true });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(port, "127.0.0.1", () => resolve(s));
  });
  const call = async (
    method: string,
    route: string,
    options: { body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<Answer> => {
    const res = await fetch(publicUrl + route, {
      method,
      headers: { ...(options.body !== undefined ? { "content-type": "application/json" } : {}), ...options.headers },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined,
    };
  };
  const stop = async () => {
    const closed = new Promise((resolve) => server.close(resolve));
    server.closeAllConnections();
    await closed;
  };
  const host = `127.0.0.1:${port}`;
  /** A Sign-In with Ethereum message for this server, with a fresh nonce from it. */
  const message = async (address: `0x${string}`, overrides: Partial<Parameters<typeof createSiweMessage>[0]> = {}) =>
    createSiweMessage({
      address,
      domain: host,
      statement: "Sign in to Perkmint",
      uri: publicUrl,
      version: "1",
      chainId: 31337,
      nonce: (await call("GET", "/v1/auth/nonce")).body!.nonce as string,
      issuedAt: new Date(),
      ...overrides,
    });
  /** Signs `account` in with a real signature; its bearer headers for later calls. */
  const signIn = async (account: LocalAccount): Promise<Record<string, string>> => {
    const text = await message(account.address);
    const answer = await call("POST", "/v1/auth/verify", {
      body: { message: text, signature: await account.signMessage({ message: text }) },
    });
    if (answer.status !== 200) throw new Error(`sign-in failed: ${JSON.stringify(answer.body)}`);
    return { authorization: `Bearer ${String(answer.body!.token)}` };
  };
  return { publicUrl, host, call, message, signIn, stop };
}
