import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import os from "node:os";
import path from "node:path";
import { createPrisma, type PrismaClient } from "../../../server/database/client.ts";
import { createApp } from "../../../server/http/app.ts";
import { expressPath } from "../../../server/http/route.ts";
import { routesOf } from "../../../server/http/methods.ts";
import { createLogger } from "../../../server/lib/logger.ts";
import { createTestDatabase, type TestDatabase } from "../../../server/testing/database.ts";

/** The API's description: derived from the route declarations, complete, lint-clean, and browsable at /docs. */
describe("OpenAPI document and reference page", () => {
  let db: TestDatabase;
  let prisma: PrismaClient;
  let app: ReturnType<typeof createApp>;
  let server: Server;
  let base: string;
  const chainHead = { state: () => ({ head: null, reachable: true }) };

  before(async () => {
    db = await createTestDatabase();
    prisma = createPrisma(db.url);
    app = createApp({
      prisma,
      chainHead,
      chainId: 31337,
      confirmations: 0,
      logger: createLogger("silent"),
      checkResponses: true,
    });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, "127.0.0.1", () => resolve(s));
    });
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  });

  after(async () => {
    if (server) {
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      await closed;
    }
    await prisma?.$disconnect();
    await db?.drop();
  });

  const document = async () =>
    (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };

  it("describes exactly the routes Express serves, method by method", async () => {
    const documented = Object.entries((await document()).paths)
      .flatMap(([p, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${expressPath(p)}`))
      .sort();
    const served = routesOf((app as unknown as { router: Parameters<typeof routesOf>[0] }).router)
      .flatMap((r) => r.methods.map((m) => `${m} ${r.path}`))
      .sort();
    expect(served.length).to.be.greaterThan(5);
    expect(served).to.deep.equal(documented);
  });

  it("says each operation's required role and declares the problem answers", async () => {
    for (const [p, item] of Object.entries((await document()).paths)) {
      for (const [method, op] of Object.entries(
        item as Record<string, { "x-required-role"?: string; responses: Record<string, unknown> }>,
      )) {
        expect(op["x-required-role"], `${method} ${p}`).to.be.oneOf(["public", "holder", "partner", "operator"]);
        expect(op.responses, `${method} ${p}`).to.have.property("400");
        expect(op.responses, `${method} ${p}`).to.have.property("429");
      }
    }
  });

  it("passes the OpenAPI linter (@redocly/cli, recommended rules, offline)", async function () {
    this.timeout(60_000);
    const dir = await mkdtemp(path.join(os.tmpdir(), "perkmint-openapi-"));
    try {
      const file = path.join(dir, "openapi.json");
      await writeFile(file, JSON.stringify(await document()));
      const cli = path.resolve(import.meta.dirname, "../../../node_modules/@redocly/cli/bin/cli.js");
      const outcome = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
        const child = spawn(process.execPath, [cli, "lint", file, "--extends=recommended", "--format=stylish"], {
          env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true", NO_COLOR: "1" },
          stdio: ["ignore", "pipe", "pipe"],
        });
        let output = "";
        child.stdout.on("data", (c: Buffer) => (output += c.toString()));
        child.stderr.on("data", (c: Buffer) => (output += c.toString()));
        child.once("error", reject);
        child.once("close", (code) => resolve({ code, output }));
      });
      expect(outcome.code, outcome.output).to.equal(0);
      expect(outcome.output).to.not.match(/warning/i);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("serves a browsable reference at /docs from this server alone (no CDN, no inline script)", async () => {
    const page = await fetch(`${base}/docs`);
    expect(page.status).to.equal(200);
    expect(page.headers.get("content-type")).to.match(/^text\/html/);
    const html = await page.text();
    expect(html).to.not.match(/https?:\/\//);
    expect(html).to.not.match(/<script>(?!<\/script>)/);
    const assets = [...html.matchAll(/(?:src|href)="(\/docs\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets).to.have.length(3);
    for (const asset of assets) {
      const res = await fetch(base + asset);
      expect(res.status, asset).to.equal(200);
      expect((await res.arrayBuffer()).byteLength, asset).to.be.greaterThan(100);
    }
    // helmet's Content-Security-Policy allows exactly this: scripts from this origin only.
    expect(page.headers.get("content-security-policy")).to.match(/script-src 'self'/);
  });
});
