//! The rows the statements return, decoded into the records the service
//! sees. SQLite has no booleans: flags are integers here and `bool` there;
//! scopes, crate patterns, keywords and categories are text in the table
//! and typed values in the records (a row whose text does not parse fails
//! to decode: a damaged token never becomes a broader one).

use serde::{Deserialize, Deserializer};

use crate::auth::scopes::parse_patterns;
use crate::auth::{CratePattern, Scopes};
use crate::store::*;

/// `read,yank` as stored.
fn scopes_text<'de, D: Deserializer<'de>>(d: D) -> Result<Scopes, D::Error> {
    Scopes::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
}

/// `name,prefix*` as stored; empty is every crate.
fn patterns_text<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<CratePattern>, D::Error> {
    parse_patterns(&String::deserialize(d)?).map_err(serde::de::Error::custom)
}

/// A JSON list of strings, as keywords and categories are stored.
fn json_strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    serde_json::from_str(&String::deserialize(d)?).map_err(serde::de::Error::custom)
}

#[derive(Deserialize)]
pub struct UserRow {
    id: i64,
    login: String,
    name: Option<String>,
    is_admin: i64,
    disabled: i64,
    created_at: i64,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: r.id,
            login: r.login,
            name: r.name,
            is_admin: r.is_admin != 0,
            disabled: r.disabled != 0,
            created_at: r.created_at,
        }
    }
}

/// The user columns of a join (`joined_user_cols!`), beside the id the
/// joined row carries as `user_id`.
#[derive(Deserialize)]
pub struct JoinedUser {
    u_login: String,
    u_name: Option<String>,
    u_is_admin: i64,
    u_disabled: i64,
    u_created_at: i64,
}

impl JoinedUser {
    pub fn user(self, id: i64) -> User {
        User {
            id,
            login: self.u_login,
            name: self.u_name,
            is_admin: self.u_is_admin != 0,
            disabled: self.u_disabled != 0,
            created_at: self.u_created_at,
        }
    }
}

#[derive(Deserialize)]
pub struct TokenRow {
    id: i64,
    user_id: i64,
    name: String,
    hint: String,
    #[serde(deserialize_with = "scopes_text")]
    scopes: Scopes,
    #[serde(deserialize_with = "patterns_text")]
    patterns: Vec<CratePattern>,
    created_at: i64,
    last_used_at: Option<i64>,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl From<TokenRow> for TokenRecord {
    fn from(r: TokenRow) -> Self {
        TokenRecord {
            id: r.id,
            user_id: r.user_id,
            name: r.name,
            hint: r.hint,
            scopes: r.scopes,
            patterns: r.patterns,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            expires_at: r.expires_at,
            revoked_at: r.revoked_at,
        }
    }
}

/// A token and its user (`TOKEN_BY_HASH`).
#[derive(Deserialize)]
pub struct TokenUserRow {
    #[serde(flatten)]
    pub token: TokenRow,
    #[serde(flatten)]
    pub user: JoinedUser,
}

#[derive(Deserialize)]
pub struct CrateRow {
    id: i64,
    name: String,
    canon: String,
    created_at: i64,
    updated_at: i64,
    rev: i64,
    indexed_rev: i64,
    max_version: Option<String>,
    description: Option<String>,
    #[serde(deserialize_with = "json_strings")]
    keywords: Vec<String>,
}

impl From<CrateRow> for CrateRecord {
    fn from(r: CrateRow) -> Self {
        CrateRecord {
            id: r.id,
            name: r.name,
            canon: r.canon,
            created_at: r.created_at,
            updated_at: r.updated_at,
            rev: r.rev,
            indexed_rev: r.indexed_rev,
            max_version: r.max_version,
            description: r.description,
            keywords: r.keywords,
        }
    }
}

#[derive(Deserialize)]
pub struct VersionRow {
    id: i64,
    crate_id: i64,
    num: String,
    num_no_build: String,
    cksum: String,
    yanked: i64,
    pubtime: i64,
    entry: String,
}

impl From<VersionRow> for VersionRecord {
    fn from(r: VersionRow) -> Self {
        VersionRecord {
            id: r.id,
            crate_id: r.crate_id,
            num: r.num,
            num_no_build: r.num_no_build,
            cksum: r.cksum,
            yanked: r.yanked != 0,
            pubtime: r.pubtime,
            entry: r.entry,
        }
    }
}

#[derive(Deserialize)]
pub struct SummaryRow {
    num: String,
    pubtime: i64,
    yanked: i64,
    rust_version: Option<String>,
}

impl From<SummaryRow> for VersionSummary {
    fn from(r: SummaryRow) -> Self {
        VersionSummary {
            num: r.num,
            pubtime: r.pubtime,
            yanked: r.yanked != 0,
            rust_version: r.rust_version,
        }
    }
}

#[derive(Deserialize)]
pub struct DetailRow {
    num: String,
    pubtime: i64,
    yanked: i64,
    cksum: String,
    size: i64,
    entry: String,
    description: Option<String>,
    license: Option<String>,
    homepage: Option<String>,
    documentation: Option<String>,
    repository: Option<String>,
    #[serde(deserialize_with = "json_strings")]
    keywords: Vec<String>,
    #[serde(deserialize_with = "json_strings")]
    categories: Vec<String>,
    readme_html: Option<String>,
}

impl From<DetailRow> for VersionDetail {
    fn from(r: DetailRow) -> Self {
        VersionDetail {
            num: r.num,
            pubtime: r.pubtime,
            yanked: r.yanked != 0,
            cksum: r.cksum,
            size: r.size,
            entry: r.entry,
            description: r.description,
            license: r.license,
            homepage: r.homepage,
            documentation: r.documentation,
            repository: r.repository,
            keywords: r.keywords,
            categories: r.categories,
            readme_html: r.readme_html,
        }
    }
}

#[derive(Deserialize)]
pub struct RevRow {
    pub rev: i64,
}

#[derive(Deserialize)]
pub struct CountRow {
    pub n: i64,
}

#[derive(Deserialize)]
pub struct RepairRow {
    last_run: i64,
    crate_cursor: i64,
    kv_cursor: Option<String>,
}

impl From<RepairRow> for RepairState {
    fn from(r: RepairRow) -> Self {
        RepairState {
            last_run: r.last_run,
            crate_cursor: r.crate_cursor,
            kv_cursor: r.kv_cursor,
        }
    }
}

#[derive(Deserialize)]
pub struct HashRow {
    pub password_hash: Option<String>,
}

#[derive(Deserialize)]
pub struct SessionRow {
    user_id: i64,
    csrf: String,
    created_at: i64,
    expires_at: i64,
    #[serde(flatten)]
    user: JoinedUser,
}

impl From<SessionRow> for (SessionRecord, User) {
    fn from(r: SessionRow) -> Self {
        let user = r.user.user(r.user_id);
        (
            SessionRecord {
                user_id: r.user_id,
                csrf: r.csrf,
                created_at: r.created_at,
                expires_at: r.expires_at,
            },
            user,
        )
    }
}

#[derive(Deserialize)]
pub struct LinkRow {
    pub user_id: i64,
    pub purpose: String,
}

#[derive(Deserialize)]
pub struct FailureRow {
    failures: i64,
    first_at: i64,
    locked_until: Option<i64>,
}

impl From<FailureRow> for Failures {
    fn from(r: FailureRow) -> Self {
        Failures {
            count: r.failures,
            first_at: r.first_at,
            locked_until: r.locked_until,
        }
    }
}
