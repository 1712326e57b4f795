import { createHash, randomBytes } from "node:crypto";
import { mkdir, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { HttpProblem } from "../http/problem.ts";

/**
 * Partner image uploads: PNG, JPEG, WebP and GIF up to 10 MB, the type decided by the file's own first bytes
 * (never by its name or a Content-Type header), everything else refused — SVG above all, which is a document
 * that can carry script. Stored content-addressed: `${dataDir}/media/<2 hex>/<sha256>.<ext>`, written to a
 * temporary file and renamed into place, so a reader never sees half a file and the same bytes uploaded twice
 * store nothing new. Served forever-cacheable, since a URL names exactly one content.
 *
 * Several API processes must share the data folder (or this module must move to object storage).
 */

export const MAX_IMAGE_BYTES = 10 * 1024 * 1024;

export type ImageType = {
  contentType: "image/png" | "image/jpeg" | "image/webp" | "image/gif";
  extension: "png" | "jpg" | "webp" | "gif";
};

const TYPES: Record<ImageType["extension"], ImageType> = {
  png: { contentType: "image/png", extension: "png" },
  jpg: { contentType: "image/jpeg", extension: "jpg" },
  webp: { contentType: "image/webp", extension: "webp" },
  gif: { contentType: "image/gif", extension: "gif" },
};

/** The headers every media answer carries (the route sets them, with Content-Type from {@link serveImage}). */
export const MEDIA_RESPONSE_HEADERS = {
  "Cache-Control": "public, max-age=31536000, immutable",
  "X-Content-Type-Options": "nosniff",
} as const;

export type MediaServiceDeps = {
  /** PERKMINT_DATA_DIR (default .perkmint). */
  dataDir: string;
  /** PUBLIC_URL, without a trailing slash. */
  publicUrl: string;
};

/** The upload is larger than {@link MAX_IMAGE_BYTES}. → 413 */
export class MediaTooLarge extends Error {
  readonly status = 413;
  readonly size: number;
  constructor(size: number) {
    super(`The image is ${size} bytes; at most ${MAX_IMAGE_BYTES} (10 MB) are accepted.`);
    this.name = "MediaTooLarge";
    this.size = size;
  }
}

/** The bytes are not a PNG, JPEG, WebP or GIF image (SVG included: refused). → 415 */
export class MediaTypeNotAllowed extends Error {
  readonly status = 415;
  constructor(reason: string) {
    super(`${reason} Accepted: PNG, JPEG, WebP, GIF (judged by the file's content, not its name).`);
    this.name = "MediaTypeNotAllowed";
  }
}

/** No stored image by that name. → 404 */
export class MediaNotFound extends Error {
  readonly status = 404;
  constructor(name: string) {
    super(`No image ${name.slice(0, 80)}.`);
    this.name = "MediaNotFound";
  }
}

const startsWith = (bytes: Uint8Array, signature: readonly number[], offset = 0) =>
  bytes.length >= offset + signature.length && signature.every((b, i) => bytes[offset + i] === b);
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

/** The image type of `bytes` from their magic numbers, or undefined when they are none of the accepted types. */
export function detectImageType(bytes: Uint8Array): ImageType | undefined {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return TYPES.png;
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return TYPES.jpg;
  if (startsWith(bytes, ascii("GIF87a")) || startsWith(bytes, ascii("GIF89a"))) return TYPES.gif;
  if (startsWith(bytes, ascii("RIFF")) && startsWith(bytes, ascii("WEBP"), 8)) return TYPES.webp;
  return undefined;
}

export type StoredImage = {
  sha256: string;
  contentType: ImageType["contentType"];
  size: number;
  /** `${publicUrl}/media/<sha256>.<ext>`: put it in metadata `image`. */
  url: string;
  /** False when the same bytes were already stored (nothing new was written). */
  created: boolean;
};

const fileName = (sha256: string, type: ImageType) => `${sha256}.${type.extension}`;
const filePath = (dataDir: string, name: string) => path.join(dataDir, "media", name.slice(0, 2), name);

async function exists(file: string) {
  return stat(file).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** Checks and stores an uploaded image. {@link MediaTooLarge}, {@link MediaTypeNotAllowed}. */
export async function storeImage(deps: MediaServiceDeps, bytes: Uint8Array): Promise<StoredImage> {
  if (bytes.length > MAX_IMAGE_BYTES) throw new MediaTooLarge(bytes.length);
  const type = detectImageType(bytes);
  if (!type) {
    const head = Buffer.from(bytes.subarray(0, 512)).toString("utf8").trimStart().toLowerCase();
    const svg = head.startsWith("<svg") || (head.startsWith("<?xml") && head.includes("<svg"));
    throw new MediaTypeNotAllowed(
      bytes.length === 0
        ? "The upload is empty."
        : svg
          ? "SVG images are not accepted."
          : "The file is not an image of an accepted type.",
    );
  }
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const name = fileName(sha256, type);
  const target = filePath(deps.dataDir, name);
  const result = {
    sha256,
    contentType: type.contentType,
    size: bytes.length,
    url: `${deps.publicUrl.replace(/\/+$/, "")}/media/${name}`,
  };
  if (await exists(target)) return { ...result, created: false };
  await mkdir(path.dirname(target), { recursive: true });
  // Same folder as the target, so the rename is atomic (one file system).
  const temporary = path.join(path.dirname(target), `.${name}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    await writeFile(temporary, bytes, { flag: "wx" });
    // Two uploads of the same bytes may race here: each renames identical content into place; either wins.
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return { ...result, created: true };
}

export type ServedImage = {
  path: string;
  contentType: ImageType["contentType"];
  size: number;
  headers: typeof MEDIA_RESPONSE_HEADERS;
};

/**
 * Where the bytes of `name` (`<sha256>.<ext>`, as in a stored image's URL) are and how to answer them; the route
 * sends the file with `contentType` and `headers`. {@link MediaNotFound} for any other name or a missing file.
 */
export async function serveImage(deps: Pick<MediaServiceDeps, "dataDir">, name: string): Promise<ServedImage> {
  const match = /^([0-9a-f]{64})\.(png|jpg|webp|gif)$/.exec(name);
  if (!match) throw new MediaNotFound(name);
  const file = filePath(deps.dataDir, name);
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) throw new MediaNotFound(name);
  return {
    path: path.resolve(file),
    contentType: TYPES[match[2] as ImageType["extension"]].contentType,
    size: info.size,
    headers: MEDIA_RESPONSE_HEADERS,
  };
}

/** The problem+json answer for a media error (undefined for any other error). */
export function mediaProblem(error: unknown): HttpProblem | undefined {
  if (error instanceof MediaTooLarge) return new HttpProblem(413, "Image too large", error.message);
  if (error instanceof MediaTypeNotAllowed)
    return new HttpProblem(415, "Image type not accepted", error.message, [{ path: "body", message: error.message }]);
  if (error instanceof MediaNotFound) return new HttpProblem(404, "Unknown image", error.message);
  return undefined;
}
