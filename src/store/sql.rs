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
