-- At most one live one-time link per user: a new invitation or password
-- link supersedes every unused one of the same user, whoever creates it
-- (the web app, scripts/admin), in the same statement as the insert.

-- Links already out: keep only each user's newest unused one.
UPDATE user_links SET used_at = created_at
 WHERE used_at IS NULL
   AND rowid NOT IN (SELECT max(rowid) FROM user_links WHERE used_at IS NULL GROUP BY user_id);

CREATE TRIGGER user_links_one_live BEFORE INSERT ON user_links BEGIN
  UPDATE user_links SET used_at = NEW.created_at
   WHERE user_id = NEW.user_id AND used_at IS NULL;
END;
