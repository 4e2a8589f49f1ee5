//! The backup archive (`scripts/admin backup` / `restore`): its format, and
//! everything a restore checks before it writes anything.
//!
//! An archive is a gzip-compressed tar holding `database.json` (every
//! backed-up table's rows as JSON objects) and `blobs/<sha256>.crate`.
//! A restore treats it as hostile input:
//!
//! - it is read in-process, never unpacked by `tar`: only regular files and
//!   directories at exactly those canonical paths are accepted, so a link,
//!   device or stray path is refused instead of being followed;
//! - only the tables and columns in [`TABLES`] exist; each row is parsed
//!   into a typed struct, and SQL is built from fixed column lists in this
//!   file, with every value bound as a literal, never from archive keys;
//! - every value is checked as the registry itself checks it (names,
//!   versions, checksums, logins, scopes, password-hash format), every
//!   reference must resolve inside the archive, and unique keys must be
//!   unique in the archive and new to the registry;
//! - every blob must hash to its checksum and have its version's size,
//!   and every version's checksum must have its blob;
//! - what the registry derives is derived again instead of trusted:
//!   `readme_html` is rendered from `readme` by the publish renderer, the
//!   same-registry dependency rows from the versions' index lines, a
//!   crate's latest version, description and keywords from its versions
//!   (and its index file by the reindex that follows the restore);
//! - the audit log is only ever appended to.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::{Read, Write};
use std::path::Path;

use edge_registry::auth::Scopes;
use edge_registry::auth::password::StoredHash;
use edge_registry::auth::scopes::parse_patterns;
use edge_registry::protocol::index::{IndexLine, to_hex};
use edge_registry::protocol::names::{canonical, index_path, validate_dependency_name};
use edge_registry::protocol::readme;
use edge_registry::protocol::version::{parse_version, printable};
use edge_registry::service::tokens::validate_login;
use edge_registry::store::VersionRecord;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::cli::{Lit, bind};

/// The database member of an archive.
pub const DATABASE: &str = "database.json";
/// Largest `database.json` a restore reads.
pub const MAX_DATABASE_BYTES: u64 = 1 << 30;

/// The tables a backup holds, in the order a restore inserts them, each
/// with every column it may have. Nothing else is accepted.
pub const TABLES: &[(&str, &[&str])] = &[
    ("users", USER_COLS),
    ("tokens", TOKEN_COLS),
    ("crates", CRATE_COLS),
    ("versions", VERSION_COLS),
    ("owners", OWNER_COLS),
    ("dependencies", DEPENDENCY_COLS),
    ("audit", AUDIT_COLS),
];

const USER_COLS: &[&str] = &[
    "id",
    "login",
    "name",
    "is_admin",
    "disabled",
    "created_at",
    "password_hash",
];
const TOKEN_COLS: &[&str] = &[
    "id",
    "user_id",
    "name",
    "hash",
    "hint",
    "scopes",
    "patterns",
    "created_at",
    "last_used_at",
    "expires_at",
    "revoked_at",
];
const CRATE_COLS: &[&str] = &[
    "id",
    "name",
    "canon",
    "created_at",
    "updated_at",
    "rev",
    "indexed_rev",
    "max_version",
    "description",
    "keywords",
    "changed_at",
];
const VERSION_COLS: &[&str] = &[
    "id",
    "crate_id",
    "num",
    "num_no_build",
    "cksum",
    "yanked",
    "pubtime",
    "entry",
    "size",
    "description",
    "license",
    "homepage",
    "documentation",
    "repository",
    "keywords",
    "categories",
    "readme",
    "links",
    "rust_version",
    "published_by",
    "readme_html",
];
const OWNER_COLS: &[&str] = &["crate_id", "user_id", "added_at", "added_by"];
const DEPENDENCY_COLS: &[&str] = &["version_id", "crate_id", "dep_canon", "kind"];
const AUDIT_COLS: &[&str] = &["id", "at", "actor", "action", "crate_id", "detail"];

// ---------------------------------------------------------------------------
// Reading the archive.

/// What an accepted archive entry is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Member {
    /// The top directory (`./`).
    Root,
    /// `blobs/`.
    BlobDir,
    /// `database.json`.
    Database,
    /// `blobs/<sha256>.crate`, by checksum.
    Blob(String),
}

fn is_cksum(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn kind_name(kind: tar::EntryType) -> &'static str {
    use tar::EntryType as E;
    match kind {
        E::Symlink => "a symbolic link",
        E::Link => "a hard link",
        E::Char => "a character device",
        E::Block => "a block device",
        E::Fifo => "a named pipe",
        E::GNUSparse => "a sparse file",
        E::XGlobalHeader => "a pax global header",
        _ => "a special entry",
    }
}

/// Accepts an entry only if it is a regular file or a directory at one of
/// a backup's canonical paths (an optional leading `./`, nothing else: no
/// `..`, no absolute path, no doubled or trailing `/` on files).
pub fn classify(path: &[u8], kind: tar::EntryType) -> Result<Member, String> {
    let shown = printable(&String::from_utf8_lossy(path));
    let text = std::str::from_utf8(path)
        .map_err(|_| format!("the archive entry `{shown}` has a name that is not UTF-8"))?;
    let rel = text.strip_prefix("./").unwrap_or(text);
    let member = match kind {
        tar::EntryType::Directory => match rel.strip_suffix('/').unwrap_or(rel) {
            "" | "." => Some(Member::Root),
            "blobs" => Some(Member::BlobDir),
            _ => None,
        },
        tar::EntryType::Regular => {
            if rel == DATABASE {
                Some(Member::Database)
            } else {
                rel.strip_prefix("blobs/")
                    .and_then(|n| n.strip_suffix(".crate"))
                    .filter(|ck| is_cksum(ck))
                    .map(|ck| Member::Blob(ck.to_string()))
            }
        }
        other => {
            return Err(format!(
                "the archive entry `{shown}` is {}; a backup holds only regular files and directories",
                kind_name(other)
            ));
        }
    };
    member.ok_or_else(|| {
        format!(
            "the archive entry `{shown}` is not part of a backup (only `{DATABASE}`, `blobs/` and `blobs/<sha256>.crate`)"
        )
    })
}

fn unreadable(e: std::io::Error) -> String {
    format!("the archive is not a readable .tar.gz ({e})")
}

/// The first pass over an archive: `database.json` and the size of each
/// blob, with every entry checked.
#[derive(Debug)]
pub struct Scan {
    pub database: Vec<u8>,
    pub blobs: BTreeMap<String, u64>,
}

/// Reads an archive without unpacking it.
pub fn scan(reader: impl Read) -> Result<Scan, String> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(reader));
    let mut database: Option<Vec<u8>> = None;
    let mut blobs = BTreeMap::new();
    let mut dirs = BTreeSet::new();
    for entry in archive.entries().map_err(unreadable)? {
        let entry = entry.map_err(unreadable)?;
        let member = classify(&entry.path_bytes(), entry.header().entry_type())?;
        let size = entry.size();
        match member {
            Member::Root | Member::BlobDir => {
                if !dirs.insert(member.clone()) {
                    return Err(format!("the archive holds {member:?} twice"));
                }
            }
            Member::Database => {
                if database.is_some() {
                    return Err(format!("the archive holds `{DATABASE}` twice"));
                }
                if size > MAX_DATABASE_BYTES {
                    return Err(format!(
                        "`{DATABASE}` is larger than {MAX_DATABASE_BYTES} bytes"
                    ));
                }
                let mut bytes = Vec::new();
                entry
                    .take(MAX_DATABASE_BYTES + 1)
                    .read_to_end(&mut bytes)
                    .map_err(unreadable)?;
                database = Some(bytes);
            }
            Member::Blob(ck) => {
                if blobs.insert(ck.clone(), size).is_some() {
                    return Err(format!("the archive holds blob {ck} twice"));
                }
            }
        }
    }
    let database = database.ok_or_else(|| format!("the archive has no `{DATABASE}`"))?;
    Ok(Scan { database, blobs })
}

/// The second pass: copies each blob into `dir` (as `<sha256>.crate`,
/// files this process creates), reading at most the size its versions
/// state and checking that its bytes hash to its name. The archive is read
/// again, so nothing from the first pass is trusted here: every entry is
/// checked again and every blob must be one of `expected`.
pub fn extract_blobs(
    reader: impl Read,
    expected: &BTreeMap<String, u64>,
    dir: &Path,
) -> Result<(), String> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(reader));
    let mut done = BTreeSet::new();
    for entry in archive.entries().map_err(unreadable)? {
        let entry = entry.map_err(unreadable)?;
        let Member::Blob(ck) = classify(&entry.path_bytes(), entry.header().entry_type())? else {
            continue;
        };
        let Some(&size) = expected.get(&ck) else {
            return Err(format!(
                "blob {ck} is not the checksum of any version in the backup"
            ));
        };
        if !done.insert(ck.clone()) {
            return Err(format!("the archive holds blob {ck} twice"));
        }
        let path = dir.join(format!("{ck}.crate"));
        let mut out = {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(|e| format!("cannot create {}: {e}", path.display()))?
        };
        let mut hasher = Sha256::new();
        let mut total: u64 = 0;
        let mut limited = entry.take(size.saturating_add(1));
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = limited.read(&mut buf).map_err(unreadable)?;
            if n == 0 {
                break;
            }
            let chunk = buf.get(..n).unwrap_or_default();
            hasher.update(chunk);
            out.write_all(chunk)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            total += n as u64;
        }
        if total != size {
            return Err(format!(
                "blob {ck} is {total} bytes but its version says {size}"
            ));
        }
        let actual = to_hex(&hasher.finalize());
        if actual != ck {
            return Err(format!(
                "blob {ck} does not match its checksum (its bytes hash to {actual})"
            ));
        }
    }
    if let Some(missing) = expected.keys().find(|ck| !done.contains(*ck)) {
        return Err(format!("blob {missing} is missing from the archive"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The rows.

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserRow {
    pub id: i64,
    pub login: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub is_admin: i64,
    #[serde(default)]
    pub disabled: i64,
    pub created_at: i64,
    #[serde(default)]
    pub password_hash: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRow {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub hash: String,
    pub hint: String,
    pub scopes: String,
    #[serde(default)]
    pub patterns: String,
    pub created_at: i64,
    #[serde(default)]
    pub last_used_at: Option<i64>,
    #[serde(default)]
    pub expires_at: Option<i64>,
    #[serde(default)]
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrateRow {
    pub id: i64,
    pub name: String,
    pub canon: String,
    pub created_at: i64,
    pub updated_at: i64,
    #[serde(default)]
    pub rev: i64,
    /// Derived: a restore marks every crate for rendering.
    #[serde(default)]
    pub indexed_rev: i64,
    /// Derived from the versions.
    #[serde(default)]
    pub max_version: Option<String>,
    /// Derived from the latest version (as publishing sets it).
    #[serde(default)]
    pub description: Option<String>,
    /// Derived from the latest version (as publishing sets it).
    #[serde(default)]
    pub keywords: String,
    #[serde(default)]
    pub changed_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionRow {
    pub id: i64,
    pub crate_id: i64,
    pub num: String,
    pub num_no_build: String,
    pub cksum: String,
    #[serde(default)]
    pub yanked: i64,
    pub pubtime: i64,
    pub entry: String,
    pub size: i64,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub license: Option<String>,
    #[serde(default)]
    pub homepage: Option<String>,
    #[serde(default)]
    pub documentation: Option<String>,
    #[serde(default)]
    pub repository: Option<String>,
    #[serde(default = "empty_list")]
    pub keywords: String,
    #[serde(default = "empty_list")]
    pub categories: String,
    #[serde(default)]
    pub readme: Option<String>,
    #[serde(default)]
    pub links: Option<String>,
    #[serde(default)]
    pub rust_version: Option<String>,
    pub published_by: i64,
    /// Derived: rendered again from `readme`; the archive's is never used.
    #[serde(default)]
    pub readme_html: Option<String>,
}

fn empty_list() -> String {
    "[]".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnerRow {
    pub crate_id: i64,
    pub user_id: i64,
    pub added_at: i64,
    #[serde(default)]
    pub added_by: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DependencyRow {
    pub version_id: i64,
    pub crate_id: i64,
    pub dep_canon: String,
    pub kind: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    #[serde(default)]
    pub actor: Option<i64>,
    pub action: String,
    #[serde(default)]
    pub crate_id: Option<i64>,
    #[serde(default)]
    pub detail: Option<String>,
}

/// A backup's rows, typed.
#[derive(Debug, Clone, Default)]
pub struct Database {
    pub users: Vec<UserRow>,
    pub tokens: Vec<TokenRow>,
    pub crates: Vec<CrateRow>,
    pub versions: Vec<VersionRow>,
    pub owners: Vec<OwnerRow>,
    pub dependencies: Vec<DependencyRow>,
    pub audit: Vec<AuditRow>,
}

fn find_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => a.iter().any(find_nul),
        Value::Object(o) => o.values().any(find_nul),
        _ => false,
    }
}

fn rows_of<T: serde::de::DeserializeOwned>(
    tables: &serde_json::Map<String, Value>,
    table: &str,
    cols: &[&str],
) -> Result<Vec<T>, String> {
    let rows = match tables.get(table) {
        Some(Value::Array(rows)) => rows,
        Some(_) => return Err(format!("table `{table}` is not a list of rows")),
        None => return Err(format!("the backup has no table `{table}`")),
    };
    let mut out = Vec::with_capacity(rows.len());
    for (n, row) in rows.iter().enumerate() {
        let n = n + 1;
        let Value::Object(obj) = row else {
            return Err(format!("table `{table}` row {n} is not an object"));
        };
        for (key, value) in obj {
            if !cols.contains(&key.as_str()) {
                return Err(format!(
                    "table `{table}` row {n} has an unknown column `{}`",
                    printable(key)
                ));
            }
            if find_nul(value) {
                return Err(format!(
                    "table `{table}` row {n} column `{key}` contains a NUL character"
                ));
            }
        }
        let typed = T::deserialize(row)
            .map_err(|e| format!("table `{table}` row {n}: {}", printable(&e.to_string())))?;
        out.push(typed);
    }
    Ok(out)
}

/// Parses `database.json`: only the known tables, only their columns,
/// each value of its column's type.
pub fn parse_database(bytes: &[u8]) -> Result<Database, String> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("`{DATABASE}` is not valid JSON ({e})"))?;
    let Value::Object(tables) = value else {
        return Err(format!("`{DATABASE}` is not an object of tables"));
    };
    if let Some(unknown) = tables
        .keys()
        .find(|k| !TABLES.iter().any(|(t, _)| t == &k.as_str()))
    {
        return Err(format!(
            "the backup has an unknown table `{}`",
            printable(unknown)
        ));
    }
    Ok(Database {
        users: rows_of(&tables, "users", USER_COLS)?,
        tokens: rows_of(&tables, "tokens", TOKEN_COLS)?,
        crates: rows_of(&tables, "crates", CRATE_COLS)?,
        versions: rows_of(&tables, "versions", VERSION_COLS)?,
        owners: rows_of(&tables, "owners", OWNER_COLS)?,
        dependencies: rows_of(&tables, "dependencies", DEPENDENCY_COLS)?,
        audit: rows_of(&tables, "audit", AUDIT_COLS)?,
    })
}

// ---------------------------------------------------------------------------
// Checking the rows.

/// A checked backup, ready to restore.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The rows, derived columns already recomputed; versions in id order
    /// (publish order).
    pub db: Database,
    /// The same-registry dependency rows, derived from the index lines.
    pub dependencies: Vec<DependencyRow>,
    /// Each blob's size, by checksum.
    pub blobs: BTreeMap<String, u64>,
}

fn flag(table: &str, n: usize, col: &str, v: i64) -> Result<(), String> {
    if v == 0 || v == 1 {
        Ok(())
    } else {
        Err(format!(
            "table `{table}` row {n}: {col} must be 0 or 1, not {v}"
        ))
    }
}

fn not_negative(table: &str, n: usize, col: &str, v: i64) -> Result<(), String> {
    if v >= 0 {
        Ok(())
    } else {
        Err(format!(
            "table `{table}` row {n}: {col} must not be negative"
        ))
    }
}

/// Checks a parsed backup on its own: every value, every unique key, every
/// reference, and the blobs against the versions. Recomputes the derived
/// columns. `blobs` is each blob's size as the archive lists it.
pub fn check(mut db: Database, blobs: &BTreeMap<String, u64>) -> Result<Plan, String> {
    // users
    let mut users: HashSet<i64> = HashSet::new();
    let mut logins: HashSet<String> = HashSet::new();
    for (n, u) in db.users.iter().enumerate() {
        let (n, t) = (n + 1, "users");
        if !users.insert(u.id) {
            return Err(format!(
                "table `{t}` row {n}: user id {} appears twice",
                u.id
            ));
        }
        validate_login(&u.login).map_err(|e| format!("table `{t}` row {n}: {}", e.detail()))?;
        if !logins.insert(u.login.to_ascii_lowercase()) {
            return Err(format!(
                "table `{t}` row {n}: login `{}` appears twice",
                u.login
            ));
        }
        flag(t, n, "is_admin", u.is_admin)?;
        flag(t, n, "disabled", u.disabled)?;
        if u.password_hash
            .as_deref()
            .is_some_and(|h| StoredHash::parse(h).is_none())
        {
            return Err(format!(
                "table `{t}` row {n}: password_hash is not a pbkdf2-sha256 hash"
            ));
        }
    }
    let user_ref = |t: &str, n: usize, col: &str, id: i64| {
        if users.contains(&id) {
            Ok(())
        } else {
            Err(format!(
                "table `{t}` row {n}: {col} {id} is not a user in the backup"
            ))
        }
    };

    // tokens
    let mut token_ids = HashSet::new();
    let mut hashes = HashSet::new();
    for (n, tk) in db.tokens.iter().enumerate() {
        let (n, t) = (n + 1, "tokens");
        if !token_ids.insert(tk.id) {
            return Err(format!(
                "table `{t}` row {n}: token id {} appears twice",
                tk.id
            ));
        }
        user_ref(t, n, "user_id", tk.user_id)?;
        if !is_cksum(&tk.hash) {
            return Err(format!(
                "table `{t}` row {n}: hash is not a SHA-256 in lowercase hex"
            ));
        }
        if !hashes.insert(tk.hash.clone()) {
            return Err(format!("table `{t}` row {n}: the token hash appears twice"));
        }
        if tk.name.trim().is_empty() || tk.name.chars().count() > 100 {
            return Err(format!(
                "table `{t}` row {n}: the token name must be 1 to 100 characters"
            ));
        }
        Scopes::parse(&tk.scopes).map_err(|e| format!("table `{t}` row {n}: {}", printable(&e)))?;
        parse_patterns(&tk.patterns)
            .map_err(|e| format!("table `{t}` row {n}: {}", printable(&e)))?;
    }

    // crates
    let mut crates: HashMap<i64, String> = HashMap::new();
    let mut canons: HashSet<String> = HashSet::new();
    for (n, c) in db.crates.iter_mut().enumerate() {
        let (n, t) = (n + 1, "crates");
        validate_dependency_name(&c.name)
            .map_err(|e| format!("table `{t}` row {n}: {}", printable(&e.to_string())))?;
        if index_path(&c.name).is_none() {
            return Err(format!(
                "table `{t}` row {n}: `{}` has no index path",
                c.name
            ));
        }
        if c.canon != canonical(&c.name) {
            return Err(format!(
                "table `{t}` row {n}: canon `{}` is not the canonical form of `{}`",
                printable(&c.canon),
                c.name
            ));
        }
        if !canons.insert(c.canon.clone()) {
            return Err(format!(
                "table `{t}` row {n}: crate `{}` is the same crate as another row (names equal up to case and `-`/`_`)",
                c.name
            ));
        }
        if crates.insert(c.id, c.name.clone()).is_some() {
            return Err(format!(
                "table `{t}` row {n}: crate id {} appears twice",
                c.id
            ));
        }
        not_negative(t, n, "rev", c.rev)?;
        // Derived columns: recomputed below and by the reindex.
        c.indexed_rev = 0;
        c.max_version = None;
    }
    let crate_ref = |t: &str, n: usize, col: &str, id: i64| {
        if crates.contains_key(&id) {
            Ok(())
        } else {
            Err(format!(
                "table `{t}` row {n}: {col} {id} is not a crate in the backup"
            ))
        }
    };

    // versions
    let mut version_ids: HashMap<i64, (i64, String)> = HashMap::new();
    let mut nums: HashSet<(i64, String)> = HashSet::new();
    let mut derived: BTreeSet<DependencyRow> = BTreeSet::new();
    let mut derived_all: Vec<DependencyRow> = Vec::new();
    let mut referenced: BTreeMap<String, i64> = BTreeMap::new();
    let mut records: HashMap<i64, Vec<VersionRecord>> = HashMap::new();
    for (n, v) in db.versions.iter_mut().enumerate() {
        let (n, t) = (n + 1, "versions");
        crate_ref(t, n, "crate_id", v.crate_id)?;
        user_ref(t, n, "published_by", v.published_by)?;
        let crate_name = crates.get(&v.crate_id).cloned().unwrap_or_default();
        let parsed = parse_version(&v.num).map_err(|e| format!("table `{t}` row {n}: {e}"))?;
        if parsed.text != v.num || parsed.no_build != v.num_no_build {
            return Err(format!(
                "table `{t}` row {n}: `{}`/`{}` is not a canonical version and its form without build metadata",
                printable(&v.num),
                printable(&v.num_no_build)
            ));
        }
        let id = format!("{crate_name}@{}", v.num);
        if version_ids.insert(v.id, (v.crate_id, id.clone())).is_some() {
            return Err(format!(
                "table `{t}` row {n}: version id {} appears twice",
                v.id
            ));
        }
        if !nums.insert((v.crate_id, v.num_no_build.clone())) {
            return Err(format!("table `{t}` row {n}: version {id} appears twice"));
        }
        if !is_cksum(&v.cksum) {
            return Err(format!(
                "table `{t}` row {n}: cksum of {id} is not a SHA-256 in lowercase hex"
            ));
        }
        flag(t, n, "yanked", v.yanked)?;
        not_negative(t, n, "size", v.size)?;
        // The index line is served to cargo as stored: it must be exactly
        // the line the registry writes for this row.
        let line: IndexLine = serde_json::from_str(&v.entry).map_err(|e| {
            format!("table `{t}` row {n}: the index line of {id} is not valid ({e})")
        })?;
        let canonical_line = serde_json::to_string(&line).map_err(|e| e.to_string())?;
        if canonical_line != v.entry
            || line.name != crate_name
            || line.vers != v.num
            || line.cksum != v.cksum
            || line.yanked
        {
            return Err(format!(
                "table `{t}` row {n}: the index line of {id} does not match its row (name, version, checksum, unyanked, canonical form)"
            ));
        }
        for field in [&v.keywords, &v.categories] {
            serde_json::from_str::<Vec<String>>(field).map_err(|_| {
                format!("table `{t}` row {n}: keywords and categories of {id} must be JSON lists of strings")
            })?;
        }
        match referenced.get(&v.cksum) {
            Some(size) if *size != v.size => {
                return Err(format!(
                    "table `{t}` row {n}: versions with checksum {} disagree on its size",
                    v.cksum
                ));
            }
            _ => {
                referenced.insert(v.cksum.clone(), v.size);
            }
        }
        match blobs.get(&v.cksum) {
            None => {
                return Err(format!(
                    "version {id} has no blob (blobs/{}.crate is not in the archive)",
                    v.cksum
                ));
            }
            Some(&have) if i64::try_from(have).ok() != Some(v.size) => {
                return Err(format!(
                    "blob {} is {have} bytes but version {id} says {}",
                    v.cksum, v.size
                ));
            }
            Some(_) => {}
        }
        // Derived: the page's HTML, rendered as a publish renders it.
        v.readme_html = v
            .readme
            .as_deref()
            .filter(|r| !r.trim().is_empty())
            .map(|r| readme::render(r, v.repository.as_deref()));
        for d in line.deps.iter().filter(|d| d.registry.is_none()) {
            let row = DependencyRow {
                version_id: v.id,
                crate_id: v.crate_id,
                dep_canon: canonical(d.package.as_deref().unwrap_or(&d.name)),
                kind: d.kind.clone(),
            };
            derived.insert(row.clone());
            derived_all.push(row);
        }
        records.entry(v.crate_id).or_default().push(VersionRecord {
            id: v.id,
            crate_id: v.crate_id,
            num: v.num.clone(),
            num_no_build: v.num_no_build.clone(),
            cksum: v.cksum.clone(),
            yanked: v.yanked != 0,
            pubtime: v.pubtime,
            entry: v.entry.clone(),
        });
    }
    // Inserted in publish (id) order, so the publish trigger derives each
    // crate's description and keywords from its latest version.
    db.versions.sort_by_key(|v| v.id);
    if let Some(extra) = blobs.keys().find(|ck| !referenced.contains_key(*ck)) {
        return Err(format!(
            "blob {extra} is not the checksum of any version in the backup"
        ));
    }

    // owners
    let mut owned = HashSet::new();
    for (n, o) in db.owners.iter().enumerate() {
        let (n, t) = (n + 1, "owners");
        crate_ref(t, n, "crate_id", o.crate_id)?;
        user_ref(t, n, "user_id", o.user_id)?;
        if let Some(by) = o.added_by {
            user_ref(t, n, "added_by", by)?;
        }
        if !owned.insert((o.crate_id, o.user_id)) {
            return Err(format!("table `{t}` row {n}: the same owner appears twice"));
        }
    }

    // Every crate has a version and an owner, as publishing leaves it.
    for c in &mut db.crates {
        let Some(vs) = records.get(&c.id) else {
            return Err(format!("crate `{}` has no versions in the backup", c.name));
        };
        if !owned.iter().any(|(crate_id, _)| *crate_id == c.id) {
            return Err(format!("crate `{}` has no owner in the backup", c.name));
        }
        let (_, max) = edge_registry::service::index::render_versions(vs)
            .map_err(|e| format!("crate `{}` cannot be rendered: {}", c.name, e.detail()))?;
        c.max_version = max;
    }

    // dependencies: only rows its version's index line gives
    for (n, d) in db.dependencies.iter().enumerate() {
        let (n, t) = (n + 1, "dependencies");
        let Some((crate_id, id)) = version_ids.get(&d.version_id) else {
            return Err(format!(
                "table `{t}` row {n}: version_id {} is not a version in the backup",
                d.version_id
            ));
        };
        if *crate_id != d.crate_id {
            return Err(format!(
                "table `{t}` row {n}: crate_id {} is not the crate of version {id}",
                d.crate_id
            ));
        }
        if !derived.contains(d) {
            return Err(format!(
                "table `{t}` row {n}: version {id} has no same-registry dependency `{}` ({}) in its index line",
                printable(&d.dep_canon),
                printable(&d.kind)
            ));
        }
    }

    // audit
    let mut audit_ids = HashSet::new();
    for (n, a) in db.audit.iter().enumerate() {
        let (n, t) = (n + 1, "audit");
        if !audit_ids.insert(a.id) {
            return Err(format!(
                "table `{t}` row {n}: audit id {} appears twice",
                a.id
            ));
        }
        if let Some(actor) = a.actor {
            user_ref(t, n, "actor", actor)?;
        }
        if let Some(c) = a.crate_id {
            crate_ref(t, n, "crate_id", c)?;
        }
        if a.action.is_empty() || a.action.len() > 64 {
            return Err(format!(
                "table `{t}` row {n}: action must be 1 to 64 characters"
            ));
        }
    }
    db.audit.sort_by_key(|a| a.id);

    Ok(Plan {
        db,
        dependencies: derived_all,
        blobs: referenced
            .into_iter()
            .map(|(ck, size)| (ck, u64::try_from(size).unwrap_or(0)))
            .collect(),
    })
}

/// The keys already taken in the registry a backup is restored into.
#[derive(Debug, Default)]
pub struct Existing {
    pub user_ids: HashSet<i64>,
    /// Lowercased (logins compare without case).
    pub logins: HashSet<String>,
    pub token_ids: HashSet<i64>,
    pub token_hashes: HashSet<String>,
    pub crate_ids: HashSet<i64>,
    pub canons: HashSet<String>,
    pub version_ids: HashSet<i64>,
}

impl Existing {
    /// The statements whose rows [`Existing::from_rows`] reads.
    pub const QUERIES: [&'static str; 4] = [
        "SELECT id, login FROM users",
        "SELECT id, hash FROM tokens",
        "SELECT id, canon FROM crates",
        "SELECT id FROM versions",
    ];

    pub fn from_rows(rows: &[Vec<Value>]) -> Existing {
        let get = |i: usize| rows.get(i).map(Vec::as_slice).unwrap_or_default();
        let int = |r: &Value| r.get("id").and_then(Value::as_i64);
        let text = |r: &Value, k: &str| r.get(k).and_then(Value::as_str).map(str::to_string);
        Existing {
            user_ids: get(0).iter().filter_map(int).collect(),
            logins: get(0)
                .iter()
                .filter_map(|r| text(r, "login"))
                .map(|l| l.to_ascii_lowercase())
                .collect(),
            token_ids: get(1).iter().filter_map(int).collect(),
            token_hashes: get(1).iter().filter_map(|r| text(r, "hash")).collect(),
            crate_ids: get(2).iter().filter_map(int).collect(),
            canons: get(2).iter().filter_map(|r| text(r, "canon")).collect(),
            version_ids: get(3).iter().filter_map(int).collect(),
        }
    }
}

/// Refuses a plan that would collide with rows already in the registry
/// (`--force` merges only what is new; nothing is overwritten).
pub fn check_against(plan: &Plan, have: &Existing) -> Result<(), String> {
    for u in &plan.db.users {
        if have.user_ids.contains(&u.id) || have.logins.contains(&u.login.to_ascii_lowercase()) {
            return Err(format!(
                "user `{}` (id {}) is already in this registry",
                u.login, u.id
            ));
        }
    }
    for t in &plan.db.tokens {
        if have.token_ids.contains(&t.id) || have.token_hashes.contains(&t.hash) {
            return Err(format!(
                "token {} (`{}`) is already in this registry",
                t.id,
                printable(&t.name)
            ));
        }
    }
    for c in &plan.db.crates {
        if have.crate_ids.contains(&c.id) || have.canons.contains(&c.canon) {
            return Err(format!(
                "crate `{}` (id {}) is already in this registry",
                c.name, c.id
            ));
        }
    }
    if let Some(v) = plan
        .db
        .versions
        .iter()
        .find(|v| have.version_ids.contains(&v.id))
    {
        return Err(format!("version id {} is already in this registry", v.id));
    }
    Ok(())
}

fn text(s: &str) -> Lit<'_> {
    Lit::Text(s)
}
fn opt_text(s: &Option<String>) -> Lit<'_> {
    s.as_deref().map(Lit::Text).unwrap_or(Lit::Null)
}
fn opt_int(v: Option<i64>) -> Lit<'static> {
    v.map(Lit::Int).unwrap_or(Lit::Null)
}

/// The SQL that restores a checked plan, as one batch. Column lists are
/// this file's; every value is a bound literal. Existing audit rows are
/// never touched: the rows the publish trigger adds while versions are
/// inserted are removed one by one (each is the newest audit row right
/// after its insert, matched on every field), the backup's own audit rows
/// are appended in their order with new ids, and one `restore` row
/// records the restore.
pub fn restore_sql(plan: &Plan, now: i64, note: &str) -> String {
    let db = &plan.db;
    let mut sql = String::new();
    for u in &db.users {
        sql.push_str(&bind(
            "INSERT INTO users (id, login, name, is_admin, disabled, created_at, password_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7);\n",
            &[
                Lit::Int(u.id),
                text(&u.login),
                opt_text(&u.name),
                Lit::Int(u.is_admin),
                Lit::Int(u.disabled),
                Lit::Int(u.created_at),
                opt_text(&u.password_hash),
            ],
        ));
    }
    for t in &db.tokens {
        sql.push_str(&bind(
            "INSERT INTO tokens (id, user_id, name, hash, hint, scopes, patterns, created_at, last_used_at, expires_at, revoked_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11);\n",
            &[
                Lit::Int(t.id),
                Lit::Int(t.user_id),
                text(&t.name),
                text(&t.hash),
                text(&t.hint),
                text(&t.scopes),
                text(&t.patterns),
                Lit::Int(t.created_at),
                opt_int(t.last_used_at),
                opt_int(t.expires_at),
                opt_int(t.revoked_at),
            ],
        ));
    }
    for c in &db.crates {
        sql.push_str(&bind(
            "INSERT INTO crates (id, name, canon, created_at, updated_at, rev, indexed_rev, changed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7);\n",
            &[
                Lit::Int(c.id),
                text(&c.name),
                text(&c.canon),
                Lit::Int(c.created_at),
                Lit::Int(c.updated_at),
                Lit::Int(c.rev),
                Lit::Int(c.changed_at.unwrap_or(c.updated_at)),
            ],
        ));
    }
    for v in &db.versions {
        sql.push_str(&bind(
            "INSERT INTO versions (id, crate_id, num, num_no_build, cksum, yanked, pubtime, entry, size, description, license, homepage, documentation, repository, keywords, categories, readme, links, rust_version, published_by, readme_html) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21);\n",
            &[
                Lit::Int(v.id),
                Lit::Int(v.crate_id),
                text(&v.num),
                text(&v.num_no_build),
                text(&v.cksum),
                Lit::Int(v.yanked),
                Lit::Int(v.pubtime),
                text(&v.entry),
                Lit::Int(v.size),
                opt_text(&v.description),
                opt_text(&v.license),
                opt_text(&v.homepage),
                opt_text(&v.documentation),
                opt_text(&v.repository),
                text(&v.keywords),
                text(&v.categories),
                opt_text(&v.readme),
                opt_text(&v.links),
                opt_text(&v.rust_version),
                Lit::Int(v.published_by),
                opt_text(&v.readme_html),
            ],
        ));
        // The trigger's 'publish' row for this insert, and only it.
        sql.push_str(&bind(
            "DELETE FROM audit WHERE id = (SELECT MAX(id) FROM audit) AND action = 'publish' AND crate_id = ?1 AND detail = ?2 AND at = ?3 AND actor = ?4;\n",
            &[
                Lit::Int(v.crate_id),
                text(&v.num),
                Lit::Int(v.pubtime),
                Lit::Int(v.published_by),
            ],
        ));
    }
    // The trigger counted each insert as a change: put back the backup's
    // revision and times; the reindex renders every crate.
    for c in &db.crates {
        sql.push_str(&bind(
            "UPDATE crates SET rev = ?2, updated_at = ?3, changed_at = ?4, max_version = ?5, indexed_rev = 0 WHERE id = ?1;\n",
            &[
                Lit::Int(c.id),
                Lit::Int(c.rev),
                Lit::Int(c.updated_at),
                Lit::Int(c.changed_at.unwrap_or(c.updated_at)),
                opt_text(&c.max_version),
            ],
        ));
    }
    for o in &db.owners {
        sql.push_str(&bind(
            "INSERT INTO owners (crate_id, user_id, added_at, added_by) VALUES (?1, ?2, ?3, ?4);\n",
            &[
                Lit::Int(o.crate_id),
                Lit::Int(o.user_id),
                Lit::Int(o.added_at),
                opt_int(o.added_by),
            ],
        ));
    }
    for d in &plan.dependencies {
        sql.push_str(&bind(
            "INSERT INTO dependencies (version_id, crate_id, dep_canon, kind) VALUES (?1, ?2, ?3, ?4);\n",
            &[
                Lit::Int(d.version_id),
                Lit::Int(d.crate_id),
                text(&d.dep_canon),
                text(&d.kind),
            ],
        ));
    }
    for a in &db.audit {
        sql.push_str(&bind(
            "INSERT INTO audit (at, actor, action, crate_id, detail) VALUES (?1, ?2, ?3, ?4, ?5);\n",
            &[
                Lit::Int(a.at),
                opt_int(a.actor),
                text(&a.action),
                opt_int(a.crate_id),
                opt_text(&a.detail),
            ],
        ));
    }
    sql.push_str(&bind(
        "INSERT INTO audit (at, actor, action, crate_id, detail) VALUES (?1, NULL, 'restore', NULL, ?2);\n",
        &[Lit::Int(now), text(note)],
    ));
    sql
}

// ---------------------------------------------------------------------------
// Writing an archive.

/// Writes a backup archive: `database.json`, then each blob, all as
/// regular files with mode 0600 under `./`.
pub struct Writer<W: Write> {
    tar: tar::Builder<flate2::write::GzEncoder<W>>,
}

impl<W: Write> Writer<W> {
    pub fn new(out: W) -> Writer<W> {
        let gz = flate2::write::GzEncoder::new(out, flate2::Compression::default());
        let mut tar = tar::Builder::new(gz);
        tar.mode(tar::HeaderMode::Deterministic);
        Writer { tar }
    }

    fn entry(&mut self, path: &str, kind: tar::EntryType, data: &[u8]) -> Result<(), String> {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(data.len() as u64);
        h.set_mode(if kind == tar::EntryType::Directory {
            0o700
        } else {
            0o600
        });
        h.set_mtime(0);
        self.tar
            .append_data(&mut h, path, data)
            .map_err(|e| format!("writing the archive: {e}"))
    }

    pub fn start(&mut self, database: &[u8]) -> Result<(), String> {
        self.entry("./", tar::EntryType::Directory, &[])?;
        self.entry(&format!("./{DATABASE}"), tar::EntryType::Regular, database)?;
        self.entry("./blobs/", tar::EntryType::Directory, &[])
    }

    pub fn blob(&mut self, cksum: &str, bytes: &[u8]) -> Result<(), String> {
        self.entry(
            &format!("./blobs/{cksum}.crate"),
            tar::EntryType::Regular,
            bytes,
        )
    }

    pub fn finish(self) -> Result<W, String> {
        let gz = self
            .tar
            .into_inner()
            .map_err(|e| format!("writing the archive: {e}"))?;
        gz.finish().map_err(|e| format!("writing the archive: {e}"))
    }
}

#[cfg(test)]
#[path = "archive_tests.rs"]
mod tests;
