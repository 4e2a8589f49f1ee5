//! Authenticating a request's token, with a short-lived per-isolate cache so
//! the hot index path needs no database query in steady state.

use std::cell::RefCell;
use std::collections::HashMap;

use crate::auth::Principal;
use crate::auth::token::{Credential, hash_token, parse_authorization};
use crate::protocol::time::format_utc;
use crate::store::{StoreError, TeamStore, TokenRecord, TokenStore, User};

/// Why a request is not authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No `Authorization` header.
    Missing,
    /// A header that is not a valid, live token; the text says why.
    Invalid(String),
    /// The database failed.
    Store(StoreError),
}

/// Most entries kept; the cache is cleared when full.
const MAX_ENTRIES: usize = 4096;

/// A cached principal, when it was checked, and when its token expires.
type Entry = (Principal, i64, Option<i64>);

/// Validated tokens, keyed by hash, with the time each was checked.
#[derive(Default)]
pub struct TokenCache {
    entries: RefCell<HashMap<String, Entry>>,
}

impl TokenCache {
    pub fn new() -> Self {
        Self::default()
    }

    fn get(&self, hash: &str, now: i64, ttl: i64) -> Option<Principal> {
        let entries = self.entries.borrow();
        let (p, at, expires) = entries.get(hash)?;
        let fresh = now - *at < ttl && now >= *at && expires.is_none_or(|e| now < e);
        fresh.then(|| p.clone())
    }

    fn put(&self, hash: String, p: Principal, now: i64, expires: Option<i64>) {
        let mut entries = self.entries.borrow_mut();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(hash, (p, now, expires));
    }

    /// Forgets every cached token (after a revocation in this isolate).
    pub fn clear(&self) {
        self.entries.borrow_mut().clear();
    }
}

/// Checks a stored token and its user, giving the principal or why not.
pub fn principal_of(t: &TokenRecord, u: &User, now: i64) -> Result<Principal, String> {
    if t.revoked_at.is_some() {
        return Err(format!(
            "this token (`{}`) was revoked; create a new one and run `cargo login` again",
            t.name
        ));
    }
    if let Some(e) = t.expires_at
        && now >= e
    {
        return Err(format!(
            "this token (`{}`) expired at {}; create a new one and run `cargo login` again",
            t.name,
            format_utc(e)
        ));
    }
    if u.disabled {
        return Err(format!(
            "the account `{}` that owns this token is disabled; ask an administrator",
            u.login
        ));
    }
    Ok(Principal {
        user_id: u.id,
        login: u.login.clone(),
        is_admin: u.is_admin,
        via: crate::auth::Via::Token(t.id),
        scopes: t.scopes,
        patterns: t.patterns.clone().into(),
        teams: Vec::new().into(),
    })
}

/// Authenticates the `Authorization` header value: on a cache miss, the
/// token and its user, then the user's teams.
pub async fn authenticate<S: TokenStore + TeamStore>(
    store: &S,
    cache: &TokenCache,
    ttl: i64,
    header: Option<&[u8]>,
    now: i64,
) -> Result<Principal, AuthError> {
    let token = match parse_authorization(header) {
        Credential::Missing => return Err(AuthError::Missing),
        Credential::Malformed => {
            return Err(AuthError::Invalid(
                "the Authorization header does not hold a token; send `<token>` or `Bearer <token>`"
                    .into(),
            ));
        }
        Credential::Token(t) => t,
    };
    let hash = hash_token(token);
    if let Some(p) = cache.get(&hash, now, ttl) {
        return Ok(p);
    }
    let Some((t, u)) = store.token_by_hash(&hash).await.map_err(AuthError::Store)? else {
        return Err(AuthError::Invalid(
            "this token is not valid for this registry; create one and run `cargo login` again"
                .into(),
        ));
    };
    let teams = store.user_team_ids(u.id).await.map_err(AuthError::Store)?;
    let p = principal_of(&t, &u, now)
        .map_err(AuthError::Invalid)?
        .with_teams(teams);
    store
        .touch_token(t.id, now)
        .await
        .map_err(AuthError::Store)?;
    cache.put(hash, p.clone(), now, t.expires_at);
    Ok(p)
}
