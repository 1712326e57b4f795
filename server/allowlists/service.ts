import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { encodeFunctionData, getAddress, parseAbi, type Address, type Hex } from "viem";
import { decodeCursor, encodeCursor } from "../http/pagination.ts";
import { AllowlistEntryNotFound, AllowlistNotFound } from "./errors.ts";
import { buildAllowlistTree, proofIndexes } from "./merkle-tree.ts";
import { parseAllowlist, type AllowlistFormat } from "./parse.ts";
import { allowlistCursorSchema } from "./schemas.ts";

/**
 * Allowlists for allowlist sale phases: upload (parse, check every row, build the tree, store), read, and serve
 * each wallet's allowance and proof. Inputs are already validated and authorised by the route layer; answers are
 * JSON-ready (decimal strings, EIP-55 addresses, ISO times). Errors: ./errors.ts.
 */

export type AllowlistServiceDeps = { db: pg.Pool };

/** The sale phase the list is for: what `setPhase` is called with besides the root. */
export type AllowlistPhaseSettings = { start: number; end: number; price: bigint; walletLimit: number };

export type CreateAllowlistParameters = {
  chainId: number;
  collection: Address;
  /** The signed-in partner (or API key owner) uploading it; recorded, not checked here. */
  partnerAddress: Address;
  edition: bigint;
  /** Phase index 0–6. */
  phase: number;
  sale: AllowlistPhaseSettings;
  name?: string | undefined;
  format: AllowlistFormat;
  content: string;
};

export type SetPhaseCall = {
  to: Address;
  functionName: "setPhase";
  args: [
    edition: string,
    phase: number,
    config: { start: number; end: number; price: string; walletLimit: number; merkleRoot: Hex },
  ];
  /** The same call ABI-encoded, ready for `eth_sendTransaction` from an edition admin of the collection. */
  data: Hex;
};

export type Allowlist = {
  id: string;
  chainId: number;
  collection: Address;
  edition: string;
  phase: number;
  name: string | null;
  root: Hex;
  entryCount: number;
  totalQuantity: string;
  createdBy: Address;
  createdAt: string;
  setPhase: SetPhaseCall;
};

export type AllowlistProof = {
  allowlistId: string;
  chainId: number;
  collection: Address;
  edition: string;
  phase: number;
  root: Hex;
  address: Address;
  /** The leaf's maxQuantity: pass it to `mintAllowlisted` as `allowance`. */
  allowance: string;
  /** Most the wallet may mint in the phase: the allowance, or the phase's wallet limit when that is lower. */
  limit: string;
  proof: Hex[];
};

const setPhaseAbi = parseAbi([
  "function setPhase(uint256 edition, uint256 phase, (uint32 start, uint32 end, uint80 price, uint24 walletLimit, bytes32 merkleRoot) config)",
]);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type AllowlistRow = {
  id: string;
  chain_id: number;
  collection: string;
  edition: string;
  phase: number;
  phase_start: string;
  phase_end: string;
  price: string;
  wallet_limit: number;
  name: string | null;
  root: string;
  entry_count: number;
  total_quantity: string;
  created_by: string;
  created_at: Date;
};

/** The columns of an {@link AllowlistRow}, of table alias `t`. */
const summaryColumns = (t: string) =>
  `${t}.id, ${t}.chain_id, ${t}.collection, ${t}.edition::text, ${t}.phase, ${t}.phase_start::text, ${t}.phase_end::text,
   ${t}.price::text, ${t}.wallet_limit, ${t}.name, ${t}.root, ${t}.entry_count, ${t}.total_quantity::text, ${t}.created_by,
   ${t}.created_at`;

function toAllowlist(row: AllowlistRow): Allowlist {
  const collection = getAddress(row.collection);
  const root = row.root as Hex;
  const config = {
    start: Number(row.phase_start),
    end: Number(row.phase_end),
    price: row.price,
    walletLimit: row.wallet_limit,
    merkleRoot: root,
  };
  return {
    id: row.id,
    chainId: row.chain_id,
    collection,
    edition: row.edition,
    phase: row.phase,
    name: row.name,
    root,
    entryCount: row.entry_count,
    totalQuantity: row.total_quantity,
    createdBy: getAddress(row.created_by),
    createdAt: row.created_at.toISOString(),
    setPhase: {
      to: collection,
      functionName: "setPhase",
      args: [row.edition, row.phase, config],
      data: encodeFunctionData({
        abi: setPhaseAbi,
        functionName: "setPhase",
        args: [BigInt(row.edition), BigInt(row.phase), { ...config, price: BigInt(config.price) }],
      }),
    },
  };
}

/**
 * COPY text rows of the entries, in chunks of about 1 MB. Every value is hex, digits or a UUID: nothing to escape.
 * Rows go in address order (the column is `COLLATE "C"`, lowercase hex: string order is index order), so each key
 * lands on the primary key's rightmost leaf page, PostgreSQL's fast path for ascending inserts, instead of a random
 * page of the index (measured: about a third less COPY time for 100,000 rows).
 */
function* entryCopyChunks(
  id: string,
  rows: readonly { account: string; maxQuantity: bigint; line: number }[],
  treeIndex: Int32Array,
) {
  const order = Array.from(rows.keys()).sort((a, b) => (rows[a]!.account < rows[b]!.account ? -1 : 1));
  let chunk = "";
  for (const j of order) {
    const r = rows[j]!;
    chunk += `${id}\t${r.account}\t${r.maxQuantity}\t${treeIndex[j]}\t${r.line}\n`;
    if (chunk.length > 1 << 20) {
      yield chunk;
      chunk = "";
    }
  }
  if (chunk) yield chunk;
}

/**
 * Parses and checks an upload (every bad row reported: {@link AllowlistRowsInvalid}), builds its Merkle tree in
 * the Collection's leaf format and stores list, tree and rows in one transaction (rows by COPY). Nothing is stored
 * unless every row is good.
 * @returns the allowlist, with the root and the `setPhase` call to make on-chain.
 */
export async function createAllowlist(
  deps: AllowlistServiceDeps,
  input: CreateAllowlistParameters,
): Promise<Allowlist> {
  const rows = parseAllowlist(input.content, input.format);
  const tree = buildAllowlistTree(rows);
  const totalQuantity = rows.reduce((sum, r) => sum + r.maxQuantity, 0n);
  const client = await deps.db.connect();
  try {
    await client.query("BEGIN");
    const inserted = await client.query<AllowlistRow>(
      `INSERT INTO allowlist (chain_id, collection, edition, phase, phase_start, phase_end, price, wallet_limit, name, root,
         entry_count, total_quantity, tree, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
       RETURNING ${summaryColumns("allowlist")}`,
      [
        input.chainId,
        input.collection.toLowerCase(),
        input.edition.toString(),
        input.phase,
        input.sale.start,
        input.sale.end,
        input.sale.price.toString(),
        input.sale.walletLimit,
        input.name ?? null,
        tree.root,
        rows.length,
        totalQuantity.toString(),
        tree.nodes,
        input.partnerAddress.toLowerCase(),
      ],
    );
    const row = inserted.rows[0]!;
    const copy = client.query(
      copyFrom(`COPY allowlist_entry (allowlist_id, address, max_quantity, tree_index, line) FROM STDIN`),
    );
    await pipeline(Readable.from(entryCopyChunks(row.id, rows, tree.treeIndex)), copy);
    await client.query("COMMIT");
    return toAllowlist(row);
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/** One allowlist by id (on `chainId`), or {@link AllowlistNotFound}. */
export async function getAllowlist(
  deps: AllowlistServiceDeps,
  input: { chainId: number; allowlistId: string },
): Promise<Allowlist> {
  if (!UUID.test(input.allowlistId)) throw new AllowlistNotFound(input.allowlistId);
  const { rows } = await deps.db.query<AllowlistRow>(
    `SELECT ${summaryColumns("a")} FROM allowlist a WHERE id = $1 AND chain_id = $2`,
    [input.allowlistId, input.chainId],
  );
  if (!rows[0]) throw new AllowlistNotFound(input.allowlistId);
  return toAllowlist(rows[0]);
}

/**
 * A collection's allowlists, newest first (by creation time, then id), as `{ items, nextCursor }`. A cursor not
 * made by this list is an `HttpProblem` 400 naming `query.cursor` (from the shared pagination helper).
 */
export async function listAllowlists(
  deps: AllowlistServiceDeps,
  input: { chainId: number; collection: Address; limit: number; cursor?: string | undefined },
): Promise<{ items: Allowlist[]; nextCursor: string | null }> {
  const after = decodeCursor(input.cursor, allowlistCursorSchema);
  const params: unknown[] = [input.chainId, input.collection.toLowerCase(), input.limit + 1];
  let where = "";
  if (after) {
    params.push(after[0], after[1]);
    where = "AND (created_at, id) < ($4::timestamptz, $5::uuid)";
  }
  const { rows } = await deps.db.query<AllowlistRow>(
    `SELECT ${summaryColumns("a")} FROM allowlist a WHERE chain_id = $1 AND collection = $2 ${where}
     ORDER BY created_at DESC, id DESC LIMIT $3`,
    params,
  );
  const page = rows.slice(0, input.limit);
  const last = page.at(-1);
  return {
    items: page.map(toAllowlist),
    nextCursor: rows.length > input.limit && last ? encodeCursor([last.created_at.toISOString(), last.id]) : null,
  };
}

/**
 * A wallet's allowance and Merkle proof on an allowlist (`address` in any case). The proof is read from the stored
 * tree (only the sibling nodes), not rebuilt. {@link AllowlistNotFound} / {@link AllowlistEntryNotFound}.
 */
export async function getAllowlistProof(
  deps: AllowlistServiceDeps,
  input: { chainId: number; allowlistId: string; address: Address },
): Promise<AllowlistProof> {
  if (!UUID.test(input.allowlistId)) throw new AllowlistNotFound(input.allowlistId);
  const { rows } = await deps.db.query<AllowlistRow & { max_quantity: string | null; tree_index: number | null }>(
    `SELECT ${summaryColumns("a")}, e.max_quantity::text, e.tree_index
     FROM allowlist a LEFT JOIN allowlist_entry e ON e.allowlist_id = a.id AND e.address = $3
     WHERE a.id = $1 AND a.chain_id = $2`,
    [input.allowlistId, input.chainId, input.address.toLowerCase()],
  );
  const row = rows[0];
  if (!row) throw new AllowlistNotFound(input.allowlistId);
  if (row.max_quantity === null || row.tree_index === null)
    throw new AllowlistEntryNotFound(input.allowlistId, getAddress(input.address));
  const siblings = proofIndexes(row.tree_index);
  const proof: Hex[] = [];
  if (siblings.length > 0) {
    const nodes = await deps.db.query<{ node: Buffer }>(
      `SELECT substring(a.tree FROM s.i * 32 + 1 FOR 32) AS node
       FROM allowlist a, unnest($2::int[]) WITH ORDINALITY AS s(i, ord) WHERE a.id = $1 ORDER BY s.ord`,
      [input.allowlistId, siblings],
    );
    for (const n of nodes.rows) proof.push(`0x${n.node.toString("hex")}`);
  }
  const allowance = BigInt(row.max_quantity);
  const limit = row.wallet_limit > 0 && BigInt(row.wallet_limit) < allowance ? BigInt(row.wallet_limit) : allowance;
  return {
    allowlistId: row.id,
    chainId: row.chain_id,
    collection: getAddress(row.collection),
    edition: row.edition,
    phase: row.phase,
    root: row.root as Hex,
    address: getAddress(input.address),
    allowance: allowance.toString(),
    limit: limit.toString(),
    proof,
  };
}
