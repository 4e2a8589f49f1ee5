-- The registry's source of truth. Times are Unix seconds (UTC).

CREATE TABLE users (
  id          INTEGER PRIMARY KEY,
  login       TEXT    NOT NULL UNIQUE COLLATE NOCASE,
  name        TEXT,
  is_admin    INTEGER NOT NULL DEFAULT 0,
  disabled    INTEGER NOT NULL DEFAULT 0,
  created_at  INTEGER NOT NULL
);

CREATE TABLE tokens (
  id            INTEGER PRIMARY KEY,
  user_id       INTEGER NOT NULL REFERENCES users(id),
  name          TEXT    NOT NULL,
  hash          TEXT    NOT NULL UNIQUE,   -- SHA-256 of the token; the token itself is never stored
  hint          TEXT    NOT NULL,
  scopes        TEXT    NOT NULL,          -- comma-separated scope names
  patterns      TEXT    NOT NULL DEFAULT '', -- comma-separated crate patterns; empty = all
  created_at    INTEGER NOT NULL,
  last_used_at  INTEGER,
  expires_at    INTEGER,
  revoked_at    INTEGER
);
CREATE INDEX tokens_user ON tokens(user_id);

CREATE TABLE crates (
  id           INTEGER PRIMARY KEY,
  name         TEXT    NOT NULL,
  canon        TEXT    NOT NULL UNIQUE,    -- lower(name) with '-' -> '_'
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  rev          INTEGER NOT NULL DEFAULT 0, -- bumped by every change to the index file
  indexed_rev  INTEGER NOT NULL DEFAULT 0, -- the rev last rendered into KV
  max_version  TEXT,
  description  TEXT
);
CREATE INDEX crates_updated ON crates(updated_at);

CREATE TABLE versions (
  id            INTEGER PRIMARY KEY,
  crate_id      INTEGER NOT NULL REFERENCES crates(id),
  num           TEXT    NOT NULL,
  num_no_build  TEXT    NOT NULL,
  cksum         TEXT    NOT NULL,
  yanked        INTEGER NOT NULL DEFAULT 0,
  pubtime       INTEGER NOT NULL,
  entry         TEXT    NOT NULL,          -- the index line as JSON (yanked=false)
  size          INTEGER NOT NULL,
  description   TEXT,
  license       TEXT,
  homepage      TEXT,
  documentation TEXT,
  repository    TEXT,
  keywords      TEXT    NOT NULL DEFAULT '[]',
  categories    TEXT    NOT NULL DEFAULT '[]',
  readme        TEXT,
  links         TEXT,
  rust_version  TEXT,
  published_by  INTEGER NOT NULL REFERENCES users(id),
  UNIQUE (crate_id, num_no_build)
);

CREATE TABLE owners (
  crate_id  INTEGER NOT NULL REFERENCES crates(id),
  user_id   INTEGER NOT NULL REFERENCES users(id),
  added_at  INTEGER NOT NULL,
  added_by  INTEGER,
  PRIMARY KEY (crate_id, user_id)
);
CREATE INDEX owners_user ON owners(user_id);

CREATE TABLE audit (
  id       INTEGER PRIMARY KEY,
  at       INTEGER NOT NULL,
  actor    INTEGER,
  action   TEXT    NOT NULL,
  crate_id INTEGER,
  detail   TEXT
);
CREATE INDEX audit_at ON audit(at);

-- Every change to a crate's versions bumps its rev in the same statement,
-- so the index render can tell whether it saw the latest state.
CREATE TRIGGER versions_insert_rev AFTER INSERT ON versions BEGIN
  UPDATE crates SET rev = rev + 1, updated_at = NEW.pubtime, description = NEW.description
   WHERE id = NEW.crate_id;
  INSERT INTO audit (at, actor, action, crate_id, detail)
   VALUES (NEW.pubtime, NEW.published_by, 'publish', NEW.crate_id, NEW.num);
END;

CREATE TRIGGER versions_yank_rev AFTER UPDATE OF yanked ON versions
 WHEN OLD.yanked != NEW.yanked BEGIN
  UPDATE crates SET rev = rev + 1 WHERE id = NEW.crate_id;
END;
