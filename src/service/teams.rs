//! Teams: created by administrators; members added and removed by
//! administrators or the team's maintainers. A team's name is written
//! `team:<name>` where a login is expected (`cargo owner --add team:NAME`).

use super::{App, Stores};
use crate::error::AppError;
use crate::protocol::version::printable;
use crate::store::{MemberSource, Team, TeamMember, TeamStore as _, User, UserStore as _};

/// How a team is named where a login is expected.
pub const PREFIX: &str = "team:";

/// A team name: 1 to 39 letters, digits, `-` or `_`, starting with a
/// letter or digit (as logins are).
pub fn validate_team_name(name: &str) -> Result<(), AppError> {
    if crate::service::tokens::is_handle(name) {
        Ok(())
    } else {
        Err(AppError::BadRequest(format!(
            "invalid team name `{}`: use 1 to 39 letters, digits, `-` or `_`",
            printable(name)
        )))
    }
}

/// The team a `team:<name>` owner or reader names, if it is one.
pub fn team_name(login: &str) -> Option<&str> {
    login.strip_prefix(PREFIX)
}

/// Who is acting: a signed-in or token user, or the operator's command
/// line (`scripts/admin`, which may do what an administrator may).
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    User(&'a User),
    Operator,
}

impl Actor<'_> {
    /// The acting user's id (`None` for the operator).
    pub fn id(&self) -> Option<i64> {
        match self {
            Actor::User(u) => Some(u.id),
            Actor::Operator => None,
        }
    }
    fn is_admin(&self) -> bool {
        match self {
            Actor::User(u) => u.is_admin && !u.disabled,
            Actor::Operator => true,
        }
    }
}

/// A team by name, or a 404 that says how to make it.
pub async fn find<S: Stores>(app: &App<S>, name: &str) -> Result<Team, AppError> {
    validate_team_name(name)?;
    app.store.db().team_by_name(name).await?.ok_or_else(|| {
        AppError::NotFound(format!(
            "team `{name}` does not exist; an administrator can create it"
        ))
    })
}

/// Creates a team (administrators).
pub async fn create<S: Stores>(
    app: &App<S>,
    who: Actor<'_>,
    name: &str,
    now: i64,
) -> Result<Team, AppError> {
    if !who.is_admin() {
        return Err(AppError::Forbidden(
            "only administrators can create teams".into(),
        ));
    }
    validate_team_name(name)?;
    app.store
        .db()
        .create_team(name, who.id(), now)
        .await?
        .ok_or_else(|| AppError::Conflict(format!("team `{name}` already exists")))
}

/// Whether `who` may change the team's members: an administrator, or a
/// maintainer of the team.
async fn may_manage<S: Stores>(
    app: &App<S>,
    who: Actor<'_>,
    team: &Team,
) -> Result<bool, AppError> {
    if who.is_admin() {
        return Ok(true);
    }
    let Actor::User(u) = who else {
        return Ok(false);
    };
    Ok(app
        .store
        .db()
        .team_members(team.id)
        .await?
        .iter()
        .any(|m| m.user.id == u.id && m.maintainer))
}

/// The team `who` wants to change the members of, when they may.
async fn managed_team<S: Stores>(
    app: &App<S>,
    who: Actor<'_>,
    team: &str,
) -> Result<Team, AppError> {
    let t = find(app, team).await?;
    if may_manage(app, who, &t).await? {
        Ok(t)
    } else {
        Err(AppError::Forbidden(format!(
            "only administrators and maintainers of team `{}` can change its members",
            t.name
        )))
    }
}

/// A user by login, or the 404 that says so.
pub(crate) async fn user_named<S: Stores>(app: &App<S>, login: &str) -> Result<User, AppError> {
    app.store.db().user_by_login(login).await?.ok_or_else(|| {
        AppError::NotFound(format!(
            "could not find a user with login `{}`",
            printable(login)
        ))
    })
}

/// Adds a member (or changes whether they maintain the team).
pub async fn add_member<S: Stores>(
    app: &App<S>,
    who: Actor<'_>,
    team: &str,
    login: &str,
    maintainer: bool,
    now: i64,
) -> Result<(), AppError> {
    let t = managed_team(app, who, team).await?;
    let u = user_named(app, login).await?;
    app.store
        .db()
        .put_member(t.id, u.id, maintainer, MemberSource::Manual, who.id(), now)
        .await?;
    Ok(())
}

/// Removes a member.
pub async fn remove_member<S: Stores>(
    app: &App<S>,
    who: Actor<'_>,
    team: &str,
    login: &str,
    now: i64,
) -> Result<(), AppError> {
    let t = managed_team(app, who, team).await?;
    let u = user_named(app, login).await?;
    if !app
        .store
        .db()
        .remove_member(t.id, u.id, who.id(), now)
        .await?
    {
        return Err(AppError::NotFound(format!(
            "`{}` is not a member of team `{}`",
            u.login, t.name
        )));
    }
    Ok(())
}

/// Every team and its number of members.
pub async fn list<S: Stores>(app: &App<S>) -> Result<Vec<(Team, i64)>, AppError> {
    Ok(app.store.db().list_teams().await?)
}

/// A team's members.
pub async fn members<S: Stores>(app: &App<S>, team: &str) -> Result<Vec<TeamMember>, AppError> {
    let t = find(app, team).await?;
    Ok(app.store.db().team_members(t.id).await?)
}
