import { expect } from "chai";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { encodePng } from "../../../server/media/png.ts";
import {
  detectImageType,
  MAX_IMAGE_BYTES,
  MediaNotFound,
  MediaTooLarge,
  MediaTypeNotAllowed,
  mediaProblem,
  serveImage,
  storeImage,
} from "../../../server/media/service.ts";

const PUBLIC_URL = "http://127.0.0.1:3000";
const png = encodePng(4, 4, (x, y) => [x * 60, y * 60, 128]);
const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00]);
const gif = Buffer.from("GIF89a\x01\x00\x01\x00\x00\x00\x00;", "latin1");
const webp = Buffer.concat([
  Buffer.from("RIFF"),
  Buffer.from([0x1a, 0, 0, 0]),
  Buffer.from("WEBPVP8L"),
  Buffer.alloc(14),
]);

async function rejection(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

/** Every file under `dir`, relative. */
async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(path.relative(dir, path.join(entry.parentPath, entry.name)));
  }
  return out.sort();
}

describe("media: image uploads", () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), "perkmint-media-"));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it("decides the type by magic bytes", () => {
    expect(detectImageType(png)?.contentType).to.equal("image/png");
    expect(detectImageType(jpeg)?.contentType).to.equal("image/jpeg");
    expect(detectImageType(gif)?.contentType).to.equal("image/gif");
    expect(detectImageType(webp)?.contentType).to.equal("image/webp");
    expect(detectImageType(Buffer.from("RIFF\x00\x00\x00\x00WAVE", "latin1"))).to.equal(undefined);
    expect(detectImageType(png.subarray(0, 7))).to.equal(undefined);
  });

  it("stores content-addressed; the same bytes again store nothing new; serves path, type and cache headers", async () => {
    const deps = { dataDir, publicUrl: PUBLIC_URL };
    const sha256 = createHash("sha256").update(png).digest("hex");
    const first = await storeImage(deps, png);
    expect(first).to.deep.equal({
      sha256,
      contentType: "image/png",
      size: png.length,
      url: `${PUBLIC_URL}/media/${sha256}.png`,
      created: true,
    });
    const filesAfterFirst = await files(dataDir);
    expect(filesAfterFirst).to.deep.equal([path.join("media", sha256.slice(0, 2), `${sha256}.png`)]);
    const second = await storeImage(deps, Buffer.from(png));
    expect(second).to.deep.equal({ ...first, created: false });
    expect(await files(dataDir)).to.deep.equal(filesAfterFirst);
    // Concurrent uploads of the same bytes leave one file and no temporary ones.
    await Promise.all(Array.from({ length: 8 }, () => storeImage(deps, jpeg)));
    expect(await files(dataDir)).to.have.length(2);

    const served = await serveImage(deps, `${sha256}.png`);
    expect(served.contentType).to.equal("image/png");
    expect(served.size).to.equal(png.length);
    expect(served.headers).to.deep.equal({
      "Cache-Control": "public, max-age=31536000, immutable",
      "X-Content-Type-Options": "nosniff",
    });
    expect(await readFile(served.path)).to.deep.equal(png);
    for (const name of [
      `${sha256}.jpg`,
      `${"0".repeat(64)}.png`,
      "../../etc/passwd",
      `${sha256.toUpperCase()}.png`,
      `${sha256}.svg`,
    ]) {
      expect(await rejection(serveImage(deps, name)), name).to.be.instanceOf(MediaNotFound);
    }
  });

  it("refuses SVG, anything else and images over 10 MB, storing nothing", async () => {
    const deps = { dataDir, publicUrl: PUBLIC_URL };
    const svg = Buffer.from(
      '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    );
    const refusedSvg = await rejection(storeImage(deps, svg));
    expect(refusedSvg).to.be.instanceOf(MediaTypeNotAllowed);
    expect((refusedSvg as Error).message).to.include("SVG");
    for (const bytes of [Buffer.from("<html><body>hi</body></html>"), Buffer.alloc(0), Buffer.from("%PDF-1.7")]) {
      const e = await rejection(storeImage(deps, bytes));
      expect(e).to.be.instanceOf(MediaTypeNotAllowed);
      expect((e as MediaTypeNotAllowed).status).to.equal(415);
    }
    const big = Buffer.concat([png, Buffer.alloc(MAX_IMAGE_BYTES + 1 - png.length)]);
    const tooLarge = await rejection(storeImage(deps, big));
    expect(tooLarge).to.be.instanceOf(MediaTooLarge);
    expect((tooLarge as MediaTooLarge).status).to.equal(413);
    // Exactly 10 MB is accepted.
    expect((await storeImage(deps, big.subarray(0, MAX_IMAGE_BYTES))).created).to.equal(true);
    expect(await files(dataDir)).to.have.length(1);
  });

  it("maps its errors to problem+json statuses: 413, 415, 404", () => {
    expect(mediaProblem(new MediaTooLarge(1))?.status).to.equal(413);
    expect(mediaProblem(new MediaTypeNotAllowed("x"))?.status).to.equal(415);
    expect(mediaProblem(new MediaNotFound("x"))?.status).to.equal(404);
    expect(mediaProblem(new Error("other"))).to.equal(undefined);
  });
});
