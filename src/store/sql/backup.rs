//! A backup's rows: every backed-up table (`BACKUP_TABLES`) as typed rows,
//! read in one batch, and a checked set of rows written back in one batch.
//! The row types are the archive's `database.json` format: each field is a
//! column, encoded as the table stores it, and nothing else is accepted.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::{SqlStore, take};
use crate::store::StoreResult;
use crate::store::exec::{Executor, Stmt, Value};
use crate::store::sql::{self as sql, rows::CountRow};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// A link from an account to an identity provider's subject (single
/// sign-on and Cloudflare Access).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityRow {
    pub issuer: String,
    pub subject: String,
    pub user_id: i64,
    #[serde(default)]
    pub email: Option<String>,
    pub created_at: i64,
    #[serde(default)]
    pub last_sign_in_at: Option<i64>,
    #[serde(default)]
    pub suspended: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// `registry` or `restricted` (archives from before teams have none).
    #[serde(default = "registry_visible")]
    pub visibility: String,
}

fn registry_visible() -> String {
    "registry".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamRow {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
    #[serde(default)]
    pub created_by: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberRow {
    pub team_id: i64,
    pub user_id: i64,
    #[serde(default)]
    pub maintainer: i64,
    pub source: String,
    pub added_at: i64,
    #[serde(default)]
    pub added_by: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamOwnerRow {
    pub crate_id: i64,
    pub team_id: i64,
    pub added_at: i64,
    #[serde(default)]
    pub added_by: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReaderRow {
    pub crate_id: i64,
    #[serde(default)]
    pub user_id: Option<i64>,
    #[serde(default)]
    pub team_id: Option<i64>,
    pub added_at: i64,
    #[serde(default)]
    pub added_by: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// A backup's rows, typed; serialised, this is `database.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Database {
    pub users: Vec<UserRow>,
    pub identities: Vec<IdentityRow>,
    pub tokens: Vec<TokenRow>,
    pub crates: Vec<CrateRow>,
    pub versions: Vec<VersionRow>,
    pub owners: Vec<OwnerRow>,
    pub teams: Vec<TeamRow>,
    pub team_members: Vec<MemberRow>,
    pub team_owners: Vec<TeamOwnerRow>,
    pub crate_readers: Vec<ReaderRow>,
    pub dependencies: Vec<DependencyRow>,
    pub audit: Vec<AuditRow>,
}

/// What a backup reads: the rows and the checksums of the blobs they need.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub db: Database,
    pub cksums: Vec<String>,
}

/// The keys already taken in a registry a backup is restored into.
#[derive(Debug, Default)]
pub struct Taken {
    pub user_ids: HashSet<i64>,
    /// Lowercased (logins compare without case).
    pub logins: HashSet<String>,
    pub token_ids: HashSet<i64>,
    pub token_hashes: HashSet<String>,
    pub crate_ids: HashSet<i64>,
    pub canons: HashSet<String>,
    pub version_ids: HashSet<i64>,
    /// Issuer and subject.
    pub identities: HashSet<(String, String)>,
    pub team_ids: HashSet<i64>,
    /// Lowercased (team names compare without case).
    pub team_names: HashSet<String>,
}

/// A checked restore: the rows (derived columns recomputed, versions in
/// publish order), the derived same-registry dependency rows, the time
/// and the note of the `restore` audit row.
pub struct Restore<'a> {
    pub db: &'a Database,
    pub dependencies: &'a [DependencyRow],
    pub now: i64,
    pub note: &'a str,
}

#[derive(Deserialize)]
struct KeyRow {
    id: i64,
    key: Option<String>,
}

#[derive(Deserialize)]
struct CksumRow {
    cksum: String,
}

impl<E: Executor> SqlStore<E> {
    /// Every backed-up row and the blobs' checksums, in one batch: one
    /// consistent state even while the registry is in use.
    pub async fn backup_rows(&self) -> StoreResult<Snapshot> {
        let stmts = [
            sql::BACKUP_USERS,
            sql::BACKUP_IDENTITIES,
            sql::BACKUP_TOKENS,
            sql::BACKUP_CRATES,
            sql::BACKUP_VERSIONS,
            sql::BACKUP_OWNERS,
            sql::BACKUP_TEAMS,
            sql::BACKUP_MEMBERS,
            sql::BACKUP_TEAM_OWNERS,
            sql::BACKUP_READERS,
            sql::BACKUP_DEPENDENCIES,
            sql::BACKUP_AUDIT,
            sql::BACKUP_CKSUMS,
        ]
        .map(Stmt::new)
        .to_vec();
        let mut out = self.batch(stmts).await?.into_iter();
        let db = Database {
            users: take(&mut out)?.decode()?,
            identities: take(&mut out)?.decode()?,
            tokens: take(&mut out)?.decode()?,
            crates: take(&mut out)?.decode()?,
            versions: take(&mut out)?.decode()?,
            owners: take(&mut out)?.decode()?,
            teams: take(&mut out)?.decode()?,
            team_members: take(&mut out)?.decode()?,
            team_owners: take(&mut out)?.decode()?,
            crate_readers: take(&mut out)?.decode()?,
            dependencies: take(&mut out)?.decode()?,
            audit: take(&mut out)?.decode()?,
        };
        let cksums = take(&mut out)?
            .decode::<CksumRow>()?
            .into_iter()
            .map(|r| r.cksum)
            .collect();
        Ok(Snapshot { db, cksums })
    }

    /// How many users and crates the registry has.
    pub async fn restore_row_count(&self) -> StoreResult<i64> {
        let row: Option<CountRow> = self.first(Stmt::new(sql::RESTORE_ROW_COUNT)).await?;
        Ok(row.map(|r| r.n).unwrap_or(0))
    }

    /// The keys a restore must not reuse, read together.
    pub async fn taken_keys(&self) -> StoreResult<Taken> {
        let stmts = [
            sql::TAKEN_USERS,
            sql::TAKEN_TOKENS,
            sql::TAKEN_CRATES,
            sql::TAKEN_VERSIONS,
            sql::TAKEN_IDENTITIES,
            sql::TAKEN_TEAMS,
        ]
        .map(Stmt::new)
        .to_vec();
        let mut out = self.batch(stmts).await?.into_iter();
        let mut next = || -> StoreResult<Vec<KeyRow>> { take(&mut out)?.decode() };
        let (users, tokens, crates, versions) = (next()?, next()?, next()?, next()?);
        let identities = next()?
            .iter()
            .filter_map(|r| r.key.as_deref())
            .filter_map(|k| serde_json::from_str::<(String, String)>(k).ok())
            .collect();
        let teams = next()?;
        let keys = |rows: &[KeyRow]| -> HashSet<String> {
            rows.iter().filter_map(|r| r.key.clone()).collect()
        };
        let ids = |rows: &[KeyRow]| -> HashSet<i64> { rows.iter().map(|r| r.id).collect() };
        Ok(Taken {
            user_ids: ids(&users),
            logins: keys(&users)
                .into_iter()
                .map(|l| l.to_ascii_lowercase())
                .collect(),
            token_ids: ids(&tokens),
            token_hashes: keys(&tokens),
            crate_ids: ids(&crates),
            canons: keys(&crates),
            version_ids: ids(&versions),
            identities,
            team_ids: ids(&teams),
            team_names: keys(&teams)
                .into_iter()
                .map(|n| n.to_ascii_lowercase())
                .collect(),
        })
    }

    /// Writes a checked restore as one batch: all of it or nothing. The
    /// audit rows the publish trigger adds while versions are inserted are
    /// removed one by one (each the newest row right after its insert), the
    /// backup's audit rows are appended in order with new ids, and one
    /// `restore` row records the restore.
    pub async fn restore(&self, r: &Restore<'_>) -> StoreResult<()> {
        self.batch(restore_statements(r)).await.map(drop)
    }
}

/// The statements of [`SqlStore::restore`], in order.
pub fn restore_statements(r: &Restore<'_>) -> Vec<Stmt> {
    let db = r.db;
    let mut out = Vec::new();
    for u in &db.users {
        out.push(Stmt::with_args(
            sql::RESTORE_USER,
            vec![
                Value::Int(u.id),
                Value::from(&u.login),
                Value::from(&u.name),
                Value::Int(u.is_admin),
                Value::Int(u.disabled),
                Value::Int(u.created_at),
                Value::from(&u.password_hash),
            ],
        ));
    }
    for i in &db.identities {
        out.push(Stmt::with_args(
            sql::RESTORE_IDENTITY,
            vec![
                Value::from(&i.issuer),
                Value::from(&i.subject),
                Value::Int(i.user_id),
                Value::from(&i.email),
                Value::Int(i.created_at),
                Value::from(i.last_sign_in_at),
                Value::Int(i.suspended),
            ],
        ));
    }
    for t in &db.tokens {
        out.push(Stmt::with_args(
            sql::RESTORE_TOKEN,
            vec![
                Value::Int(t.id),
                Value::Int(t.user_id),
                Value::from(&t.name),
                Value::from(&t.hash),
                Value::from(&t.hint),
                Value::from(&t.scopes),
                Value::from(&t.patterns),
                Value::Int(t.created_at),
                Value::from(t.last_used_at),
                Value::from(t.expires_at),
                Value::from(t.revoked_at),
            ],
        ));
    }
    let changed = |c: &CrateRow| Value::Int(c.changed_at.unwrap_or(c.updated_at));
    for c in &db.crates {
        out.push(Stmt::with_args(
            sql::RESTORE_CRATE,
            vec![
                Value::Int(c.id),
                Value::from(&c.name),
                Value::from(&c.canon),
                Value::Int(c.created_at),
                Value::Int(c.updated_at),
                Value::Int(c.rev),
                changed(c),
                Value::from(&c.visibility),
            ],
        ));
    }
    for v in &db.versions {
        out.push(Stmt::with_args(
            sql::RESTORE_VERSION,
            vec![
                Value::Int(v.id),
                Value::Int(v.crate_id),
                Value::from(&v.num),
                Value::from(&v.num_no_build),
                Value::from(&v.cksum),
                Value::Int(v.yanked),
                Value::Int(v.pubtime),
                Value::from(&v.entry),
                Value::Int(v.size),
                Value::from(&v.description),
                Value::from(&v.license),
                Value::from(&v.homepage),
                Value::from(&v.documentation),
                Value::from(&v.repository),
                Value::from(&v.keywords),
                Value::from(&v.categories),
                Value::from(&v.readme),
                Value::from(&v.links),
                Value::from(&v.rust_version),
                Value::Int(v.published_by),
                Value::from(&v.readme_html),
            ],
        ));
        out.push(Stmt::with_args(
            sql::RESTORE_DROP_TRIGGER_AUDIT,
            vec![
                Value::Int(v.crate_id),
                Value::from(&v.num),
                Value::Int(v.pubtime),
                Value::Int(v.published_by),
            ],
        ));
    }
    for c in &db.crates {
        out.push(Stmt::with_args(
            sql::RESTORE_CRATE_STATE,
            vec![
                Value::Int(c.id),
                Value::Int(c.rev),
                Value::Int(c.updated_at),
                changed(c),
                Value::from(&c.max_version),
            ],
        ));
    }
    for o in &db.owners {
        out.push(Stmt::with_args(
            sql::RESTORE_OWNER,
            vec![
                Value::Int(o.crate_id),
                Value::Int(o.user_id),
                Value::Int(o.added_at),
                Value::from(o.added_by),
            ],
        ));
    }
    for t in &db.teams {
        out.push(Stmt::with_args(
            sql::RESTORE_TEAM,
            vec![
                Value::Int(t.id),
                Value::from(&t.name),
                Value::Int(t.created_at),
                Value::from(t.created_by),
            ],
        ));
    }
    for m in &db.team_members {
        out.push(Stmt::with_args(
            sql::RESTORE_MEMBER,
            vec![
                Value::Int(m.team_id),
                Value::Int(m.user_id),
                Value::Int(m.maintainer),
                Value::from(&m.source),
                Value::Int(m.added_at),
                Value::from(m.added_by),
            ],
        ));
    }
    for o in &db.team_owners {
        out.push(Stmt::with_args(
            sql::RESTORE_TEAM_OWNER,
            vec![
                Value::Int(o.crate_id),
                Value::Int(o.team_id),
                Value::Int(o.added_at),
                Value::from(o.added_by),
            ],
        ));
    }
    for g in &db.crate_readers {
        out.push(Stmt::with_args(
            sql::RESTORE_READER,
            vec![
                Value::Int(g.crate_id),
                Value::from(g.user_id),
                Value::from(g.team_id),
                Value::Int(g.added_at),
                Value::from(g.added_by),
            ],
        ));
    }
    for d in r.dependencies {
        out.push(Stmt::with_args(
            sql::RESTORE_DEPENDENCY,
            vec![
                Value::Int(d.version_id),
                Value::Int(d.crate_id),
                Value::from(&d.dep_canon),
                Value::from(&d.kind),
            ],
        ));
    }
    for a in &db.audit {
        out.push(Stmt::with_args(
            sql::RESTORE_AUDIT,
            vec![
                Value::Int(a.at),
                Value::from(a.actor),
                Value::from(&a.action),
                Value::from(a.crate_id),
                Value::from(&a.detail),
            ],
        ));
    }
    out.push(Stmt::with_args(
        sql::RESTORE_AUDIT,
        vec![
            Value::Int(r.now),
            Value::Null,
            Value::from("restore"),
            Value::Null,
            Value::from(r.note),
        ],
    ));
    out
}
