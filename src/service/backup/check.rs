//! What a restore checks before it writes anything. The archive is
//! hostile input:
//!
//! - only the tables and columns of `BACKUP_TABLES` exist; each row is
//!   parsed into its typed row ([`crate::store::sql::backup`]);
//! - every value is checked as the registry itself checks it (names,
//!   versions, checksums, logins, scopes, password-hash format, identity
//!   issuers as URLs), every
//!   reference must resolve inside the archive, and unique keys must be
//!   unique in the archive and new to the registry;
//! - every version's checksum must have its blob, of its size;
//! - what the registry derives is derived again instead of trusted:
//!   `readme_html` is rendered from `readme` by the publish renderer, the
//!   same-registry dependency rows from the versions' index lines, a
//!   crate's latest version (and its description, keywords and index file
//!   by the trigger and the reindex that follow).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde_json::Value;

use crate::auth::Scopes;
use crate::auth::oidc::checked_url;
use crate::auth::password::StoredHash;
use crate::auth::scopes::parse_patterns;
use crate::protocol::index::IndexLine;
use crate::protocol::names::{canonical, index_path, validate_dependency_name};
use crate::protocol::readme;
use crate::protocol::version::{parse_version, printable};
use crate::service::tokens::validate_login;
use crate::store::VersionRecord;
use crate::store::sql::BACKUP_TABLES;
use crate::store::sql::backup::{Database, DependencyRow, Taken};

/// The database member of an archive.
pub const DATABASE: &str = "database.json";

/// A SHA-256 in lowercase hex, as checksums and token hashes are stored.
pub fn is_cksum(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn columns(table: &str) -> impl Iterator<Item = &'static str> {
    BACKUP_TABLES
        .iter()
        .filter(move |(t, _)| *t == table)
        .flat_map(|(_, cols)| cols.split(", "))
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
            if !columns(table).any(|c| c == key) {
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

/// A table that archives made before it existed do not have.
fn optional_rows<T: serde::de::DeserializeOwned>(
    tables: &serde_json::Map<String, Value>,
    table: &str,
) -> Result<Vec<T>, String> {
    if tables.contains_key(table) {
        rows_of(tables, table)
    } else {
        Ok(Vec::new())
    }
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
        .find(|k| !BACKUP_TABLES.iter().any(|(t, _)| t == &k.as_str()))
    {
        return Err(format!(
            "the backup has an unknown table `{}`",
            printable(unknown)
        ));
    }
    Ok(Database {
        users: rows_of(&tables, "users")?,
        // Archives made before single sign-on have no identities.
        identities: if tables.contains_key("identities") {
            rows_of(&tables, "identities")?
        } else {
            Vec::new()
        },
        tokens: rows_of(&tables, "tokens")?,
        crates: rows_of(&tables, "crates")?,
        versions: rows_of(&tables, "versions")?,
        owners: rows_of(&tables, "owners")?,
        // Archives made before teams have none of these.
        teams: optional_rows(&tables, "teams")?,
        team_members: optional_rows(&tables, "team_members")?,
        team_owners: optional_rows(&tables, "team_owners")?,
        crate_readers: optional_rows(&tables, "crate_readers")?,
        dependencies: rows_of(&tables, "dependencies")?,
        audit: rows_of(&tables, "audit")?,
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

    // identities
    let mut linked: HashSet<(&str, &str)> = HashSet::new();
    let mut per_issuer: HashSet<(i64, &str)> = HashSet::new();
    for (n, i) in db.identities.iter().enumerate() {
        let (n, t) = (n + 1, "identities");
        user_ref(t, n, "user_id", i.user_id)?;
        checked_url("issuer", &i.issuer, false).map_err(|_| {
            format!("table `{t}` row {n}: issuer is not an https:// URL (http:// only on loopback)")
        })?;
        if i.subject.is_empty() || i.subject.len() > 255 {
            return Err(format!(
                "table `{t}` row {n}: subject must be 1 to 255 bytes"
            ));
        }
        if i.email.as_deref().is_some_and(|e| e.len() > 320) {
            return Err(format!("table `{t}` row {n}: email is too long"));
        }
        not_negative(t, n, "created_at", i.created_at)?;
        flag(t, n, "suspended", i.suspended)?;
        if !linked.insert((&i.issuer, &i.subject)) {
            return Err(format!(
                "table `{t}` row {n}: the identity `{}` at `{}` appears twice",
                printable(&i.subject),
                printable(&i.issuer)
            ));
        }
        if !per_issuer.insert((i.user_id, &i.issuer)) {
            return Err(format!(
                "table `{t}` row {n}: user {} has two identities at `{}`",
                i.user_id,
                printable(&i.issuer)
            ));
        }
    }

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
        Scopes::parse(&tk.scopes)
            .map_err(|e| format!("table `{t}` row {n}: {}", printable(&e.to_string())))?;
        parse_patterns(&tk.patterns)
            .map_err(|e| format!("table `{t}` row {n}: {}", printable(&e.to_string())))?;
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
        if c.visibility != "registry" && c.visibility != "restricted" {
            return Err(format!(
                "table `{t}` row {n}: visibility must be `registry` or `restricted`"
            ));
        }
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

    // teams, their members, teams owning crates, granted readers
    let mut teams: HashSet<i64> = HashSet::new();
    let mut team_names: HashSet<String> = HashSet::new();
    for (n, tm) in db.teams.iter().enumerate() {
        let (n, t) = (n + 1, "teams");
        if !teams.insert(tm.id) {
            return Err(format!(
                "table `{t}` row {n}: team id {} appears twice",
                tm.id
            ));
        }
        crate::service::teams::validate_team_name(&tm.name)
            .map_err(|e| format!("table `{t}` row {n}: {}", e.detail()))?;
        if !team_names.insert(tm.name.to_ascii_lowercase()) {
            return Err(format!(
                "table `{t}` row {n}: team `{}` appears twice",
                tm.name
            ));
        }
        if let Some(by) = tm.created_by {
            user_ref(t, n, "created_by", by)?;
        }
    }
    let team_ref = |t: &str, n: usize, col: &str, id: i64| {
        if teams.contains(&id) {
            Ok(())
        } else {
            Err(format!(
                "table `{t}` row {n}: {col} {id} is not a team in the backup"
            ))
        }
    };
    let mut members = HashSet::new();
    for (n, m) in db.team_members.iter().enumerate() {
        let (n, t) = (n + 1, "team_members");
        team_ref(t, n, "team_id", m.team_id)?;
        user_ref(t, n, "user_id", m.user_id)?;
        flag(t, n, "maintainer", m.maintainer)?;
        if m.source != "manual" && m.source != "sso" {
            return Err(format!(
                "table `{t}` row {n}: source must be `manual` or `sso`"
            ));
        }
        if let Some(by) = m.added_by {
            user_ref(t, n, "added_by", by)?;
        }
        if !members.insert((m.team_id, m.user_id)) {
            return Err(format!(
                "table `{t}` row {n}: the same member appears twice"
            ));
        }
    }
    let mut team_owned = HashSet::new();
    for (n, o) in db.team_owners.iter().enumerate() {
        let (n, t) = (n + 1, "team_owners");
        crate_ref(t, n, "crate_id", o.crate_id)?;
        team_ref(t, n, "team_id", o.team_id)?;
        if let Some(by) = o.added_by {
            user_ref(t, n, "added_by", by)?;
        }
        if !team_owned.insert((o.crate_id, o.team_id)) {
            return Err(format!(
                "table `{t}` row {n}: the same team owner appears twice"
            ));
        }
    }
    let mut readers = HashSet::new();
    for (n, g) in db.crate_readers.iter().enumerate() {
        let (n, t) = (n + 1, "crate_readers");
        crate_ref(t, n, "crate_id", g.crate_id)?;
        match (g.user_id, g.team_id) {
            (Some(u), None) => user_ref(t, n, "user_id", u)?,
            (None, Some(tm)) => team_ref(t, n, "team_id", tm)?,
            _ => {
                return Err(format!(
                    "table `{t}` row {n}: a reader is a user or a team, not both or neither"
                ));
            }
        }
        if let Some(by) = g.added_by {
            user_ref(t, n, "added_by", by)?;
        }
        if !readers.insert((g.crate_id, g.user_id, g.team_id)) {
            return Err(format!(
                "table `{t}` row {n}: the same reader appears twice"
            ));
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
        let (_, max) = crate::service::index::render_versions(vs)
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

/// Refuses a plan that would collide with rows already in the registry
/// (`--force` merges only what is new; nothing is overwritten).
pub fn check_against(plan: &Plan, have: &Taken) -> Result<(), String> {
    for u in &plan.db.users {
        if have.user_ids.contains(&u.id) || have.logins.contains(&u.login.to_ascii_lowercase()) {
            return Err(format!(
                "user `{}` (id {}) is already in this registry",
                u.login, u.id
            ));
        }
    }
    for i in &plan.db.identities {
        if have
            .identities
            .contains(&(i.issuer.clone(), i.subject.clone()))
        {
            return Err(format!(
                "the identity `{}` at `{}` is already linked to an account in this registry",
                printable(&i.subject),
                printable(&i.issuer)
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
    for tm in &plan.db.teams {
        if have.team_ids.contains(&tm.id) || have.team_names.contains(&tm.name.to_ascii_lowercase())
        {
            return Err(format!(
                "team `{}` (id {}) is already in this registry",
                tm.name, tm.id
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

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
