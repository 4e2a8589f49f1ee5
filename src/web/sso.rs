//! The single sign-on routes: `GET /auth/oidc/start?next=<path>` sends
//! the browser to the identity provider, `GET /auth/oidc/callback` takes
//! it back, signs the person in and goes on to `next` (same-origin only).
//! The attempt's state is also kept in a short-lived cookie, so a callback
//! only signs in the browser that started it (no login CSRF). A refusal
//! goes back to the sign-in page with a reason code, never free text.
//! `GET /auth/oidc/logout` goes on to the provider's own sign-out page
//! after the local session has ended (RP-initiated logout).

use http::header::{self, HeaderValue};
use http::{Method, Request};
use url::Url;

use super::respond::{Resp, redirect};
use super::ui::{cookie, set_cookie};
use super::{is_https, query_param};
use crate::auth::oidc::{end_session_url, post_logout_uri};
use crate::auth::password::constant_time_eq;
use crate::error::AppError;
use crate::service::sso::{self, Refusal, SsoError, provider};
use crate::service::{App, RequestCtx, Stores};

/// The routes' prefix.
pub const PREFIX: &str = "/auth/oidc/";

fn state_cookie(https: bool) -> &'static str {
    if https {
        "__Host-sso-state"
    } else {
        "sso-state"
    }
}

fn set_state_cookie(r: &mut Resp, value: &str, max_age: i64, https: bool) {
    let secure = if https { "; Secure" } else { "" };
    let c = format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        state_cookie(https)
    );
    if let Ok(v) = HeaderValue::from_str(&c) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// A path on this registry to go to after sign-in, or `None`: it must be
/// a path (not `//host` or `/\host`), and resolve to this origin.
pub fn safe_return(next: &str) -> Option<String> {
    if !next.starts_with('/')
        || next.starts_with("//")
        || next.starts_with("/\\")
        || next.chars().any(|c| c.is_control() || c == '\\')
        || next.len() > 2000
    {
        return None;
    }
    let base = Url::parse("https://registry.invalid/").ok()?;
    let u = base.join(next).ok()?;
    if u.origin() != base.origin() {
        return None;
    }
    let mut out = u.path().to_string();
    // Dot segments can leave `//host` behind (`/.//evil.example`), which a
    // browser reads as another origin.
    if out.starts_with("//") || out.starts_with("/\\") {
        return None;
    }
    if let Some(q) = u.query() {
        out.push('?');
        out.push_str(q);
    }
    Some(out)
}

/// Why the sign-in page is shown again (`?sso_error=`).
pub fn reason(r: &Refusal) -> &'static str {
    match r {
        Refusal::Attempt => "attempt",
        Refusal::Token(_) | Refusal::Userinfo => "token",
        Refusal::Domain => "domain",
        Refusal::Group => "group",
        Refusal::Disabled => "disabled",
        Refusal::NoAssertion => "access",
    }
}

fn back_to_login(code: &str, https: bool) -> Resp {
    let mut r = redirect(&format!("/login?sso_error={code}"));
    set_state_cookie(&mut r, "", 0, https);
    r
}

fn no_store(r: &mut Resp) {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// The route that signs out at the provider too, when single sign-on is
/// on and the provider's discovery document names an end-session page
/// (offered by the sign-out answer; a provider that cannot be reached now
/// is simply not offered); in Cloudflare Access mode, Access's sign-out.
pub async fn provider_sign_out<S: Stores>(app: &App<S>, now: i64) -> Option<&'static str> {
    let Some(s) = app.config.sign_in.oidc.as_ref() else {
        // Cloudflare Access signs out at the edge, on this host.
        return app
            .config
            .sign_in
            .access
            .as_ref()
            .map(|_| crate::service::sso::access::LOGOUT);
    };
    let d = provider::discovery(app, s, now).await.ok()?;
    d.end_session_endpoint.as_ref()?;
    Some("/auth/oidc/logout")
}

/// Serves `/auth/oidc/...`.
pub async fn handle<S: Stores>(
    app: &App<S>,
    ctx: &RequestCtx,
    req: &Request<Vec<u8>>,
) -> Result<Resp, AppError> {
    let Some(s) = &app.config.sign_in.oidc else {
        return Err(AppError::NotFound(
            "single sign-on is not configured on this registry (OIDC_ISSUER)".into(),
        ));
    };
    if req.method() != Method::GET {
        return Err(AppError::MethodNotAllowed);
    }
    let https = is_https(req);
    let path = req.uri().path().strip_prefix(PREFIX).unwrap_or_default();
    let mut r = match path {
        "start" => {
            let next = query_param(req, "next").and_then(|n| safe_return(&n));
            let d = provider::discovery(app, s, ctx.now).await?;
            let begun = sso::begin(app, s, &d, &ctx.base, next.as_deref(), ctx.now).await?;
            let mut r = redirect(&begun.url);
            set_state_cookie(&mut r, &begun.state, sso::ATTEMPT_SECS, https);
            r
        }
        "callback" => {
            if query_param(req, "error").is_some() {
                // The person cancelled, or the provider refused them.
                back_to_login("provider", https)
            } else {
                let state = query_param(req, "state").unwrap_or_default();
                let code = query_param(req, "code").unwrap_or_default();
                let bound = cookie(req, state_cookie(https)).is_some_and(|c| {
                    !c.is_empty() && constant_time_eq(c.as_bytes(), state.as_bytes())
                });
                if !bound {
                    crate::error::log(
                        "single sign-on refused: the callback's state is not this browser's",
                    );
                    back_to_login("attempt", https)
                } else {
                    match provider::finish(app, s, &ctx.base, &code, &state, ctx.now).await {
                        Ok((ns, next)) => {
                            let to = next.as_deref().and_then(safe_return);
                            let mut r = redirect(to.as_deref().unwrap_or("/tokens"));
                            set_cookie(
                                &mut r,
                                &ns.cookie,
                                crate::service::accounts::SESSION_SECS,
                                https,
                            );
                            set_state_cookie(&mut r, "", 0, https);
                            r
                        }
                        Err(SsoError::Refused(why)) => {
                            crate::error::log(&why.log());
                            back_to_login(reason(&why), https)
                        }
                        Err(SsoError::App(e)) => return Err(e),
                    }
                }
            }
        }
        "logout" => {
            let d = provider::discovery(app, s, ctx.now).await?;
            match end_session_url(&d, s, &post_logout_uri(&ctx.base)) {
                Some(u) => redirect(&u),
                None => redirect("/login"),
            }
        }
        _ => {
            return Err(AppError::NotFound(format!(
                "no page at {}",
                req.uri().path()
            )));
        }
    };
    no_store(&mut r);
    Ok(r)
}
