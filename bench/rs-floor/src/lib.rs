//! The floor of the registry's index-read design for a Rust Worker, for
//! `scripts/bench`: the same `worker` crate and toolchain, one KV read
//! (value and metadata) per request, nothing else.

use worker::{Context, Env, Headers, Request, Response, Result, event};

#[derive(serde::Deserialize)]
struct Meta {
    etag: String,
}

#[event(fetch)]
async fn fetch(_req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let (value, meta) = env
        .kv("KV")?
        .get("file")
        .text_with_metadata::<Meta>()
        .await?;
    let headers = Headers::new();
    headers.set("etag", &meta.map(|m| m.etag).unwrap_or_default())?;
    Ok(Response::ok(value.unwrap_or_default())?.with_headers(headers))
}
