//! Crate owners: list, add and remove. A crate never loses its last owner.

use serde::{Deserialize, Serialize};

use super::yank::require_owner;
use super::{App, Stores};
use crate::auth::{Principal, Scope};
use crate::error::AppError;
use crate::protocol::version::printable;
use crate::store::{CrateRecord, RemoveOutcome, User};
use crate::store::{CrateStore as _, UserStore as _};

/// Most logins in one request, as on crates.io.
pub const MAX_LOGINS: usize = 10;

/// One owner in cargo's shape.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct OwnerJson {
    pub id: u32,
    pub login: String,
    pub name: Option<String>,
}

/// The owners request body; crates.io also accepts `owners`.
#[derive(Debug, Deserialize)]
pub struct OwnersBody {
    #[serde(default)]
    users: Option<Vec<String>>,
    #[serde(default)]
    owners: Option<Vec<String>>,
}

/// The crate, when `who` may read it (else: as if it did not exist).
async fn find_crate<S: Stores>(
    app: &App<S>,
    who: &Principal,
    name: &str,
) -> Result<CrateRecord, AppError> {
    super::access::readable_crate(app, who, name).await
}

fn owner_json(u: &User) -> OwnerJson {
    OwnerJson {
        id: u32::try_from(u.id).unwrap_or(u32::MAX),
        login: u.login.clone(),
        name: u.name.clone(),
    }
}

/// Lists a crate's owners.
pub async fn list<S: Stores>(
    app: &App<S>,
    who: &Principal,
    name: &str,
) -> Result<Vec<OwnerJson>, AppError> {
    who.require(Scope::Read, Some(name))?;
    let c = find_crate(app, who, name).await?;
    Ok(app
        .store
        .db()
        .owners(c.id)
        .await?
        .iter()
        .map(owner_json)
        .collect())
}

fn parse_logins(body: &[u8]) -> Result<Vec<String>, AppError> {
    let b: OwnersBody = serde_json::from_slice(body).map_err(|e| {
        AppError::BadRequest(format!(
            "invalid owners request: {e}; send {{\"users\":[\"login\"]}}"
        ))
    })?;
    let logins = b.users.or(b.owners).unwrap_or_default();
    if logins.is_empty() {
        return Err(AppError::BadRequest(
            "no logins given; send {\"users\":[\"login\"]}".into(),
        ));
    }
    if logins.len() > MAX_LOGINS {
        return Err(AppError::BadRequest(format!(
            "too many logins in one request: at most {MAX_LOGINS}"
        )));
    }
    Ok(logins)
}

async fn resolve_users<S: Stores>(app: &App<S>, logins: &[String]) -> Result<Vec<User>, AppError> {
    let users = app.store.db().users_by_logins(logins).await?;
    for l in logins {
        if !users.iter().any(|u| u.login.eq_ignore_ascii_case(l)) {
            return Err(AppError::NotFound(format!(
                "could not find a user with login `{}`; an administrator can create it",
                printable(l)
            )));
        }
    }
    Ok(users)
}

/// What an owner change needs: the `change-owners` scope for the crate,
/// an owner (or administrator) asking, and the users the body names.
async fn change_request<S: Stores>(
    app: &App<S>,
    who: &Principal,
    name: &str,
    body: &[u8],
) -> Result<(CrateRecord, Vec<User>), AppError> {
    who.require(Scope::ChangeOwners, Some(name))?;
    let c = find_crate(app, who, name).await?;
    require_owner(app, who, &c).await?;
    let logins = parse_logins(body)?;
    let users = resolve_users(app, &logins).await?;
    Ok((c, users))
}

/// Adds owners; returns cargo's `msg`.
pub async fn add<S: Stores>(
    app: &App<S>,
    who: &Principal,
    name: &str,
    body: &[u8],
    now: i64,
) -> Result<String, AppError> {
    let (c, users) = change_request(app, who, name, body).await?;
    if let Some(u) = users.iter().find(|u| u.disabled) {
        return Err(AppError::BadRequest(format!(
            "user `{}` is disabled and cannot own crates",
            u.login
        )));
    }
    let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
    app.store
        .db()
        .add_owners(c.id, &ids, who.user_id, now)
        .await?;
    // Owners read a restricted crate: its index file names them.
    super::index::sync_crate(&app.store, c.id).await?;
    let names: Vec<String> = users.iter().map(|u| format!("`{}`", u.login)).collect();
    Ok(format!(
        "user {} has been added as an owner of crate `{}`",
        names.join(", "),
        c.name
    ))
}

/// Removes owners; returns cargo's `msg`.
pub async fn remove<S: Stores>(
    app: &App<S>,
    who: &Principal,
    name: &str,
    body: &[u8],
    now: i64,
) -> Result<String, AppError> {
    let (c, users) = change_request(app, who, name, body).await?;
    let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
    match app
        .store
        .db()
        .remove_owners(c.id, &ids, who.user_id, now)
        .await?
    {
        RemoveOutcome::Removed(_) => {
            super::index::sync_crate(&app.store, c.id).await?;
            Ok("owners successfully removed".into())
        }
        RemoveOutcome::WouldOrphan => Err(AppError::BadRequest(format!(
            "cannot remove every owner of crate `{}`; add another owner first",
            c.name
        ))),
    }
}
