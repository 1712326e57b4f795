import { HttpProblem } from "../http/problem.ts";

/** The metadata module's errors; `status` is the HTTP status the route layer answers with (problem+json). */

/** The edition's URI is frozen on-chain (`freezeURI`): its metadata may not change any more. → 409 */
export class EditionUriFrozen extends Error {
  readonly status = 409;
  readonly chainId: number;
  readonly collection: string;
  readonly tokenId: string;
  constructor(chainId: number, collection: string, tokenId: bigint) {
    super(`Edition ${tokenId} of ${collection} has a frozen URI on-chain: its metadata can no longer change.`);
    this.name = "EditionUriFrozen";
    this.chainId = chainId;
    this.collection = collection;
    this.tokenId = tokenId.toString();
  }
}

/** No metadata was set for this edition (or collection). → 404 */
export class MetadataNotFound extends Error {
  readonly status = 404;
  constructor(what: string) {
    super(`No metadata for ${what}.`);
    this.name = "MetadataNotFound";
  }
}

/** A metadata URL whose chain id, collection or token id cannot be read. → 400 (404 on the public JSON path) */
export class MetadataPathInvalid extends Error {
  readonly status = 400;
  constructor(reason: string) {
    super(reason);
    this.name = "MetadataPathInvalid";
  }
}

/** The problem+json answer for a metadata error (undefined for any other error). */
export function metadataProblem(error: unknown): HttpProblem | undefined {
  if (error instanceof EditionUriFrozen) return new HttpProblem(409, "Edition URI frozen", error.message);
  if (error instanceof MetadataNotFound) return new HttpProblem(404, "No metadata", error.message);
  if (error instanceof MetadataPathInvalid)
    return new HttpProblem(400, "Invalid token id", error.message, [{ path: "path.id", message: error.message }]);
  return undefined;
}
