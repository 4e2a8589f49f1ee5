//! In-memory implementation of every store trait, for native tests. Each
//! method holds one lock for its whole body, so each is atomic like the D1
//! batch it stands for.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use super::*;
use crate::protocol::names::canonical;

#[derive(Default)]
struct State {
    index: HashMap<String, IndexFile>,
    blobs: HashMap<String, Blob>,
    users: Vec<User>,
    tokens: Vec<(TokenRecord, String)>,
    crates: Vec<CrateRecord>,
    versions: Vec<VersionRecord>,
    details: HashMap<i64, VersionDetail>,
    deps: Vec<(i64, i64, String, String)>,
    owners: Vec<(i64, i64)>,
    passwords: HashMap<i64, String>,
    sessions: HashMap<String, SessionRecord>,
    links: HashMap<String, (i64, String, i64, Option<i64>)>,
    failures: HashMap<String, Failures>,
    /// When each crate's index file last changed (`crates.changed_at`).
    changed_at: HashMap<i64, i64>,
    repair: Option<RepairState>,
    next_id: i64,
}

impl State {
    fn id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }
}

/// All stores in memory.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    /// Yield to the executor before every operation, so concurrent
    /// requests interleave the way they do against real storage.
    yields: bool,
    /// Storage operations so far (tests bound queries per request).
    ops: std::sync::atomic::AtomicUsize,
    /// Fault injection: the operation number (1-based, counted by `ops`)
    /// that fails; 0 = none.
    fail_at: std::sync::atomic::AtomicUsize,
    /// Whether the failing operation takes effect before it fails.
    fail_after_effect: std::sync::atomic::AtomicBool,
    /// The storage each operation went to (`kv`, `r2`, `d1`), in order.
    kinds: Mutex<Vec<&'static str>>,
}

/// A future that is pending once, then ready.
struct YieldNow(bool);

impl std::future::Future for YieldNow {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            std::task::Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// A store whose every operation first yields to the executor.
    pub fn interleaving() -> Self {
        MemoryStore {
            yields: true,
            ..Self::default()
        }
    }

    /// The storage each operation so far went to (`kv`, `r2` or `d1`).
    pub fn op_kinds(&self) -> Vec<&'static str> {
        self.kinds.lock().map(|k| k.clone()).unwrap_or_default()
    }

    /// Storage operations made so far.
    pub fn op_count(&self) -> usize {
        self.ops.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Makes the `n`-th operation from now fail before it takes effect
    /// (1 = the next one); `None` turns fault injection off.
    pub fn fail_after(&self, n: Option<usize>) {
        self.inject(n, false);
    }

    /// Makes the `n`-th operation from now take effect and then report a
    /// failure anyway (a lost reply); `None` turns fault injection off.
    pub fn fail_after_effect(&self, n: Option<usize>) {
        self.inject(n, true);
    }

    fn inject(&self, n: Option<usize>, after_effect: bool) {
        use std::sync::atomic::Ordering::Relaxed;
        let at = n.map(|n| self.ops.load(Relaxed) + n).unwrap_or(0);
        self.fail_at.store(at, Relaxed);
        self.fail_after_effect.store(after_effect, Relaxed);
    }

    /// Runs one storage operation: counts it, yields when interleaving,
    /// and fails it before or after its effect when a fault is injected.
    async fn run<T>(
        &self,
        kind: &'static str,
        op: impl FnOnce() -> StoreResult<T>,
    ) -> StoreResult<T> {
        use std::sync::atomic::Ordering::Relaxed;
        let n = self.ops.fetch_add(1, Relaxed) + 1;
        if let Ok(mut kinds) = self.kinds.lock() {
            kinds.push(kind);
        }
        if self.yields {
            YieldNow(false).await;
        }
        let faulty = n == self.fail_at.load(Relaxed);
        let after = self.fail_after_effect.load(Relaxed);
        if faulty && !after {
            return Err(StoreError::new(format!("injected fault at operation {n}")));
        }
        let out = op()?;
        if faulty {
            return Err(StoreError::new(format!(
                "injected fault after operation {n} took effect"
            )));
        }
        Ok(out)
    }

    fn lock(&self) -> StoreResult<MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| StoreError::new("memory store lock poisoned"))
    }

    /// Number of stored blobs (for tests proving nothing was stored).
    pub fn blob_count(&self) -> usize {
        self.lock().map(|s| s.blobs.len()).unwrap_or(0)
    }

    /// Number of index files.
    pub fn index_count(&self) -> usize {
        self.lock().map(|s| s.index.len()).unwrap_or(0)
    }

    /// Number of version rows.
    pub fn version_count(&self) -> usize {
        self.lock().map(|s| s.versions.len()).unwrap_or(0)
    }

    /// Number of crate rows.
    pub fn crate_count(&self) -> usize {
        self.lock().map(|s| s.crates.len()).unwrap_or(0)
    }

    /// Overwrites an index file directly (tests simulating drift).
    pub fn corrupt_index(&self, key: &str, body: &str) {
        if let Ok(mut s) = self.lock() {
            s.index.insert(
                key.to_string(),
                IndexFile {
                    body: body.to_string(),
                    etag: "\"corrupt\"".into(),
                    rev: 0,
                },
            );
        }
    }
}

impl IndexStore for MemoryStore {
    async fn get_file(&self, key: &str) -> StoreResult<Option<IndexFile>> {
        self.run("kv", || Ok(self.lock()?.index.get(key).cloned()))
            .await
    }
    async fn put_file(&self, key: &str, file: &IndexFile) -> StoreResult<()> {
        self.run("kv", || {
            self.lock()?.index.insert(key.to_string(), file.clone());
            Ok(())
        })
        .await
    }
    async fn delete_file(&self, key: &str) -> StoreResult<()> {
        self.run("kv", || {
            self.lock()?.index.remove(key);
            Ok(())
        })
        .await
    }
    async fn list_files(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> StoreResult<(Vec<String>, Option<String>)> {
        self.run("kv", || {
            let s = self.lock()?;
            let mut keys: Vec<&String> = s
                .index
                .keys()
                .filter(|k| cursor.is_none_or(|c| k.as_str() > c))
                .collect();
            keys.sort();
            let more = keys.len() > limit;
            let page: Vec<String> = keys.into_iter().take(limit).cloned().collect();
            let next = if more { page.last().cloned() } else { None };
            Ok((page, next))
        })
        .await
    }
}

impl BlobStore for MemoryStore {
    async fn put_blob(&self, key: &str, bytes: &[u8], meta: &BlobMeta) -> StoreResult<()> {
        self.run("r2", || {
            self.lock()?
                .blobs
                .entry(key.to_string())
                .or_insert_with(|| Blob {
                    bytes: bytes.to_vec(),
                    meta: meta.clone(),
                });
            Ok(())
        })
        .await
    }
    async fn get_blob(&self, key: &str) -> StoreResult<Option<Blob>> {
        self.run("r2", || Ok(self.lock()?.blobs.get(key).cloned()))
            .await
    }
}

impl UserStore for MemoryStore {
    async fn user_by_id(&self, id: i64) -> StoreResult<Option<User>> {
        self.run("d1", || {
            Ok(self.lock()?.users.iter().find(|u| u.id == id).cloned())
        })
        .await
    }
    async fn list_users(&self) -> StoreResult<Vec<User>> {
        self.run("d1", || Ok(self.lock()?.users.clone())).await
    }
    async fn set_disabled(&self, user_id: i64, disabled: bool) -> StoreResult<()> {
        self.run("d1", || {
            let mut s = self.lock()?;
            if let Some(u) = s.users.iter_mut().find(|u| u.id == user_id) {
                u.disabled = disabled;
            }
            if disabled {
                s.sessions.retain(|_, r| r.user_id != user_id);
            }
            Ok(())
        })
        .await
    }
    async fn set_admin(&self, user_id: i64, admin: bool) -> StoreResult<()> {
        self.run("d1", || {
            if let Some(u) = self.lock()?.users.iter_mut().find(|u| u.id == user_id) {
                u.is_admin = admin;
            }
            Ok(())
        })
        .await
    }
    async fn user_by_login(&self, login: &str) -> StoreResult<Option<User>> {
        self.run("d1", || {
            Ok(self
                .lock()?
                .users
                .iter()
                .find(|u| u.login.eq_ignore_ascii_case(login))
                .cloned())
        })
        .await
    }
    async fn users_by_logins(&self, logins: &[String]) -> StoreResult<Vec<User>> {
        self.run("d1", || {
            let s = self.lock()?;
            Ok(s.users
                .iter()
                .filter(|u| logins.iter().any(|l| u.login.eq_ignore_ascii_case(l)))
                .cloned()
                .collect())
        })
        .await
    }
    async fn create_user(
        &self,
        login: &str,
        is_admin: bool,
        now: i64,
    ) -> StoreResult<Option<User>> {
        self.run("d1", || {
            let mut s = self.lock()?;
            if s.users.iter().any(|u| u.login.eq_ignore_ascii_case(login)) {
                return Ok(None);
            }
            let u = User {
                id: s.id(),
                login: login.to_string(),
                name: None,
                is_admin,
                disabled: false,
                created_at: now,
            };
            s.users.push(u.clone());
            Ok(Some(u))
        })
        .await
    }
}

impl TokenStore for MemoryStore {
    async fn token_by_id(&self, id: i64) -> StoreResult<Option<TokenRecord>> {
        self.run("d1", || {
            Ok(self
                .lock()?
                .tokens
                .iter()
                .find(|(t, _)| t.id == id)
                .map(|(t, _)| t.clone()))
        })
        .await
    }
    async fn token_by_hash(&self, hash: &str) -> StoreResult<Option<(TokenRecord, User)>> {
        self.run("d1", || {
            let s = self.lock()?;
            let Some((t, _)) = s.tokens.iter().find(|(_, h)| h == hash) else {
                return Ok(None);
            };
            let u = s.users.iter().find(|u| u.id == t.user_id).cloned();
            Ok(u.map(|u| (t.clone(), u)))
        })
        .await
    }
    async fn create_token(&self, t: &NewToken) -> StoreResult<TokenRecord> {
        self.run("d1", || {
            let mut s = self.lock()?;
            let rec = TokenRecord {
                id: s.id(),
                user_id: t.user_id,
                name: t.name.clone(),
                hint: t.hint.clone(),
                scopes: t.scopes.clone(),
                patterns: t.patterns.clone(),
                created_at: t.created_at,
                last_used_at: None,
                expires_at: t.expires_at,
                revoked_at: None,
            };
            s.tokens.push((rec.clone(), t.hash.clone()));
            Ok(rec)
        })
        .await
    }
    async fn list_tokens(&self, user_id: i64) -> StoreResult<Vec<TokenRecord>> {
        self.run("d1", || {
            Ok(self
                .lock()?
                .tokens
                .iter()
                .filter(|(t, _)| t.user_id == user_id)
                .map(|(t, _)| t.clone())
                .collect())
        })
        .await
    }
    async fn revoke_token(&self, id: i64, now: i64) -> StoreResult<bool> {
        self.run("d1", || {
            let mut s = self.lock()?;
            match s
                .tokens
                .iter_mut()
                .find(|(t, _)| t.id == id && t.revoked_at.is_none())
            {
                Some((t, _)) => {
                    t.revoked_at = Some(now);
                    Ok(true)
                }
                None => Ok(false),
            }
        })
        .await
    }
    async fn touch_token(&self, id: i64, now: i64) -> StoreResult<()> {
        self.run("d1", || {
            let mut s = self.lock()?;
            if let Some((t, _)) = s.tokens.iter_mut().find(|(t, _)| t.id == id)
                && t.last_used_at.is_none_or(|l| l < now - 60)
            {
                t.last_used_at = Some(now);
            }
            Ok(())
        })
        .await
    }
}

fn is_owner(s: &State, crate_id: i64, user_id: i64) -> bool {
    s.owners.contains(&(crate_id, user_id))
}

impl CrateStore for MemoryStore {
    async fn crate_by_canon(&self, canon: &str) -> StoreResult<Option<CrateRecord>> {
        self.run("d1", || {
            Ok(self
                .lock()?
                .crates
                .iter()
                .find(|c| c.canon == canon)
                .cloned())
        })
        .await
    }
    async fn crates_by_canons(&self, canons: &[String]) -> StoreResult<Vec<CrateRecord>> {
        self.run("d1", || {
            let s = self.lock()?;
            Ok(s.crates
                .iter()
                .filter(|c| canons.contains(&c.canon))
                .cloned()
                .collect())
        })
        .await
    }
    async fn all_crates(&self) -> StoreResult<Vec<CrateRecord>> {
        self.run("d1", || Ok(self.lock()?.crates.clone())).await
    }
    async fn version(
        &self,
        crate_id: i64,
        num_no_build: &str,
    ) -> StoreResult<Option<VersionRecord>> {
        self.run("d1", || {
            Ok(self
                .lock()?
                .versions
                .iter()
                .find(|v| v.crate_id == crate_id && v.num_no_build == num_no_build)
                .cloned())
        })
        .await
    }
    async fn version_by_cksum(
        &self,
        crate_id: i64,
        cksum: &str,
    ) -> StoreResult<Option<VersionRecord>> {
        self.run("d1", || {
            Ok(self
                .lock()?
                .versions
                .iter()
                .find(|v| v.crate_id == crate_id && v.cksum == cksum)
                .cloned())
        })
        .await
    }
    async fn insert_version(&self, v: &NewVersion) -> StoreResult<InsertOutcome> {
        self.run("d1", || {
            let mut s = self.lock()?;
            let existing = s.crates.iter().find(|c| c.canon == v.canon).cloned();
            let (crate_id, new_crate) = match existing {
                Some(c) => {
                    if c.name != v.crate_name {
                        return Ok(InsertOutcome::NameTaken(c.name));
                    }
                    if let Some(old) = s
                        .versions
                        .iter()
                        .find(|x| x.crate_id == c.id && x.num_no_build == v.num_no_build)
                    {
                        return Ok(InsertOutcome::VersionExists(old.clone()));
                    }
                    if !v.publisher_is_admin && !is_owner(&s, c.id, v.publisher_id) {
                        return Ok(InsertOutcome::NotOwner);
                    }
                    (c.id, false)
                }
                None => {
                    let id = s.id();
                    s.crates.push(CrateRecord {
                        id,
                        name: v.crate_name.clone(),
                        canon: v.canon.clone(),
                        created_at: v.now,
                        updated_at: v.now,
                        rev: 0,
                        indexed_rev: 0,
                        max_version: None,
                        description: None,
                        keywords: String::new(),
                    });
                    s.owners.push((id, v.publisher_id));
                    (id, true)
                }
            };
            let vid = s.id();
            s.versions.push(VersionRecord {
                id: vid,
                crate_id,
                num: v.num.clone(),
                num_no_build: v.num_no_build.clone(),
                cksum: v.cksum.clone(),
                yanked: false,
                pubtime: v.now,
                entry: v.entry.clone(),
            });
            if let Some(c) = s.crates.iter_mut().find(|c| c.id == crate_id) {
                c.rev += 1;
                c.updated_at = v.now;
                c.description = v.description.clone();
                c.keywords = v.keywords.to_lowercase();
            }
            s.changed_at.insert(crate_id, v.now);
            s.details.insert(
                vid,
                VersionDetail {
                    num: v.num.clone(),
                    pubtime: v.now,
                    yanked: false,
                    cksum: v.cksum.clone(),
                    size: v.size,
                    entry: v.entry.clone(),
                    description: v.description.clone(),
                    license: v.license.clone(),
                    homepage: v.homepage.clone(),
                    documentation: v.documentation.clone(),
                    repository: v.repository.clone(),
                    keywords: v.keywords.clone(),
                    categories: v.categories.clone(),
                    readme_html: v.readme_html.clone(),
                },
            );
            for (canon, kind) in &v.local_deps {
                s.deps.push((vid, crate_id, canon.clone(), kind.clone()));
            }
            Ok(InsertOutcome::Inserted {
                crate_id,
                new_crate,
            })
        })
        .await
    }
    async fn set_yanked(
        &self,
        version_id: i64,
        yanked: bool,
        _actor: i64,
        now: i64,
    ) -> StoreResult<bool> {
        self.run("d1", || {
            let mut s = self.lock()?;
            let Some(v) = s.versions.iter_mut().find(|v| v.id == version_id) else {
                return Ok(false);
            };
            if v.yanked == yanked {
                return Ok(false);
            }
            v.yanked = yanked;
            let cid = v.crate_id;
            if let Some(c) = s.crates.iter_mut().find(|c| c.id == cid) {
                c.rev += 1;
            }
            s.changed_at.insert(cid, now);
            Ok(true)
        })
        .await
    }
    async fn crate_versions(
        &self,
        crate_id: i64,
    ) -> StoreResult<Option<(CrateRecord, Vec<VersionRecord>)>> {
        self.run("d1", || {
            let s = self.lock()?;
            let Some(c) = s.crates.iter().find(|c| c.id == crate_id).cloned() else {
                return Ok(None);
            };
            let vs = s
                .versions
                .iter()
                .filter(|v| v.crate_id == crate_id)
                .cloned()
                .collect();
            Ok(Some((c, vs)))
        })
        .await
    }
    async fn repair_candidates(
        &self,
        changed_since: i64,
        after_id: i64,
        limit: usize,
    ) -> StoreResult<RepairCandidates> {
        self.run("d1", || {
            let s = self.lock()?;
            let changed = s
                .crates
                .iter()
                .filter(|c| {
                    c.rev != c.indexed_rev
                        || s.changed_at.get(&c.id).is_some_and(|t| *t >= changed_since)
                })
                .take(limit)
                .cloned()
                .collect();
            let mut sweep: Vec<CrateRecord> = s
                .crates
                .iter()
                .filter(|c| c.id > after_id)
                .cloned()
                .collect();
            sweep.sort_by_key(|c| c.id);
            sweep.truncate(limit);
            Ok(RepairCandidates { changed, sweep })
        })
        .await
    }
    async fn repair_state(&self) -> StoreResult<Option<RepairState>> {
        self.run("d1", || Ok(self.lock()?.repair.clone())).await
    }
    async fn put_repair_state(&self, state: &RepairState) -> StoreResult<()> {
        self.run("d1", || {
            self.lock()?.repair = Some(state.clone());
            Ok(())
        })
        .await
    }
    async fn crate_rev(&self, crate_id: i64) -> StoreResult<Option<i64>> {
        self.run("d1", || {
            Ok(self
                .lock()?
                .crates
                .iter()
                .find(|c| c.id == crate_id)
                .map(|c| c.rev))
        })
        .await
    }
    async fn mark_indexed(
        &self,
        crate_id: i64,
        rev: i64,
        max_version: Option<&str>,
    ) -> StoreResult<()> {
        self.run("d1", || {
            let mut s = self.lock()?;
            if let Some(c) = s.crates.iter_mut().find(|c| c.id == crate_id)
                && rev >= c.indexed_rev
            {
                c.indexed_rev = rev;
                c.max_version = max_version.map(str::to_string);
            }
            Ok(())
        })
        .await
    }
    async fn owners(&self, crate_id: i64) -> StoreResult<Vec<User>> {
        self.run("d1", || {
            let s = self.lock()?;
            Ok(s.users
                .iter()
                .filter(|u| is_owner(&s, crate_id, u.id))
                .cloned()
                .collect())
        })
        .await
    }
    async fn is_owner(&self, crate_id: i64, user_id: i64) -> StoreResult<bool> {
        self.run("d1", || Ok(is_owner(&*self.lock()?, crate_id, user_id)))
            .await
    }
    async fn add_owners(
        &self,
        crate_id: i64,
        user_ids: &[i64],
        _actor: i64,
        _now: i64,
    ) -> StoreResult<usize> {
        self.run("d1", || {
            let mut s = self.lock()?;
            let mut added = 0;
            for &u in user_ids {
                if !is_owner(&s, crate_id, u) {
                    s.owners.push((crate_id, u));
                    added += 1;
                }
            }
            Ok(added)
        })
        .await
    }
    async fn remove_owners(
        &self,
        crate_id: i64,
        user_ids: &[i64],
        _actor: i64,
        _now: i64,
    ) -> StoreResult<RemoveOutcome> {
        self.run("d1", || {
            let mut s = self.lock()?;
            let remaining = s
                .owners
                .iter()
                .filter(|(c, u)| *c == crate_id && !user_ids.contains(u))
                .count();
            if remaining == 0 {
                return Ok(RemoveOutcome::WouldOrphan);
            }
            let before = s.owners.len();
            s.owners
                .retain(|(c, u)| !(*c == crate_id && user_ids.contains(u)));
            Ok(RemoveOutcome::Removed(before - s.owners.len()))
        })
        .await
    }
    async fn search(
        &self,
        q: &str,
        filter: &crate::auth::ReadFilter,
        limit: u32,
        offset: u32,
    ) -> StoreResult<(Vec<CrateRecord>, u32)> {
        self.run("d1", || {
            let s = self.lock()?;
            let cq = canonical(q);
            let lq = q.to_ascii_lowercase();
            let mut hits: Vec<(u8, &CrateRecord)> = s
                .crates
                .iter()
                .filter(|c| filter.allows(&c.name))
                .filter_map(|c| {
                    let rank = if c.canon == cq {
                        0
                    } else if c.canon.starts_with(&cq) {
                        1
                    } else if c.canon.contains(&cq)
                        || c.keywords.contains(&lq)
                        || c.description
                            .as_ref()
                            .is_some_and(|d| d.to_ascii_lowercase().contains(&lq))
                    {
                        2
                    } else {
                        return None;
                    };
                    Some((rank, c))
                })
                .collect();
            hits.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.canon.cmp(&b.1.canon)));
            let total = u32::try_from(hits.len()).unwrap_or(u32::MAX);
            Ok((
                hits.into_iter()
                    .skip(offset as usize)
                    .take(limit as usize)
                    .map(|(_, c)| c.clone())
                    .collect(),
                total,
            ))
        })
        .await
    }
    async fn list_crates(
        &self,
        sort: CrateSort,
        limit: u32,
        offset: u32,
    ) -> StoreResult<(Vec<CrateRecord>, u32)> {
        self.run("d1", || {
            let s = self.lock()?;
            let mut all = s.crates.clone();
            match sort {
                CrateSort::Updated => {
                    all.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(b.id.cmp(&a.id)))
                }
                CrateSort::Name => all.sort_by(|a, b| a.canon.cmp(&b.canon)),
            }
            let total = u32::try_from(all.len()).unwrap_or(u32::MAX);
            Ok((
                all.into_iter()
                    .skip(offset as usize)
                    .take(limit as usize)
                    .collect(),
                total,
            ))
        })
        .await
    }
    async fn versions_page(
        &self,
        crate_id: i64,
        limit: u32,
        offset: u32,
    ) -> StoreResult<(Vec<VersionSummary>, u32)> {
        self.run("d1", || {
            let s = self.lock()?;
            let mut vs: Vec<&VersionRecord> = s
                .versions
                .iter()
                .filter(|v| v.crate_id == crate_id)
                .collect();
            vs.sort_by_key(|v| std::cmp::Reverse(v.id));
            let total = u32::try_from(vs.len()).unwrap_or(u32::MAX);
            let page = vs
                .into_iter()
                .skip(offset as usize)
                .take(limit as usize)
                .map(|v| VersionSummary {
                    num: v.num.clone(),
                    pubtime: v.pubtime,
                    yanked: v.yanked,
                    rust_version: serde_json::from_str::<serde_json::Value>(&v.entry)
                        .ok()
                        .and_then(|e| e["rust_version"].as_str().map(str::to_string)),
                })
                .collect();
            Ok((page, total))
        })
        .await
    }
    async fn version_detail(&self, crate_id: i64, num: &str) -> StoreResult<Option<VersionDetail>> {
        self.run("d1", || {
            let s = self.lock()?;
            let Some(v) = s
                .versions
                .iter()
                .find(|v| v.crate_id == crate_id && v.num == num)
            else {
                return Ok(None);
            };
            Ok(s.details.get(&v.id).map(|d| VersionDetail {
                yanked: v.yanked,
                ..d.clone()
            }))
        })
        .await
    }
    async fn dependents(
        &self,
        canon: &str,
        limit: u32,
        offset: u32,
    ) -> StoreResult<(Vec<CrateRecord>, u32)> {
        self.run("d1", || {
            let s = self.lock()?;
            let mut ids: Vec<i64> = s
                .deps
                .iter()
                .filter(|d| d.2 == canon)
                .map(|d| d.1)
                .collect();
            ids.sort_unstable();
            ids.dedup();
            let mut crates: Vec<CrateRecord> = s
                .crates
                .iter()
                .filter(|c| ids.contains(&c.id))
                .cloned()
                .collect();
            crates.sort_by(|a, b| a.canon.cmp(&b.canon));
            let total = u32::try_from(crates.len()).unwrap_or(u32::MAX);
            Ok((
                crates
                    .into_iter()
                    .skip(offset as usize)
                    .take(limit as usize)
                    .collect(),
                total,
            ))
        })
        .await
    }
}

impl AccountStore for MemoryStore {
    async fn password_hash(&self, user_id: i64) -> StoreResult<Option<String>> {
        self.run("d1", || Ok(self.lock()?.passwords.get(&user_id).cloned()))
            .await
    }
    async fn set_password(&self, user_id: i64, hash: &str) -> StoreResult<()> {
        self.run("d1", || {
            self.lock()?.passwords.insert(user_id, hash.to_string());
            Ok(())
        })
        .await
    }
    async fn create_session(
        &self,
        id_hash: &str,
        s: &SessionRecord,
        password_hash: &str,
    ) -> StoreResult<bool> {
        self.run("d1", || {
            let mut st = self.lock()?;
            // As `sql::CREATE_SESSION`.
            let enabled = st.users.iter().any(|u| u.id == s.user_id && !u.disabled);
            let same = st.passwords.get(&s.user_id).map(String::as_str) == Some(password_hash);
            if !(enabled && same) {
                return Ok(false);
            }
            st.sessions.insert(id_hash.to_string(), s.clone());
            Ok(true)
        })
        .await
    }
    async fn session(&self, id_hash: &str) -> StoreResult<Option<(SessionRecord, User)>> {
        self.run("d1", || {
            let s = self.lock()?;
            let Some(rec) = s.sessions.get(id_hash) else {
                return Ok(None);
            };
            Ok(s.users
                .iter()
                .find(|u| u.id == rec.user_id)
                .map(|u| (rec.clone(), u.clone())))
        })
        .await
    }
    async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        self.run("d1", || {
            self.lock()?.sessions.remove(id_hash);
            Ok(())
        })
        .await
    }
    async fn delete_user_sessions(&self, user_id: i64) -> StoreResult<()> {
        self.run("d1", || {
            self.lock()?.sessions.retain(|_, r| r.user_id != user_id);
            Ok(())
        })
        .await
    }
    async fn create_link(
        &self,
        hash: &str,
        user_id: i64,
        purpose: &str,
        _created_by: Option<i64>,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        self.run("d1", || {
            let mut s = self.lock()?;
            // As the `user_links_one_live` trigger: a new link supersedes
            // every unused one of the same user.
            for (user, _, _, used) in s.links.values_mut() {
                if *user == user_id && used.is_none() {
                    *used = Some(now);
                }
            }
            s.links.insert(
                hash.to_string(),
                (user_id, purpose.to_string(), expires_at, None),
            );
            Ok(())
        })
        .await
    }
    async fn consume_link(&self, hash: &str, now: i64) -> StoreResult<Option<(i64, String)>> {
        self.run("d1", || {
            let mut s = self.lock()?;
            match s.links.get_mut(hash) {
                Some((user, purpose, expires, used)) if used.is_none() && *expires > now => {
                    *used = Some(now);
                    Ok(Some((*user, purpose.clone())))
                }
                _ => Ok(None),
            }
        })
        .await
    }
    async fn count_attempt(
        &self,
        key: &str,
        now: i64,
        rule: &AttemptRule,
    ) -> StoreResult<Failures> {
        self.run("d1", || {
            let mut s = self.lock()?;
            let f = rule.next(s.failures.get(key).copied(), now);
            s.failures.insert(key.to_string(), f);
            Ok(f)
        })
        .await
    }
    async fn refund_attempt(&self, key: &str) -> StoreResult<()> {
        self.run("d1", || {
            if let Some(f) = self.lock()?.failures.get_mut(key) {
                f.count = (f.count - 1).max(0);
            }
            Ok(())
        })
        .await
    }
    async fn prune_attempts(&self, now: i64, window: i64, limit: u32) -> StoreResult<u32> {
        self.run("d1", || {
            let mut s = self.lock()?;
            let done: Vec<String> = s
                .failures
                .iter()
                .filter(|(_, f)| match f.locked_until {
                    Some(until) => until <= now,
                    None => now - f.first_at >= window,
                })
                .map(|(k, _)| k.clone())
                .take(limit as usize)
                .collect();
            for k in &done {
                s.failures.remove(k);
            }
            Ok(u32::try_from(done.len()).unwrap_or(u32::MAX))
        })
        .await
    }
    async fn clear_failures(&self, key: &str) -> StoreResult<()> {
        self.run("d1", || {
            self.lock()?.failures.remove(key);
            Ok(())
        })
        .await
    }
}
