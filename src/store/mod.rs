//! Storage in domain terms: small traits for the index cache (KV), crate
//! blobs (R2) and the database records (D1). The database traits are
//! implemented once, in SQL (`sql`), over an executor (`exec`): D1 in the
//! Worker (`cf`), SQLite natively (`sqlite`). KV and R2 are `cf`'s in the
//! Worker and in-memory fakes (`fake`) natively; `native` bundles the
//! native stores with fault injection (`faults`).

pub mod exec;
#[cfg(not(target_arch = "wasm32"))]
pub mod fake;
#[cfg(not(target_arch = "wasm32"))]
pub mod faults;
#[cfg(not(target_arch = "wasm32"))]
pub mod native;
pub mod sql;
#[cfg(not(target_arch = "wasm32"))]
pub mod sqlite;

use crate::auth::{CratePattern, Scopes};

/// A storage backend failed. The text is logged, never shown to clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl StoreError {
    pub fn new(msg: impl Into<String>) -> Self {
        StoreError(msg.into())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A rendered index file as kept in the index store, with the ETag and the
/// crate revision it was rendered from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexFile {
    pub body: String,
    pub etag: String,
    pub rev: i64,
    /// Who may read it, kept beside it so the index GET needs no query.
    pub visibility: crate::auth::Visibility,
}

/// Metadata kept beside a crate blob, checked on download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobMeta {
    pub name: String,
    pub version: String,
}

/// A stored crate blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    pub bytes: Vec<u8>,
    pub meta: BlobMeta,
}

/// A registry user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub login: String,
    pub name: Option<String>,
    pub is_admin: bool,
    pub disabled: bool,
    pub created_at: i64,
}

/// A stored API token (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub hint: String,
    pub scopes: Scopes,
    /// Empty means all crates.
    pub patterns: Vec<CratePattern>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// A token to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    pub user_id: i64,
    pub name: String,
    pub hash: String,
    pub hint: String,
    pub scopes: Scopes,
    /// Empty means all crates.
    pub patterns: Vec<CratePattern>,
    pub expires_at: Option<i64>,
    pub created_at: i64,
}

/// A crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrateRecord {
    pub id: i64,
    pub name: String,
    pub canon: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// Bumped by every change that alters the crate's index file.
    pub rev: i64,
    /// The `rev` last rendered into the index store.
    pub indexed_rev: i64,
    pub max_version: Option<String>,
    pub description: Option<String>,
    /// The latest version's keywords.
    pub keywords: Vec<String>,
}

/// How the crate list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrateSort {
    /// Most recently published first.
    Updated,
    /// By name.
    Name,
}

/// A version in a crate's version list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionSummary {
    pub num: String,
    pub pubtime: i64,
    pub yanked: bool,
    pub rust_version: Option<String>,
}

/// Everything a crate page shows about one version.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VersionDetail {
    pub num: String,
    pub pubtime: i64,
    pub yanked: bool,
    pub cksum: String,
    pub size: i64,
    /// The index line (deps, features, links, rust_version).
    pub entry: String,
    pub description: Option<String>,
    pub license: Option<String>,
    pub homepage: Option<String>,
    pub documentation: Option<String>,
    pub repository: Option<String>,
    pub keywords: Vec<String>,
    pub categories: Vec<String>,
    pub readme_html: Option<String>,
}

/// A published version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRecord {
    pub id: i64,
    pub crate_id: i64,
    pub num: String,
    pub num_no_build: String,
    pub cksum: String,
    pub yanked: bool,
    pub pubtime: i64,
    /// The version's index line as JSON, with `yanked` false.
    pub entry: String,
}

/// Everything stored for a new version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVersion {
    pub crate_name: String,
    pub canon: String,
    pub num: String,
    pub num_no_build: String,
    pub cksum: String,
    pub entry: String,
    pub size: i64,
    pub description: Option<String>,
    pub license: Option<String>,
    pub homepage: Option<String>,
    pub documentation: Option<String>,
    pub repository: Option<String>,
    pub keywords: Vec<String>,
    pub categories: Vec<String>,
    pub readme: Option<String>,
    /// The README rendered and sanitised for the crate page.
    pub readme_html: Option<String>,
    /// Same-registry dependencies: (canonical name, kind).
    pub local_deps: Vec<(String, String)>,
    pub links: Option<String>,
    pub rust_version: Option<String>,
    pub publisher_id: i64,
    /// Admins may publish to crates they do not own.
    pub publisher_is_admin: bool,
    pub now: i64,
}

/// What `insert_version` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsertOutcome {
    /// Stored; `new_crate` when this created the crate (and its owner).
    Inserted { crate_id: i64, new_crate: bool },
    /// A version equal ignoring build metadata exists already.
    VersionExists(VersionRecord),
    /// A crate with the same canonical name but another spelling exists.
    NameTaken(String),
    /// The crate exists and the publisher is not an owner (nor an admin).
    NotOwner,
}

/// Where the automatic repair got to (one row, kept between cron runs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepairState {
    /// When the last run started (seconds).
    pub last_run: i64,
    /// The sweep continues with crates whose id is above this.
    pub crate_cursor: i64,
    /// The orphan sweep continues with index keys after this.
    pub kv_cursor: Option<String>,
}

/// The crates one repair run looks at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepairCandidates {
    /// Crates whose render lags their revision, or whose index file
    /// changed since the given time.
    pub changed: Vec<CrateRecord>,
    /// The next crates by id for the rolling sweep.
    pub sweep: Vec<CrateRecord>,
}

/// What `remove_owners` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoveOutcome {
    Removed(usize),
    /// Refused: the crate would have no owner left.
    WouldOrphan,
}

/// The rendered-index cache (KV).
#[allow(async_fn_in_trait)]
pub trait IndexStore {
    async fn get_file(&self, key: &str) -> StoreResult<Option<IndexFile>>;
    async fn put_file(&self, key: &str, file: &IndexFile) -> StoreResult<()>;
    async fn delete_file(&self, key: &str) -> StoreResult<()>;
    /// Up to `limit` keys in key order, starting after `cursor` (an opaque
    /// value from the previous call); the next cursor, `None` at the end.
    async fn list_files(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> StoreResult<(Vec<String>, Option<String>)>;
}

/// Crate blobs (R2), content-addressed and written once.
#[allow(async_fn_in_trait)]
pub trait BlobStore {
    /// Stores the blob unless the key exists already.
    async fn put_blob(&self, key: &str, bytes: &[u8], meta: &BlobMeta) -> StoreResult<()>;
    async fn get_blob(&self, key: &str) -> StoreResult<Option<Blob>>;
}

/// A web session (the cookie value itself is never stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub user_id: i64,
    pub csrf: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// The sign-in attempts counted against one key (a login or a client),
/// after the latest attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    pub count: i64,
    pub first_at: i64,
    pub locked_until: Option<i64>,
}

/// How attempts against one key are limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptRule {
    /// Attempts allowed within `window` seconds.
    pub max: i64,
    pub window: i64,
    /// How long the key stays locked once an attempt goes over `max`.
    pub lockout: i64,
}

impl AttemptRule {
    /// The counter after one more attempt at `now`: the window starts
    /// again once it has passed (or a lock has ended), and an attempt over
    /// `max` locks the key. The one statement of the rule the stores apply
    /// atomically (the SQL in `store::sql::COUNT_ATTEMPT` is its twin, tested
    /// against it).
    pub fn next(&self, prior: Option<Failures>, now: i64) -> Failures {
        let restart = match prior {
            None => true,
            Some(f) => match f.locked_until {
                Some(until) => until <= now,
                None => now - f.first_at >= self.window,
            },
        };
        match prior {
            Some(f) if !restart => Failures {
                count: f.count + 1,
                first_at: f.first_at,
                locked_until: f
                    .locked_until
                    .or((f.count + 1 > self.max).then_some(now + self.lockout)),
            },
            _ => Failures {
                count: 1,
                first_at: now,
                locked_until: (1 > self.max).then_some(now + self.lockout),
            },
        }
    }
}

/// Users.
#[allow(async_fn_in_trait)]
pub trait UserStore {
    async fn user_by_id(&self, id: i64) -> StoreResult<Option<User>>;
    async fn user_by_login(&self, login: &str) -> StoreResult<Option<User>>;
    async fn list_users(&self) -> StoreResult<Vec<User>>;
    /// Disables or re-enables a user; disabling also ends every session.
    async fn set_disabled(&self, user_id: i64, disabled: bool) -> StoreResult<()>;
    async fn set_admin(&self, user_id: i64, admin: bool) -> StoreResult<()>;
    async fn users_by_logins(&self, logins: &[String]) -> StoreResult<Vec<User>>;
    /// Creates a user; `None` when the login is taken.
    async fn create_user(&self, login: &str, is_admin: bool, now: i64)
    -> StoreResult<Option<User>>;
}

/// Tokens.
#[allow(async_fn_in_trait)]
pub trait TokenStore {
    async fn token_by_id(&self, id: i64) -> StoreResult<Option<TokenRecord>>;
    /// The token with this hash and its user.
    async fn token_by_hash(&self, hash: &str) -> StoreResult<Option<(TokenRecord, User)>>;
    async fn create_token(&self, t: &NewToken) -> StoreResult<TokenRecord>;
    async fn list_tokens(&self, user_id: i64) -> StoreResult<Vec<TokenRecord>>;
    /// Revokes a token; false when there was no such unrevoked token.
    async fn revoke_token(&self, id: i64, now: i64) -> StoreResult<bool>;
    /// Records use, at most once a minute per token.
    async fn touch_token(&self, id: i64, now: i64) -> StoreResult<()>;
}

/// Crates, versions and owners.
#[allow(async_fn_in_trait)]
pub trait CrateStore {
    async fn crate_by_canon(&self, canon: &str) -> StoreResult<Option<CrateRecord>>;
    /// The crate, only when `viewer` may read it (`None`: an
    /// administrator), in one query.
    async fn readable_crate(
        &self,
        canon: &str,
        viewer: Option<i64>,
    ) -> StoreResult<Option<CrateRecord>>;
    /// The crates with any of these canonical names, in one query.
    async fn crates_by_canons(&self, canons: &[String]) -> StoreResult<Vec<CrateRecord>>;
    /// Those of them `viewer` may read (`None`: an administrator).
    async fn readable_crates_by_canons(
        &self,
        canons: &[String],
        viewer: Option<i64>,
    ) -> StoreResult<Vec<CrateRecord>>;
    async fn all_crates(&self) -> StoreResult<Vec<CrateRecord>>;
    /// The version equal to `num_no_build` ignoring build metadata.
    async fn version(
        &self,
        crate_id: i64,
        num_no_build: &str,
    ) -> StoreResult<Option<VersionRecord>>;
    /// The version whose blob has this checksum.
    async fn version_by_cksum(
        &self,
        crate_id: i64,
        cksum: &str,
    ) -> StoreResult<Option<VersionRecord>>;
    /// Atomically creates the crate (owned by the publisher) if new, checks
    /// ownership and uniqueness, stores the version and bumps `rev`.
    async fn insert_version(&self, v: &NewVersion) -> StoreResult<InsertOutcome>;
    /// Sets `yanked`; bumps `rev` when it changed. Returns whether it did.
    async fn set_yanked(
        &self,
        version_id: i64,
        yanked: bool,
        actor: i64,
        now: i64,
    ) -> StoreResult<bool>;
    /// The crate and all its versions in publish order, read together.
    async fn crate_versions(
        &self,
        crate_id: i64,
    ) -> StoreResult<Option<(CrateRecord, Vec<VersionRecord>)>>;
    async fn crate_rev(&self, crate_id: i64) -> StoreResult<Option<i64>>;
    /// In one read: up to `limit` crates with an unfinished render or an
    /// index change at or after `changed_since`, and up to `limit` crates
    /// with an id above `after_id` (ascending).
    async fn repair_candidates(
        &self,
        changed_since: i64,
        after_id: i64,
        limit: usize,
    ) -> StoreResult<RepairCandidates>;
    async fn repair_state(&self) -> StoreResult<Option<RepairState>>;
    async fn put_repair_state(&self, state: &RepairState) -> StoreResult<()>;
    /// Records that `rev` was rendered, with the derived `max_version`.
    async fn mark_indexed(
        &self,
        crate_id: i64,
        rev: i64,
        max_version: Option<&str>,
    ) -> StoreResult<()>;
    async fn owners(&self, crate_id: i64) -> StoreResult<Vec<User>>;
    async fn is_owner(&self, crate_id: i64, user_id: i64) -> StoreResult<bool>;
    /// Adds owners; returns how many were new.
    async fn add_owners(
        &self,
        crate_id: i64,
        user_ids: &[i64],
        actor: i64,
        now: i64,
    ) -> StoreResult<usize>;
    async fn remove_owners(
        &self,
        crate_id: i64,
        user_ids: &[i64],
        actor: i64,
        now: i64,
    ) -> StoreResult<RemoveOutcome>;
    /// Crates the filter admits matching `q` (exact name, then prefix,
    /// then name, keywords or description containing it, literally), and
    /// how many there are.
    async fn search(
        &self,
        q: &str,
        filter: &crate::auth::ReadFilter,
        viewer: Option<i64>,
        limit: u32,
        offset: u32,
    ) -> StoreResult<(Vec<CrateRecord>, u32)>;
    /// A page of the crates `viewer` may read (`None`: an administrator,
    /// every crate), and their count.
    async fn list_crates(
        &self,
        sort: CrateSort,
        viewer: Option<i64>,
        limit: u32,
        offset: u32,
    ) -> StoreResult<(Vec<CrateRecord>, u32)>;
    /// A page of a crate's versions, newest first, and the total count.
    async fn versions_page(
        &self,
        crate_id: i64,
        limit: u32,
        offset: u32,
    ) -> StoreResult<(Vec<VersionSummary>, u32)>;
    /// One version's details (exact version text).
    async fn version_detail(&self, crate_id: i64, num: &str) -> StoreResult<Option<VersionDetail>>;
    /// A page of the crates with a version depending on `canon`, by name,
    /// and the total count.
    async fn dependents(
        &self,
        canon: &str,
        viewer: Option<i64>,
        limit: u32,
        offset: u32,
    ) -> StoreResult<(Vec<CrateRecord>, u32)>;
}

/// Web sign-in: passwords, sessions, one-time links, failed attempts.
#[allow(async_fn_in_trait)]
pub trait AccountStore {
    async fn password_hash(&self, user_id: i64) -> StoreResult<Option<String>>;
    async fn set_password(&self, user_id: i64, hash: &str) -> StoreResult<()>;
    /// Opens a session, atomically, only while the user is enabled and
    /// their password hash is still `password_hash`; false when not.
    async fn create_session(
        &self,
        id_hash: &str,
        s: &SessionRecord,
        password_hash: &str,
    ) -> StoreResult<bool>;
    async fn session(&self, id_hash: &str) -> StoreResult<Option<(SessionRecord, User)>>;
    async fn delete_session(&self, id_hash: &str) -> StoreResult<()>;
    async fn delete_user_sessions(&self, user_id: i64) -> StoreResult<()>;
    /// Stores a one-time link; every unused link of the same user stops
    /// working in the same step (at most one live link per user).
    async fn create_link(
        &self,
        hash: &str,
        user_id: i64,
        purpose: &str,
        created_by: Option<i64>,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()>;
    /// Marks an unused, unexpired link used, atomically; gives its user and purpose.
    async fn consume_link(&self, hash: &str, now: i64) -> StoreResult<Option<(i64, String)>>;
    /// Counts one sign-in attempt against `key` in one atomic step (by
    /// `AttemptRule::next`) and gives the counter after it, so concurrent
    /// attempts each see their own count.
    async fn count_attempt(&self, key: &str, now: i64, rule: &AttemptRule)
    -> StoreResult<Failures>;
    /// Takes back one counted attempt (one that succeeded), never below 0.
    async fn refund_attempt(&self, key: &str) -> StoreResult<()>;
    async fn clear_failures(&self, key: &str) -> StoreResult<()>;
    /// Deletes up to `limit` counters whose window (`window` seconds from
    /// their first attempt) and lock have both ended; gives how many.
    async fn prune_attempts(&self, now: i64, window: i64, limit: u32) -> StoreResult<u32>;
}

/// A single sign-on attempt's secrets, kept until its callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoAttempt {
    pub nonce: String,
    pub verifier: String,
    pub return_to: Option<String>,
    pub expires_at: i64,
}

/// An identity's account and whether the provider's rules suspended it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityUser {
    pub user: User,
    pub suspended: bool,
}

/// Single sign-on: attempts and identities.
#[allow(async_fn_in_trait)]
pub trait SsoStore {
    async fn insert_sso_attempt(&self, state_hash: &str, a: &SsoAttempt) -> StoreResult<()>;
    /// Removes and gives the attempt, so a state is used at most once.
    async fn take_sso_attempt(&self, state_hash: &str) -> StoreResult<Option<SsoAttempt>>;
    /// Deletes up to `limit` attempts expired by `now`; gives how many.
    async fn prune_sso_attempts(&self, now: i64, limit: u32) -> StoreResult<u32>;
    async fn identity_user(&self, issuer: &str, subject: &str)
    -> StoreResult<Option<IdentityUser>>;
    /// Links an identity to an account; false when the subject is linked
    /// already or the account has an identity of this issuer.
    async fn insert_identity(
        &self,
        issuer: &str,
        subject: &str,
        user_id: i64,
        email: Option<&str>,
        now: i64,
    ) -> StoreResult<bool>;
    async fn touch_identity(
        &self,
        issuer: &str,
        subject: &str,
        email: Option<&str>,
        now: i64,
        suspended: bool,
    ) -> StoreResult<()>;
    /// Opens a session only while the account is enabled; false when not.
    async fn create_sso_session(&self, id_hash: &str, s: &SessionRecord) -> StoreResult<bool>;
}

/// A team of users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
}

/// How someone became a team member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberSource {
    /// An administrator or maintainer added them.
    Manual,
    /// The identity provider's group claim, set again at every sign-in.
    Sso,
}

impl MemberSource {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberSource::Manual => "manual",
            MemberSource::Sso => "sso",
        }
    }
}

/// A member of a team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamMember {
    pub user: User,
    pub maintainer: bool,
    pub source: MemberSource,
    pub added_at: i64,
}

/// Teams and their members. Every change is one batch with its audit row.
#[allow(async_fn_in_trait)]
pub trait TeamStore {
    /// The new team, or `None` when the name is taken (without case).
    async fn create_team(
        &self,
        name: &str,
        actor: Option<i64>,
        now: i64,
    ) -> StoreResult<Option<Team>>;
    async fn team_by_name(&self, name: &str) -> StoreResult<Option<Team>>;
    /// Every team with its number of members, by name.
    async fn list_teams(&self) -> StoreResult<Vec<(Team, i64)>>;
    /// A team's members, by login.
    async fn team_members(&self, team_id: i64) -> StoreResult<Vec<TeamMember>>;
    /// Adds a member, or changes an existing one's maintainer flag and
    /// source.
    async fn put_member(
        &self,
        team_id: i64,
        user_id: i64,
        maintainer: bool,
        source: MemberSource,
        actor: Option<i64>,
        now: i64,
    ) -> StoreResult<()>;
    /// Whether there was such a member.
    async fn remove_member(
        &self,
        team_id: i64,
        user_id: i64,
        actor: Option<i64>,
        now: i64,
    ) -> StoreResult<bool>;
    /// The teams a user is in, by id.
    async fn user_team_ids(&self, user_id: i64) -> StoreResult<Vec<i64>>;
    /// A user's memberships: team id and how they became a member.
    async fn user_memberships(&self, user_id: i64) -> StoreResult<Vec<(i64, MemberSource)>>;
    /// Who may read a crate: `None` when there is no such crate.
    async fn crate_visibility(&self, crate_id: i64)
    -> StoreResult<Option<crate::auth::Visibility>>;
    /// Sets a crate's visibility; whether it changed. A change bumps the
    /// crate's revision (its index file carries the visibility).
    async fn set_visibility(
        &self,
        crate_id: i64,
        restricted: bool,
        actor: Option<i64>,
        now: i64,
    ) -> StoreResult<bool>;
    /// Grants a user or a team read access; whether it was new.
    async fn grant_reader(
        &self,
        crate_id: i64,
        reader: ReaderRef,
        actor: Option<i64>,
        now: i64,
    ) -> StoreResult<bool>;
    /// Takes a grant back; whether there was one.
    async fn revoke_reader(
        &self,
        crate_id: i64,
        reader: ReaderRef,
        actor: Option<i64>,
        now: i64,
    ) -> StoreResult<bool>;
}

/// A reader granted a crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReaderRef {
    User(i64),
    Team(i64),
}

/// The whole database.
pub trait Db: UserStore + TokenStore + CrateStore + AccountStore + SsoStore + TeamStore {}
impl<T: UserStore + TokenStore + CrateStore + AccountStore + SsoStore + TeamStore> Db for T {}

/// The R2 key of a crate blob: content-addressed, so a key is never
/// written with two different contents.
pub fn blob_key(cksum: &str) -> String {
    format!("crates/{cksum}.crate")
}
