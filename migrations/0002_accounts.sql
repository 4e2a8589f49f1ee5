-- Web sign-in: password hashes, server-side sessions, one-time links
-- (invitations and password set/reset), and failed sign-in tracking.

ALTER TABLE users ADD COLUMN password_hash TEXT;  -- pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>

CREATE TABLE sessions (
  id_hash      TEXT    PRIMARY KEY,            -- SHA-256 of the cookie value
  user_id      INTEGER NOT NULL REFERENCES users(id),
  csrf         TEXT    NOT NULL,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE user_links (
  hash        TEXT    PRIMARY KEY,             -- SHA-256 of the link's secret
  user_id     INTEGER NOT NULL REFERENCES users(id),
  purpose     TEXT    NOT NULL,                -- 'invite' or 'password'
  created_by  INTEGER,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  used_at     INTEGER
);

CREATE TABLE sign_in_failures (
  login         TEXT    PRIMARY KEY COLLATE NOCASE,
  failures      INTEGER NOT NULL,
  first_at      INTEGER NOT NULL,
  locked_until  INTEGER
);
