//! Routing on plain `http` types: maps each request to a use-case, applies
//! authentication with the status codes cargo expects on each path, and
//! builds responses. Anything that is not an API or index route is a page
//! of the web app, served from the files compiled in (`assets`).

pub mod access;
pub mod admin_api;
pub mod assets;
pub mod respond;
pub mod sso;
pub mod ui;

use http::header::{self, HeaderValue};
use http::{Method, Request};
use percent_encoding::percent_decode_str;

use crate::auth::Principal;
use crate::error::AppError;
use crate::protocol::index::{config_json, if_none_match};
use crate::protocol::names::parse_index_path;
use crate::service::auth::{AuthError, TokenCache, authenticate};
use crate::service::{App, RequestCtx, Stores, download, index, owners, publish, search, yank};
use respond::{Resp, error, json, with_body};

/// Largest body accepted on routes other than publish.
pub const SMALL_BODY: u64 = 64 * 1024;

/// The most body bytes a request to this path may carry; the adapter stops
/// reading past it and answers 413.
pub fn body_limit<S>(app: &App<S>, method: &Method, path: &str) -> u64 {
    if method == Method::PUT && path == "/api/v1/crates/new" {
        app.config.limits.max_body_bytes()
    } else if path.starts_with(admin_api::PREFIX) && app.config.admin_token_hash.is_some() {
        admin_api::MAX_BODY.max(app.config.limits.max_crate_bytes)
    } else {
        SMALL_BODY
    }
}

/// The 413 for a body over `body_limit`.
pub fn body_too_large(limit: u64) -> Resp {
    error(
        &AppError::TooLarge(format!(
            "request body too large: the limit for this request is {limit} bytes (max upload size is set by the registry's configuration)"
        )),
        None,
    )
}

/// How a route treats a missing or bad token.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AuthStyle {
    /// Index files and downloads: 401 with the `Cargo` challenge, also for
    /// a rejected token, so cargo says "token rejected".
    Index,
    /// API calls: 401 when missing, 403 when invalid.
    Api,
}

fn base_url<S>(app: &App<S>, req: &Request<Vec<u8>>) -> String {
    if let Some(u) = &app.config.public_url {
        return u.trim_end_matches('/').to_string();
    }
    let scheme = req.uri().scheme_str().unwrap_or("https");
    let host = req
        .uri()
        .authority()
        .map(|a| a.as_str().to_string())
        .or_else(|| {
            req.headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_string)
        })
        .unwrap_or_else(|| "localhost".into());
    format!("{scheme}://{host}")
}

/// Whether the request came over https (for HSTS).
pub fn is_https(req: &Request<Vec<u8>>) -> bool {
    req.uri().scheme_str() == Some("https")
}

/// Handles one request.
pub async fn handle<S: Stores>(
    app: &App<S>,
    cache: &TokenCache,
    req: &Request<Vec<u8>>,
    now: i64,
) -> Resp {
    let ctx = RequestCtx {
        base: base_url(app, req),
        now,
    };
    let path = req.uri().path();
    let routed: RouteResult = if path == "/index" || path.starts_with("/index/") {
        index_route(app, cache, &ctx, req).await
    } else if path.starts_with("/api/") || path == "/api" {
        api_route(app, cache, &ctx, req).await
    } else if path.starts_with("/dl/") {
        dl_route(app, cache, &ctx, req).await
    } else if path.starts_with(admin_api::PREFIX) {
        admin_api::handle(app, req).await.map_err(|e| (e, None))
    } else if path == access::PATH {
        access::handle(app, &ctx, req).await.map_err(|e| (e, None))
    } else if path.starts_with(sso::PREFIX) {
        sso::handle(app, &ctx, req).await.map_err(|e| (e, None))
    } else if path.starts_with("/web/api/") {
        ui::api(
            app,
            cache,
            &ctx,
            req,
            is_https(req),
            &app.config.registry_name,
        )
        .await
        .map_err(|e| (e, None))
    } else {
        match ui::page(app, req, is_https(req), now).await {
            Ok(ui::UiReply::Assets) => static_file(req, path),
            Ok(ui::UiReply::Asset(p)) => static_file(req, p),
            Ok(ui::UiReply::Http(r)) => Ok(r),
            Err(e) => Err((e, None)),
        }
    };
    let mut resp = match routed {
        Ok(r) => r,
        Err((e, style)) => {
            if let AppError::Internal(cause) = &e {
                log_internal(req, cause);
            }
            let login = (style == Some(AuthStyle::Index)).then(|| format!("{}/me", ctx.base));
            error(&e, login.as_deref())
        }
    };
    if req.method() == Method::HEAD {
        resp.body_mut().clear();
    }
    respond::add_security_headers(resp.headers_mut(), is_https(req), app.config.images);
    resp
}

/// The request's `If-None-Match`, if it has one in text.
fn if_none_match_header(req: &Request<Vec<u8>>) -> Option<&str> {
    req.headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
}

/// A page or file of the web app at `path`.
fn static_file(req: &Request<Vec<u8>>, path: &str) -> RouteResult {
    if !is_read(req.method()) {
        return Err((AppError::MethodNotAllowed, None));
    }
    match assets::lookup(path) {
        assets::Lookup::File(a) => Ok(assets::respond(a, if_none_match_header(req))),
        assets::Lookup::Redirect(to) => Ok(assets::redirect_keeping_query(&to, req.uri().query())),
        assets::Lookup::Missing => Err((
            AppError::NotFound(format!(
                "no page at {path}: the registry's help is at /, its crates at /crates"
            )),
            None,
        )),
    }
}

fn log_internal(req: &Request<Vec<u8>>, cause: &str) {
    crate::error::log(&format!(
        "internal error on {} {}: {cause}",
        req.method(),
        req.uri().path()
    ));
}

type RouteResult = Result<Resp, (AppError, Option<AuthStyle>)>;

fn api_err(e: AppError) -> (AppError, Option<AuthStyle>) {
    (e, Some(AuthStyle::Api))
}

fn idx_err(e: AppError) -> (AppError, Option<AuthStyle>) {
    (e, Some(AuthStyle::Index))
}

async fn auth<S: Stores>(
    app: &App<S>,
    cache: &TokenCache,
    req: &Request<Vec<u8>>,
    now: i64,
    style: AuthStyle,
) -> Result<Principal, (AppError, Option<AuthStyle>)> {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes());
    match authenticate(app.store.db(), cache, app.config.token_cache_secs, header, now).await {
        Ok(p) => Ok(p),
        Err(AuthError::Missing) => Err((
            AppError::Unauthorized(
                "this registry requires a token: run `cargo login --registry <name>` with a token from the registry's Tokens page, or set CARGO_REGISTRIES_<NAME>_TOKEN".into(),
            ),
            Some(style),
        )),
        Err(AuthError::Invalid(m)) => Err((
            match style {
                AuthStyle::Index => AppError::TokenRejected(m),
                AuthStyle::Api => AppError::Forbidden(m),
            },
            Some(style),
        )),
        Err(AuthError::Store(e)) => Err((AppError::from(e), None)),
    }
}

fn is_read(m: &Method) -> bool {
    m == Method::GET || m == Method::HEAD
}

/// Decodes one path segment (`%2B` → `+`; a literal `+` stays `+`).
pub(crate) fn segment(s: &str) -> Result<String, AppError> {
    percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| AppError::BadRequest("the path is not valid UTF-8".into()))
}

async fn index_route<S: Stores>(
    app: &App<S>,
    cache: &TokenCache,
    ctx: &RequestCtx,
    req: &Request<Vec<u8>>,
) -> RouteResult {
    if !is_read(req.method()) {
        return Err(idx_err(AppError::MethodNotAllowed));
    }
    let principal = auth(app, cache, req, ctx.now, AuthStyle::Index).await?;
    let rest = req.uri().path().strip_prefix("/index/").unwrap_or("");
    if rest == "config.json" {
        principal.require_index(None).map_err(idx_err)?;
        let mut r = with_body(200, "application/json", config_json(&ctx.base).into_bytes());
        r.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-cache"),
        );
        return Ok(r);
    }
    let not_found = || idx_err(AppError::NotFound("no such crate in this registry".into()));
    let name = parse_index_path(rest).ok_or_else(not_found)?;
    principal.require_index(Some(name)).map_err(idx_err)?;
    let file = index::read_file(&app.store, name)
        .await
        .map_err(idx_err)?
        .ok_or_else(not_found)?;
    // A restricted crate the caller may not read does not exist for them.
    if !crate::service::access::may_read(app, &principal, name, &file.visibility)
        .await
        .map_err(idx_err)?
    {
        return Err(not_found());
    }
    let matches = if_none_match_header(req).is_some_and(|v| if_none_match(v, &file.etag));
    let mut r = if matches {
        with_body(304, "text/plain; charset=utf-8", Vec::new())
    } else {
        with_body(200, "text/plain; charset=utf-8", file.body.into_bytes())
    };
    if let Ok(v) = HeaderValue::from_str(&file.etag) {
        r.headers_mut().insert(header::ETAG, v);
    }
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    Ok(r)
}

fn crate_response(bytes: Vec<u8>) -> Resp {
    let mut r = with_body(200, "application/gzip", bytes);
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    r
}

async fn dl_route<S: Stores>(
    app: &App<S>,
    cache: &TokenCache,
    ctx: &RequestCtx,
    req: &Request<Vec<u8>>,
) -> RouteResult {
    if !is_read(req.method()) {
        return Err(idx_err(AppError::MethodNotAllowed));
    }
    let principal = auth(app, cache, req, ctx.now, AuthStyle::Index).await?;
    let rest = req.uri().path().strip_prefix("/dl/").unwrap_or("");
    let parts: Vec<&str> = rest.split('/').collect();
    let [name, version, cksum] = parts.as_slice() else {
        return Err(idx_err(AppError::NotFound("no such download".into())));
    };
    let name = segment(name).map_err(idx_err)?;
    let version = segment(version).map_err(idx_err)?;
    let bytes = download::by_checksum(app, &principal, &name, &version, cksum)
        .await
        .map_err(idx_err)?;
    Ok(crate_response(bytes))
}

pub(crate) fn query_param(req: &Request<Vec<u8>>, key: &str) -> Option<String> {
    let q = req.uri().query()?;
    form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn ok_json() -> Resp {
    json(200, &serde_json::json!({"ok": true}))
}

async fn api_route<S: Stores>(
    app: &App<S>,
    cache: &TokenCache,
    ctx: &RequestCtx,
    req: &Request<Vec<u8>>,
) -> RouteResult {
    let path = req.uri().path();
    let Some(rest) = path.strip_prefix("/api/v1/crates") else {
        return Err(api_err(AppError::NotFound("no such API endpoint".into())));
    };
    let parts: Vec<&str> = if rest.is_empty() {
        Vec::new()
    } else if let Some(r) = rest.strip_prefix('/') {
        r.split('/').collect()
    } else {
        return Err(api_err(AppError::NotFound("no such API endpoint".into())));
    };
    let m = req.method();
    // Recognise the route before authenticating, so unknown paths are 404
    // and wrong methods 405 whoever asks.
    enum Route {
        Search,
        Publish,
        Yank(String, String, bool),
        Owners(String),
        Download(String, String),
    }
    let route = match parts.as_slice() {
        [] if is_read(m) => Route::Search,
        ["new"] if m == Method::PUT => Route::Publish,
        [name, version, "yank"] if m == Method::DELETE => Route::Yank(
            segment(name).map_err(api_err)?,
            segment(version).map_err(api_err)?,
            true,
        ),
        [name, version, "unyank"] if m == Method::PUT => Route::Yank(
            segment(name).map_err(api_err)?,
            segment(version).map_err(api_err)?,
            false,
        ),
        [name, "owners"] if is_read(m) || m == Method::PUT || m == Method::DELETE => {
            Route::Owners(segment(name).map_err(api_err)?)
        }
        [name, version, "download"] if is_read(m) => Route::Download(
            segment(name).map_err(api_err)?,
            segment(version).map_err(api_err)?,
        ),
        [] | ["new"] | [_, _, "yank" | "unyank" | "download"] | [_, "owners"] => {
            return Err(api_err(AppError::MethodNotAllowed));
        }
        _ => return Err(api_err(AppError::NotFound("no such API endpoint".into()))),
    };
    let style = if matches!(route, Route::Download(..)) {
        AuthStyle::Index
    } else {
        AuthStyle::Api
    };
    let who = auth(app, cache, req, ctx.now, style).await?;
    let e = |e: AppError| (e, Some(style));
    match route {
        Route::Search => {
            let q = query_param(req, "q").unwrap_or_default();
            let per_page = query_param(req, "per_page").and_then(|v| v.parse().ok());
            let page = query_param(req, "page").and_then(|v| v.parse().ok());
            let r = search::search(app, &who, &q, per_page, page)
                .await
                .map_err(e)?;
            Ok(json(200, &r))
        }
        Route::Publish => {
            let r = publish::publish(app, ctx, &who, req.body())
                .await
                .map_err(e)?;
            Ok(json(200, &r))
        }
        Route::Yank(name, version, yanked) => {
            yank::set_yanked(app, &who, &name, &version, yanked, ctx.now)
                .await
                .map_err(e)?;
            Ok(ok_json())
        }
        Route::Owners(name) => {
            if is_read(m) {
                let users = owners::list(app, &who, &name).await.map_err(e)?;
                Ok(json(200, &serde_json::json!({ "users": users })))
            } else {
                let msg = if m == Method::PUT {
                    owners::add(app, &who, &name, req.body(), ctx.now).await
                } else {
                    owners::remove(app, &who, &name, req.body(), ctx.now).await
                }
                .map_err(e)?;
                Ok(json(200, &serde_json::json!({"ok": true, "msg": msg})))
            }
        }
        Route::Download(name, version) => {
            let bytes = download::by_version(app, &who, &name, &version)
                .await
                .map_err(e)?;
            Ok(crate_response(bytes))
        }
    }
}
