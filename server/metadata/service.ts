import type pg from "pg";
import { getAddress, type Address } from "viem";
import { EditionUriFrozen, MetadataNotFound, MetadataPathInvalid } from "./errors.ts";
import type { CollectionMetadata, EditionMetadata } from "./schemas.ts";

/**
 * Off-chain metadata of editions (EIP-1155 metadata JSON) and collections (`contractURI`), set by partners and
 * served by the platform at stable public URLs:
 *
 *   edition:    ${PUBLIC_URL}/metadata/{chainId}/{collection}/{id}.json   (`{id}` as EIP-1155 substitutes it)
 *   collection: ${PUBLIC_URL}/metadata/{chainId}/{collection}/contract.json
 *
 * `{collection}` is written lowercase, any case is read; `{id}` is read as 64 hex digits (what EIP-1155 clients
 * substitute) or as a decimal token id. Editions whose on-chain URI points elsewhere keep it: the resolver reports
 * that URI and serves nothing for it.
 */

export type MetadataServiceDeps = {
  db: pg.Pool;
  /** The platform's public origin (PUBLIC_URL), without a trailing slash. */
  publicUrl: string;
  /** Whether the edition's URI is frozen on-chain (the indexer's edition projection, when it exists). */
  isUriFrozen: (chainId: number, collection: Address, tokenId: bigint) => Promise<boolean>;
};

export type EditionKey = { chainId: number; collection: Address; tokenId: bigint };

export type StoredEditionMetadata = {
  chainId: number;
  collection: Address;
  tokenId: string;
  uri: string;
  metadata: EditionMetadata;
  updatedBy: Address;
  updatedAt: string;
};

export type StoredCollectionMetadata = {
  chainId: number;
  collection: Address;
  uri: string;
  metadata: CollectionMetadata;
  updatedBy: Address;
  updatedAt: string;
};

const trimSlash = (url: string) => url.replace(/\/+$/, "");

/** The URI template to put on-chain for editions of `collection` (EIP-1155 clients replace `{id}`). */
export function editionMetadataUri(publicUrl: string, chainId: number, collection: Address): string {
  return `${trimSlash(publicUrl)}/metadata/${chainId}/${collection.toLowerCase()}/{id}.json`;
}

/** The `contractURI` to put on-chain for `collection`. */
export function collectionMetadataUri(publicUrl: string, chainId: number, collection: Address): string {
  return `${trimSlash(publicUrl)}/metadata/${chainId}/${collection.toLowerCase()}/contract.json`;
}

/** `{id}` as EIP-1155 substitutes it: 64 lowercase hex digits, zero-padded. */
export function tokenIdHex(tokenId: bigint): string {
  return tokenId.toString(16).padStart(64, "0");
}

/** Reads an `{id}` path segment: exactly 64 hex digits (EIP-1155), or a decimal token id (1–78 digits). */
export function parseTokenIdSegment(segment: string): bigint {
  let id: bigint | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(segment)) id = BigInt(`0x${segment}`);
  else if (/^[0-9]{1,78}$/.test(segment)) id = BigInt(segment);
  if (id === undefined || id >= 2n ** 256n) {
    throw new MetadataPathInvalid(`token id "${segment.slice(0, 80)}" is neither 64 hex digits nor a decimal uint256`);
  }
  return id;
}

/** Substitutes `{id}` in an on-chain URI as EIP-1155 defines. */
export function substituteTokenId(uri: string, tokenId: bigint): string {
  return uri.replaceAll("{id}", tokenIdHex(tokenId));
}

export type PlatformMetadataTarget =
  | { kind: "edition"; chainId: number; collection: Address; tokenId: bigint }
  | { kind: "collection"; chainId: number; collection: Address };

/**
 * Whether `uri` (substituted or not) is one of the platform's metadata URLs, and which; undefined when it points
 * elsewhere. An edition URI still holding `{id}` is read for `tokenId`.
 */
export function parsePlatformMetadataUri(
  publicUrl: string,
  uri: string,
  tokenId?: bigint,
): PlatformMetadataTarget | undefined {
  const prefix = `${trimSlash(publicUrl)}/metadata/`;
  if (!uri.startsWith(prefix)) return undefined;
  const match = /^([0-9]{1,10})\/(0x[0-9a-fA-F]{40})\/([^/?#]+)\.json$/.exec(uri.slice(prefix.length));
  if (!match) return undefined;
  const chainId = Number(match[1]);
  const collection = getAddress(match[2]!.toLowerCase());
  const segment = match[3]!;
  if (segment === "contract") return { kind: "collection", chainId, collection };
  if (segment === "{id}") return tokenId === undefined ? undefined : { kind: "edition", chainId, collection, tokenId };
  try {
    return { kind: "edition", chainId, collection, tokenId: parseTokenIdSegment(segment) };
  } catch {
    return undefined;
  }
}

type EditionRow = {
  chain_id: number;
  collection: string;
  token_id: string;
  metadata: EditionMetadata;
  updated_by: string;
  updated_at: Date;
};
type CollectionRow = {
  chain_id: number;
  collection: string;
  metadata: CollectionMetadata;
  updated_by: string;
  updated_at: Date;
};

function toStoredEdition(publicUrl: string, row: EditionRow): StoredEditionMetadata {
  const collection = getAddress(row.collection);
  return {
    chainId: row.chain_id,
    collection,
    tokenId: row.token_id,
    uri: substituteTokenId(editionMetadataUri(publicUrl, row.chain_id, collection), BigInt(row.token_id)),
    metadata: row.metadata,
    updatedBy: getAddress(row.updated_by),
    updatedAt: row.updated_at.toISOString(),
  };
}

function toStoredCollection(publicUrl: string, row: CollectionRow): StoredCollectionMetadata {
  const collection = getAddress(row.collection);
  return {
    chainId: row.chain_id,
    collection,
    uri: collectionMetadataUri(publicUrl, row.chain_id, collection),
    metadata: row.metadata,
    updatedBy: getAddress(row.updated_by),
    updatedAt: row.updated_at.toISOString(),
  };
}

/**
 * Sets (replaces) an edition's metadata, validated by `editionMetadataSchema` at the boundary. Refused with
 * {@link EditionUriFrozen} when the edition's URI is frozen on-chain: holders were promised it stays.
 */
export async function setEditionMetadata(
  deps: MetadataServiceDeps,
  input: EditionKey & { partnerAddress: Address; metadata: EditionMetadata },
): Promise<StoredEditionMetadata> {
  if (await deps.isUriFrozen(input.chainId, input.collection, input.tokenId)) {
    throw new EditionUriFrozen(input.chainId, getAddress(input.collection), input.tokenId);
  }
  const { rows } = await deps.db.query<EditionRow>(
    `INSERT INTO edition_metadata (chain_id, collection, token_id, metadata, updated_by, updated_at)
     VALUES ($1, $2, $3, $4, $5, now())
     ON CONFLICT (chain_id, collection, token_id) DO UPDATE
       SET metadata = EXCLUDED.metadata, updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at
     RETURNING chain_id, collection, token_id::text, metadata, updated_by, updated_at`,
    [
      input.chainId,
      input.collection.toLowerCase(),
      input.tokenId.toString(),
      JSON.stringify(input.metadata),
      input.partnerAddress.toLowerCase(),
    ],
  );
  return toStoredEdition(deps.publicUrl, rows[0]!);
}

/** An edition's stored metadata, or {@link MetadataNotFound}. */
export async function getEditionMetadata(
  deps: Pick<MetadataServiceDeps, "db" | "publicUrl">,
  input: EditionKey,
): Promise<StoredEditionMetadata> {
  const { rows } = await deps.db.query<EditionRow>(
    `SELECT chain_id, collection, token_id::text, metadata, updated_by, updated_at FROM edition_metadata
     WHERE chain_id = $1 AND collection = $2 AND token_id = $3`,
    [input.chainId, input.collection.toLowerCase(), input.tokenId.toString()],
  );
  if (!rows[0])
    throw new MetadataNotFound(`edition ${input.tokenId} of ${getAddress(input.collection)} on chain ${input.chainId}`);
  return toStoredEdition(deps.publicUrl, rows[0]);
}

/** Sets (replaces) a collection's `contractURI` metadata. */
export async function setCollectionMetadata(
  deps: Pick<MetadataServiceDeps, "db" | "publicUrl">,
  input: { chainId: number; collection: Address; partnerAddress: Address; metadata: CollectionMetadata },
): Promise<StoredCollectionMetadata> {
  const { rows } = await deps.db.query<CollectionRow>(
    `INSERT INTO collection_metadata (chain_id, collection, metadata, updated_by, updated_at)
     VALUES ($1, $2, $3, $4, now())
     ON CONFLICT (chain_id, collection) DO UPDATE
       SET metadata = EXCLUDED.metadata, updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at
     RETURNING chain_id, collection, metadata, updated_by, updated_at`,
    [input.chainId, input.collection.toLowerCase(), JSON.stringify(input.metadata), input.partnerAddress.toLowerCase()],
  );
  return toStoredCollection(deps.publicUrl, rows[0]!);
}

/** A collection's stored metadata, or {@link MetadataNotFound}. */
export async function getCollectionMetadata(
  deps: Pick<MetadataServiceDeps, "db" | "publicUrl">,
  input: { chainId: number; collection: Address },
): Promise<StoredCollectionMetadata> {
  const { rows } = await deps.db.query<CollectionRow>(
    `SELECT chain_id, collection, metadata, updated_by, updated_at FROM collection_metadata WHERE chain_id = $1 AND collection = $2`,
    [input.chainId, input.collection.toLowerCase()],
  );
  if (!rows[0]) throw new MetadataNotFound(`collection ${getAddress(input.collection)} on chain ${input.chainId}`);
  return toStoredCollection(deps.publicUrl, rows[0]);
}

/**
 * What the public route `GET /metadata/:chainId/:collection/:file` answers: `file` is `contract.json` or
 * `{id}.json` with the id in hex (64 digits) or decimal. Returns the JSON document itself.
 * {@link MetadataPathInvalid} for an unreadable id, {@link MetadataNotFound} when nothing is set.
 */
export async function serveMetadataFile(
  deps: Pick<MetadataServiceDeps, "db" | "publicUrl">,
  input: { chainId: number; collection: Address; file: string },
): Promise<EditionMetadata | CollectionMetadata> {
  const name = input.file.replace(/\.json$/, "");
  if (name === "contract") return (await getCollectionMetadata(deps, input)).metadata;
  const tokenId = parseTokenIdSegment(name);
  return (await getEditionMetadata(deps, { ...input, tokenId })).metadata;
}

export type ResolvedEditionMetadata = {
  /** The on-chain URI with `{id}` substituted. */
  uri: string;
  servedByPlatform: boolean;
  /** The JSON the platform serves at `uri`; null when the URI points elsewhere or nothing is set there yet. */
  metadata: EditionMetadata | null;
};

/**
 * Given an edition's on-chain URI (as `uri(id)` returns it), says whether the platform serves it and, if so,
 * returns the JSON. A URI elsewhere (IPFS, a partner's server) is reported as it is, never fetched or imitated.
 */
export async function resolveEditionMetadata(
  deps: Pick<MetadataServiceDeps, "db" | "publicUrl">,
  input: EditionKey & { onChainUri: string },
): Promise<ResolvedEditionMetadata> {
  const uri = substituteTokenId(input.onChainUri, input.tokenId);
  const target = parsePlatformMetadataUri(deps.publicUrl, input.onChainUri, input.tokenId);
  if (!target || target.kind !== "edition") return { uri, servedByPlatform: false, metadata: null };
  try {
    return { uri, servedByPlatform: true, metadata: (await getEditionMetadata(deps, target)).metadata };
  } catch (error) {
    if (error instanceof MetadataNotFound) return { uri, servedByPlatform: true, metadata: null };
    throw error;
  }
}
