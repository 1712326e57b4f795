-- Loyalty (server/loyalty): versioned points rules, seasons, the append-only points ledger with a per-wallet balance
-- that can never go negative, pending awards waiting for their fact to become final, and points offers with the
-- redemptions (mint vouchers) bought with them.

-- Rules as JSON (validated by server/loyalty/rules.ts); a change is a new version, never an edit.
CREATE TABLE points_rules (
  version    integer PRIMARY KEY,
  rules      jsonb NOT NULL,
  created_by text NOT NULL,
  comment    text,
  created_at timestamptz(3) NOT NULL DEFAULT now()
);

CREATE TABLE points_season (
  id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name       text NOT NULL,
  starts_at  timestamptz(3) NOT NULL,
  ends_at    timestamptz(3) NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  CONSTRAINT points_season_window CHECK (ends_at > starts_at)
);
CREATE INDEX points_season_window_index ON points_season (starts_at, ends_at);

-- Every change of a wallet's points, as an entry in one of two buckets: pending (derived from a fact not yet final)
-- or available (spendable). Append-only: the trigger below refuses updates and deletes.
CREATE TABLE points_entry (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  wallet          text NOT NULL,
  bucket          text NOT NULL,
  amount          bigint NOT NULL,
  reason          text NOT NULL,
  reference       text NOT NULL,
  rule_version    integer REFERENCES points_rules (version),
  idempotency_key text NOT NULL UNIQUE,
  -- When the points were earned (the fact's block time for chain facts): seasons and caps count by it.
  earned_at       timestamptz(3) NOT NULL,
  -- One of the pair of entries that makes an award available (pending −N, available +N): not a new earning, so caps
  -- leave it out; seasons, lifetime and tiers count the available half.
  maturation      boolean NOT NULL DEFAULT false,
  operator        text,
  comment         text,
  created_at      timestamptz(3) NOT NULL DEFAULT now(),
  CONSTRAINT points_entry_bucket CHECK (bucket IN ('pending', 'available')),
  CONSTRAINT points_entry_amount CHECK (amount <> 0),
  CONSTRAINT points_entry_reason CHECK (reason IN ('mint', 'holding_milestone', 'task', 'check_in', 'referral',
    'redemption', 'refund', 'expiry', 'reversal', 'adjustment')),
  CONSTRAINT points_entry_adjustment CHECK (reason <> 'adjustment' OR (operator IS NOT NULL AND comment IS NOT NULL))
);
CREATE INDEX points_entry_wallet ON points_entry (wallet, id);
CREATE INDEX points_entry_earned ON points_entry (earned_at) WHERE bucket = 'available' AND (amount > 0 OR reason = 'reversal');

CREATE FUNCTION points_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'points_entry is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER points_entry_append_only BEFORE UPDATE OR DELETE ON points_entry
  FOR EACH ROW EXECUTE FUNCTION points_entry_append_only();
CREATE TRIGGER points_entry_no_truncate BEFORE TRUNCATE ON points_entry
  FOR EACH STATEMENT EXECUTE FUNCTION points_entry_append_only();

-- Per wallet, kept in the same transaction as its entries. The checks make "never negative" the database's rule.
CREATE TABLE points_balance (
  wallet     text PRIMARY KEY,
  available  bigint NOT NULL DEFAULT 0,
  pending    bigint NOT NULL DEFAULT 0,
  -- Every point ever earned and made available (spending and refunds do not count): tiers use it.
  lifetime   bigint NOT NULL DEFAULT 0,
  updated_at timestamptz(3) NOT NULL DEFAULT now(),
  CONSTRAINT points_balance_available CHECK (available >= 0),
  CONSTRAINT points_balance_pending CHECK (pending >= 0),
  CONSTRAINT points_balance_lifetime CHECK (lifetime >= 0)
);

-- Every award derived from a chain fact, and what became of it: pending until the fact is POINTS_FINALITY blocks
-- deep (then available), or reversed when a reorg retracts the fact first. A retraction that comes later (a reorg
-- deeper than POINTS_FINALITY: an operator's rewind, a reset) reverses the available points, as far as the balance
-- allows. Not the ledger (that is points_entry): this is the state machine behind its award entries.
CREATE TABLE points_award (
  award_key    text PRIMARY KEY,
  fact_key     text NOT NULL,
  chain_id     integer NOT NULL,
  block_number bigint NOT NULL,
  -- The fact's block: an award matures only while that block is still the indexed one (a retraction not yet read
  -- by the worker must not be overtaken).
  block_hash   text NOT NULL,
  wallet       text NOT NULL,
  amount       bigint NOT NULL,
  reason       text NOT NULL,
  reference    text NOT NULL,
  rule_version integer NOT NULL REFERENCES points_rules (version),
  earned_at    timestamptz(3) NOT NULL,
  -- For an on-chain task's award: the task's id; a wallet completes each task once (the unique index below).
  task_id      text,
  status       text NOT NULL DEFAULT 'pending',
  settled_at   timestamptz(3),
  CONSTRAINT points_award_amount CHECK (amount > 0),
  CONSTRAINT points_award_status CHECK (status IN ('pending', 'available', 'reversed'))
);
CREATE INDEX points_award_fact ON points_award (fact_key);
CREATE INDEX points_award_pending ON points_award (chain_id, block_number) WHERE status = 'pending';
CREATE UNIQUE INDEX points_award_task_once ON points_award (wallet, task_id) WHERE task_id IS NOT NULL AND status <> 'reversed';

-- An edition offered for points: price, stock, per-wallet limit and window.
CREATE TABLE points_offer (
  id           uuid PRIMARY KEY,
  chain_id     integer NOT NULL,
  collection   text NOT NULL,
  token_id     numeric(78, 0) NOT NULL,
  price        bigint NOT NULL,
  stock        integer NOT NULL,
  remaining    integer NOT NULL,
  wallet_limit integer NOT NULL,
  starts_at    timestamptz(3) NOT NULL,
  ends_at      timestamptz(3) NOT NULL,
  created_by   text NOT NULL,
  created_at   timestamptz(3) NOT NULL DEFAULT now(),
  CONSTRAINT points_offer_price CHECK (price > 0),
  CONSTRAINT points_offer_stock CHECK (stock > 0 AND remaining >= 0 AND remaining <= stock),
  CONSTRAINT points_offer_wallet_limit CHECK (wallet_limit > 0),
  CONSTRAINT points_offer_window CHECK (ends_at > starts_at)
);
CREATE INDEX points_offer_edition ON points_offer (chain_id, collection, token_id);

-- Points spent on an offer: the mint voucher handed out for them, and what became of it.
CREATE TABLE points_redemption (
  id              uuid PRIMARY KEY,
  wallet          text NOT NULL,
  idempotency_key text NOT NULL,
  -- SHA-256 of the request's body: the same key with another body is a conflict.
  request_hash    text NOT NULL,
  offer_id        uuid NOT NULL REFERENCES points_offer (id),
  chain_id        integer NOT NULL,
  collection      text NOT NULL,
  token_id        numeric(78, 0) NOT NULL,
  quantity        integer NOT NULL,
  points          bigint NOT NULL,
  voucher_id      numeric(78, 0) NOT NULL,
  deadline        timestamptz(3) NOT NULL,
  signer          text NOT NULL,
  signer_epoch    numeric(78, 0) NOT NULL,
  signature       text NOT NULL,
  status          text NOT NULL DEFAULT 'issued',
  -- The VoucherUsed fact that completed it: its retraction by a reorg makes the redemption issued again.
  used_fact_key   text,
  created_at      timestamptz(3) NOT NULL DEFAULT now(),
  completed_at    timestamptz(3),
  refunded_at     timestamptz(3),
  CONSTRAINT points_redemption_status CHECK (status IN ('issued', 'completed', 'refunded')),
  CONSTRAINT points_redemption_quantity CHECK (quantity > 0),
  CONSTRAINT points_redemption_key UNIQUE (wallet, idempotency_key),
  CONSTRAINT points_redemption_voucher UNIQUE (chain_id, collection, voucher_id)
);
CREATE INDEX points_redemption_wallet ON points_redemption (wallet, created_at);
CREATE INDEX points_redemption_offer ON points_redemption (offer_id, wallet);
CREATE INDEX points_redemption_used_fact ON points_redemption (used_fact_key);
CREATE INDEX points_redemption_issued ON points_redemption (deadline) WHERE status = 'issued';
