-- Editions as a projection of the indexer (issue 14, public reads): an edition's settings and sale phases, and the
-- collection's current owner, pause and default royalty, all derived from the raw events in chain_event by ONE
-- recompute (server/indexer/store/edition-projection.ts) that the forward path, rollbacks and rebuilds share.

-- Collection-level state, recomputed from the collection's own events. owner was the creator only; it now follows
-- OwnershipTransferred. The pause columns say which editions a collection-wide pause holds for (see Collection.pause:
-- editions 1 to pause_applied_through, and every edition created after the Paused event).
ALTER TABLE "collection"
    ADD COLUMN "paused" BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN "pause_applied_through" NUMERIC(78,0) NOT NULL DEFAULT 0,
    ADD COLUMN "paused_block" BIGINT,
    ADD COLUMN "paused_log_index" INTEGER,
    ADD COLUMN "default_royalty_receiver" TEXT,
    ADD COLUMN "default_royalty_bps" INTEGER NOT NULL DEFAULT 0;

-- One row per edition created (EditionCreated), with the latest value of each setting. royalty_receiver is null
-- when the edition has no royalty of its own (it then falls back to the collection default).
CREATE TABLE "edition" (
    "chain_id" INTEGER NOT NULL,
    "collection" TEXT NOT NULL,
    "token_id" NUMERIC(78,0) NOT NULL,
    "created_block" BIGINT NOT NULL,
    "created_log_index" INTEGER NOT NULL,
    "created_tx" TEXT NOT NULL,
    "max_supply" NUMERIC(78,0) NOT NULL,
    "soulbound" BOOLEAN NOT NULL,
    "redeemable" BOOLEAN NOT NULL,
    "paused" BOOLEAN NOT NULL,
    "referral_bps" INTEGER NOT NULL,
    "uri" TEXT NOT NULL,
    "uri_frozen" BOOLEAN NOT NULL,
    "royalty_receiver" TEXT,
    "royalty_bps" INTEGER,
    CONSTRAINT "edition_pkey" PRIMARY KEY ("chain_id", "collection", "token_id")
);

-- The latest PhaseUpdated per (edition, phase index). A phase is open while starts_at <= t < ends_at.
CREATE TABLE "edition_phase" (
    "chain_id" INTEGER NOT NULL,
    "collection" TEXT NOT NULL,
    "token_id" NUMERIC(78,0) NOT NULL,
    "phase" INTEGER NOT NULL,
    "starts_at" TIMESTAMPTZ(3) NOT NULL,
    "ends_at" TIMESTAMPTZ(3) NOT NULL,
    "price" NUMERIC(78,0) NOT NULL,
    "wallet_limit" BIGINT NOT NULL,
    "merkle_root" TEXT NOT NULL,
    "allowlist" BOOLEAN NOT NULL,
    CONSTRAINT "edition_phase_pkey" PRIMARY KEY ("chain_id", "collection", "token_id", "phase")
);
-- Drops (phases open now or upcoming across collections, soonest first) walk phases by their end, then start.
CREATE INDEX "edition_phase_chain_id_ends_at_idx" ON "edition_phase" ("chain_id", "ends_at");

-- The recompute reads a collection's configuration events only. Partial: transfers and mints (nearly every row)
-- never enter it, so the COPY of a batch without configuration events pays only the predicate.
CREATE INDEX "chain_event_chain_id_address_name_idx" ON "chain_event" ("chain_id", "address", "name")
WHERE "name" IN ('EditionCreated', 'MaxSupplyUpdated', 'ReferralBpsUpdated', 'RedeemableUpdated',
                 'EditionPauseUpdated', 'EditionRoyaltyUpdated', 'URI', 'PermanentURI', 'PhaseUpdated',
                 'OwnershipTransferred', 'Paused', 'Unpaused', 'PauseApplied', 'DefaultRoyaltyUpdated');

-- The projection of the events already indexed is made by `npm run indexer:rebuild` (or a fresh index); until
-- then collections keep their creator as owner.
