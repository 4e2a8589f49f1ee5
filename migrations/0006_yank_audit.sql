-- A yank or unyank now sets the crate's `changed_at` and writes its audit
-- row in the same batch as the change, with the request's time and actor
-- (store::sql). The trigger keeps only the revision bump, so the time
-- comes from one place, the request.

DROP TRIGGER versions_yank_rev;
CREATE TRIGGER versions_yank_rev AFTER UPDATE OF yanked ON versions
 WHEN OLD.yanked != NEW.yanked BEGIN
  UPDATE crates SET rev = rev + 1 WHERE id = NEW.crate_id;
END;
