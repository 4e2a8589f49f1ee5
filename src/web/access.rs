//! Cloudflare Access mode's route: `GET /auth/access?next=<path>` signs
//! in the person the request's `Cf-Access-Jwt-Assertion` names and goes
//! on to `next` (same-origin only); the private pages send signed-out
//! visitors here when the request carries an assertion, so someone Access
//! let through never sees a second sign-in. A missing or invalid
//! assertion opens no session and goes back to the sign-in page with a
//! reason code.

use http::header::{self, HeaderValue};
use http::{Method, Request};

use super::respond::{Resp, redirect};
use super::sso::{reason, safe_return};
use super::ui::set_cookie;
use super::{is_https, query_param};
use crate::error::AppError;
use crate::service::sso::{SsoError, access};
use crate::service::{App, RequestCtx, Stores};

/// The route.
pub const PATH: &str = "/auth/access";

/// The request's assertion, if it has one.
pub fn assertion(req: &Request<Vec<u8>>) -> Option<&str> {
    req.headers()
        .get(access::HEADER)
        .and_then(|v| v.to_str().ok())
}

/// Serves `/auth/access`.
pub async fn handle<S: Stores>(
    app: &App<S>,
    ctx: &RequestCtx,
    req: &Request<Vec<u8>>,
) -> Result<Resp, AppError> {
    let Some(a) = &app.config.sign_in.access else {
        return Err(AppError::NotFound(
            "Cloudflare Access mode is not configured on this registry (ACCESS_TEAM_DOMAIN and ACCESS_AUD)".into(),
        ));
    };
    if req.method() != Method::GET {
        return Err(AppError::MethodNotAllowed);
    }
    let https = is_https(req);
    let mut r = match access::sign_in(app, a, assertion(req), ctx.now).await {
        Ok(ns) => {
            let next = query_param(req, "next").and_then(|n| safe_return(&n));
            let mut r = redirect(next.as_deref().unwrap_or("/tokens"));
            set_cookie(&mut r, &ns.cookie, ns.record.expires_at - ctx.now, https);
            r
        }
        Err(SsoError::Refused(why)) => {
            crate::error::log(&format!("Cloudflare Access: {}", why.log()));
            redirect(&format!("/login?sso_error={}", reason(&why)))
        }
        Err(SsoError::App(e)) => return Err(e),
    };
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}
