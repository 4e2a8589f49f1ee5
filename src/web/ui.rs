//! The web app's side of routing: sessions in a cookie, CSRF checks, the
//! small JSON API under `/web/api/` that the pages in `public/` call, the
//! `/me` redirect, and keeping signed-out visitors off the private pages.

use http::header::{self, HeaderValue};
use http::{Method, Request};
use serde::Deserialize;
use serde_json::json;

use super::respond::{Resp, json, redirect};
use super::{query_param as query, segment as seg};
use crate::auth::Scopes;
use crate::auth::scopes::patterns_text;
use crate::error::AppError;
use crate::protocol::time::format_utc;
use crate::service::accounts::{self, NewSession};
use crate::service::auth::TokenCache;
use crate::service::pages::{self, Page};
use crate::service::tokens::{self, TokenRequest, issue};
use crate::service::{App, RequestCtx, Stores};
use crate::store::{CrateSort, SessionRecord, TokenStore as _, User};

fn page_of(req: &Request<Vec<u8>>) -> Page {
    Page::new(
        query(req, "page").and_then(|v| v.parse().ok()),
        query(req, "per_page").and_then(|v| v.parse().ok()),
    )
}

/// Pages that need a signed-in user.
const PRIVATE_PAGES: &[&str] = &[
    "/tokens",
    "/tokens.html",
    "/users",
    "/users.html",
    "/crates",
    "/crates.html",
    "/crate",
    "/crate.html",
];

fn cookie_name(https: bool) -> &'static str {
    if https { "__Host-session" } else { "session" }
}

/// The session cookie's value, if the request has one.
fn cookie_value(req: &Request<Vec<u8>>, https: bool) -> Option<&str> {
    cookie(req, cookie_name(https))
}

/// A cookie's value, if the request has it.
pub(super) fn cookie<'a>(req: &'a Request<Vec<u8>>, name: &str) -> Option<&'a str> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

pub(super) fn set_cookie(r: &mut Resp, value: &str, max_age: i64, https: bool) {
    let secure = if https { "; Secure" } else { "" };
    let c = format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        cookie_name(https)
    );
    if let Ok(v) = HeaderValue::from_str(&c) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
}

fn no_store(r: &mut Resp) {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// What the web layer decided.
pub enum UiReply {
    Http(Resp),
    /// Serve the static page at the request's path.
    Assets,
    /// Serve this static page instead (one page for every crate URL).
    Asset(&'static str),
}

async fn current<S: Stores>(
    app: &App<S>,
    req: &Request<Vec<u8>>,
    https: bool,
    now: i64,
) -> Result<Option<(SessionRecord, User)>, AppError> {
    match cookie_value(req, https) {
        Some(c) => accounts::session(app, c, now).await,
        None => Ok(None),
    }
}

/// `/me`, and the private pages: through sign-in when signed out.
pub async fn page<S: Stores>(
    app: &App<S>,
    req: &Request<Vec<u8>>,
    https: bool,
    now: i64,
) -> Result<UiReply, AppError> {
    let path = req.uri().path();
    let is_me = path == "/me" || path == "/me/";
    let crate_page = path.starts_with("/crates/") && path.len() > "/crates/".len();
    if !is_me && !crate_page && !PRIVATE_PAGES.contains(&path) {
        return Ok(UiReply::Assets);
    }
    let signed_in = current(app, req, https, now).await?.is_some();
    let target = if is_me {
        "/tokens"
    } else {
        path.trim_end_matches(".html")
    };
    if signed_in {
        return Ok(if is_me {
            UiReply::Http(redirect(target))
        } else if crate_page {
            UiReply::Asset("/crate")
        } else {
            UiReply::Assets
        });
    }
    let next: String = form_urlencoded::byte_serialize(target.as_bytes()).collect();
    // Someone Cloudflare Access let through is signed in from its
    // assertion, without a second sign-in.
    let through = if app.config.sign_in.access.is_some() && super::access::assertion(req).is_some()
    {
        super::access::PATH
    } else {
        "/login"
    };
    Ok(UiReply::Http(redirect(&format!("{through}?next={next}"))))
}

/// The client's address as Cloudflare's edge reports it (`CF-Connecting-IP`,
/// which the edge sets and clients cannot override), for per-client limits.
fn client(req: &Request<Vec<u8>>) -> Option<&str> {
    req.headers()
        .get("cf-connecting-ip")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 64)
}

/// State-changing requests must come from our own pages: the `Origin`
/// (when sent) must be this registry, and the body JSON.
fn same_origin(req: &Request<Vec<u8>>, ctx: &RequestCtx) -> Result<(), AppError> {
    if let Some(origin) = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        && origin != ctx.base
    {
        return Err(AppError::Forbidden("cross-origin request refused".into()));
    }
    let json_body = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json_body && !req.body().is_empty() {
        return Err(AppError::BadRequest(
            "send JSON (Content-Type: application/json)".into(),
        ));
    }
    Ok(())
}

fn csrf_ok(req: &Request<Vec<u8>>, s: &SessionRecord) -> Result<(), AppError> {
    let sent = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if crate::auth::password::constant_time_eq(sent.as_bytes(), s.csrf.as_bytes()) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "missing or wrong CSRF token; reload the page".into(),
        ))
    }
}

fn body<'a, T: Deserialize<'a>>(req: &'a Request<Vec<u8>>) -> Result<T, AppError> {
    serde_json::from_slice(req.body())
        .map_err(|e| AppError::BadRequest(format!("invalid request: {e}")))
}

fn session_json(s: &SessionRecord, u: &User) -> serde_json::Value {
    json!({"login": u.login, "is_admin": u.is_admin, "csrf": s.csrf})
}

fn signed_in(ns: &NewSession, https: bool) -> Resp {
    let mut r = json(200, &session_json(&ns.record, &ns.user));
    set_cookie(&mut r, &ns.cookie, accounts::SESSION_SECS, https);
    r
}

fn user_json(u: &User) -> serde_json::Value {
    json!({"id": u.id, "login": u.login, "is_admin": u.is_admin, "disabled": u.disabled, "created_at": format_utc(u.created_at)})
}

#[derive(Deserialize)]
struct Login {
    login: String,
    password: String,
}

#[derive(Deserialize)]
struct SetPassword {
    secret: String,
    password: String,
}

#[derive(Deserialize)]
struct ChangePassword {
    current: String,
    password: String,
}

#[derive(Deserialize)]
struct NewTokenBody {
    name: String,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    crates: String,
    #[serde(default)]
    expires_days: Option<i64>,
}

#[derive(Deserialize)]
struct Invite {
    login: String,
    #[serde(default)]
    admin: bool,
}

#[derive(Deserialize)]
struct Flag {
    value: bool,
}

/// How the pages offer single sign-on: OpenID Connect's provider, or
/// else Cloudflare Access (which the sign-in page follows at once).
fn sso_config<S: Stores>(app: &App<S>) -> serde_json::Value {
    let s = &app.config.sign_in;
    match (&s.oidc, &s.access) {
        (Some(o), _) => json!({
            "kind": "oidc",
            "name": o.name,
            "start": "/auth/oidc/start",
            "sign_out": "/auth/oidc/logout",
            // Whether signing in can make an administrator.
            "admin_group": o.admin_group.is_some(),
        }),
        (None, Some(_)) => json!({
            "kind": "access",
            "name": "Cloudflare Access",
            "start": super::access::PATH,
            "sign_out": crate::service::sso::access::LOGOUT,
            "admin_group": false,
        }),
        (None, None) => serde_json::Value::Null,
    }
}

/// The JSON API under `/web/api/`.
pub async fn api<S: Stores>(
    app: &App<S>,
    cache: &TokenCache,
    ctx: &RequestCtx,
    req: &Request<Vec<u8>>,
    https: bool,
    registry_name: &str,
) -> Result<Resp, AppError> {
    let path = req.uri().path().strip_prefix("/web/api/").unwrap_or("");
    let parts: Vec<&str> = path.split('/').collect();
    let m = req.method().clone();
    let now = ctx.now;
    if m != Method::GET {
        same_origin(req, ctx)?;
    }
    // Routes open without a session.
    match (m.clone(), parts.as_slice()) {
        (Method::GET, ["config"]) => {
            let mut r = json(
                200,
                &json!({
                    "registry": registry_name,
                    "index_url": ctx.index_url(),
                    "api": ctx.base,
                    "has_admin": accounts::has_admin(app).await?,
                    "passwords": app.config.sign_in.passwords,
                    "sso": sso_config(app),
                }),
            );
            no_store(&mut r);
            return Ok(r);
        }
        (Method::POST, ["login"] | ["set-password"] | ["password"])
            if !app.config.sign_in.passwords =>
        {
            return Err(AppError::Forbidden(
                "password sign-in is turned off on this registry (PASSWORD_SIGN_IN); sign in with single sign-on".into(),
            ));
        }
        (Method::POST, ["login"]) => {
            let b: Login = body(req)?;
            let ns = accounts::sign_in(app, &b.login, &b.password, client(req), now).await?;
            return Ok(signed_in(&ns, https));
        }
        (Method::POST, ["set-password"]) => {
            let b: SetPassword = body(req)?;
            let ns = accounts::use_link(app, &b.secret, &b.password, now).await?;
            return Ok(signed_in(&ns, https));
        }
        _ => {}
    }
    let Some((session, user)) = current(app, req, https, now).await? else {
        return Err(AppError::Unauthorized("not signed in".into()));
    };
    if m != Method::GET {
        csrf_ok(req, &session)?;
    }
    let mut r = match (m, parts.as_slice()) {
        (Method::GET, ["session"]) => json(200, &session_json(&session, &user)),
        (Method::POST, ["logout"]) => {
            if let Some(c) = cookie_value(req, https) {
                accounts::sign_out(app, c).await?;
            }
            let provider = super::sso::provider_sign_out(app, now).await;
            let mut r = json(200, &json!({"ok": true, "provider_sign_out": provider}));
            set_cookie(&mut r, "", 0, https);
            r
        }
        (Method::POST, ["logout-all"]) => {
            accounts::sign_out_everywhere(app, user.id).await?;
            let provider = super::sso::provider_sign_out(app, now).await;
            let mut r = json(200, &json!({"ok": true, "provider_sign_out": provider}));
            set_cookie(&mut r, "", 0, https);
            r
        }
        (Method::POST, ["password"]) => {
            let b: ChangePassword = body(req)?;
            let ns = accounts::change_password(app, &user, &b.current, &b.password, now).await?;
            signed_in(&ns, https)
        }
        (Method::GET, ["tokens"]) => {
            let list: Vec<_> = app
                .store
                .db()
                .list_tokens(user.id)
                .await?
                .into_iter()
                .rev()
                .map(|t| {
                    let status = tokens::status(&t, now);
                    json!({
                        "id": t.id, "name": t.name, "hint": t.hint,
                        "scopes": t.scopes.names(),
                        "crates": patterns_text(&t.patterns),
                        "created_at": format_utc(t.created_at),
                        "last_used_at": t.last_used_at.map(format_utc),
                        "expires_at": t.expires_at.map(format_utc),
                        "status": status,
                    })
                })
                .collect();
            json(200, &json!({ "tokens": list }))
        }
        (Method::POST, ["tokens"]) => {
            let b: NewTokenBody = body(req)?;
            if b.scopes.is_empty() {
                return Err(AppError::BadRequest("choose at least one scope".into()));
            }
            let scopes = Scopes::parse(&b.scopes.join(","))
                .map_err(|e| AppError::BadRequest(e.to_string()))?;
            let expires_at = tokens::expiry_in_days(b.expires_days, now)?;
            let req = TokenRequest {
                name: &b.name,
                scopes,
                patterns: &b.crates,
                expires_at,
            };
            let (token, rec) = issue(app.store.db(), &user, &req, now).await?;
            json(
                201,
                &json!({"token": token, "id": rec.id, "name": rec.name}),
            )
        }
        (Method::DELETE, ["tokens", id]) => {
            let id: i64 = id
                .parse()
                .map_err(|_| AppError::NotFound("no such token".into()))?;
            tokens::revoke(app.store.db(), tokens::Revoker::User(&user), id, now).await?;
            cache.clear();
            json(200, &json!({"ok": true}))
        }
        (Method::GET, ["crates"]) => {
            let q = query(req, "q").unwrap_or_default();
            let sort = if query(req, "sort").as_deref() == Some("name") {
                CrateSort::Name
            } else {
                CrateSort::Updated
            };
            json(200, &pages::list(app, &user, &q, sort, page_of(req)).await?)
        }
        (Method::GET, ["crates", name]) => {
            json(200, &pages::crate_page(app, &user, &seg(name)?).await?)
        }
        (Method::GET, ["crates", name, "versions"]) => json(
            200,
            &pages::versions(app, &user, &seg(name)?, page_of(req)).await?,
        ),
        (Method::GET, ["crates", name, "dependents"]) => json(
            200,
            &pages::dependents(app, &user, &seg(name)?, page_of(req)).await?,
        ),
        (Method::GET, ["crates", name, "versions", num]) => json(
            200,
            &pages::version(app, &user, &seg(name)?, &seg(num)?).await?,
        ),
        (Method::POST, ["crates", name, "versions", num, "yank"]) => {
            let b: Flag = body(req)?;
            pages::yank(app, &user, &seg(name)?, &seg(num)?, b.value, now).await?;
            json(200, &json!({"ok": true}))
        }
        (Method::GET, ["users"]) => {
            let users: Vec<_> = accounts::list_users(app, &user)
                .await?
                .iter()
                .map(user_json)
                .collect();
            json(200, &json!({ "users": users }))
        }
        (Method::POST, ["users"]) => {
            let b: Invite = body(req)?;
            let (u, secret) = accounts::invite(app, &user, b.login.trim(), b.admin, now).await?;
            json(
                201,
                &json!({"user": user_json(&u), "link": format!("{}/set-password#secret={secret}", ctx.base)}),
            )
        }
        (Method::POST, ["users", id, action]) => {
            let id: i64 = id
                .parse()
                .map_err(|_| AppError::NotFound("no such user".into()))?;
            match *action {
                "disabled" => {
                    let b: Flag = body(req)?;
                    let u = accounts::set_disabled(app, &user, id, b.value).await?;
                    cache.clear();
                    json(200, &json!({"user": user_json(&u)}))
                }
                "admin" => {
                    let b: Flag = body(req)?;
                    let u = accounts::set_admin(app, &user, id, b.value).await?;
                    cache.clear();
                    json(200, &json!({"user": user_json(&u)}))
                }
                "reset-link" => {
                    let secret = accounts::reset_link(app, &user, id, now).await?;
                    json(
                        201,
                        &json!({"link": format!("{}/set-password#secret={secret}", ctx.base)}),
                    )
                }
                _ => return Err(AppError::NotFound("no such endpoint".into())),
            }
        }
        _ => return Err(AppError::NotFound("no such endpoint".into())),
    };
    no_store(&mut r);
    Ok(r)
}
