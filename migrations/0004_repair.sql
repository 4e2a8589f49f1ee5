-- Automatic repair (the cron trigger): when each crate's index file last
-- changed, the crates whose render lags their revision, and where the
-- rolling KV-versus-D1 sweep has got to.

ALTER TABLE crates ADD COLUMN changed_at INTEGER NOT NULL DEFAULT 0;
UPDATE crates SET changed_at = updated_at;
CREATE INDEX crates_changed ON crates(changed_at);
-- Only crates with an unfinished render are in this index.
CREATE INDEX crates_unindexed ON crates(id) WHERE rev != indexed_rev;

DROP TRIGGER versions_insert_rev;
CREATE TRIGGER versions_insert_rev AFTER INSERT ON versions BEGIN
  UPDATE crates SET rev = rev + 1, updated_at = NEW.pubtime, changed_at = NEW.pubtime,
                    description = NEW.description, keywords = lower(NEW.keywords)
   WHERE id = NEW.crate_id;
  INSERT INTO audit (at, actor, action, crate_id, detail)
   VALUES (NEW.pubtime, NEW.published_by, 'publish', NEW.crate_id, NEW.num);
END;

DROP TRIGGER versions_yank_rev;
CREATE TRIGGER versions_yank_rev AFTER UPDATE OF yanked ON versions
 WHEN OLD.yanked != NEW.yanked BEGIN
  UPDATE crates SET rev = rev + 1, changed_at = CAST(strftime('%s', 'now') AS INTEGER)
   WHERE id = NEW.crate_id;
END;

-- One row: the last run's start time and the sweep's cursors.
CREATE TABLE repair_state (
  id        INTEGER PRIMARY KEY CHECK (id = 1),
  last_run  INTEGER NOT NULL,
  crate_cursor INTEGER NOT NULL,
  kv_cursor TEXT
);
