-- Sign-In with Ethereum nonces (single use, 10 minutes), sessions (only the SHA-256 of their token is kept), partner
-- API keys (hashed, scoped) and the rate limiter's counters (shared by every API process).

CREATE TABLE auth_nonce (
  nonce      text PRIMARY KEY,
  expires_at timestamptz(3) NOT NULL,
  created_at timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX auth_nonce_expires_at ON auth_nonce (expires_at);

CREATE TABLE auth_session (
  token_hash   text PRIMARY KEY,
  address      text NOT NULL,
  created_at   timestamptz(3) NOT NULL DEFAULT now(),
  last_seen_at timestamptz(3) NOT NULL DEFAULT now(),
  expires_at   timestamptz(3) NOT NULL,
  revoked_at   timestamptz(3)
);
CREATE INDEX auth_session_address ON auth_session (address);
CREATE INDEX auth_session_expires_at ON auth_session (expires_at);

CREATE TABLE partner_api_key (
  id           uuid PRIMARY KEY,
  key_hash     text NOT NULL UNIQUE,
  partner      text NOT NULL,
  name         text NOT NULL,
  collections  text[] NOT NULL,
  can_write    boolean NOT NULL,
  created_at   timestamptz(3) NOT NULL DEFAULT now(),
  last_used_at timestamptz(3),
  revoked_at   timestamptz(3)
);
CREATE INDEX partner_api_key_partner ON partner_api_key (partner, created_at);

-- The table rate-limiter-flexible's RateLimiterPostgres uses (created here, so it never races to create it).
CREATE TABLE rate_limit (
  key    varchar(255) PRIMARY KEY,
  points integer NOT NULL DEFAULT 0,
  expire bigint
);
