//! The admin store API, `/_admin/v1/`: how `scripts/admin` reaches the
//! registry's storage, locally and deployed alike, so that it runs the
//! service's own functions natively and nothing of the registry's rules
//! is written twice. Only for a caller with the admin token (the Worker
//! secret `ADMIN_TOKEN`, compared by its SHA-256 in constant time); when
//! the secret is not set, the routes do not exist (404).
//!
//! - `POST /_admin/v1/d1`: `{"batch": bool, "statements": [{"name", "args"}]}`
//!   runs statements of `store::sql::ALL` (by name: no other SQL), one by
//!   one or as one batch; answers `{"results": [{"rows", "changes"}]}`.
//! - `POST /_admin/v1/kv`: `{"op": "get"|"put"|"delete"|"list", ...}` on
//!   the index store.
//! - `GET`/`PUT /_admin/v1/r2/<key>`: a blob, its crate name and version in
//!   `x-blob-name` and `x-blob-version`.

use http::header::{self, HeaderValue};
use http::{Method, Request};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::respond::{Resp, json, with_body};
use crate::error::AppError;
use crate::service::{App, Stores};
use crate::store::exec::{Executor, Stmt, Value, statement};
use crate::store::{BlobMeta, BlobStore, IndexFile, IndexStore};

/// The routes' prefix.
pub const PREFIX: &str = "/_admin/v1/";

/// The largest body an admin call may send (a blob or a batch of rows).
pub const MAX_BODY: u64 = 16 * 1024 * 1024;

/// The shortest admin token accepted; a shorter secret leaves the routes off.
pub const MIN_TOKEN_LEN: usize = 32;

/// The SHA-256 (hex) of the admin token, when one long enough is set.
pub fn token_hash(secret: Option<&str>) -> Option<String> {
    let s = secret?.trim();
    (s.len() >= MIN_TOKEN_LEN).then(|| crate::auth::token::hash_token(s))
}

#[derive(Deserialize)]
struct Named {
    name: String,
    #[serde(default)]
    args: Vec<Value>,
}

#[derive(Deserialize)]
struct D1Call {
    #[serde(default)]
    batch: bool,
    statements: Vec<Named>,
}

#[derive(Serialize, Deserialize)]
struct WireFile {
    body: String,
    etag: String,
    rev: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    r: Option<crate::auth::Readers>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    large: bool,
}

#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
enum KvCall {
    Get {
        key: String,
    },
    Put {
        key: String,
        file: WireFile,
    },
    Delete {
        key: String,
    },
    List {
        cursor: Option<String>,
        limit: usize,
    },
}

fn not_found() -> AppError {
    AppError::NotFound(format!("no route at {PREFIX}"))
}

/// Whether the request carries the admin token.
fn authorised(expected: &str, req: &Request<Vec<u8>>) -> bool {
    let sent = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| crate::auth::token::hash_token(t.trim()));
    sent.is_some_and(|h| crate::auth::password::constant_time_eq(h.as_bytes(), expected.as_bytes()))
}

fn body<T: for<'a> Deserialize<'a>>(req: &Request<Vec<u8>>) -> Result<T, AppError> {
    serde_json::from_slice(req.body())
        .map_err(|e| AppError::BadRequest(format!("invalid admin call: {e}")))
}

fn header_text(req: &Request<Vec<u8>>, name: &str) -> String {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// Answers an admin call.
pub async fn handle<S: Stores>(app: &App<S>, req: &Request<Vec<u8>>) -> Result<Resp, AppError> {
    let Some(expected) = &app.config.admin_token_hash else {
        return Err(not_found());
    };
    if !authorised(expected, req) {
        return Err(AppError::Unauthorized(
            "this route needs the registry's admin token (the ADMIN_TOKEN secret) as `Authorization: Bearer <token>`".into(),
        ));
    }
    let path = req.uri().path().strip_prefix(PREFIX).unwrap_or_default();
    match (req.method(), path) {
        (&Method::POST, "d1") => d1(app, body(req)?).await,
        (&Method::POST, "kv") => kv(app, body(req)?).await,
        (m, p) if p.starts_with("r2/") => {
            let key = p.strip_prefix("r2/").unwrap_or_default();
            if key.is_empty() {
                return Err(AppError::BadRequest("a blob key is needed".into()));
            }
            match *m {
                Method::GET => {
                    let Some(b) = app.store.blobs().get_blob(key).await? else {
                        return Err(AppError::NotFound(format!("no blob `{key}`")));
                    };
                    let mut r = with_body(200, "application/octet-stream", b.bytes);
                    for (h, v) in [
                        ("x-blob-name", b.meta.name),
                        ("x-blob-version", b.meta.version),
                    ] {
                        if let Ok(v) = HeaderValue::from_str(&v) {
                            r.headers_mut().insert(h, v);
                        }
                    }
                    Ok(r)
                }
                Method::PUT => {
                    let meta = BlobMeta {
                        name: header_text(req, "x-blob-name"),
                        version: header_text(req, "x-blob-version"),
                    };
                    app.store.blobs().put_blob(key, req.body(), &meta).await?;
                    Ok(json(200, &json!({})))
                }
                _ => Err(AppError::MethodNotAllowed),
            }
        }
        _ => Err(not_found()),
    }
}

async fn d1<S: Stores>(app: &App<S>, call: D1Call) -> Result<Resp, AppError> {
    let stmts = call
        .statements
        .into_iter()
        .map(|n| match statement(&n.name) {
            Some(sql) => Ok(Stmt { sql, args: n.args }),
            None => Err(AppError::BadRequest(format!(
                "no statement named `{}`",
                crate::protocol::version::printable(&n.name)
            ))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let exec = &app.store.db().exec;
    let results = if call.batch {
        exec.batch(&stmts).await?
    } else {
        let mut out = Vec::with_capacity(stmts.len());
        for s in &stmts {
            out.push(exec.execute(s).await?);
        }
        out
    };
    Ok(json(200, &json!({ "results": results })))
}

async fn kv<S: Stores>(app: &App<S>, call: KvCall) -> Result<Resp, AppError> {
    let index = app.store.index();
    let out = match call {
        KvCall::Get { key } => {
            let f = index.get_file(&key).await?.map(|f| {
                let (r, large) = f.visibility.stored();
                WireFile {
                    body: f.body,
                    etag: f.etag,
                    rev: f.rev,
                    r,
                    large,
                }
            });
            json!({ "file": f })
        }
        KvCall::Put { key, file } => {
            let f = IndexFile {
                body: file.body,
                etag: file.etag,
                rev: file.rev,
                visibility: crate::auth::Visibility::from_stored(file.r, file.large),
            };
            index.put_file(&key, &f).await?;
            json!({})
        }
        KvCall::Delete { key } => {
            index.delete_file(&key).await?;
            json!({})
        }
        KvCall::List { cursor, limit } => {
            let (keys, cursor) = index.list_files(cursor.as_deref(), limit.min(1000)).await?;
            json!({ "keys": keys, "cursor": cursor })
        }
    };
    Ok(json(200, &out))
}
