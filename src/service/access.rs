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
use crate::store::{CrateStore as _, TeamStore as _};

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
