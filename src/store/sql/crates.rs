//! Crates, versions, owners, the repair's bookkeeping and the page queries
//! over the executor. Every multi-step change is one batch.

use super::rows::{CrateRow, DetailRow, RepairRow, RevRow, SummaryRow, VersionRow};
use super::*;
use crate::store::exec::json_list;
use crate::store::*;

fn crates(o: Outcome) -> StoreResult<Vec<CrateRecord>> {
    Ok(o.decode::<CrateRow>()?
        .into_iter()
        .map(Into::into)
        .collect())
}

impl<E: Executor> SqlStore<E> {
    async fn crate_list(&self, s: Stmt) -> StoreResult<Vec<CrateRecord>> {
        crates(self.exec.execute(&s).await?)
    }

    async fn crate_page(&self, rows: Stmt, count: Stmt) -> StoreResult<(Vec<CrateRecord>, u32)> {
        let (rows, total) = self.page::<CrateRow>(rows, count).await?;
        Ok((rows.into_iter().map(Into::into).collect(), total))
    }
}

impl<E: Executor> CrateStore for SqlStore<E> {
    async fn crate_by_canon(&self, canon: &str) -> StoreResult<Option<CrateRecord>> {
        let r = self
            .first::<CrateRow>(Stmt::new(CRATE_BY_CANON).bind(canon))
            .await?;
        Ok(r.map(Into::into))
    }
    async fn readable_crate(
        &self,
        canon: &str,
        viewer: Option<i64>,
    ) -> StoreResult<Option<CrateRecord>> {
        let r = self
            .first::<CrateRow>(Stmt::new(READABLE_CRATE).bind(canon).bind(viewer))
            .await?;
        Ok(r.map(Into::into))
    }
    async fn crates_by_canons(&self, canons: &[String]) -> StoreResult<Vec<CrateRecord>> {
        if canons.is_empty() {
            return Ok(Vec::new());
        }
        self.crate_list(Stmt::new(CRATES_BY_CANONS).bind(json_list(canons)?))
            .await
    }
    async fn readable_crates_by_canons(
        &self,
        canons: &[String],
        viewer: Option<i64>,
    ) -> StoreResult<Vec<CrateRecord>> {
        if canons.is_empty() {
            return Ok(Vec::new());
        }
        self.crate_list(
            Stmt::new(READABLE_CRATES_BY_CANONS)
                .bind(json_list(canons)?)
                .bind(viewer),
        )
        .await
    }
    async fn all_crates(&self) -> StoreResult<Vec<CrateRecord>> {
        self.crate_list(Stmt::new(ALL_CRATES)).await
    }
    async fn version(
        &self,
        crate_id: i64,
        num_no_build: &str,
    ) -> StoreResult<Option<VersionRecord>> {
        let s = Stmt::new(VERSION).bind(crate_id).bind(num_no_build);
        Ok(self.first::<VersionRow>(s).await?.map(Into::into))
    }
    async fn version_by_cksum(
        &self,
        crate_id: i64,
        cksum: &str,
    ) -> StoreResult<Option<VersionRecord>> {
        let s = Stmt::new(VERSION_BY_CKSUM).bind(crate_id).bind(cksum);
        Ok(self.first::<VersionRow>(s).await?.map(Into::into))
    }
    async fn insert_version(&self, v: &NewVersion) -> StoreResult<InsertOutcome> {
        let mut stmts = vec![
            Stmt::new(PUBLISH_CREATE_CRATE)
                .bind(&v.crate_name)
                .bind(&v.canon)
                .bind(v.now),
            Stmt::new(PUBLISH_FIRST_OWNER)
                .bind(&v.canon)
                .bind(&v.crate_name)
                .bind(v.publisher_id)
                .bind(v.now),
            Stmt::new(PUBLISH_VERSION)
                .bind(&v.canon)
                .bind(&v.crate_name)
                .bind(&v.num)
                .bind(&v.num_no_build)
                .bind(&v.cksum)
                .bind(v.now)
                .bind(&v.entry)
                .bind(v.size)
                .bind(&v.description)
                .bind(&v.license)
                .bind(&v.homepage)
                .bind(&v.documentation)
                .bind(&v.repository)
                .bind(json_list(&v.keywords)?)
                .bind(json_list(&v.categories)?)
                .bind(&v.readme)
                .bind(&v.links)
                .bind(&v.rust_version)
                .bind(v.publisher_id)
                .bind(v.publisher_is_admin)
                .bind(&v.readme_html),
        ];
        if !v.local_deps.is_empty() {
            stmts.push(
                Stmt::new(PUBLISH_DEPENDENCIES)
                    .bind(&v.canon)
                    .bind(&v.num_no_build)
                    .bind(&v.cksum)
                    .bind(v.now)
                    .bind(v.publisher_id)
                    .bind(json_list(&v.local_deps)?),
            );
        }
        stmts.push(Stmt::new(CRATE_BY_CANON).bind(&v.canon));
        let result = self.batch(stmts).await;
        let (created, inserted, c) = match result {
            Ok(out) => {
                let created = out.first().is_some_and(|o| o.changes > 0);
                let inserted = out.get(2).is_some_and(|o| o.changes > 0);
                let c = match out.into_iter().last() {
                    Some(o) => o.first::<CrateRow>()?.map(CrateRecord::from),
                    None => None,
                };
                (created, inserted, c)
            }
            Err(e) => {
                // A UNIQUE violation means the version exists; anything
                // else is a failure. The batch rolled back either way.
                if let Some(c) = self.crate_by_canon(&v.canon).await?
                    && let Some(old) = self.version(c.id, &v.num_no_build).await?
                {
                    return Ok(InsertOutcome::VersionExists(old));
                }
                return Err(e);
            }
        };
        match c {
            Some(c) if inserted => Ok(InsertOutcome::Inserted {
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
    async fn set_yanked(
        &self,
        version_id: i64,
        yanked: bool,
        actor: i64,
        now: i64,
    ) -> StoreResult<bool> {
        let out = self
            .batch(vec![
                Stmt::new(YANK_AUDIT)
                    .bind(version_id)
                    .bind(yanked)
                    .bind(actor)
                    .bind(now),
                Stmt::new(YANK_CHANGED_AT)
                    .bind(version_id)
                    .bind(yanked)
                    .bind(now),
                Stmt::new(SET_YANKED).bind(version_id).bind(yanked),
            ])
            .await?;
        Ok(out.get(2).is_some_and(|o| o.changes > 0))
    }
    async fn crate_versions(
        &self,
        crate_id: i64,
    ) -> StoreResult<Option<(CrateRecord, Vec<VersionRecord>)>> {
        // Both reads in one batch, so they see the same snapshot.
        let mut out = self
            .batch(vec![
                Stmt::new(CRATE_BY_ID).bind(crate_id),
                Stmt::new(VERSIONS_OF_CRATE).bind(crate_id),
            ])
            .await?
            .into_iter();
        let Some(c) = take(&mut out)?.first::<CrateRow>()? else {
            return Ok(None);
        };
        let vs = take(&mut out)?.decode::<VersionRow>()?;
        Ok(Some((c.into(), vs.into_iter().map(Into::into).collect())))
    }
    async fn crate_rev(&self, crate_id: i64) -> StoreResult<Option<i64>> {
        let r = self
            .first::<RevRow>(Stmt::new(CRATE_REV).bind(crate_id))
            .await?;
        Ok(r.map(|r| r.rev))
    }
    async fn repair_candidates(
        &self,
        changed_since: i64,
        after_id: i64,
        limit: usize,
    ) -> StoreResult<RepairCandidates> {
        let mut out = self
            .batch(vec![
                Stmt::new(REPAIR_CHANGED).bind(changed_since).bind(limit),
                Stmt::new(REPAIR_SWEEP).bind(after_id).bind(limit),
            ])
            .await?
            .into_iter();
        let changed = crates(take(&mut out)?)?;
        let sweep = crates(take(&mut out)?)?;
        Ok(RepairCandidates { changed, sweep })
    }
    async fn repair_state(&self) -> StoreResult<Option<RepairState>> {
        let r = self.first::<RepairRow>(Stmt::new(REPAIR_STATE)).await?;
        Ok(r.map(Into::into))
    }
    async fn put_repair_state(&self, state: &RepairState) -> StoreResult<()> {
        let s = Stmt::new(PUT_REPAIR_STATE)
            .bind(state.last_run)
            .bind(state.crate_cursor)
            .bind(&state.kv_cursor);
        self.run(s).await?;
        Ok(())
    }
    async fn mark_indexed(
        &self,
        crate_id: i64,
        rev: i64,
        max_version: Option<&str>,
    ) -> StoreResult<()> {
        let s = Stmt::new(MARK_INDEXED)
            .bind(crate_id)
            .bind(rev)
            .bind(max_version);
        self.run(s).await?;
        Ok(())
    }
    async fn owners(&self, crate_id: i64) -> StoreResult<Vec<User>> {
        let rows = self
            .all::<rows::UserRow>(Stmt::new(OWNERS).bind(crate_id))
            .await?;
        Ok(rows.into_iter().map(User::from).collect())
    }
    async fn is_owner(&self, crate_id: i64, user_id: i64) -> StoreResult<bool> {
        let o = self
            .exec
            .execute(&Stmt::new(IS_OWNER).bind(crate_id).bind(user_id))
            .await?;
        Ok(count_of(o)? > 0)
    }
    async fn add_owners(
        &self,
        crate_id: i64,
        user_ids: &[i64],
        actor: i64,
        now: i64,
    ) -> StoreResult<usize> {
        if user_ids.is_empty() {
            return Ok(0);
        }
        let ids = json_list(user_ids)?;
        let change = |sql| {
            Stmt::new(sql)
                .bind(crate_id)
                .bind(ids.clone())
                .bind(actor)
                .bind(now)
        };
        // The crate's readers include its owners: its index file is
        // rendered again.
        let out = self
            .batch(vec![
                change(ADD_OWNERS_AUDIT),
                change(ADD_OWNERS),
                Stmt::new(BUMP_REV).bind(crate_id).bind(now),
            ])
            .await?;
        Ok(out.get(1).map(|o| o.changes).unwrap_or(0))
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
        let ids = json_list(user_ids)?;
        let mut out = self
            .batch(vec![
                Stmt::new(REMOVE_OWNERS_AUDIT)
                    .bind(crate_id)
                    .bind(ids.clone())
                    .bind(actor)
                    .bind(now),
                Stmt::new(REMOVE_OWNERS).bind(crate_id).bind(ids.clone()),
                Stmt::new(OTHER_OWNERS).bind(crate_id).bind(ids),
                Stmt::new(BUMP_REV).bind(crate_id).bind(now),
            ])
            .await?
            .into_iter();
        take(&mut out)?;
        let removed = take(&mut out)?.changes;
        let others = count_of(take(&mut out)?)?;
        Ok(match (removed, others) {
            (0, 0) => RemoveOutcome::WouldOrphan,
            (n, _) => RemoveOutcome::Removed(n),
        })
    }
    async fn search(
        &self,
        q: &str,
        filter: &crate::auth::ReadFilter,
        viewer: Option<i64>,
        limit: u32,
        offset: u32,
    ) -> StoreResult<(Vec<CrateRecord>, u32)> {
        let args = search_args(q, filter, viewer, limit, offset)?;
        let count_args = args.get(..6).unwrap_or(&args).to_vec();
        self.crate_page(
            Stmt { sql: SEARCH, args },
            Stmt {
                sql: SEARCH_COUNT,
                args: count_args,
            },
        )
        .await
    }
    async fn list_crates(
        &self,
        sort: CrateSort,
        viewer: Option<i64>,
        limit: u32,
        offset: u32,
    ) -> StoreResult<(Vec<CrateRecord>, u32)> {
        let sql = match sort {
            CrateSort::Updated => LIST_CRATES_UPDATED,
            CrateSort::Name => LIST_CRATES_NAME,
        };
        self.crate_page(
            Stmt::new(sql).bind(limit).bind(offset).bind(viewer),
            Stmt::new(COUNT_CRATES).bind(viewer),
        )
        .await
    }
    async fn versions_page(
        &self,
        crate_id: i64,
        limit: u32,
        offset: u32,
    ) -> StoreResult<(Vec<VersionSummary>, u32)> {
        let (rows, total) = self
            .page::<SummaryRow>(
                Stmt::new(VERSIONS_PAGE)
                    .bind(crate_id)
                    .bind(limit)
                    .bind(offset),
                Stmt::new(COUNT_VERSIONS).bind(crate_id),
            )
            .await?;
        Ok((rows.into_iter().map(Into::into).collect(), total))
    }
    async fn version_detail(&self, crate_id: i64, num: &str) -> StoreResult<Option<VersionDetail>> {
        let s = Stmt::new(VERSION_DETAIL).bind(crate_id).bind(num);
        Ok(self.first::<DetailRow>(s).await?.map(Into::into))
    }
    async fn dependents(
        &self,
        canon: &str,
        viewer: Option<i64>,
        limit: u32,
        offset: u32,
    ) -> StoreResult<(Vec<CrateRecord>, u32)> {
        self.crate_page(
            Stmt::new(DEPENDENTS)
                .bind(canon)
                .bind(limit)
                .bind(offset)
                .bind(viewer),
            Stmt::new(COUNT_DEPENDENTS).bind(canon).bind(viewer),
        )
        .await
    }
}
