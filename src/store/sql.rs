//! SQL shared by the Worker's D1 store and the admin command line (which
//! runs it through `wrangler d1 execute`). Placeholders are `?N`.

pub const USER_ID_BY_LOGIN: &str = "SELECT id FROM users WHERE login = ?1";
pub const INSERT_USER: &str = "INSERT INTO users (login, is_admin, created_at) VALUES (?1, ?2, ?3) ON CONFLICT(login) DO NOTHING";
pub const MAKE_ADMIN: &str = "UPDATE users SET is_admin = 1 WHERE id = ?1";
pub const INSERT_TOKEN: &str = "INSERT INTO tokens (user_id, name, hash, hint, scopes, patterns, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
pub const TOKENS_OF_LOGIN: &str = "SELECT t.id, t.name, t.hint, t.scopes, t.patterns, t.created_at, t.last_used_at, t.expires_at, t.revoked_at FROM tokens t JOIN users u ON u.id = t.user_id WHERE u.login = ?1 ORDER BY t.id";
pub const REVOKE_TOKEN_RETURNING: &str =
    "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL RETURNING id";
pub const CRATE_BY_CANON: &str = "SELECT id, name, canon, created_at, updated_at, rev, indexed_rev, max_version, description FROM crates WHERE canon = ?1";
pub const ALL_CRATES: &str = "SELECT id, name, canon, created_at, updated_at, rev, indexed_rev, max_version, description FROM crates ORDER BY id";
pub const VERSIONS_OF_CRATE: &str = "SELECT id, crate_id, num, num_no_build, cksum, yanked, pubtime, entry FROM versions WHERE crate_id = ?1 ORDER BY id";
pub const CRATE_REV: &str = "SELECT rev FROM crates WHERE id = ?1";
pub const MARK_INDEXED: &str =
    "UPDATE crates SET indexed_rev = ?2, max_version = ?3 WHERE id = ?1 AND indexed_rev <= ?2";
pub const INSERT_LINK: &str = "INSERT INTO user_links (hash, user_id, purpose, created_by, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
pub const ALL_VERSIONS: &str = "SELECT id, crate_id, num, num_no_build, cksum, yanked, pubtime, entry FROM versions ORDER BY crate_id, id";

/// A value bound to a statement, independent of the executor (D1 in the
/// Worker, SQLite in the native tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Int(i64),
    Text(String),
}

/// Columns of a crate record, in the order `CrateRecord` rows are read.
pub const CRATE_COLS: &str =
    "id, name, canon, created_at, updated_at, rev, indexed_rev, max_version, description, keywords";

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

/// A page of search hits: exact name, then prefix, then the rest, by
/// canonical name (`?6` limit, `?7` offset).
pub const SEARCH: &str = concat!(
    "SELECT id, name, canon, created_at, updated_at, rev, indexed_rev, max_version, description, keywords \
     FROM crates WHERE ",
    search_where!(),
    " ORDER BY CASE WHEN canon = ?1 THEN 0 WHEN substr(canon, 1, length(?1)) = ?1 THEN 1 ELSE 2 END, canon \
     LIMIT ?6 OFFSET ?7"
);

/// How many crates the caller may read match (`?1`-`?5` as `SEARCH`).
pub const SEARCH_COUNT: &str = concat!("SELECT COUNT(*) AS n FROM crates WHERE ", search_where!());

/// The arguments of `SEARCH` (all seven) for a query, filter and page;
/// `SEARCH_COUNT` takes the first five. Lowercasing is ASCII only, as
/// SQLite's `lower()` is.
pub fn search_args(q: &str, filter: &crate::auth::ReadFilter, limit: u32, offset: u32) -> Vec<Arg> {
    let (exact, prefixes) = filter.exact_and_prefixes();
    let json = |v: Vec<&str>| serde_json::to_string(&v).unwrap_or_else(|_| "[]".into());
    vec![
        Arg::Text(crate::protocol::names::canonical(q)),
        Arg::Text(q.to_ascii_lowercase()),
        Arg::Int(i64::from(matches!(filter, crate::auth::ReadFilter::All))),
        Arg::Text(json(exact)),
        Arg::Text(json(prefixes)),
        Arg::Int(i64::from(limit)),
        Arg::Int(i64::from(offset)),
    ]
}

/// The restart test of `AttemptRule::next` for the stored row (`?2` now,
/// `?4` window).
macro_rules! attempt_restarts {
    () => {
        "(CASE WHEN locked_until IS NOT NULL THEN locked_until <= ?2 ELSE ?2 - first_at >= ?4 END)"
    };
}

/// `AttemptRule::next` as one atomic upsert: `?1` key, `?2` now, `?3` max,
/// `?4` window, `?5` lockout. Every expression reads the row as it was
/// before this statement, so concurrent attempts each get their own count.
pub const COUNT_ATTEMPT: &str = concat!(
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

/// The arguments of `COUNT_ATTEMPT`.
pub fn count_attempt_args(key: &str, now: i64, rule: &super::AttemptRule) -> Vec<Arg> {
    vec![
        Arg::Text(key.to_string()),
        Arg::Int(now),
        Arg::Int(rule.max),
        Arg::Int(rule.window),
        Arg::Int(rule.lockout),
    ]
}

/// Takes back one counted attempt (`?1` key).
pub const REFUND_ATTEMPT: &str =
    "UPDATE sign_in_failures SET failures = max(failures - 1, 0) WHERE login = ?1";

/// Deletes up to `?3` counters whose window and lock have ended (`?1` now,
/// `?2` window), one row returned per deletion.
pub const PRUNE_ATTEMPTS: &str = "DELETE FROM sign_in_failures WHERE login IN \
     (SELECT login FROM sign_in_failures \
      WHERE CASE WHEN locked_until IS NOT NULL THEN locked_until <= ?1 ELSE ?1 - first_at >= ?2 END \
      LIMIT ?3) RETURNING 1 AS n";

/// Opens a session only while the user is enabled and their password hash
/// is still the one the caller checked (`?6`), in the same statement: a
/// sign-in that raced a password change opens nothing.
pub const CREATE_SESSION: &str = "INSERT INTO sessions (id_hash, user_id, csrf, created_at, expires_at) \
     SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS \
     (SELECT 1 FROM users WHERE id = ?2 AND disabled = 0 AND password_hash = ?6)";
