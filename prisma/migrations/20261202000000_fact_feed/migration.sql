-- The facts feed: the indexer → domain modules contract (server/facts). In the same transaction as every batch the
-- indexer appends one row per chain event it stored (applied), and in the same transaction as every rollback one
-- row per event it removed (retracted), numbered gaplessly per chain in commit order (the chain's write lock
-- serialises them). A fact's key is (block hash, log index): unique across branches, so an event that replaces a
-- reorged one at the same position is a different fact. Kept as long as the chain's events (never pruned): a new
-- consumer replays the whole feed.
CREATE TABLE fact_feed (
  chain_id     integer NOT NULL,
  seq          bigint  NOT NULL,
  block_number bigint  NOT NULL,
  block_hash   text    NOT NULL,
  log_index    integer NOT NULL,
  applied      boolean NOT NULL,
  PRIMARY KEY (chain_id, seq)
);

-- Each consumer's position in the feed, per chain: advanced in the same transaction as the effects it derives from
-- the facts it read, so every fact takes effect exactly once (and is undone exactly once).
CREATE TABLE fact_cursor (
  consumer   text    NOT NULL,
  chain_id   integer NOT NULL,
  seq        bigint  NOT NULL DEFAULT 0,
  updated_at timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, chain_id)
);
