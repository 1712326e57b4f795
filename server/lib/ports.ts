import net from "node:net";

/** Asks the OS for a free TCP port on loopback. Another process may still take it before we bind; callers retry. */
export function findFreePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error("Could not determine a free port"))));
    });
  });
}

/** Can a server listen on `port` now? */
export function isPortFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer().once("error", () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

/**
 * The well-known `preferred` port when it is free, else any free one; when it is taken, `say` is told so first,
 * naming both ports and the variable that chooses one.
 */
export async function preferredOrFreePort(
  preferred: number,
  what: { name: string; variable: string },
  say: (line: string) => void,
  host = "127.0.0.1",
): Promise<number> {
  if (await isPortFree(preferred, host)) return preferred;
  const port = await findFreePort(host);
  say(
    `Port ${preferred} is already in use, so the ${what.name} takes port ${port} instead (set ${what.variable} to choose one).`,
  );
  return port;
}
