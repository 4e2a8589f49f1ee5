//! Every SQL statement the registry runs, once. Placeholders are `?N`.
//! `ALL` lists them by name, so a test can show the native suite runs
//! each one.

/// Columns of a user row.
macro_rules! user_cols {
    () => {
        "id, login, name, is_admin, disabled, created_at"
    };
}

/// Columns of a token row.
macro_rules! token_cols {
    () => {
        "id, user_id, name, hint, scopes, patterns, created_at, last_used_at, expires_at, revoked_at"
    };
}

/// Columns of a crate row.
macro_rules! crate_cols {
    () => {
        "id, name, canon, created_at, updated_at, rev, indexed_rev, max_version, description, keywords"
    };
}

/// Columns of a version row.
macro_rules! version_cols {
    () => {
        "id, crate_id, num, num_no_build, cksum, yanked, pubtime, entry"
    };
}

/// The user columns of a join, prefixed `u_` (`u` is the users table).
macro_rules! joined_user_cols {
    () => {
        "u.login AS u_login, u.name AS u_name, u.is_admin AS u_is_admin, \
         u.disabled AS u_disabled, u.created_at AS u_created_at"
    };
}

/// The search condition (`?1` canonical query, `?2` lowercased query)
/// and the read filter (`?3` 1 for every crate, `?4` JSON list of exact
/// canonical names, `?5` JSON list of canonical prefixes). `instr`, not
/// `LIKE`: the query's `%` and `_` are literal, and D1's 50-byte limit on
/// LIKE patterns does not apply.
macro_rules! search_where {
    () => {
        "(instr(canon, ?1) > 0 OR instr(keywords, ?2) > 0 OR instr(lower(coalesce(description, '')), ?2) > 0) \
         AND (?3 = 1 OR canon IN (SELECT value FROM json_each(?4)) \
              OR EXISTS (SELECT 1 FROM json_each(?5) p WHERE substr(canon, 1, length(p.value)) = p.value))"
    };
}

/// Whether the viewer (`$p`, a user id; NULL for an administrator) may
/// read the crate row `$t`: it is visible to the registry, or the viewer
/// owns it, is granted it, or is in a team that owns or is granted it.
/// Every list and count of crates passes through this, before counting.
macro_rules! readable {
    ($t:literal, $p:literal) => {
        concat!(
            "(",
            $p,
            " IS NULL OR ",
            $t,
            ".visibility = 'registry' \
             OR EXISTS (SELECT 1 FROM owners o WHERE o.crate_id = ",
            $t,
            ".id AND o.user_id = ",
            $p,
            ") \
             OR EXISTS (SELECT 1 FROM crate_readers r WHERE r.crate_id = ",
            $t,
            ".id AND r.user_id = ",
            $p,
            ") \
             OR EXISTS (SELECT 1 FROM team_members m WHERE m.user_id = ",
            $p,
            " AND ( \
                  m.team_id IN (SELECT team_id FROM team_owners WHERE crate_id = ",
            $t,
            ".id) \
                  OR m.team_id IN (SELECT team_id FROM crate_readers WHERE crate_id = ",
            $t,
            ".id AND team_id IS NOT NULL))))"
        )
    };
}

/// The restart test of `AttemptRule::next` for the stored row (`?2` now,
/// `?4` window).
macro_rules! attempt_restarts {
    () => {
        "(CASE WHEN locked_until IS NOT NULL THEN locked_until <= ?2 ELSE ?2 - first_at >= ?4 END)"
    };
}

/// The owners to remove (`?2`, a JSON list of user ids) exist, and an
/// owner outside the list stays (`?1` crate).
macro_rules! removal_allowed {
    () => {
        "EXISTS (SELECT 1 FROM owners o WHERE o.crate_id = ?1 AND o.user_id NOT IN (SELECT value FROM json_each(?2)))"
    };
}

/// Every column of a backed-up table, as a backup holds it.
macro_rules! backup_user_cols {
    () => {
        "id, login, name, is_admin, disabled, created_at, password_hash"
    };
}
macro_rules! backup_token_cols {
    () => {
        "id, user_id, name, hash, hint, scopes, patterns, created_at, last_used_at, expires_at, revoked_at"
    };
}
macro_rules! backup_crate_cols {
    () => {
        "id, name, canon, created_at, updated_at, rev, indexed_rev, max_version, description, keywords, changed_at, visibility"
    };
}
macro_rules! backup_version_cols {
    () => {
        "id, crate_id, num, num_no_build, cksum, yanked, pubtime, entry, size, description, license, homepage, \
         documentation, repository, keywords, categories, readme, links, rust_version, published_by, readme_html"
    };
}
macro_rules! backup_owner_cols {
    () => {
        "crate_id, user_id, added_at, added_by"
    };
}
macro_rules! backup_dependency_cols {
    () => {
        "version_id, crate_id, dep_canon, kind"
    };
}
macro_rules! backup_team_cols {
    () => {
        "id, name, created_at, created_by"
    };
}
macro_rules! backup_member_cols {
    () => {
        "team_id, user_id, maintainer, source, added_at, added_by"
    };
}
macro_rules! backup_team_owner_cols {
    () => {
        "crate_id, team_id, added_at, added_by"
    };
}
macro_rules! backup_reader_cols {
    () => {
        "crate_id, user_id, team_id, added_at, added_by"
    };
}
macro_rules! backup_identity_cols {
    () => {
        "issuer, subject, user_id, email, created_at, last_sign_in_at, suspended"
    };
}
macro_rules! backup_audit_cols {
    () => {
        "id, at, actor, action, crate_id, detail"
    };
}

/// The tables a backup holds, in the order a restore inserts them, each
/// with every column it has (`, `-separated).
pub const BACKUP_TABLES: &[(&str, &str)] = &[
    ("users", backup_user_cols!()),
    ("identities", backup_identity_cols!()),
    ("tokens", backup_token_cols!()),
    ("crates", backup_crate_cols!()),
    ("versions", backup_version_cols!()),
    ("owners", backup_owner_cols!()),
    ("teams", backup_team_cols!()),
    ("team_members", backup_member_cols!()),
    ("team_owners", backup_team_owner_cols!()),
    ("crate_readers", backup_reader_cols!()),
    ("dependencies", backup_dependency_cols!()),
    ("audit", backup_audit_cols!()),
];

/// Defines each statement as a constant and lists them all in `ALL`.
macro_rules! statements {
    ($($(#[doc = $doc:literal])* $name:ident = $sql:expr;)*) => {
        $($(#[doc = $doc])* pub const $name: &str = $sql;)*
        /// Every statement, by name.
        pub const ALL: &[(&str, &str)] = &[$((stringify!($name), $name)),*];
    };
}

statements! {
    // Users.
    USER_BY_ID = concat!("SELECT ", user_cols!(), " FROM users WHERE id = ?1");
    USER_BY_LOGIN = concat!("SELECT ", user_cols!(), " FROM users WHERE login = ?1");
    /// `?1`: a JSON list of logins.
    USERS_BY_LOGINS = concat!("SELECT ", user_cols!(), " FROM users WHERE login IN (SELECT value FROM json_each(?1))");
    LIST_USERS = concat!("SELECT ", user_cols!(), " FROM users ORDER BY login");
    /// The new user, or no row when the login is taken.
    CREATE_USER = concat!("INSERT INTO users (login, is_admin, created_at) VALUES (?1, ?2, ?3) ON CONFLICT(login) DO NOTHING RETURNING ", user_cols!());
    SET_DISABLED = "UPDATE users SET disabled = ?2 WHERE id = ?1";
    /// Whoever disables or enables an account decides: single sign-on no
    /// longer re-enables it on its own (sign-in sets the flag again when
    /// it is the one disabling).
    CLEAR_SUSPENDED = "UPDATE identities SET suspended = 0 WHERE user_id = ?1";
    SET_ADMIN = "UPDATE users SET is_admin = ?2 WHERE id = ?1";

    // Tokens.
    TOKEN_BY_ID = concat!("SELECT ", token_cols!(), " FROM tokens WHERE id = ?1");
    /// The token with this hash and its user, in one read.
    TOKEN_BY_HASH = concat!(
        "SELECT t.id, t.user_id, t.name, t.hint, t.scopes, t.patterns, t.created_at, t.last_used_at, t.expires_at, t.revoked_at, ",
        joined_user_cols!(),
        " FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ?1"
    );
    CREATE_TOKEN = concat!(
        "INSERT INTO tokens (user_id, name, hash, hint, scopes, patterns, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING ",
        token_cols!()
    );
    LIST_TOKENS = concat!("SELECT ", token_cols!(), " FROM tokens WHERE user_id = ?1 ORDER BY id");
    REVOKE_TOKEN = "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL";
    /// At most once a minute per token.
    TOUCH_TOKEN = "UPDATE tokens SET last_used_at = ?2 WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at < ?2 - 60)";

    // Crates and versions.
    CRATE_BY_ID = concat!("SELECT ", crate_cols!(), " FROM crates WHERE id = ?1");
    CRATE_BY_CANON = concat!("SELECT ", crate_cols!(), " FROM crates WHERE canon = ?1");
    /// The crate, only when `?2` (a user id; NULL for an administrator)
    /// may read it.
    READABLE_CRATE = concat!("SELECT ", crate_cols!(), " FROM crates WHERE canon = ?1 AND ", readable!("crates", "?2"));
    /// `?1`: a JSON list of canonical names.
    CRATES_BY_CANONS = concat!("SELECT ", crate_cols!(), " FROM crates WHERE canon IN (SELECT value FROM json_each(?1))");
    /// Those of them `?2` may read.
    READABLE_CRATES_BY_CANONS = concat!("SELECT ", crate_cols!(),
        " FROM crates WHERE canon IN (SELECT value FROM json_each(?1)) AND ", readable!("crates", "?2"));
    ALL_CRATES = concat!("SELECT ", crate_cols!(), " FROM crates ORDER BY id");
    CRATE_REV = "SELECT rev FROM crates WHERE id = ?1";
    VERSION = concat!("SELECT ", version_cols!(), " FROM versions WHERE crate_id = ?1 AND num_no_build = ?2");
    VERSION_BY_CKSUM = concat!("SELECT ", version_cols!(), " FROM versions WHERE crate_id = ?1 AND cksum = ?2");
    VERSIONS_OF_CRATE = concat!("SELECT ", version_cols!(), " FROM versions WHERE crate_id = ?1 ORDER BY id");

    // Publish: one batch. The crate is created if new; the publisher
    // becomes the first owner of a crate with no owners and no versions
    // (the one this batch created); the version goes in only when the name
    // matches exactly and the publisher owns the crate or is an admin. A
    // duplicate version violates UNIQUE(crate_id, num_no_build) and rolls
    // the batch back. The insert trigger bumps `rev` and writes the audit row.
    /// `?1` name, `?2` canonical name, `?3` now.
    PUBLISH_CREATE_CRATE = "INSERT INTO crates (name, canon, created_at, updated_at) VALUES (?1, ?2, ?3, ?3) ON CONFLICT(canon) DO NOTHING";
    /// `?1` canonical name, `?2` name, `?3` publisher, `?4` now.
    PUBLISH_FIRST_OWNER = "INSERT INTO owners (crate_id, user_id, added_at, added_by) SELECT c.id, ?3, ?4, ?3 FROM crates c \
         WHERE c.canon = ?1 AND c.name = ?2 \
           AND NOT EXISTS (SELECT 1 FROM owners o WHERE o.crate_id = c.id) \
           AND NOT EXISTS (SELECT 1 FROM versions v WHERE v.crate_id = c.id)";
    PUBLISH_VERSION = "INSERT INTO versions (crate_id, num, num_no_build, cksum, yanked, pubtime, entry, size, description, license, homepage, documentation, repository, keywords, categories, readme, links, rust_version, published_by, readme_html) \
         SELECT c.id, ?3, ?4, ?5, 0, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?21 FROM crates c \
         WHERE c.canon = ?1 AND c.name = ?2 AND (?20 = 1 OR EXISTS (SELECT 1 FROM owners o WHERE o.crate_id = c.id AND o.user_id = ?19))";
    /// The same-registry dependencies (`?6`, a JSON list of
    /// `[canonical name, kind]`) of the version this batch inserted: the
    /// crate's newest, with this number, checksum, time and publisher.
    PUBLISH_DEPENDENCIES = "INSERT INTO dependencies (version_id, crate_id, dep_canon, kind) \
         SELECT v.id, v.crate_id, json_extract(d.value, '$[0]'), json_extract(d.value, '$[1]') \
         FROM crates c JOIN versions v ON v.crate_id = c.id, json_each(?6) d \
         WHERE c.canon = ?1 AND v.num_no_build = ?2 AND v.cksum = ?3 AND v.pubtime = ?4 AND v.published_by = ?5 \
           AND v.id = (SELECT max(id) FROM versions WHERE crate_id = c.id)";

    // Yank: one batch, the audit row and `changed_at` only when `yanked`
    // changes (`?1` version, `?2` yanked, `?3` actor, `?4` now).
    YANK_AUDIT = "INSERT INTO audit (at, actor, action, crate_id, detail) \
         SELECT ?4, ?3, CASE WHEN ?2 = 1 THEN 'yank' ELSE 'unyank' END, crate_id, num FROM versions WHERE id = ?1 AND yanked != ?2";
    /// `?3` now.
    YANK_CHANGED_AT = "UPDATE crates SET changed_at = ?3 \
         WHERE id = (SELECT crate_id FROM versions WHERE id = ?1 AND yanked != ?2)";
    /// The trigger bumps the crate's `rev` (`?1` version, `?2` yanked).
    SET_YANKED = "UPDATE versions SET yanked = ?2 WHERE id = ?1 AND yanked != ?2";

    // The index render and its repair.
    MARK_INDEXED = "UPDATE crates SET indexed_rev = ?2, max_version = ?3 WHERE id = ?1 AND indexed_rev <= ?2";
    /// Crates with an unfinished render or an index change at or after
    /// `?1`: two index range scans (the partial index of unfinished renders
    /// and `changed_at`).
    REPAIR_CHANGED = concat!(
        "SELECT ", crate_cols!(),
        " FROM crates WHERE id IN (SELECT id FROM crates WHERE rev != indexed_rev UNION SELECT id FROM crates WHERE changed_at >= ?1) ORDER BY id LIMIT ?2"
    );
    REPAIR_SWEEP = concat!("SELECT ", crate_cols!(), " FROM crates WHERE id > ?1 ORDER BY id LIMIT ?2");
    REPAIR_STATE = "SELECT last_run, crate_cursor, kv_cursor FROM repair_state WHERE id = 1";
    PUT_REPAIR_STATE = "INSERT INTO repair_state (id, last_run, crate_cursor, kv_cursor) VALUES (1, ?1, ?2, ?3) \
         ON CONFLICT(id) DO UPDATE SET last_run = ?1, crate_cursor = ?2, kv_cursor = ?3";

    // Owners. Adding and removing are one batch each: the audit rows (one
    // per owner actually added or removed) and the change, so neither
    // exists without the other. `?1` crate, `?2` JSON list of user ids,
    // `?3` actor, `?4` now.
    OWNERS = "SELECT u.id, u.login, u.name, u.is_admin, u.disabled, u.created_at FROM users u JOIN owners o ON o.user_id = u.id \
         WHERE o.crate_id = ?1 ORDER BY o.added_at, u.id";
    IS_OWNER = "SELECT COUNT(*) AS n FROM owners WHERE crate_id = ?1 AND user_id = ?2";
    ADD_OWNERS_AUDIT = "INSERT INTO audit (at, actor, action, crate_id, detail) \
         SELECT ?4, ?3, 'owner-add', ?1, CAST(j.value AS TEXT) FROM (SELECT DISTINCT value FROM json_each(?2)) j \
         WHERE NOT EXISTS (SELECT 1 FROM owners o WHERE o.crate_id = ?1 AND o.user_id = j.value)";
    ADD_OWNERS = "INSERT INTO owners (crate_id, user_id, added_at, added_by) \
         SELECT ?1, j.value, ?4, ?3 FROM (SELECT DISTINCT value FROM json_each(?2)) j WHERE true ON CONFLICT DO NOTHING";
    REMOVE_OWNERS_AUDIT = concat!(
        "INSERT INTO audit (at, actor, action, crate_id, detail) \
         SELECT ?4, ?3, 'owner-remove', ?1, CAST(o.user_id AS TEXT) FROM owners o \
         WHERE o.crate_id = ?1 AND o.user_id IN (SELECT value FROM json_each(?2)) AND ",
        removal_allowed!()
    );
    /// `?1` crate, `?2` JSON list of user ids.
    REMOVE_OWNERS = concat!(
        "DELETE FROM owners WHERE crate_id = ?1 AND user_id IN (SELECT value FROM json_each(?2)) AND ",
        removal_allowed!()
    );
    /// Owners outside the list (`?2`) after the removal.
    OTHER_OWNERS = "SELECT COUNT(*) AS n FROM owners WHERE crate_id = ?1 AND user_id NOT IN (SELECT value FROM json_each(?2))";

    // Pages and search.
    /// `?3` the viewer (NULL: every crate).
    LIST_CRATES_UPDATED = concat!("SELECT ", crate_cols!(), " FROM crates WHERE ", readable!("crates", "?3"),
        " ORDER BY updated_at DESC, id DESC LIMIT ?1 OFFSET ?2");
    LIST_CRATES_NAME = concat!("SELECT ", crate_cols!(), " FROM crates WHERE ", readable!("crates", "?3"),
        " ORDER BY canon LIMIT ?1 OFFSET ?2");
    COUNT_CRATES = concat!("SELECT COUNT(*) AS n FROM crates WHERE ", readable!("crates", "?1"));
    VERSIONS_PAGE = "SELECT num, pubtime, yanked, rust_version FROM versions WHERE crate_id = ?1 ORDER BY id DESC LIMIT ?2 OFFSET ?3";
    COUNT_VERSIONS = "SELECT COUNT(*) AS n FROM versions WHERE crate_id = ?1";
    VERSION_DETAIL = "SELECT num, pubtime, yanked, cksum, size, entry, description, license, homepage, documentation, repository, keywords, categories, readme_html \
         FROM versions WHERE crate_id = ?1 AND num = ?2";
    /// `?4` the viewer (NULL: every crate).
    DEPENDENTS = concat!("SELECT c.id, c.name, c.canon, c.created_at, c.updated_at, c.rev, c.indexed_rev, c.max_version, c.description, c.keywords \
         FROM crates c WHERE c.id IN (SELECT crate_id FROM dependencies WHERE dep_canon = ?1) AND ", readable!("c", "?4"),
        " ORDER BY c.canon LIMIT ?2 OFFSET ?3");
    /// `?2` the viewer.
    COUNT_DEPENDENTS = concat!("SELECT COUNT(*) AS n FROM crates c WHERE c.id IN (SELECT crate_id FROM dependencies WHERE dep_canon = ?1) AND ",
        readable!("c", "?2"));
    /// A page of search hits: exact name, then prefix, then the rest, by
    /// canonical name (`?6` the viewer, `?7` limit, `?8` offset).
    SEARCH = concat!(
        "SELECT ", crate_cols!(), " FROM crates WHERE ",
        search_where!(), " AND ", readable!("crates", "?6"),
        " ORDER BY CASE WHEN canon = ?1 THEN 0 WHEN substr(canon, 1, length(?1)) = ?1 THEN 1 ELSE 2 END, canon \
         LIMIT ?7 OFFSET ?8"
    );
    /// How many crates the caller may read match (`?1`-`?6` as `SEARCH`).
    SEARCH_COUNT = concat!("SELECT COUNT(*) AS n FROM crates WHERE ", search_where!(), " AND ", readable!("crates", "?6"));

    // Web sign-in.
    PASSWORD_HASH = "SELECT password_hash FROM users WHERE id = ?1";
    SET_PASSWORD = "UPDATE users SET password_hash = ?2 WHERE id = ?1";
    /// Opens a session only while the user is enabled and their password
    /// hash is still the one the caller checked (`?6`), in the same
    /// statement: a sign-in that raced a password change opens nothing.
    CREATE_SESSION = "INSERT INTO sessions (id_hash, user_id, csrf, created_at, expires_at) \
         SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS \
         (SELECT 1 FROM users WHERE id = ?2 AND disabled = 0 AND password_hash = ?6)";
    /// The session and its user, in one read.
    SESSION = concat!(
        "SELECT s.user_id, s.csrf, s.created_at, s.expires_at, ",
        joined_user_cols!(),
        " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?1"
    );
    DELETE_SESSION = "DELETE FROM sessions WHERE id_hash = ?1";
    DELETE_USER_SESSIONS = "DELETE FROM sessions WHERE user_id = ?1";
    /// The `user_links_one_live` trigger ends the user's other unused links.
    INSERT_LINK = "INSERT INTO user_links (hash, user_id, purpose, created_by, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
    CONSUME_LINK = "UPDATE user_links SET used_at = ?2 WHERE hash = ?1 AND used_at IS NULL AND expires_at > ?2 RETURNING user_id, purpose";
    /// `AttemptRule::next` as one atomic upsert: `?1` key, `?2` now, `?3`
    /// max, `?4` window, `?5` lockout. Every expression reads the row as it
    /// was before this statement, so concurrent attempts each get their
    /// own count.
    COUNT_ATTEMPT = concat!(
        "INSERT INTO sign_in_failures (login, failures, first_at, locked_until) \
         VALUES (?1, 1, ?2, CASE WHEN 1 > ?3 THEN ?2 + ?5 END) \
         ON CONFLICT(login) DO UPDATE SET \
           failures = CASE WHEN ",
        attempt_restarts!(),
        " THEN 1 ELSE failures + 1 END, \
           first_at = CASE WHEN ",
        attempt_restarts!(),
        " THEN ?2 ELSE first_at END, \
           locked_until = CASE WHEN ",
        attempt_restarts!(),
        " THEN (CASE WHEN 1 > ?3 THEN ?2 + ?5 END) \
             WHEN locked_until IS NOT NULL THEN locked_until \
             WHEN failures + 1 > ?3 THEN ?2 + ?5 END \
         RETURNING failures, first_at, locked_until"
    );
    /// Takes back one counted attempt (`?1` key).
    REFUND_ATTEMPT = "UPDATE sign_in_failures SET failures = max(failures - 1, 0) WHERE login = ?1";
    CLEAR_FAILURES = "DELETE FROM sign_in_failures WHERE login = ?1";
    /// Deletes up to `?3` counters whose window and lock have ended (`?1`
    /// now, `?2` window), one row returned per deletion.
    PRUNE_ATTEMPTS = "DELETE FROM sign_in_failures WHERE login IN \
         (SELECT login FROM sign_in_failures \
          WHERE CASE WHEN locked_until IS NOT NULL THEN locked_until <= ?1 ELSE ?1 - first_at >= ?2 END \
          LIMIT ?3) RETURNING 1 AS n";

    // Backup: every table in one batch (one consistent state), in rowid
    // order, and the checksums whose blobs it needs.
    BACKUP_USERS = concat!("SELECT ", backup_user_cols!(), " FROM users ORDER BY rowid");
    BACKUP_TOKENS = concat!("SELECT ", backup_token_cols!(), " FROM tokens ORDER BY rowid");
    BACKUP_CRATES = concat!("SELECT ", backup_crate_cols!(), " FROM crates ORDER BY rowid");
    BACKUP_VERSIONS = concat!("SELECT ", backup_version_cols!(), " FROM versions ORDER BY rowid");
    BACKUP_OWNERS = concat!("SELECT ", backup_owner_cols!(), " FROM owners ORDER BY rowid");
    BACKUP_DEPENDENCIES = concat!("SELECT ", backup_dependency_cols!(), " FROM dependencies ORDER BY rowid");
    BACKUP_AUDIT = concat!("SELECT ", backup_audit_cols!(), " FROM audit ORDER BY rowid");
    BACKUP_IDENTITIES = concat!("SELECT ", backup_identity_cols!(), " FROM identities ORDER BY rowid");
    BACKUP_TEAMS = concat!("SELECT ", backup_team_cols!(), " FROM teams ORDER BY rowid");
    BACKUP_MEMBERS = concat!("SELECT ", backup_member_cols!(), " FROM team_members ORDER BY rowid");
    BACKUP_TEAM_OWNERS = concat!("SELECT ", backup_team_owner_cols!(), " FROM team_owners ORDER BY rowid");
    BACKUP_READERS = concat!("SELECT ", backup_reader_cols!(), " FROM crate_readers ORDER BY rowid");
    BACKUP_CKSUMS = "SELECT DISTINCT cksum FROM versions ORDER BY cksum";

    // Restore: the keys already taken, then every row in one batch. Column
    // lists are fixed here; every value is bound.
    RESTORE_ROW_COUNT = "SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM crates) AS n";
    TAKEN_USERS = "SELECT id, login AS key FROM users";
    TAKEN_TOKENS = "SELECT id, hash AS key FROM tokens";
    TAKEN_CRATES = "SELECT id, canon AS key FROM crates";
    TAKEN_VERSIONS = "SELECT id, NULL AS key FROM versions";
    TAKEN_TEAMS = "SELECT id, name AS key FROM teams";
    /// An identity's key as a JSON pair `[issuer, subject]`.
    TAKEN_IDENTITIES = "SELECT rowid AS id, json_array(issuer, subject) AS key FROM identities";
    RESTORE_USER = concat!("INSERT INTO users (", backup_user_cols!(), ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    RESTORE_IDENTITY = concat!("INSERT INTO identities (", backup_identity_cols!(), ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    RESTORE_TOKEN = concat!("INSERT INTO tokens (", backup_token_cols!(), ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
    /// Marked for rendering (`indexed_rev` 0); `?7` changed_at.
    RESTORE_CRATE = "INSERT INTO crates (id, name, canon, created_at, updated_at, rev, indexed_rev, changed_at, visibility) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?8)";
    RESTORE_TEAM = concat!("INSERT INTO teams (", backup_team_cols!(), ") VALUES (?1, ?2, ?3, ?4)");
    RESTORE_MEMBER = concat!("INSERT INTO team_members (", backup_member_cols!(), ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    RESTORE_TEAM_OWNER = concat!("INSERT INTO team_owners (", backup_team_owner_cols!(), ") VALUES (?1, ?2, ?3, ?4)");
    RESTORE_READER = concat!("INSERT INTO crate_readers (", backup_reader_cols!(), ") VALUES (?1, ?2, ?3, ?4, ?5)");
    RESTORE_VERSION = concat!(
        "INSERT INTO versions (", backup_version_cols!(),
        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)"
    );
    /// The publish trigger's audit row for the version just inserted, and
    /// only it: the newest row, matched on every field (`?1` crate, `?2`
    /// num, `?3` pubtime, `?4` publisher).
    RESTORE_DROP_TRIGGER_AUDIT = "DELETE FROM audit WHERE id = (SELECT MAX(id) FROM audit) \
         AND action = 'publish' AND crate_id = ?1 AND detail = ?2 AND at = ?3 AND actor = ?4";
    /// The trigger counted each insert as a change: the backup's revision
    /// and times back, marked for rendering.
    RESTORE_CRATE_STATE = "UPDATE crates SET rev = ?2, updated_at = ?3, changed_at = ?4, max_version = ?5, indexed_rev = 0 WHERE id = ?1";
    RESTORE_OWNER = concat!("INSERT INTO owners (", backup_owner_cols!(), ") VALUES (?1, ?2, ?3, ?4)");
    RESTORE_DEPENDENCY = concat!("INSERT INTO dependencies (", backup_dependency_cols!(), ") VALUES (?1, ?2, ?3, ?4)");
    /// Appended with a new id: the audit log is never rewritten.
    RESTORE_AUDIT = "INSERT INTO audit (at, actor, action, crate_id, detail) VALUES (?1, ?2, ?3, ?4, ?5)";

    // Teams. Each change is a batch: its audit row (only when it changes
    // something), then the change. Team names compare without case.
    /// `?1` name, `?2` now, `?3` actor.
    CREATE_TEAM_AUDIT = "INSERT INTO audit (at, actor, action, crate_id, detail) \
         SELECT ?2, ?3, 'team-create', NULL, json_object('team', ?1) WHERE NOT EXISTS (SELECT 1 FROM teams WHERE name = ?1)";
    CREATE_TEAM = "INSERT INTO teams (name, created_at, created_by) VALUES (?1, ?2, ?3) ON CONFLICT(name) DO NOTHING RETURNING id, name, created_at";
    TEAM_BY_NAME = "SELECT id, name, created_at FROM teams WHERE name = ?1";
    LIST_TEAMS = "SELECT t.id, t.name, t.created_at, (SELECT COUNT(*) FROM team_members m WHERE m.team_id = t.id) AS members \
         FROM teams t ORDER BY t.name COLLATE NOCASE";
    TEAM_MEMBERS = concat!(
        "SELECT m.maintainer, m.source, m.added_at, u.id AS u_id, ", joined_user_cols!(),
        " FROM team_members m JOIN users u ON u.id = m.user_id WHERE m.team_id = ?1 ORDER BY u.login COLLATE NOCASE"
    );
    /// `?1` team, `?2` user, `?3` maintainer, `?4` actor, `?5` now, `?6` source.
    PUT_MEMBER_AUDIT = "INSERT INTO audit (at, actor, action, crate_id, detail) \
         SELECT ?5, ?4, CASE WHEN EXISTS (SELECT 1 FROM team_members WHERE team_id = ?1 AND user_id = ?2) THEN 'team-member-change' ELSE 'team-member-add' END, \
         NULL, json_object('team', t.name, 'user', u.login, 'maintainer', ?3, 'source', ?6) \
         FROM teams t JOIN users u ON u.id = ?2 WHERE t.id = ?1 \
         AND NOT EXISTS (SELECT 1 FROM team_members WHERE team_id = ?1 AND user_id = ?2 AND maintainer = ?3 AND source = ?6)";
    PUT_MEMBER = "INSERT INTO team_members (team_id, user_id, maintainer, source, added_at, added_by) VALUES (?1, ?2, ?3, ?6, ?5, ?4) \
         ON CONFLICT(team_id, user_id) DO UPDATE SET maintainer = ?3, source = ?6";
    /// `?1` team, `?2` user, `?3` actor, `?4` now.
    REMOVE_MEMBER_AUDIT = "INSERT INTO audit (at, actor, action, crate_id, detail) \
         SELECT ?4, ?3, 'team-member-remove', NULL, json_object('team', t.name, 'user', u.login) \
         FROM team_members m JOIN teams t ON t.id = m.team_id JOIN users u ON u.id = m.user_id WHERE m.team_id = ?1 AND m.user_id = ?2";
    REMOVE_MEMBER = "DELETE FROM team_members WHERE team_id = ?1 AND user_id = ?2";
    USER_TEAM_IDS = "SELECT team_id AS id FROM team_members WHERE user_id = ?1 ORDER BY team_id";
    USER_MEMBERSHIPS = "SELECT team_id AS id, source FROM team_members WHERE user_id = ?1 ORDER BY team_id";
    /// `?1` crate, `?2` 'registry' or 'restricted', `?3` actor, `?4` now.
    SET_VISIBILITY_AUDIT = "INSERT INTO audit (at, actor, action, crate_id, detail) \
         SELECT ?4, ?3, 'visibility', id, json_object('visibility', ?2) FROM crates WHERE id = ?1 AND visibility != ?2";
    SET_VISIBILITY = "UPDATE crates SET visibility = ?2, rev = rev + 1, changed_at = ?4 WHERE id = ?1 AND visibility != ?2";
    /// `?1` crate, `?2` user or NULL, `?3` team or NULL, `?4` actor, `?5` now.
    GRANT_READER_AUDIT = "INSERT INTO audit (at, actor, action, crate_id, detail) \
         SELECT ?5, ?4, 'reader-grant', ?1, json_object('user', (SELECT login FROM users WHERE id = ?2), 'team', (SELECT name FROM teams WHERE id = ?3)) \
         WHERE NOT EXISTS (SELECT 1 FROM crate_readers WHERE crate_id = ?1 AND user_id IS ?2 AND team_id IS ?3)";
    GRANT_READER = "INSERT INTO crate_readers (crate_id, user_id, team_id, added_at, added_by) \
         SELECT ?1, ?2, ?3, ?5, ?4 WHERE NOT EXISTS (SELECT 1 FROM crate_readers WHERE crate_id = ?1 AND user_id IS ?2 AND team_id IS ?3)";
    REVOKE_READER_AUDIT = "INSERT INTO audit (at, actor, action, crate_id, detail) \
         SELECT ?5, ?4, 'reader-revoke', ?1, json_object('user', (SELECT login FROM users WHERE id = ?2), 'team', (SELECT name FROM teams WHERE id = ?3)) \
         WHERE EXISTS (SELECT 1 FROM crate_readers WHERE crate_id = ?1 AND user_id IS ?2 AND team_id IS ?3)";
    REVOKE_READER = "DELETE FROM crate_readers WHERE crate_id = ?1 AND user_id IS ?2 AND team_id IS ?3";
    /// Who may read the crate changed: its index file is rendered again.
    BUMP_REV = "UPDATE crates SET rev = rev + 1, changed_at = ?2 WHERE id = ?1";
    /// A crate's visibility and, when restricted, its readers: owners and
    /// granted users, owning and granted teams (JSON lists of ids).
    CRATE_VISIBILITY = "SELECT c.visibility, \
         (SELECT json_group_array(id) FROM (SELECT user_id AS id FROM owners WHERE crate_id = c.id \
            UNION SELECT user_id FROM crate_readers WHERE crate_id = c.id AND user_id IS NOT NULL ORDER BY 1)) AS users, \
         (SELECT json_group_array(id) FROM (SELECT team_id AS id FROM team_owners WHERE crate_id = c.id \
            UNION SELECT team_id FROM crate_readers WHERE crate_id = c.id AND team_id IS NOT NULL ORDER BY 1)) AS teams \
         FROM crates c WHERE c.id = ?1";

    // Single sign-on. An attempt is taken once (`?1` state hash); an
    // identity is keyed by issuer and subject.
    INSERT_SSO_ATTEMPT = "INSERT INTO sso_attempts (state_hash, nonce, verifier, return_to, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)";
    TAKE_SSO_ATTEMPT = "DELETE FROM sso_attempts WHERE state_hash = ?1 RETURNING nonce, verifier, return_to, expires_at";
    /// Deletes up to `?2` attempts that expired before `?1`.
    PRUNE_SSO_ATTEMPTS = "DELETE FROM sso_attempts WHERE state_hash IN \
         (SELECT state_hash FROM sso_attempts WHERE expires_at <= ?1 LIMIT ?2) RETURNING 1 AS n";
    /// The identity's account (`?1` issuer, `?2` subject).
    IDENTITY_USER = concat!(
        "SELECT i.suspended, u.id AS u_id, ", joined_user_cols!(),
        " FROM identities i JOIN users u ON u.id = i.user_id WHERE i.issuer = ?1 AND i.subject = ?2"
    );
    /// `?1` issuer, `?2` subject, `?3` user, `?4` email, `?5` now; nothing
    /// when the subject or the user already has an identity there.
    INSERT_IDENTITY = "INSERT INTO identities (issuer, subject, user_id, email, created_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING";
    /// A sign-in's outcome: `?3` email, `?4` now, `?5` suspended.
    TOUCH_IDENTITY = "UPDATE identities SET email = ?3, last_sign_in_at = ?4, suspended = ?5 WHERE issuer = ?1 AND subject = ?2";
    /// A session for a signed-in identity's account, only while it is enabled.
    CREATE_SSO_SESSION = "INSERT INTO sessions (id_hash, user_id, csrf, created_at, expires_at) \
         SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM users WHERE id = ?2 AND disabled = 0)";
}
