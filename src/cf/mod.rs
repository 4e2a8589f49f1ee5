//! The Cloudflare Workers adapter (wasm only): the fetch and scheduled
//! entry points, conversion between `worker` and `http` types, reading the
//! body within its limit, configuration from `[vars]`, and the bundle of
//! D1 (the SQL store over the D1 executor), KV and R2 stores. The only
//! module that names `worker::` types.
//!
//! Per isolate, not per request: the app (binding objects and `[vars]`,
//! which only change with a deployment, and a deployment starts new
//! isolates), the token cache, and the security headers every response
//! carries (copied into each response in one call).

mod d1;
mod fetch;
mod kv_r2;
mod webcrypto;

use std::cell::OnceCell;
use std::rc::Rc;

use futures_util::StreamExt;
use worker::{
    Context, Env, Headers, Method as WMethod, Request, Response, ScheduleContext, ScheduledEvent,
    event, web_sys,
};

use crate::protocol::publish::Limits;
use crate::service::auth::TokenCache;
use crate::service::{App, Config, Stores, repair};
use crate::store::sql::SqlStore;
use crate::web;
use crate::web::respond::Images;
use d1::D1Exec;
use kv_r2::{KvIndex, R2Blobs};

/// One line in the Worker's log.
pub fn log_error(msg: &str) {
    worker::console_error!("{msg}");
}

/// The Worker's stores.
pub struct CfStores {
    index: KvIndex,
    blobs: R2Blobs,
    db: SqlStore<D1Exec>,
}

impl Stores for CfStores {
    type Index = KvIndex;
    type Blobs = R2Blobs;
    type Exec = D1Exec;
    type Kdf = webcrypto::WebCryptoKdf;
    type Jws = webcrypto::WebCryptoJws;
    type Fetch = fetch::WorkerFetch;
    fn kdf(&self) -> &webcrypto::WebCryptoKdf {
        &webcrypto::WebCryptoKdf
    }
    fn jws(&self) -> &webcrypto::WebCryptoJws {
        &webcrypto::WebCryptoJws
    }
    fn fetch(&self) -> &fetch::WorkerFetch {
        &fetch::WorkerFetch
    }
    fn index(&self) -> &KvIndex {
        &self.index
    }
    fn blobs(&self) -> &R2Blobs {
        &self.blobs
    }
    fn db(&self) -> &SqlStore<D1Exec> {
        &self.db
    }
}

thread_local! {
    /// Validated tokens, shared by the requests of this isolate.
    static TOKEN_CACHE: Rc<TokenCache> = Rc::new(TokenCache::new());
    /// The bindings and configuration, made on this isolate's first request.
    static APP: OnceCell<Rc<App<CfStores>>> = const { OnceCell::new() };
    /// `security_headers` for http and https, with remote or local images,
    /// made once.
    static SECURITY: OnceCell<[web_sys::Headers; 4]> = const { OnceCell::new() };
}

fn var_u64(env: &Env, name: &str) -> Option<u64> {
    env.var(name)
        .ok()
        .and_then(|v| v.to_string().trim().parse().ok())
}

fn config(env: &Env) -> Config {
    let d = Limits::default();
    Config {
        limits: Limits {
            max_crate_bytes: var_u64(env, "MAX_CRATE_BYTES").unwrap_or(d.max_crate_bytes),
            max_json_bytes: var_u64(env, "MAX_JSON_BYTES").unwrap_or(d.max_json_bytes),
            max_unpacked_bytes: var_u64(env, "MAX_UNPACKED_BYTES").unwrap_or(d.max_unpacked_bytes),
            max_entries: var_u64(env, "MAX_TARBALL_ENTRIES").unwrap_or(d.max_entries),
        },
        public_url: env
            .var("PUBLIC_URL")
            .ok()
            .map(|v| v.to_string())
            .filter(|s| !s.trim().is_empty()),
        token_cache_secs: var_u64(env, "TOKEN_CACHE_SECS")
            .and_then(|v| i64::try_from(v).ok())
            .unwrap_or(30),
        registry_name: env
            .var("REGISTRY_NAME")
            .ok()
            .map(|v| v.to_string().trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "private".into()),
        client_sign_in_failures: var_u64(env, "MAX_CLIENT_SIGN_IN_FAILURES")
            .and_then(|v| i64::try_from(v).ok())
            .filter(|v| *v > 0)
            .unwrap_or(crate::service::accounts::MAX_CLIENT_FAILURES),
        images: readme_images(env),
        sign_in: sign_in(env),
        admin_token_hash: crate::web::admin_api::token_hash(
            env.secret("ADMIN_TOKEN")
                .map(|s| s.to_string())
                .or_else(|_| env.var("ADMIN_TOKEN").map(|v| v.to_string()))
                .ok()
                .as_deref(),
        ),
    }
}

/// The sign-in settings; refused ones are logged and leave single sign-on
/// off, and passwords on only when `PASSWORD_SIGN_IN` is unset or `on`
/// (a value that cannot be read turns them off, the stricter).
fn sign_in(env: &Env) -> crate::auth::oidc::SignInSettings {
    let var = |name: &str| {
        let secret = (name == "OIDC_CLIENT_SECRET")
            .then(|| env.secret(name).ok().map(|s| s.to_string()))
            .flatten();
        secret.or_else(|| env.var(name).ok().map(|v| v.to_string()))
    };
    match crate::auth::oidc::SignInSettings::from_vars(var) {
        Ok(s) => s,
        Err(e) => {
            worker::console_error!("single sign-on is off: {e}");
            crate::auth::oidc::SignInSettings {
                passwords: crate::auth::oidc::passwords_when_refused(
                    var("PASSWORD_SIGN_IN").as_deref(),
                ),
                ..Default::default()
            }
        }
    }
}

/// `README_IMAGES`: `remote` (the default) or `local`; anything else is
/// taken as `local`, the stricter, and logged.
fn readme_images(env: &Env) -> Images {
    let v = env
        .var("README_IMAGES")
        .map(|v| v.to_string().trim().to_ascii_lowercase())
        .unwrap_or_default();
    match v.as_str() {
        "" | "remote" => Images::Remote,
        "local" => Images::Local,
        other => {
            worker::console_warn!(
                "README_IMAGES `{other}` is neither `remote` nor `local`; using `local`"
            );
            Images::Local
        }
    }
}

/// The app of this isolate: made from `env` on the first request (a
/// missing binding is an error then, and again on the next request).
fn app(env: &Env) -> worker::Result<Rc<App<CfStores>>> {
    if let Some(app) = APP.with(|a| a.get().cloned()) {
        return Ok(app);
    }
    let app = Rc::new(App::new(
        CfStores {
            index: KvIndex {
                kv: env.kv("INDEX")?,
            },
            blobs: R2Blobs {
                bucket: env.bucket("CRATES")?,
            },
            db: SqlStore::new(D1Exec { db: env.d1("DB")? }),
        },
        config(env),
    ));
    if let Some(w) = app.config.public_url_warning() {
        worker::console_warn!("{w}");
    }
    APP.with(|a| {
        let _ = a.set(Rc::clone(&app));
    });
    Ok(app)
}

/// `web::respond::security_headers` as a new JS `Headers`.
fn fresh_security_headers(https: bool, images: Images) -> worker::Result<web_sys::Headers> {
    let h = web_sys::Headers::new()?;
    for (name, value) in web::respond::security_headers(https, images) {
        h.append(name, value)?;
    }
    Ok(h)
}

/// A new `Headers` holding the security headers, copied in one call from
/// the ones made once per isolate.
fn security_headers(https: bool, images: Images) -> worker::Result<Headers> {
    SECURITY.with(|cell| {
        if cell.get().is_none() {
            let _ = cell.set([
                fresh_security_headers(false, Images::Remote)?,
                fresh_security_headers(true, Images::Remote)?,
                fresh_security_headers(false, Images::Local)?,
                fresh_security_headers(true, Images::Local)?,
            ]);
        }
        let at = usize::from(https) + 2 * usize::from(images == Images::Local);
        match cell.get().and_then(|all| all.get(at)) {
            Some(h) => Ok(Headers(web_sys::Headers::new_with_headers(h)?)),
            None => fresh_security_headers(https, images).map(Headers),
        }
    })
}

fn now_secs() -> i64 {
    i64::try_from(worker::Date::now().as_millis() / 1000).unwrap_or(0)
}

fn method(m: &WMethod) -> http::Method {
    http::Method::from_bytes(m.as_ref().as_bytes()).unwrap_or(http::Method::GET)
}

/// Reads the body, stopping as soon as it passes `limit`.
async fn read_body(req: &mut Request, limit: u64) -> worker::Result<Option<Vec<u8>>> {
    if let Ok(Some(len)) = req.headers().get("content-length")
        && len.trim().parse::<u64>().is_ok_and(|n| n > limit)
    {
        return Ok(None);
    }
    let Ok(mut stream) = req.stream() else {
        return Ok(Some(Vec::new()));
    };
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if (body.len() + chunk.len()) as u64 > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

fn to_worker(
    resp: http::Response<Vec<u8>>,
    https: bool,
    images: Images,
) -> worker::Result<Response> {
    let (parts, body) = resp.into_parts();
    // The security headers come in one copy; the rest one by one.
    let headers = security_headers(https, images)?;
    for (k, v) in parts.headers.iter() {
        if web::respond::is_security_header(k.as_str()) {
            continue;
        }
        if let Ok(v) = v.to_str() {
            headers.append(k.as_str(), v)?;
        }
    }
    let status = parts.status.as_u16();
    let builder = Response::builder()
        .with_status(status)
        .with_headers(headers);
    // Null-body statuses must not carry a body object at all.
    if body.is_empty() {
        Ok(builder.empty())
    } else {
        Ok(builder.fixed(body))
    }
}

#[event(fetch)]
async fn fetch(mut req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let app = app(&env)?;
    let url = req.url()?;
    let m = method(&req.method());
    let limit = web::body_limit(&app, &m, url.path());
    let body = if m == http::Method::GET || m == http::Method::HEAD {
        Vec::new()
    } else {
        match read_body(&mut req, limit).await? {
            Some(b) => b,
            None => {
                return to_worker(
                    web::body_too_large(limit),
                    url.scheme() == "https",
                    app.config.images,
                );
            }
        }
    };
    let mut builder = http::Request::builder().method(m).uri(url.as_str());
    for (k, v) in req.headers().entries() {
        builder = builder.header(k, v);
    }
    let http_req = match builder.body(body) {
        Ok(r) => r,
        Err(_) => {
            let r = crate::web::respond::error(
                &crate::error::AppError::BadRequest("malformed request".into()),
                None,
            );
            return to_worker(r, url.scheme() == "https", app.config.images);
        }
    };
    let cache = TOKEN_CACHE.with(Rc::clone);
    let https = web::is_https(&http_req);
    to_worker(
        web::handle(&app, &cache, &http_req, now_secs()).await,
        https,
        app.config.images,
    )
}

#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    // Repair: bring KV back in line with D1 (see `service::repair`).
    let Ok(app) = app(&env) else {
        worker::console_error!("scheduled: bindings missing");
        return;
    };
    match repair::run(&app.store, now_secs()).await {
        Ok(r) => worker::console_log!(
            "repair: checked {} crates, re-rendered {:?}, removed orphan index files {:?}{}",
            r.checked,
            r.repaired,
            r.orphans_removed,
            if r.sweep_completed {
                ", sweep pass complete"
            } else {
                ""
            }
        ),
        Err(e) => worker::console_error!("scheduled repair failed: {e:?}"),
    }
    // Sign-in counters whose window and lock have ended.
    match crate::service::accounts::prune_attempts(&app, now_secs()).await {
        Ok(n) if n > 0 => worker::console_log!("removed {n} ended sign-in counters"),
        Ok(_) => {}
        Err(e) => worker::console_error!("scheduled counter pruning failed: {e:?}"),
    }
    // Single sign-on attempts that were never finished.
    match crate::service::sso::prune(&app, now_secs(), crate::service::sso::PRUNE_BATCH).await {
        Ok(n) if n > 0 => worker::console_log!("removed {n} expired sign-in attempts"),
        Ok(_) => {}
        Err(e) => worker::console_error!("scheduled attempt pruning failed: {e:?}"),
    }
}
