-- Crate pages: rendered READMEs, keywords for search, reverse
-- dependencies, and the indexes the page queries need.

ALTER TABLE versions ADD COLUMN readme_html TEXT;
ALTER TABLE crates ADD COLUMN keywords TEXT NOT NULL DEFAULT '';

-- Same-registry dependencies of each version, for "used by".
CREATE TABLE dependencies (
  version_id  INTEGER NOT NULL REFERENCES versions(id),
  crate_id    INTEGER NOT NULL REFERENCES crates(id),
  dep_canon   TEXT    NOT NULL,
  kind        TEXT    NOT NULL
);
CREATE INDEX dependencies_dep ON dependencies(dep_canon, crate_id);
CREATE INDEX dependencies_version ON dependencies(version_id);
CREATE INDEX crates_name ON crates(name);
-- A crate's versions newest first, and one version by its exact text.
CREATE INDEX versions_crate_id ON versions(crate_id, id);
CREATE INDEX versions_crate_num ON versions(crate_id, num);

-- The latest publish also sets the crate's keywords.
DROP TRIGGER versions_insert_rev;
CREATE TRIGGER versions_insert_rev AFTER INSERT ON versions BEGIN
  UPDATE crates SET rev = rev + 1, updated_at = NEW.pubtime, description = NEW.description,
                    keywords = lower(NEW.keywords)
   WHERE id = NEW.crate_id;
  INSERT INTO audit (at, actor, action, crate_id, detail)
   VALUES (NEW.pubtime, NEW.published_by, 'publish', NEW.crate_id, NEW.num);
END;
