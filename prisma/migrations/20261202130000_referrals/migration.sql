-- Referrals (server/referrals): one short code per wallet, one-level bindings (a referee is bound once, never to
-- itself), each binding's conversion (the referee's first sale mint) and its outcome, and the first mints the
-- referral-conversions feed consumer has seen.

-- A wallet's referral code: 8 characters from an alphabet without 0, O, 1, I or L, made on first need.
CREATE TABLE referral_code (
  wallet     text PRIMARY KEY,
  code       text NOT NULL UNIQUE,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  CONSTRAINT referral_code_format CHECK (code ~ '^[2-9A-HJKMNP-Z]{8}$')
);

-- One row per referee: the primary key binds a referee once; the check refuses self-referral. Bound by a code at the
-- first sign-in (source sign_in), or by the referrer named in the referee's first mint (source mint, with that
-- mint's fact: its retraction undoes the binding). The conversion is the referee's first sale mint; the outcome is
-- decided once that mint is final: rewarded (the referrer's points) or rejected (with the reason).
CREATE TABLE referral (
  referee                 text PRIMARY KEY,
  referrer                text NOT NULL,
  source                  text NOT NULL,
  code                    text,
  bound_fact_key          text,
  bound_at                timestamptz(3) NOT NULL,
  status                  text NOT NULL DEFAULT 'pending',
  reason                  text,
  chain_id                integer,
  conversion_key          text UNIQUE,
  conversion_fact_key     text,
  conversion_block_number bigint,
  conversion_block_hash   text,
  conversion_tx_hash      text,
  converted_at            timestamptz(3),
  points                  bigint,
  rule_version            integer REFERENCES points_rules (version),
  settled_at              timestamptz(3),
  CONSTRAINT referral_not_self CHECK (referrer <> referee),
  CONSTRAINT referral_source CHECK ((source = 'sign_in' AND code IS NOT NULL AND bound_fact_key IS NULL)
    OR (source = 'mint' AND bound_fact_key IS NOT NULL)),
  CONSTRAINT referral_status CHECK (status IN ('pending', 'rewarded', 'rejected')),
  CONSTRAINT referral_conversion CHECK ((conversion_key IS NULL) = (converted_at IS NULL)
    AND (conversion_key IS NULL) = (conversion_fact_key IS NULL)
    AND (conversion_key IS NULL) = (conversion_block_number IS NULL)),
  CONSTRAINT referral_settled CHECK (status = 'pending' OR (conversion_key IS NOT NULL AND settled_at IS NOT NULL)),
  CONSTRAINT referral_reason CHECK ((status = 'rejected') = (reason IS NOT NULL)),
  CONSTRAINT referral_points CHECK ((status = 'rewarded') = (points IS NOT NULL) AND (points IS NULL OR points > 0))
);
CREATE INDEX referral_referrer ON referral (referrer, bound_at);
CREATE INDEX referral_bound_at ON referral (bound_at);
CREATE INDEX referral_converted_at ON referral (converted_at);
CREATE INDEX referral_conversion_fact ON referral (conversion_fact_key);
CREATE INDEX referral_bound_fact ON referral (bound_fact_key);

-- Each wallet's first Minted fact of any kind ('any': voucher mints included; a wallet that has one is no longer
-- bindable) and its first sale mint ('sale': the one a referral converts on), as the consumer read them. Deleted when
-- their fact is retracted: a reorg removes a suffix of the chain, so every later mint of the wallet goes with it.
CREATE TABLE referral_first_mint (
  chain_id   integer NOT NULL,
  wallet     text NOT NULL,
  kind       text NOT NULL,
  fact_key   text NOT NULL,
  block_time timestamptz(3) NOT NULL,
  PRIMARY KEY (chain_id, wallet, kind),
  CONSTRAINT referral_first_mint_kind CHECK (kind IN ('any', 'sale'))
);
CREATE INDEX referral_first_mint_fact ON referral_first_mint (fact_key);
