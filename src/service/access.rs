//! Who may read a crate: the one decision every read route makes, from a
//! crate's visibility (kept beside its index file, so the index GET needs
//! no query) and the principal's user and teams. Administrators read
//! everything; a restricted crate is readable by its owners (users and
//! teams) and granted readers only, and answers everyone else as if it
//! did not exist. A token's scopes and crate patterns are checked apart.

use super::{App, Stores};
use crate::auth::{Principal, Visibility};
use crate::error::AppError;
use crate::protocol::names::canonical;
use crate::protocol::version::printable;
use crate::store::{CrateRecord, CrateStore as _, TeamStore as _};

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
