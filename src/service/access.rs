//! Who may read a crate: the one decision every read route makes, from a
//! crate's visibility (kept beside its index file, so the index GET needs
//! no query) and the principal's user and teams. Administrators read
//! everything; a restricted crate is readable by its owners (users and
//! teams) and granted readers only, and answers everyone else as if it
//! did not exist. A token's scopes and crate patterns are checked apart.

use super::teams::{self, Actor};
use super::{App, Stores};
use crate::auth::{Principal, Visibility};
use crate::error::AppError;
use crate::protocol::names::canonical;
use crate::protocol::version::printable;
use crate::store::{CrateRecord, CrateStore as _, ReaderRef, TeamStore as _};

/// What every read route answers for a crate that does not exist, or that
/// the caller may not read.
pub fn no_such_crate(name: &str) -> AppError {
    AppError::NotFound(format!("crate `{}` does not exist", printable(name)))
}

/// Whether `p` may read the crate `name`, whose stored visibility is `v`;
/// a visibility with too many readers to store is looked up.
pub async fn may_read<S: Stores>(
    app: &App<S>,
    p: &Principal,
    name: &str,
    v: &Visibility,
) -> Result<bool, AppError> {
    if !matches!(v, Visibility::RestrictedLarge) || p.is_admin {
        return Ok(p.may_see(v));
    }
    let db = app.store.db();
    let Some(c) = db.crate_by_canon(&canonical(name)).await? else {
        return Ok(false);
    };
    Ok(db
        .crate_visibility(c.id)
        .await?
        .is_some_and(|full| p.may_see(&full)))
}

/// The crate `name`, when `p` may read it (one database query, with the
/// user's current teams: for the API routes and pages); otherwise
/// [`no_such_crate`], whether it exists or not.
pub async fn readable_crate<S: Stores>(
    app: &App<S>,
    p: &Principal,
    name: &str,
) -> Result<CrateRecord, AppError> {
    app.store
        .db()
        .readable_crate(&canonical(name), p.viewer())
        .await?
        .ok_or_else(|| no_such_crate(name))
}

/// Whether `p` may read the crate `name`, from its index file (one KV
/// read, for downloads); false when there is no such crate.
pub async fn may_read_by_index<S: Stores>(
    app: &App<S>,
    p: &Principal,
    name: &str,
) -> Result<bool, AppError> {
    let lower = name.to_ascii_lowercase();
    match super::index::read_file(&app.store, &lower).await? {
        Some(f) => may_read(app, p, &lower, &f.visibility).await,
        // Not under this spelling: the database knows the crate's own.
        None => Ok(readable_crate(app, p, name).await.is_ok()),
    }
}

/// The crate whose access `who` wants to change: administrators (and the
/// operator's command line) may change any, its user owners theirs; to
/// anyone else it does not exist.
async fn managed_crate<S: Stores>(
    app: &App<S>,
    who: Actor<'_>,
    name: &str,
) -> Result<CrateRecord, AppError> {
    let db = app.store.db();
    match who {
        Actor::Operator => db
            .crate_by_canon(&canonical(name))
            .await?
            .ok_or_else(|| no_such_crate(name)),
        Actor::User(u) => {
            let viewer = (!u.is_admin).then_some(u.id);
            let c = db
                .readable_crate(&canonical(name), viewer)
                .await?
                .ok_or_else(|| no_such_crate(name))?;
            if u.is_admin || db.is_owner(c.id, u.id).await? {
                Ok(c)
            } else {
                Err(AppError::Forbidden(format!(
                    "only owners of crate `{}` and administrators can change who may read it",
                    c.name
                )))
            }
        }
    }
}

/// Makes a crate readable by every user, or restricted to its owners and
/// granted readers; renders its index file with it. Whether it changed.
pub async fn set_visibility<S: Stores>(
    app: &App<S>,
    who: Actor<'_>,
    name: &str,
    restricted: bool,
    now: i64,
) -> Result<bool, AppError> {
    let c = managed_crate(app, who, name).await?;
    let actor = who.id();
    let changed = app
        .store
        .db()
        .set_visibility(c.id, restricted, actor, now)
        .await?;
    super::index::sync_crate(&app.store, c.id).await?;
    Ok(changed)
}

/// The user (`login`) or team (`team:NAME`) a grant names.
async fn reader<S: Stores>(app: &App<S>, who: &str) -> Result<ReaderRef, AppError> {
    if let Some(team) = teams::team_name(who) {
        return Ok(ReaderRef::Team(teams::find(app, team).await?.id));
    }
    Ok(ReaderRef::User(teams::user_named(app, who).await?.id))
}

/// Grants (or, with `grant` false, takes back) read access to a user or a
/// team; renders the crate's index file. Whether anything changed.
pub async fn set_reader<S: Stores>(
    app: &App<S>,
    who: Actor<'_>,
    name: &str,
    grantee: &str,
    grant: bool,
    now: i64,
) -> Result<bool, AppError> {
    let c = managed_crate(app, who, name).await?;
    let r = reader(app, grantee).await?;
    let actor = who.id();
    let db = app.store.db();
    let changed = if grant {
        db.grant_reader(c.id, r, actor, now).await?
    } else {
        db.revoke_reader(c.id, r, actor, now).await?
    };
    super::index::sync_crate(&app.store, c.id).await?;
    Ok(changed)
}
