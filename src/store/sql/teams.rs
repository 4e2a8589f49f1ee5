//! Teams and their members over the executor.

use serde::Deserialize;

use super::rows::JoinedUser;
use super::*;
use crate::auth::{Readers, Visibility};
use crate::store::{MemberSource, ReaderRef, StoreError, Team, TeamMember, TeamStore};

#[derive(Deserialize)]
struct TeamRow {
    id: i64,
    name: String,
    created_at: i64,
}

impl From<TeamRow> for Team {
    fn from(r: TeamRow) -> Self {
        Team {
            id: r.id,
            name: r.name,
            created_at: r.created_at,
        }
    }
}

#[derive(Deserialize)]
struct ListedTeam {
    #[serde(flatten)]
    team: TeamRow,
    members: i64,
}

#[derive(Deserialize)]
struct MemberRow {
    maintainer: i64,
    source: String,
    added_at: i64,
    u_id: i64,
    #[serde(flatten)]
    user: JoinedUser,
}

#[derive(Deserialize)]
struct IdRow {
    id: i64,
}

#[derive(Deserialize)]
struct VisibilityRow {
    visibility: String,
    users: String,
    teams: String,
}

fn source_of(s: &str) -> MemberSource {
    if s == "sso" {
        MemberSource::Sso
    } else {
        MemberSource::Manual
    }
}

impl<E: Executor> SqlStore<E> {
    /// A grant or revocation: its audit row, the change, and a new
    /// revision for the crate (its index file names its readers).
    async fn reader_change(
        &self,
        audit: &'static str,
        change: &'static str,
        crate_id: i64,
        reader: ReaderRef,
        actor: Option<i64>,
        now: i64,
    ) -> StoreResult<bool> {
        let (user, team) = match reader {
            ReaderRef::User(u) => (Some(u), None),
            ReaderRef::Team(t) => (None, Some(t)),
        };
        let stmt = |sql| {
            Stmt::new(sql)
                .bind(crate_id)
                .bind(user)
                .bind(team)
                .bind(actor)
                .bind(now)
        };
        // A removal binds only the row's key.
        let changed = if change == REVOKE_READER {
            Stmt::new(change).bind(crate_id).bind(user).bind(team)
        } else {
            stmt(change)
        };
        let mut out = self
            .batch(vec![
                stmt(audit),
                changed,
                Stmt::new(BUMP_REV).bind(crate_id).bind(now),
            ])
            .await?
            .into_iter();
        take(&mut out)?;
        Ok(take(&mut out)?.changes > 0)
    }
}

impl<E: Executor> TeamStore for SqlStore<E> {
    async fn create_team(
        &self,
        name: &str,
        actor: Option<i64>,
        now: i64,
    ) -> StoreResult<Option<Team>> {
        let stmt = |sql| Stmt::new(sql).bind(name).bind(now).bind(actor);
        let mut out = self
            .batch(vec![stmt(CREATE_TEAM_AUDIT), stmt(CREATE_TEAM)])
            .await?
            .into_iter();
        take(&mut out)?;
        Ok(take(&mut out)?.first::<TeamRow>()?.map(Team::from))
    }
    async fn team_by_name(&self, name: &str) -> StoreResult<Option<Team>> {
        Ok(self
            .first::<TeamRow>(Stmt::new(TEAM_BY_NAME).bind(name))
            .await?
            .map(Team::from))
    }
    async fn list_teams(&self) -> StoreResult<Vec<(Team, i64)>> {
        Ok(self
            .all::<ListedTeam>(Stmt::new(LIST_TEAMS))
            .await?
            .into_iter()
            .map(|r| (Team::from(r.team), r.members))
            .collect())
    }
    async fn team_members(&self, team_id: i64) -> StoreResult<Vec<TeamMember>> {
        let rows = self
            .all::<MemberRow>(Stmt::new(TEAM_MEMBERS).bind(team_id))
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| TeamMember {
                user: r.user.user(r.u_id),
                maintainer: r.maintainer != 0,
                source: source_of(&r.source),
                added_at: r.added_at,
            })
            .collect())
    }
    async fn put_member(
        &self,
        team_id: i64,
        user_id: i64,
        maintainer: bool,
        source: MemberSource,
        actor: Option<i64>,
        now: i64,
    ) -> StoreResult<()> {
        let stmt = |sql| {
            Stmt::new(sql)
                .bind(team_id)
                .bind(user_id)
                .bind(maintainer)
                .bind(actor)
                .bind(now)
                .bind(source.as_str())
        };
        self.batch(vec![stmt(PUT_MEMBER_AUDIT), stmt(PUT_MEMBER)])
            .await?;
        Ok(())
    }
    async fn remove_member(
        &self,
        team_id: i64,
        user_id: i64,
        actor: Option<i64>,
        now: i64,
    ) -> StoreResult<bool> {
        let mut out = self
            .batch(vec![
                Stmt::new(REMOVE_MEMBER_AUDIT)
                    .bind(team_id)
                    .bind(user_id)
                    .bind(actor)
                    .bind(now),
                Stmt::new(REMOVE_MEMBER).bind(team_id).bind(user_id),
            ])
            .await?
            .into_iter();
        take(&mut out)?;
        Ok(take(&mut out)?.changes > 0)
    }
    async fn user_team_ids(&self, user_id: i64) -> StoreResult<Vec<i64>> {
        Ok(self
            .all::<IdRow>(Stmt::new(USER_TEAM_IDS).bind(user_id))
            .await?
            .into_iter()
            .map(|r| r.id)
            .collect())
    }
    async fn set_visibility(
        &self,
        crate_id: i64,
        restricted: bool,
        actor: Option<i64>,
        now: i64,
    ) -> StoreResult<bool> {
        let v = if restricted { "restricted" } else { "registry" };
        let stmt = |sql| Stmt::new(sql).bind(crate_id).bind(v).bind(actor).bind(now);
        let mut out = self
            .batch(vec![stmt(SET_VISIBILITY_AUDIT), stmt(SET_VISIBILITY)])
            .await?
            .into_iter();
        take(&mut out)?;
        Ok(take(&mut out)?.changes > 0)
    }
    async fn grant_reader(
        &self,
        crate_id: i64,
        reader: ReaderRef,
        actor: Option<i64>,
        now: i64,
    ) -> StoreResult<bool> {
        self.reader_change(
            GRANT_READER_AUDIT,
            GRANT_READER,
            crate_id,
            reader,
            actor,
            now,
        )
        .await
    }
    async fn revoke_reader(
        &self,
        crate_id: i64,
        reader: ReaderRef,
        actor: Option<i64>,
        now: i64,
    ) -> StoreResult<bool> {
        self.reader_change(
            REVOKE_READER_AUDIT,
            REVOKE_READER,
            crate_id,
            reader,
            actor,
            now,
        )
        .await
    }
    async fn user_memberships(&self, user_id: i64) -> StoreResult<Vec<(i64, MemberSource)>> {
        #[derive(Deserialize)]
        struct Row {
            id: i64,
            source: String,
        }
        Ok(self
            .all::<Row>(Stmt::new(USER_MEMBERSHIPS).bind(user_id))
            .await?
            .into_iter()
            .map(|r| (r.id, source_of(&r.source)))
            .collect())
    }
    async fn crate_visibility(&self, crate_id: i64) -> StoreResult<Option<Visibility>> {
        let Some(row) = self
            .first::<VisibilityRow>(Stmt::new(CRATE_VISIBILITY).bind(crate_id))
            .await?
        else {
            return Ok(None);
        };
        if row.visibility == "registry" {
            return Ok(Some(Visibility::Registry));
        }
        // Anything else is restricted: an unknown value never opens a
        // crate to everyone.
        let ids = |s: &str| -> StoreResult<Vec<i64>> {
            serde_json::from_str(s).map_err(|e| StoreError(format!("crate readers: {e}")))
        };
        Ok(Some(Visibility::Restricted(Readers {
            users: ids(&row.users)?,
            teams: ids(&row.teams)?,
        })))
    }
}
