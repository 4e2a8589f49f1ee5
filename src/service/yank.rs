//! Yanking and unyanking a version: only the `yanked` flag changes, and
//! the index file is re-rendered whole.

use super::index::sync_crate;
use super::{App, Stores};
use crate::auth::{Principal, Scope};
use crate::error::AppError;
use crate::protocol::version::{parse_version, printable};
use crate::store::CrateStore as _;
use crate::store::{CrateRecord, VersionRecord};

/// Finds a crate by any spelling and one of its versions, with 404s that
/// say what is missing.
pub async fn find_version<S: Stores>(
    app: &App<S>,
    who: &Principal,
    name: &str,
    version: &str,
) -> Result<(CrateRecord, VersionRecord), AppError> {
    let c = super::access::readable_crate(app, who, name).await?;
    let missing = || {
        AppError::NotFound(format!(
            "crate `{}` has no version `{}`",
            c.name,
            printable(version)
        ))
    };
    let v = parse_version(version).map_err(|_| missing())?;
    let found = app
        .store
        .db()
        .version(c.id, &v.no_build)
        .await?
        .ok_or_else(missing)?;
    // `1.0.0` names `1.0.0+build`; `1.0.0+other` does not.
    if v.text != v.no_build && found.num != v.text {
        return Err(missing());
    }
    Ok((c, found))
}

/// Requires that `who` owns the crate (or is an admin).
pub async fn require_owner<S: Stores>(
    app: &App<S>,
    who: &Principal,
    c: &CrateRecord,
) -> Result<(), AppError> {
    if who.is_admin || app.store.db().is_owner(c.id, who.user_id).await? {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "you are not an owner of crate `{}`; only its owners can do this",
            c.name
        )))
    }
}

/// Sets a version's `yanked` flag.
pub async fn set_yanked<S: Stores>(
    app: &App<S>,
    who: &Principal,
    name: &str,
    version: &str,
    yanked: bool,
    now: i64,
) -> Result<(), AppError> {
    who.require(Scope::Yank, Some(name))?;
    let (c, v) = find_version(app, who, name, version).await?;
    require_owner(app, who, &c).await?;
    let changed = app
        .store
        .db()
        .set_yanked(v.id, yanked, who.user_id, now)
        .await?;
    if changed || c.rev != c.indexed_rev {
        sync_crate(&app.store, c.id).await?;
    }
    Ok(())
}
