//! The D1 implementation of the database traits. All SQL of the Worker
//! lives here; multi-step changes run as one D1 batch (one transaction).

use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, D1Result};

use crate::store::sql;
use crate::store::*;

/// The D1 database.
pub struct D1Store {
    pub db: D1Database,
}

fn err(context: &str) -> impl Fn(worker::Error) -> StoreError + '_ {
    move |e| StoreError(format!("D1 {context}: {e}"))
}

fn int(v: i64) -> JsValue {
    // D1 numbers are JS doubles; every id and time here fits 53 bits.
    JsValue::from_f64(v as f64)
}

fn text(s: &str) -> JsValue {
    JsValue::from_str(s)
}

fn opt_text(s: &Option<String>) -> JsValue {
    s.as_deref().map(JsValue::from_str).unwrap_or(JsValue::NULL)
}

fn opt_int(v: Option<i64>) -> JsValue {
    v.map(int).unwrap_or(JsValue::NULL)
}

impl D1Store {
    fn stmt(&self, sql: &str, args: &[JsValue]) -> StoreResult<D1PreparedStatement> {
        self.db
            .prepare(sql)
            .bind(args)
            .map_err(|e| StoreError(format!("D1 bind `{sql}`: {e}")))
    }

    async fn rows<T: for<'a> Deserialize<'a>>(
        &self,
        sql: &str,
        args: &[JsValue],
    ) -> StoreResult<Vec<T>> {
        let res = self.stmt(sql, args)?.all().await.map_err(err(sql))?;
        res.results::<T>().map_err(err(sql))
    }

    async fn first<T: for<'a> Deserialize<'a>>(
        &self,
        sql: &str,
        args: &[JsValue],
    ) -> StoreResult<Option<T>> {
        Ok(self.rows(sql, args).await?.into_iter().next())
    }

    async fn run(&self, sql: &str, args: &[JsValue]) -> StoreResult<usize> {
        let res = self.stmt(sql, args)?.run().await.map_err(err(sql))?;
        Ok(changes(&res))
    }
}

fn changes(r: &D1Result) -> usize {
    r.meta().ok().flatten().and_then(|m| m.changes).unwrap_or(0)
}

#[derive(Deserialize)]
struct UserRow {
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

const USER_COLS: &str = "id, login, name, is_admin, disabled, created_at";

#[derive(Deserialize)]
struct TokenRow {
    id: i64,
    user_id: i64,
    name: String,
    hint: String,
    scopes: String,
    patterns: String,
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

const TOKEN_COLS: &str =
    "id, user_id, name, hint, scopes, patterns, created_at, last_used_at, expires_at, revoked_at";

#[derive(Deserialize)]
struct CrateRow {
    id: i64,
    name: String,
    canon: String,
    created_at: i64,
    updated_at: i64,
    rev: i64,
    indexed_rev: i64,
    max_version: Option<String>,
    description: Option<String>,
    #[serde(default)]
    keywords: Option<String>,
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
            keywords: r.keywords.unwrap_or_default(),
        }
    }
}

use sql::CRATE_COLS;

fn arg(a: &sql::Arg) -> JsValue {
    match a {
        sql::Arg::Int(i) => int(*i),
        sql::Arg::Text(t) => text(t),
    }
}

#[derive(Deserialize)]
struct VersionRow {
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

const VERSION_COLS: &str = "id, crate_id, num, num_no_build, cksum, yanked, pubtime, entry";

#[derive(Deserialize)]
struct RevRow {
    rev: i64,
}

#[derive(Deserialize)]
struct CountRow {
    n: i64,
}

#[derive(Deserialize)]
struct RepairRow {
    last_run: i64,
    crate_cursor: i64,
    kv_cursor: Option<String>,
}

impl UserStore for D1Store {
    async fn user_by_id(&self, id: i64) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE id = ?1");
        Ok(self
            .first::<UserRow>(&sql, &[int(id)])
            .await?
            .map(User::from))
    }
    async fn list_users(&self) -> StoreResult<Vec<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users ORDER BY login");
        Ok(self
            .rows::<UserRow>(&sql, &[])
            .await?
            .into_iter()
            .map(User::from)
            .collect())
    }
    async fn set_disabled(&self, user_id: i64, disabled: bool) -> StoreResult<()> {
        let mut stmts = vec![self.stmt(
            "UPDATE users SET disabled = ?2 WHERE id = ?1",
            &[int(user_id), int(i64::from(disabled))],
        )?];
        if disabled {
            stmts.push(self.stmt("DELETE FROM sessions WHERE user_id = ?1", &[int(user_id)])?);
        }
        self.db.batch(stmts).await.map_err(err("set_disabled"))?;
        Ok(())
    }
    async fn set_admin(&self, user_id: i64, admin: bool) -> StoreResult<()> {
        self.run(
            "UPDATE users SET is_admin = ?2 WHERE id = ?1",
            &[int(user_id), int(i64::from(admin))],
        )
        .await?;
        Ok(())
    }
    async fn user_by_login(&self, login: &str) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE login = ?1");
        Ok(self
            .first::<UserRow>(&sql, &[text(login)])
            .await?
            .map(User::from))
    }
    async fn users_by_logins(&self, logins: &[String]) -> StoreResult<Vec<User>> {
        if logins.is_empty() {
            return Ok(Vec::new());
        }
        // One JSON parameter whatever the count: D1 binds at most 100.
        let sql = format!(
            "SELECT {USER_COLS} FROM users WHERE login IN (SELECT value FROM json_each(?1))"
        );
        let list = serde_json::to_string(logins)
            .map_err(|e| StoreError(format!("users_by_logins: {e}")))?;
        Ok(self
            .rows::<UserRow>(&sql, &[text(&list)])
            .await?
            .into_iter()
            .map(User::from)
            .collect())
    }
    async fn create_user(
        &self,
        login: &str,
        is_admin: bool,
        now: i64,
    ) -> StoreResult<Option<User>> {
        let n = self
            .run(
                "INSERT INTO users (login, is_admin, created_at) VALUES (?1, ?2, ?3) ON CONFLICT(login) DO NOTHING",
                &[text(login), int(i64::from(is_admin)), int(now)],
            )
            .await?;
        if n == 0 {
            return Ok(None);
        }
        self.user_by_login(login).await
    }
}

impl TokenStore for D1Store {
    async fn token_by_id(&self, id: i64) -> StoreResult<Option<TokenRecord>> {
        let sql = format!("SELECT {TOKEN_COLS} FROM tokens WHERE id = ?1");
        Ok(self
            .first::<TokenRow>(&sql, &[int(id)])
            .await?
            .map(TokenRecord::from))
    }
    async fn token_by_hash(&self, hash: &str) -> StoreResult<Option<(TokenRecord, User)>> {
        let t_sql = format!("SELECT {TOKEN_COLS} FROM tokens WHERE hash = ?1");
        let Some(t) = self.first::<TokenRow>(&t_sql, &[text(hash)]).await? else {
            return Ok(None);
        };
        let u_sql = format!("SELECT {USER_COLS} FROM users WHERE id = ?1");
        let u = self.first::<UserRow>(&u_sql, &[int(t.user_id)]).await?;
        Ok(u.map(|u| (TokenRecord::from(t), User::from(u))))
    }
    async fn create_token(&self, t: &NewToken) -> StoreResult<TokenRecord> {
        self.run(
            "INSERT INTO tokens (user_id, name, hash, hint, scopes, patterns, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            &[
                int(t.user_id),
                text(&t.name),
                text(&t.hash),
                text(&t.hint),
                text(&t.scopes),
                text(&t.patterns),
                int(t.created_at),
                opt_int(t.expires_at),
            ],
        )
        .await?;
        let sql = format!("SELECT {TOKEN_COLS} FROM tokens WHERE hash = ?1");
        self.first::<TokenRow>(&sql, &[text(&t.hash)])
            .await?
            .map(TokenRecord::from)
            .ok_or_else(|| StoreError::new("token vanished after insert"))
    }
    async fn list_tokens(&self, user_id: i64) -> StoreResult<Vec<TokenRecord>> {
        let sql = format!("SELECT {TOKEN_COLS} FROM tokens WHERE user_id = ?1 ORDER BY id");
        Ok(self
            .rows::<TokenRow>(&sql, &[int(user_id)])
            .await?
            .into_iter()
            .map(TokenRecord::from)
            .collect())
    }
    async fn revoke_token(&self, id: i64, now: i64) -> StoreResult<bool> {
        let n = self
            .run(
                "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                &[int(id), int(now)],
            )
            .await?;
        Ok(n > 0)
    }
    async fn touch_token(&self, id: i64, now: i64) -> StoreResult<()> {
        self.run(
            "UPDATE tokens SET last_used_at = ?2 WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at < ?2 - 60)",
            &[int(id), int(now)],
        )
        .await?;
        Ok(())
    }
}

impl CrateStore for D1Store {
    async fn crate_by_canon(&self, canon: &str) -> StoreResult<Option<CrateRecord>> {
        let sql = format!("SELECT {CRATE_COLS} FROM crates WHERE canon = ?1");
        Ok(self
            .first::<CrateRow>(&sql, &[text(canon)])
            .await?
            .map(CrateRecord::from))
    }
    async fn crates_by_canons(&self, canons: &[String]) -> StoreResult<Vec<CrateRecord>> {
        if canons.is_empty() {
            return Ok(Vec::new());
        }
        // One JSON parameter whatever the count: D1 binds at most 100.
        let sql = format!(
            "SELECT {CRATE_COLS} FROM crates WHERE canon IN (SELECT value FROM json_each(?1))"
        );
        let list = serde_json::to_string(canons)
            .map_err(|e| StoreError(format!("crates_by_canons: {e}")))?;
        Ok(self
            .rows::<CrateRow>(&sql, &[text(&list)])
            .await?
            .into_iter()
            .map(CrateRecord::from)
            .collect())
    }
    async fn all_crates(&self) -> StoreResult<Vec<CrateRecord>> {
        let sql = format!("SELECT {CRATE_COLS} FROM crates ORDER BY id");
        Ok(self
            .rows::<CrateRow>(&sql, &[])
            .await?
            .into_iter()
            .map(CrateRecord::from)
            .collect())
    }
    async fn version(
        &self,
        crate_id: i64,
        num_no_build: &str,
    ) -> StoreResult<Option<VersionRecord>> {
        let sql = format!(
            "SELECT {VERSION_COLS} FROM versions WHERE crate_id = ?1 AND num_no_build = ?2"
        );
        Ok(self
            .first::<VersionRow>(&sql, &[int(crate_id), text(num_no_build)])
            .await?
            .map(VersionRecord::from))
    }
    async fn version_by_cksum(
        &self,
        crate_id: i64,
        cksum: &str,
    ) -> StoreResult<Option<VersionRecord>> {
        let sql = format!("SELECT {VERSION_COLS} FROM versions WHERE crate_id = ?1 AND cksum = ?2");
        Ok(self
            .first::<VersionRow>(&sql, &[int(crate_id), text(cksum)])
            .await?
            .map(VersionRecord::from))
    }
    async fn insert_version(&self, v: &NewVersion) -> StoreResult<InsertOutcome> {
        // One transaction: create the crate if new, make the publisher its
        // first owner only if it has none, and insert the version only if
        // the name matches exactly and the publisher owns the crate. A
        // duplicate version violates UNIQUE(crate_id, num_no_build) and
        // rolls the whole batch back. Triggers bump `rev` and audit.
        let create = self.stmt(
            "INSERT INTO crates (name, canon, created_at, updated_at) VALUES (?1, ?2, ?3, ?3) ON CONFLICT(canon) DO NOTHING",
            &[text(&v.crate_name), text(&v.canon), int(v.now)],
        )?;
        let owner = self.stmt(
            "INSERT INTO owners (crate_id, user_id, added_at, added_by) SELECT c.id, ?3, ?4, ?3 FROM crates c WHERE c.canon = ?1 AND c.name = ?2 AND NOT EXISTS (SELECT 1 FROM owners o WHERE o.crate_id = c.id)",
            &[text(&v.canon), text(&v.crate_name), int(v.publisher_id), int(v.now)],
        )?;
        let insert = self.stmt(
            "INSERT INTO versions (crate_id, num, num_no_build, cksum, yanked, pubtime, entry, size, description, license, homepage, documentation, repository, keywords, categories, readme, links, rust_version, published_by, readme_html) \
             SELECT c.id, ?3, ?4, ?5, 0, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?21 FROM crates c \
             WHERE c.canon = ?1 AND c.name = ?2 AND (?20 = 1 OR EXISTS (SELECT 1 FROM owners o WHERE o.crate_id = c.id AND o.user_id = ?19))",
            &[
                text(&v.canon),
                text(&v.crate_name),
                text(&v.num),
                text(&v.num_no_build),
                text(&v.cksum),
                int(v.now),
                text(&v.entry),
                int(v.size),
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
                int(v.publisher_id),
                int(i64::from(v.publisher_is_admin)),
                opt_text(&v.readme_html),
            ],
        )?;
        let mut stmts = vec![create, owner, insert];
        for (canon, kind) in &v.local_deps {
            // Only for the row this batch inserted (same publisher and time).
            stmts.push(self.stmt(
                "INSERT INTO dependencies (version_id, crate_id, dep_canon, kind) SELECT v.id, v.crate_id, ?3, ?4 FROM versions v JOIN crates c ON c.id = v.crate_id \
                 WHERE c.canon = ?1 AND v.num_no_build = ?2 AND v.cksum = ?5 AND v.pubtime = ?6 AND v.published_by = ?7",
                &[text(&v.canon), text(&v.num_no_build), text(canon), text(kind), text(&v.cksum), int(v.now), int(v.publisher_id)],
            )?);
        }
        let result = self.db.batch(stmts).await;
        let c = self.crate_by_canon(&v.canon).await?;
        match result {
            Ok(results) => {
                let inserted = results.get(2).map(changes).unwrap_or(0);
                let created = results.first().map(changes).unwrap_or(0) > 0;
                match c {
                    Some(c) if inserted > 0 => Ok(InsertOutcome::Inserted {
                        crate_id: c.id,
                        new_crate: created,
                    }),
                    Some(c) if c.name != v.crate_name => Ok(InsertOutcome::NameTaken(c.name)),
                    Some(c) => match self.version(c.id, &v.num_no_build).await? {
                        Some(old) => Ok(InsertOutcome::VersionExists(old)),
                        None => Ok(InsertOutcome::NotOwner),
                    },
                    None => Err(StoreError::new("crate missing after publish batch")),
                }
            }
            Err(e) => {
                // A UNIQUE violation means the version exists; anything else
                // is a failure (the batch rolled back either way).
                if let Some(c) = c
                    && let Some(old) = self.version(c.id, &v.num_no_build).await?
                {
                    return Ok(InsertOutcome::VersionExists(old));
                }
                Err(StoreError(format!("D1 publish batch: {e}")))
            }
        }
    }
    async fn set_yanked(
        &self,
        version_id: i64,
        yanked: bool,
        _actor: i64,
        _now: i64,
    ) -> StoreResult<bool> {
        let n = self
            .run(
                "UPDATE versions SET yanked = ?2 WHERE id = ?1 AND yanked != ?2",
                &[int(version_id), int(i64::from(yanked))],
            )
            .await?;
        Ok(n > 0)
    }
    async fn crate_versions(
        &self,
        crate_id: i64,
    ) -> StoreResult<Option<(CrateRecord, Vec<VersionRecord>)>> {
        let c_sql = format!("SELECT {CRATE_COLS} FROM crates WHERE id = ?1");
        let v_sql = format!("SELECT {VERSION_COLS} FROM versions WHERE crate_id = ?1 ORDER BY id");
        // Both reads in one batch, so they see the same snapshot.
        let results = self
            .db
            .batch(vec![
                self.stmt(&c_sql, &[int(crate_id)])?,
                self.stmt(&v_sql, &[int(crate_id)])?,
            ])
            .await
            .map_err(err("crate_versions"))?;
        let (Some(cr), Some(vr)) = (results.first(), results.get(1)) else {
            return Err(StoreError::new("crate_versions: short batch result"));
        };
        let Some(c) = cr
            .results::<CrateRow>()
            .map_err(err("crate row"))?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        let vs = vr
            .results::<VersionRow>()
            .map_err(err("version rows"))?
            .into_iter()
            .map(VersionRecord::from)
            .collect();
        Ok(Some((CrateRecord::from(c), vs)))
    }
    async fn repair_candidates(
        &self,
        changed_since: i64,
        after_id: i64,
        limit: usize,
    ) -> StoreResult<RepairCandidates> {
        let lim = i64::try_from(limit).unwrap_or(i64::MAX);
        // Two index range scans (the partial index of unfinished renders,
        // `changed_at`) and one primary-key range, read together.
        let changed_sql = format!(
            "SELECT {CRATE_COLS} FROM crates WHERE id IN (SELECT id FROM crates WHERE rev != indexed_rev UNION SELECT id FROM crates WHERE changed_at >= ?1) ORDER BY id LIMIT ?2"
        );
        let sweep_sql =
            format!("SELECT {CRATE_COLS} FROM crates WHERE id > ?1 ORDER BY id LIMIT ?2");
        let results = self
            .db
            .batch(vec![
                self.stmt(&changed_sql, &[int(changed_since), int(lim)])?,
                self.stmt(&sweep_sql, &[int(after_id), int(lim)])?,
            ])
            .await
            .map_err(err("repair_candidates"))?;
        let mut lists = results.into_iter().map(|r| {
            r.results::<CrateRow>()
                .map(|rows| rows.into_iter().map(CrateRecord::from).collect::<Vec<_>>())
                .map_err(err("repair_candidates rows"))
        });
        let changed = lists.next().transpose()?.unwrap_or_default();
        let sweep = lists.next().transpose()?.unwrap_or_default();
        Ok(RepairCandidates { changed, sweep })
    }
    async fn repair_state(&self) -> StoreResult<Option<RepairState>> {
        Ok(self
            .first::<RepairRow>(
                "SELECT last_run, crate_cursor, kv_cursor FROM repair_state WHERE id = 1",
                &[],
            )
            .await?
            .map(|r| RepairState {
                last_run: r.last_run,
                crate_cursor: r.crate_cursor,
                kv_cursor: r.kv_cursor,
            }))
    }
    async fn put_repair_state(&self, state: &RepairState) -> StoreResult<()> {
        self.run(
            "INSERT INTO repair_state (id, last_run, crate_cursor, kv_cursor) VALUES (1, ?1, ?2, ?3) ON CONFLICT(id) DO UPDATE SET last_run = ?1, crate_cursor = ?2, kv_cursor = ?3",
            &[
                int(state.last_run),
                int(state.crate_cursor),
                state.kv_cursor.as_deref().map(text).unwrap_or(JsValue::NULL),
            ],
        )
        .await?;
        Ok(())
    }
    async fn crate_rev(&self, crate_id: i64) -> StoreResult<Option<i64>> {
        Ok(self
            .first::<RevRow>("SELECT rev FROM crates WHERE id = ?1", &[int(crate_id)])
            .await?
            .map(|r| r.rev))
    }
    async fn mark_indexed(
        &self,
        crate_id: i64,
        rev: i64,
        max_version: Option<&str>,
    ) -> StoreResult<()> {
        self.run(
            "UPDATE crates SET indexed_rev = ?2, max_version = ?3 WHERE id = ?1 AND indexed_rev <= ?2",
            &[int(crate_id), int(rev), max_version.map(text).unwrap_or(JsValue::NULL)],
        )
        .await?;
        Ok(())
    }
    async fn owners(&self, crate_id: i64) -> StoreResult<Vec<User>> {
        let sql = format!(
            "SELECT {} FROM users u JOIN owners o ON o.user_id = u.id WHERE o.crate_id = ?1 ORDER BY o.added_at, u.id",
            USER_COLS
                .split(", ")
                .map(|c| format!("u.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        Ok(self
            .rows::<UserRow>(&sql, &[int(crate_id)])
            .await?
            .into_iter()
            .map(User::from)
            .collect())
    }
    async fn is_owner(&self, crate_id: i64, user_id: i64) -> StoreResult<bool> {
        let row = self
            .first::<CountRow>(
                "SELECT COUNT(*) AS n FROM owners WHERE crate_id = ?1 AND user_id = ?2",
                &[int(crate_id), int(user_id)],
            )
            .await?;
        Ok(row.is_some_and(|r| r.n > 0))
    }
    async fn add_owners(
        &self,
        crate_id: i64,
        user_ids: &[i64],
        actor: i64,
        now: i64,
    ) -> StoreResult<usize> {
        let mut stmts = Vec::new();
        for &u in user_ids {
            stmts.push(self.stmt(
                "INSERT INTO owners (crate_id, user_id, added_at, added_by) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                &[int(crate_id), int(u), int(now), int(actor)],
            )?);
            stmts.push(self.stmt(
                "INSERT INTO audit (at, actor, action, crate_id, detail) VALUES (?1, ?2, 'owner-add', ?3, ?4)",
                &[int(now), int(actor), int(crate_id), text(&u.to_string())],
            )?);
        }
        if stmts.is_empty() {
            return Ok(0);
        }
        let results = self.db.batch(stmts).await.map_err(err("add_owners"))?;
        Ok(results.iter().step_by(2).map(changes).sum())
    }
    async fn remove_owners(
        &self,
        crate_id: i64,
        user_ids: &[i64],
        actor: i64,
        now: i64,
    ) -> StoreResult<RemoveOutcome> {
        if user_ids.is_empty() {
            return Ok(RemoveOutcome::Removed(0));
        }
        // One statement: delete only if someone else stays an owner.
        // The ids as one JSON parameter: D1 binds at most 100.
        let list = "SELECT value FROM json_each(?2)";
        let sql = format!(
            "DELETE FROM owners WHERE crate_id = ?1 AND user_id IN ({list}) AND EXISTS (SELECT 1 FROM owners o WHERE o.crate_id = ?1 AND o.user_id NOT IN ({list}))"
        );
        let ids = serde_json::to_string(user_ids)
            .map_err(|e| StoreError(format!("remove_owners: {e}")))?;
        let args = vec![int(crate_id), text(&ids)];
        let n = self.run(&sql, &args).await?;
        if n > 0 {
            self.run(
                "INSERT INTO audit (at, actor, action, crate_id, detail) VALUES (?1, ?2, 'owner-remove', ?3, ?4)",
                &[int(now), int(actor), int(crate_id), text(&format!("{user_ids:?}"))],
            )
            .await?;
            return Ok(RemoveOutcome::Removed(n));
        }
        let remaining_sql = format!(
            "SELECT COUNT(*) AS n FROM owners WHERE crate_id = ?1 AND user_id NOT IN ({list})"
        );
        let remaining = self
            .first::<CountRow>(&remaining_sql, &args)
            .await?
            .map(|r| r.n)
            .unwrap_or(0);
        if remaining == 0 {
            Ok(RemoveOutcome::WouldOrphan)
        } else {
            Ok(RemoveOutcome::Removed(0))
        }
    }
    async fn list_crates(
        &self,
        sort: CrateSort,
        limit: u32,
        offset: u32,
    ) -> StoreResult<(Vec<CrateRecord>, u32)> {
        self.list_crates_impl(sort, limit, offset).await
    }
    async fn versions_page(
        &self,
        crate_id: i64,
        limit: u32,
        offset: u32,
    ) -> StoreResult<(Vec<VersionSummary>, u32)> {
        self.versions_page_impl(crate_id, limit, offset).await
    }
    async fn version_detail(&self, crate_id: i64, num: &str) -> StoreResult<Option<VersionDetail>> {
        self.version_detail_impl(crate_id, num).await
    }
    async fn dependents(
        &self,
        canon: &str,
        limit: u32,
        offset: u32,
    ) -> StoreResult<(Vec<CrateRecord>, u32)> {
        self.dependents_impl(canon, limit, offset).await
    }
    async fn search(
        &self,
        q: &str,
        filter: &crate::auth::ReadFilter,
        limit: u32,
        offset: u32,
    ) -> StoreResult<(Vec<CrateRecord>, u32)> {
        let args: Vec<JsValue> = sql::search_args(q, filter, limit, offset)
            .iter()
            .map(arg)
            .collect();
        let count_args = args.get(..5).unwrap_or(&args);
        let results = self
            .db
            .batch(vec![
                self.stmt(sql::SEARCH, &args)?,
                self.stmt(sql::SEARCH_COUNT, count_args)?,
            ])
            .await
            .map_err(err("search"))?;
        let (Some(rows), Some(count)) = (results.first(), results.get(1)) else {
            return Err(StoreError::new("search: short batch result"));
        };
        let crates = rows
            .results::<CrateRow>()
            .map_err(err("search rows"))?
            .into_iter()
            .map(CrateRecord::from)
            .collect();
        let total = count
            .results::<CountRow>()
            .map_err(err("search count"))?
            .first()
            .map(|r| r.n)
            .unwrap_or(0);
        Ok((crates, u32::try_from(total).unwrap_or(u32::MAX)))
    }
}

#[derive(Deserialize)]
struct HashRow {
    password_hash: Option<String>,
}

#[derive(Deserialize)]
struct SessionRow {
    user_id: i64,
    csrf: String,
    created_at: i64,
    expires_at: i64,
}

#[derive(Deserialize)]
struct LinkRow {
    user_id: i64,
    purpose: String,
}

#[derive(Deserialize)]
struct FailureRow {
    failures: i64,
    first_at: i64,
    locked_until: Option<i64>,
}

impl AccountStore for D1Store {
    async fn password_hash(&self, user_id: i64) -> StoreResult<Option<String>> {
        Ok(self
            .first::<HashRow>(
                "SELECT password_hash FROM users WHERE id = ?1",
                &[int(user_id)],
            )
            .await?
            .and_then(|r| r.password_hash))
    }
    async fn set_password(&self, user_id: i64, hash: &str) -> StoreResult<()> {
        self.run(
            "UPDATE users SET password_hash = ?2 WHERE id = ?1",
            &[int(user_id), text(hash)],
        )
        .await?;
        Ok(())
    }
    async fn create_session(
        &self,
        id_hash: &str,
        s: &SessionRecord,
        password_hash: &str,
    ) -> StoreResult<bool> {
        let n = self
            .run(
                sql::CREATE_SESSION,
                &[
                    text(id_hash),
                    int(s.user_id),
                    text(&s.csrf),
                    int(s.created_at),
                    int(s.expires_at),
                    text(password_hash),
                ],
            )
            .await?;
        Ok(n == 1)
    }
    async fn session(&self, id_hash: &str) -> StoreResult<Option<(SessionRecord, User)>> {
        let Some(s) = self
            .first::<SessionRow>(
                "SELECT user_id, csrf, created_at, expires_at FROM sessions WHERE id_hash = ?1",
                &[text(id_hash)],
            )
            .await?
        else {
            return Ok(None);
        };
        let rec = SessionRecord {
            user_id: s.user_id,
            csrf: s.csrf,
            created_at: s.created_at,
            expires_at: s.expires_at,
        };
        Ok(self.user_by_id(s.user_id).await?.map(|u| (rec, u)))
    }
    async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        self.run("DELETE FROM sessions WHERE id_hash = ?1", &[text(id_hash)])
            .await?;
        Ok(())
    }
    async fn delete_user_sessions(&self, user_id: i64) -> StoreResult<()> {
        self.run("DELETE FROM sessions WHERE user_id = ?1", &[int(user_id)])
            .await?;
        Ok(())
    }
    async fn create_link(
        &self,
        hash: &str,
        user_id: i64,
        purpose: &str,
        created_by: Option<i64>,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        self.run(
            sql::INSERT_LINK,
            &[
                text(hash),
                int(user_id),
                text(purpose),
                opt_int(created_by),
                int(now),
                int(expires_at),
            ],
        )
        .await?;
        Ok(())
    }
    async fn consume_link(&self, hash: &str, now: i64) -> StoreResult<Option<(i64, String)>> {
        Ok(self
            .first::<LinkRow>(
                "UPDATE user_links SET used_at = ?2 WHERE hash = ?1 AND used_at IS NULL AND expires_at > ?2 RETURNING user_id, purpose",
                &[text(hash), int(now)],
            )
            .await?
            .map(|r| (r.user_id, r.purpose)))
    }
    async fn count_attempt(
        &self,
        key: &str,
        now: i64,
        rule: &AttemptRule,
    ) -> StoreResult<Failures> {
        let args: Vec<JsValue> = sql::count_attempt_args(key, now, rule)
            .iter()
            .map(arg)
            .collect();
        let row = self
            .first::<FailureRow>(sql::COUNT_ATTEMPT, &args)
            .await?
            .ok_or_else(|| StoreError::new("count_attempt: no row returned"))?;
        Ok(Failures {
            count: row.failures,
            first_at: row.first_at,
            locked_until: row.locked_until,
        })
    }
    async fn refund_attempt(&self, key: &str) -> StoreResult<()> {
        self.run(sql::REFUND_ATTEMPT, &[text(key)]).await?;
        Ok(())
    }
    async fn prune_attempts(&self, now: i64, window: i64, limit: u32) -> StoreResult<u32> {
        let rows = self
            .rows::<CountRow>(
                sql::PRUNE_ATTEMPTS,
                &[int(now), int(window), int(i64::from(limit))],
            )
            .await?;
        Ok(u32::try_from(rows.len()).unwrap_or(u32::MAX))
    }
    async fn clear_failures(&self, key: &str) -> StoreResult<()> {
        self.run(
            "DELETE FROM sign_in_failures WHERE login = ?1",
            &[text(key)],
        )
        .await?;
        Ok(())
    }
}

#[derive(Deserialize)]
struct SummaryRow {
    num: String,
    pubtime: i64,
    yanked: i64,
    rust_version: Option<String>,
}

#[derive(Deserialize)]
struct DetailRow {
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
    keywords: String,
    categories: String,
    readme_html: Option<String>,
}

impl D1Store {
    /// A page query and its count, in one batch.
    async fn page<T: for<'a> Deserialize<'a>>(
        &self,
        sql: &str,
        count_sql: &str,
        args: &[JsValue],
        count_args: &[JsValue],
    ) -> StoreResult<(Vec<T>, u32)> {
        let results = self
            .db
            .batch(vec![
                self.stmt(sql, args)?,
                self.stmt(count_sql, count_args)?,
            ])
            .await
            .map_err(err(sql))?;
        let (Some(rows), Some(count)) = (results.first(), results.get(1)) else {
            return Err(StoreError::new("page: short batch result"));
        };
        let rows = rows.results::<T>().map_err(err(sql))?;
        let total = count
            .results::<CountRow>()
            .map_err(err(count_sql))?
            .first()
            .map(|r| r.n)
            .unwrap_or(0);
        Ok((rows, u32::try_from(total).unwrap_or(u32::MAX)))
    }

    pub async fn list_crates_impl(
        &self,
        sort: CrateSort,
        limit: u32,
        offset: u32,
    ) -> StoreResult<(Vec<CrateRecord>, u32)> {
        let order = match sort {
            CrateSort::Updated => "updated_at DESC, id DESC",
            CrateSort::Name => "canon",
        };
        let sql = format!("SELECT {CRATE_COLS} FROM crates ORDER BY {order} LIMIT ?1 OFFSET ?2");
        let (rows, total) = self
            .page::<CrateRow>(
                &sql,
                "SELECT COUNT(*) AS n FROM crates",
                &[int(i64::from(limit)), int(i64::from(offset))],
                &[],
            )
            .await?;
        Ok((rows.into_iter().map(CrateRecord::from).collect(), total))
    }

    pub async fn versions_page_impl(
        &self,
        crate_id: i64,
        limit: u32,
        offset: u32,
    ) -> StoreResult<(Vec<VersionSummary>, u32)> {
        let (rows, total) = self
            .page::<SummaryRow>(
                "SELECT num, pubtime, yanked, rust_version FROM versions WHERE crate_id = ?1 ORDER BY id DESC LIMIT ?2 OFFSET ?3",
                "SELECT COUNT(*) AS n FROM versions WHERE crate_id = ?1",
                &[int(crate_id), int(i64::from(limit)), int(i64::from(offset))],
                &[int(crate_id)],
            )
            .await?;
        Ok((
            rows.into_iter()
                .map(|r| VersionSummary {
                    num: r.num,
                    pubtime: r.pubtime,
                    yanked: r.yanked != 0,
                    rust_version: r.rust_version,
                })
                .collect(),
            total,
        ))
    }

    pub async fn version_detail_impl(
        &self,
        crate_id: i64,
        num: &str,
    ) -> StoreResult<Option<VersionDetail>> {
        Ok(self
            .first::<DetailRow>(
                "SELECT num, pubtime, yanked, cksum, size, entry, description, license, homepage, documentation, repository, keywords, categories, readme_html FROM versions WHERE crate_id = ?1 AND num = ?2",
                &[int(crate_id), text(num)],
            )
            .await?
            .map(|r| VersionDetail {
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
            }))
    }

    pub async fn dependents_impl(
        &self,
        canon: &str,
        limit: u32,
        offset: u32,
    ) -> StoreResult<(Vec<CrateRecord>, u32)> {
        let cols = CRATE_COLS
            .split(", ")
            .map(|c| format!("c.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {cols} FROM crates c WHERE c.id IN (SELECT crate_id FROM dependencies WHERE dep_canon = ?1) ORDER BY c.canon LIMIT ?2 OFFSET ?3"
        );
        let (rows, total) = self
            .page::<CrateRow>(
                &sql,
                "SELECT COUNT(DISTINCT crate_id) AS n FROM dependencies WHERE dep_canon = ?1",
                &[text(canon), int(i64::from(limit)), int(i64::from(offset))],
                &[text(canon)],
            )
            .await?;
        Ok((rows.into_iter().map(CrateRecord::from).collect(), total))
    }
}
