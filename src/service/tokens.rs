//! Users and tokens: creating users, issuing tokens (shown once, stored
//! hashed), listing and revoking them. The one home of the token rules
//! (name, scopes, crate patterns, expiry, who may revoke) that the web API
//! and `scripts/admin` both call.

use crate::auth::CratePattern;
use crate::auth::Scopes;
use crate::auth::scopes::parse_patterns;
use crate::auth::token::{hash_token, new_token, token_hint};
use crate::error::AppError;
use crate::store::{NewToken, TokenRecord, TokenStore, User, UserStore};

/// The shape of a login or a team name: 1 to 39 letters, digits, `-` or
/// `_`, starting with a letter or digit.
pub fn is_handle(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 39
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
}

/// Logins: 1 to 39 ASCII letters, digits, `-` or `_`, starting with a
/// letter or digit.
pub fn validate_login(login: &str) -> Result<(), AppError> {
    if is_handle(login) {
        Ok(())
    } else {
        Err(AppError::BadRequest(format!(
            "invalid login `{}`: use 1 to 39 letters, digits, `-` or `_`",
            crate::protocol::version::printable(login)
        )))
    }
}

/// What to issue.
pub struct TokenRequest<'a> {
    pub name: &'a str,
    pub scopes: Scopes,
    pub patterns: &'a str,
    /// When it stops working: in the future, at most `MAX_EXPIRY_DAYS`
    /// from now (`expiry_in_days` makes one from a number of days).
    pub expires_at: Option<i64>,
}

/// The longest a token may be valid.
pub const MAX_EXPIRY_DAYS: i64 = 3650;

fn expiry_error() -> AppError {
    AppError::BadRequest(format!("the expiry must be 1 to {MAX_EXPIRY_DAYS} days"))
}

/// The expiry time of a token valid for `days` days from `now`.
pub fn expiry_in_days(days: Option<i64>, now: i64) -> Result<Option<i64>, AppError> {
    match days {
        None => Ok(None),
        Some(d) if (1..=MAX_EXPIRY_DAYS).contains(&d) => Ok(Some(now + d * 86_400)),
        Some(_) => Err(expiry_error()),
    }
}

/// A token's state as lists show it: `revoked`, `expired` or `active`.
pub fn status(t: &TokenRecord, now: i64) -> &'static str {
    if t.revoked_at.is_some() {
        "revoked"
    } else if t.expires_at.is_some_and(|e| e <= now) {
        "expired"
    } else {
        "active"
    }
}

/// Who revokes a token.
pub enum Revoker<'a> {
    /// A user: their own tokens, or any when they are an administrator.
    User(&'a User),
    /// The operator (`scripts/admin`, holding the admin token): any.
    Operator,
}

/// Revokes a token, if `who` may; a token they may not revoke is
/// answered as not found. Revoking a revoked token changes nothing and
/// succeeds (a retry after a lost reply). Gives the token as it was.
pub async fn revoke<S: TokenStore>(
    store: &S,
    who: Revoker<'_>,
    id: i64,
    now: i64,
) -> Result<TokenRecord, AppError> {
    let not_found = || AppError::NotFound("no such token".into());
    let t = store.token_by_id(id).await?.ok_or_else(not_found)?;
    let allowed = match who {
        Revoker::User(u) => t.user_id == u.id || u.is_admin,
        Revoker::Operator => true,
    };
    if !allowed {
        return Err(not_found());
    }
    store.revoke_token(id, now).await?;
    Ok(t)
}

/// Checks what would be issued (name, crate patterns, expiry); gives the
/// parsed patterns.
pub fn check(req: &TokenRequest<'_>, now: i64) -> Result<Vec<CratePattern>, AppError> {
    if req.name.trim().is_empty() || req.name.len() > 100 {
        return Err(AppError::BadRequest(
            "a token needs a name of 1 to 100 characters".into(),
        ));
    }
    let patterns = parse_patterns(req.patterns).map_err(|e| AppError::BadRequest(e.to_string()))?;
    if req
        .expires_at
        .is_some_and(|e| e <= now || e > now + MAX_EXPIRY_DAYS * 86_400)
    {
        return Err(expiry_error());
    }
    Ok(patterns)
}

/// Issues a token for a user; returns the secret (to show once) and the
/// stored record.
pub async fn issue<S: TokenStore>(
    store: &S,
    user: &User,
    req: &TokenRequest<'_>,
    now: i64,
) -> Result<(String, TokenRecord), AppError> {
    let patterns = check(req, now)?;
    let token = new_token(&super::random::<20>()?);
    let rec = store
        .create_token(&NewToken {
            user_id: user.id,
            name: req.name.trim().to_string(),
            hash: hash_token(&token),
            hint: token_hint(&token),
            scopes: req.scopes,
            patterns,
            expires_at: req.expires_at,
            created_at: now,
        })
        .await?;
    Ok((token, rec))
}

/// Finds a user, creating it when missing.
pub async fn ensure_user<S: UserStore>(
    store: &S,
    login: &str,
    admin: bool,
    now: i64,
) -> Result<User, AppError> {
    validate_login(login)?;
    if let Some(u) = store.user_by_login(login).await? {
        return Ok(u);
    }
    match store.create_user(login, admin, now).await? {
        Some(u) => Ok(u),
        None => store
            .user_by_login(login)
            .await?
            .ok_or_else(|| AppError::Internal("user vanished after creation".into())),
    }
}
