//! Talking to the identity provider: its discovery document and key set,
//! kept in the isolate (the key set fetched again when a token names an
//! unknown `kid`, so a key rotation needs no restart, but at most every 30
//! seconds, so forged `kid`s cannot make the Worker hammer the provider),
//! the token endpoint, which turns the callback's code into an ID token
//! with the attempt's PKCE verifier, and the userinfo endpoint, whose
//! claims fill in what the ID token left out.

use std::cell::RefCell;

use serde::Deserialize;

use super::{Refusal, SsoError, merge_userinfo, sign_in, take_attempt, verify_id_token};
use crate::auth::jwt::{Jwks, JwtError};
use crate::auth::oidc::{Discovery, OidcSettings, discovery_url, redirect_uri};
use crate::error::AppError;
use crate::service::accounts::NewSession;
use crate::service::fetch::Fetch as _;
use crate::service::{App, Stores};

/// How long a discovery document and a key set are used.
pub const TTL_SECS: i64 = 3600;

/// The shortest time between two fetches of the key set (the cool-down
/// common JWKS clients use).
pub const REFETCH_SECS: i64 = 30;

/// The provider's documents, as this isolate last fetched them.
#[derive(Default)]
pub struct ProviderCache {
    discovery: RefCell<Option<(Discovery, i64)>>,
    keys: KeyCache,
    /// Cloudflare Access's certs (its own issuer).
    pub(super) access_keys: KeyCache,
}

/// One issuer's key set and when it was fetched.
pub(super) type KeyCache = RefCell<Option<(Jwks, i64)>>;

fn unavailable(what: &str, why: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("identity provider: {what}: {why}"))
}

async fn get_json<S: Stores>(
    app: &App<S>,
    url: &str,
    bearer: Option<&str>,
    what: &str,
) -> Result<Vec<u8>, AppError> {
    let r = app
        .store
        .fetch()
        .get(url, bearer)
        .await
        .map_err(|e| unavailable(what, e))?;
    if r.status != 200 {
        return Err(unavailable(what, format!("{url} answered {}", r.status)));
    }
    Ok(r.body)
}

/// The discovery document, checked against the issuer.
pub async fn discovery<S: Stores>(
    app: &App<S>,
    s: &OidcSettings,
    now: i64,
) -> Result<Discovery, AppError> {
    let cache = &app.provider;
    if let Some((d, at)) = cache.discovery.borrow().as_ref()
        && now - at < TTL_SECS
    {
        return Ok(d.clone());
    }
    let body = get_json(app, &discovery_url(&s.issuer), None, "discovery").await?;
    let d = Discovery::parse(&body, &s.issuer).map_err(|e| unavailable("discovery", e))?;
    *cache.discovery.borrow_mut() = Some((d.clone(), now));
    Ok(d)
}

/// The provider's key set; `fresh` fetches it again unless that was done
/// within `REFETCH_SECS`. Gives whether it was fetched now.
pub async fn keys<S: Stores>(
    app: &App<S>,
    d: &Discovery,
    now: i64,
    fresh: bool,
) -> Result<(Jwks, bool), AppError> {
    key_set(app, &app.provider.keys, &d.jwks_uri, now, fresh).await
}

/// A key set from `url`, kept in `cache` (see [`keys`]).
pub(super) async fn key_set<S: Stores>(
    app: &App<S>,
    cache: &KeyCache,
    url: &str,
    now: i64,
    fresh: bool,
) -> Result<(Jwks, bool), AppError> {
    if let Some((k, at)) = cache.borrow().as_ref() {
        let age = now - at;
        if age < TTL_SECS && (!fresh || age < REFETCH_SECS) {
            return Ok((k.clone(), false));
        }
    }
    let body = get_json(app, url, None, "key set").await?;
    let k = Jwks::parse(&body).map_err(|e| unavailable("key set", e))?;
    *cache.borrow_mut() = Some((k.clone(), now));
    Ok((k, true))
}

#[derive(Deserialize)]
struct TokenReply {
    id_token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

/// What the token endpoint gave: the ID token, and the access token for
/// the userinfo endpoint.
pub struct Tokens {
    pub id_token: String,
    pub access_token: Option<String>,
}

/// Exchanges the code for the ID token (confidential clients send their
/// secret with HTTP Basic, public ones only the verifier).
pub async fn exchange<S: Stores>(
    app: &App<S>,
    s: &OidcSettings,
    d: &Discovery,
    code: &str,
    verifier: &str,
    redirect: &str,
) -> Result<Tokens, SsoError> {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect),
        ("code_verifier", verifier),
    ];
    if s.client_secret.is_none() {
        form.push(("client_id", &s.client_id));
    }
    let basic = s
        .client_secret
        .as_deref()
        .map(|secret| (s.client_id.as_str(), secret));
    let r = app
        .store
        .fetch()
        .post_form(&d.token_endpoint, &form, basic)
        .await
        .map_err(|e| unavailable("token endpoint", e))?;
    if r.status != 200 {
        // The provider refused the code (used, expired, or not ours): the
        // person starts again; the operator sees the provider's answer.
        crate::error::log(&format!(
            "single sign-on: the token endpoint answered {}: {}",
            r.status,
            String::from_utf8_lossy(r.body.get(..r.body.len().min(300)).unwrap_or_default())
        ));
        return Err(SsoError::Refused(Refusal::Attempt));
    }
    let reply: TokenReply = serde_json::from_slice(&r.body)
        .map_err(|e| unavailable("token endpoint", format!("not a token reply: {e}")))?;
    let id_token = reply
        .id_token
        .ok_or_else(|| SsoError::App(unavailable("token endpoint", "the reply has no id_token")))?;
    Ok(Tokens {
        id_token,
        access_token: reply.access_token,
    })
}

/// The whole callback: the attempt its state names (once), the code
/// exchanged, the ID token verified (the key set fetched again once on an
/// unknown `kid`), the account signed in. Gives the session and where to
/// go next.
pub async fn finish<S: Stores>(
    app: &App<S>,
    s: &OidcSettings,
    origin: &str,
    code: &str,
    state: &str,
    now: i64,
) -> Result<(NewSession, Option<String>), SsoError> {
    // Checked before the attempt is used up, so a malformed callback
    // leaves it for the real one.
    if code.is_empty() || code.len() > 4096 {
        return Err(SsoError::Refused(Refusal::Attempt));
    }
    let attempt = take_attempt(app, state, now).await?;
    let d = discovery(app, s, now).await?;
    let tokens = exchange(app, s, &d, code, &attempt.verifier, &redirect_uri(origin)).await?;
    let id_token = &tokens.id_token;
    let (k, fetched) = keys(app, &d, now, false).await?;
    let mut verified = match verify_id_token(app, s, id_token, &k, &attempt, now).await {
        Err(SsoError::Refused(Refusal::Token(JwtError::UnknownKey(_)))) if !fetched => {
            let (k, _) = keys(app, &d, now, true).await?;
            verify_id_token(app, s, id_token, &k, &attempt, now).await?
        }
        other => other?,
    };
    if let (Some(url), Some(at)) = (&d.userinfo_endpoint, &tokens.access_token) {
        let body = get_json(app, url, Some(at), "userinfo").await?;
        merge_userinfo(&mut verified, &s.groups_claim, &body).map_err(SsoError::Refused)?;
    }
    let session = sign_in(app, s, &verified, now).await?;
    Ok((session, attempt.return_to))
}
