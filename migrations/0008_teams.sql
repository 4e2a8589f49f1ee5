-- Teams and per-crate access: teams of users (added by hand, or kept in
-- step with an identity provider's group claim), teams as crate owners,
-- a crate's visibility, and the readers a restricted crate is granted.

CREATE TABLE teams (
  id          INTEGER PRIMARY KEY,
  name        TEXT    NOT NULL UNIQUE COLLATE NOCASE,
  created_at  INTEGER NOT NULL,
  created_by  INTEGER REFERENCES users(id)
);

CREATE TABLE team_members (
  team_id     INTEGER NOT NULL REFERENCES teams(id),
  user_id     INTEGER NOT NULL REFERENCES users(id),
  -- 1: may add and remove the team's members.
  maintainer  INTEGER NOT NULL DEFAULT 0 CHECK (maintainer IN (0, 1)),
  -- 'manual' (an administrator or maintainer), or 'sso' (the identity
  -- provider's group claim, set again at every sign-in).
  source      TEXT    NOT NULL DEFAULT 'manual' CHECK (source IN ('manual', 'sso')),
  added_at    INTEGER NOT NULL,
  added_by    INTEGER REFERENCES users(id),
  PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members(user_id);

CREATE TABLE team_owners (
  crate_id  INTEGER NOT NULL REFERENCES crates(id),
  team_id   INTEGER NOT NULL REFERENCES teams(id),
  added_at  INTEGER NOT NULL,
  added_by  INTEGER REFERENCES users(id),
  PRIMARY KEY (crate_id, team_id)
);
CREATE INDEX team_owners_team ON team_owners(team_id);

-- Readers granted a restricted crate: a user or a team, never both.
CREATE TABLE crate_readers (
  crate_id  INTEGER NOT NULL REFERENCES crates(id),
  user_id   INTEGER REFERENCES users(id),
  team_id   INTEGER REFERENCES teams(id),
  added_at  INTEGER NOT NULL,
  added_by  INTEGER REFERENCES users(id),
  CHECK ((user_id IS NULL) <> (team_id IS NULL))
);
CREATE UNIQUE INDEX crate_readers_user ON crate_readers(crate_id, user_id) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX crate_readers_team ON crate_readers(crate_id, team_id) WHERE team_id IS NOT NULL;

-- 'registry': every user may read it (the default, and every crate before
-- this migration); 'restricted': only its owners and granted readers.
ALTER TABLE crates ADD COLUMN visibility TEXT NOT NULL DEFAULT 'registry'
  CHECK (visibility IN ('registry', 'restricted'));
