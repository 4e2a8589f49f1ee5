-- Single sign-on: an account is linked to an identity provider's stable
-- subject (`iss` + `sub`), never to an email; a sign-in attempt's secrets
-- (state, nonce, PKCE verifier) are kept until its callback, used once.

CREATE TABLE identities (
  issuer           TEXT    NOT NULL,
  subject          TEXT    NOT NULL,
  user_id          INTEGER NOT NULL REFERENCES users(id),
  email            TEXT,
  created_at       INTEGER NOT NULL,
  last_sign_in_at  INTEGER,
  -- 1 while the provider's rules refuse this identity; the account is
  -- then disabled, and enabled again when it qualifies at a sign-in.
  suspended        INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (issuer, subject)
);
CREATE UNIQUE INDEX identities_user_issuer ON identities(user_id, issuer);

CREATE TABLE sso_attempts (
  state_hash  TEXT    PRIMARY KEY,             -- SHA-256 of the state
  nonce       TEXT    NOT NULL,
  verifier    TEXT    NOT NULL,
  return_to   TEXT,
  expires_at  INTEGER NOT NULL
);
CREATE INDEX sso_attempts_expiry ON sso_attempts(expires_at);
