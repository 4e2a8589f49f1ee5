//! Cloudflare Access mode: a request that came through Access carries
//! `Cf-Access-Jwt-Assertion`, a token Access signed (RS256) for the
//! application's audience. It is verified against the team's certs (kept
//! in the isolate, fetched again on an unknown `kid` like the OpenID
//! provider's keys) and signs the person in through the same accounts as
//! OpenID Connect: found by the team's issuer and Access's subject, or
//! created just in time. Access's own policy decides who gets through;
//! the session ends no later than the assertion does.

use super::provider::key_set;
use super::{Refusal, SKEW, SsoError, account, open_session};
use crate::auth::jwt::{self, Alg, Expect, JwtError};
use crate::auth::oidc::AccessSettings;
use crate::service::accounts::NewSession;
use crate::service::{App, Stores};

/// The request header Access adds.
pub const HEADER: &str = "cf-access-jwt-assertion";

/// Access's sign-out page, served by Cloudflare's edge on the
/// application's own host.
pub const LOGOUT: &str = "/cdn-cgi/access/logout";

/// Signs in the person Access vouches for. A missing assertion, and any
/// assertion that does not verify (signature, `iss`, `aud`, expiry, an
/// algorithm other than RS256), signs nobody in.
pub async fn sign_in<S: Stores>(
    app: &App<S>,
    a: &AccessSettings,
    assertion: Option<&str>,
    now: i64,
) -> Result<NewSession, SsoError> {
    let refused = |r| SsoError::Refused(r);
    let Some(assertion) = assertion.map(str::trim).filter(|v| !v.is_empty()) else {
        return Err(refused(Refusal::NoAssertion));
    };
    let token = jwt::decode(assertion).map_err(|e| refused(Refusal::Token(e)))?;
    if token.alg != Alg::Rs256 {
        return Err(refused(Refusal::Token(JwtError::Malformed(
            "Cloudflare Access signs with RS256 only",
        ))));
    }
    let expect = Expect {
        issuer: &a.issuer,
        audience: &a.aud,
        nonce: None,
        now,
        skew: SKEW,
    };
    let cache = &app.provider.access_keys;
    let (keys, fetched) = key_set(app, cache, &a.certs_url, now, false).await?;
    let verified = match jwt::verify(app.store.jws(), &token, &keys, &expect).await {
        Err(JwtError::UnknownKey(_)) if !fetched => {
            let (keys, _) = key_set(app, cache, &a.certs_url, now, true).await?;
            jwt::verify(app.store.jws(), &token, &keys, &expect).await
        }
        other => other,
    }
    .map_err(|e| refused(Refusal::Token(e)))?;
    let exp = verified
        .claims
        .get("exp")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(now);
    let user = account(app, None, &verified, now).await?;
    // At least the clock skew, so an assertion accepted within it still
    // gives a usable session.
    open_session(app, &user, now, Some(exp.max(now + SKEW))).await
}
