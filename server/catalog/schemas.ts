/**
 * The catalog's answers as zod schemas: what a route declares as its response and what the tests check every answer
 * against. JSON-ready per API-CONVENTIONS.md: amounts, ids and blocks as decimal strings, addresses EIP-55, times
 * ISO 8601 UTC, lists `{ items, nextCursor }`, `asOfBlock` (the indexed block the answer was read at; null before
 * the first batch) on every answer.
 */
import { z } from "zod";

const decimal = z.string().regex(/^(0|[1-9][0-9]*)$/);
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/);
const iso = z.iso.datetime();
const asOfBlock = decimal.nullable().describe("the indexed block this answer was read at");

export const phaseSchema = z.object({
  index: z.number().int().describe("phase index (0-6), the argument of mint()"),
  start: iso,
  end: iso.describe("first instant after the phase; start == end: disabled"),
  price: decimal.describe("wei per token"),
  walletLimit: decimal.describe("most tokens one wallet may receive in the phase; 0 = no limit"),
  allowlist: z.boolean().describe("only wallets on the phase's Merkle allowlist may mint"),
  merkleRoot: z.string(),
});

export const royaltySchema = z.object({
  receiver: address.nullable(),
  bps: z.number().int(),
  source: z.enum(["edition", "collection", "none"]),
});

export const editionSchema = z.object({
  collection: address,
  tokenId: decimal,
  uri: z.string(),
  uriFrozen: z.boolean(),
  maxSupply: decimal,
  minted: decimal,
  burned: decimal,
  supply: decimal,
  supplyLeft: decimal.describe("maxSupply - minted (burns do not free supply)"),
  holders: z.number().int(),
  soulbound: z.boolean(),
  redeemable: z.boolean(),
  paused: z.boolean().describe("the edition's own pause"),
  collectionPaused: z.boolean().describe("a collection-wide pause holds for this edition"),
  referralBps: z.number().int(),
  royalty: royaltySchema,
  createdBlock: decimal,
  createdTx: z.string(),
  phases: z.array(phaseSchema).describe("every phase set, by index"),
  currentPhase: phaseSchema.nullable().describe("open at the indexed head's block time"),
  nextPhase: phaseSchema.nullable().describe("the next to open after the indexed head's block time"),
});

export const editionAnswerSchema = editionSchema.extend({ asOfBlock, headTime: iso.nullable() });

export const editionListSchema = z.object({
  asOfBlock,
  headTime: iso.nullable(),
  items: z.array(editionSchema),
  nextCursor: z.string().nullable(),
});

export const collectionAnswerSchema = z.object({
  address,
  owner: address,
  contractUri: z.string(),
  createdBlock: decimal,
  createdTx: z.string(),
  paused: z.boolean(),
  defaultRoyalty: z.object({ receiver: address, bps: z.number().int() }).nullable(),
  editionCount: z.number().int(),
  asOfBlock,
});

export const holderSchema = z.object({
  owner: address,
  amount: decimal,
  heldSinceBlock: decimal.nullable(),
  heldSince: iso.nullable(),
});

export const holderListSchema = z.object({
  asOfBlock,
  items: z.array(holderSchema),
  nextCursor: z.string().nullable(),
});

export const holdingSchema = z.object({ collection: address, tokenId: decimal, amount: decimal });

export const holdingListSchema = z.object({
  address,
  asOfBlock,
  items: z.array(holdingSchema),
  nextCursor: z.string().nullable(),
});

export const activitySchema = z.object({
  kind: z.enum(["mint", "voucher_mint", "transfer", "burn", "redemption"]),
  collection: address,
  tokenId: decimal,
  from: address,
  to: address,
  amount: decimal,
  /** Mints through a sale phase or a voucher: the Minted event's price paid (wei, whole transaction's sale), referrer and phase. */
  paid: decimal.nullable(),
  referrer: address.nullable(),
  phase: decimal.nullable(),
  txHash: z.string(),
  logIndex: z.number().int(),
  batchIndex: z.number().int(),
  blockNumber: decimal,
  time: iso,
});

export const activityListSchema = z.object({
  asOfBlock,
  items: z.array(activitySchema),
  nextCursor: z.string().nullable(),
});

export type Phase = z.infer<typeof phaseSchema>;
export type Edition = z.infer<typeof editionSchema>;
export type EditionAnswer = z.infer<typeof editionAnswerSchema>;
export type EditionList = z.infer<typeof editionListSchema>;
export type CollectionAnswer = z.infer<typeof collectionAnswerSchema>;
export type HolderList = z.infer<typeof holderListSchema>;
export type HoldingList = z.infer<typeof holdingListSchema>;
export type Activity = z.infer<typeof activitySchema>;
export type ActivityList = z.infer<typeof activityListSchema>;
