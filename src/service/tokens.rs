//! Users and tokens: creating users, issuing tokens (shown once, stored
//! hashed), listing and revoking them.

use crate::auth::Scopes;
use crate::auth::scopes::parse_patterns;
use crate::auth::token::{hash_token, new_token, token_hint};
use crate::error::AppError;
use crate::store::{NewToken, TokenRecord, TokenStore, User, UserStore};

/// Logins: 1 to 39 ASCII letters, digits, `-` or `_`, starting with a
/// letter or digit.
pub fn validate_login(login: &str) -> Result<(), AppError> {
    let ok = !login.is_empty()
        && login.len() <= 39
        && login
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && login
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric());
    if ok {
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
    pub expires_at: Option<i64>,
}

/// Issues a token for a user; returns the secret (to show once) and the
/// stored record.
pub async fn issue<S: TokenStore>(
    store: &S,
    user: &User,
    req: &TokenRequest<'_>,
    random: &[u8; 20],
    now: i64,
) -> Result<(String, TokenRecord), AppError> {
    if req.name.trim().is_empty() || req.name.len() > 100 {
        return Err(AppError::BadRequest(
            "a token needs a name of 1 to 100 characters".into(),
        ));
    }
    let patterns = parse_patterns(req.patterns).map_err(AppError::BadRequest)?;
    if req.expires_at.is_some_and(|e| e <= now) {
        return Err(AppError::BadRequest(
            "the expiry must be in the future".into(),
        ));
    }
    let token = new_token(random);
    let rec = store
        .create_token(&NewToken {
            user_id: user.id,
            name: req.name.trim().to_string(),
            hash: hash_token(&token),
            hint: token_hint(&token),
            scopes: req.scopes.to_list_string(),
            patterns: patterns
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(","),
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
