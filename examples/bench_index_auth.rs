//! Native per-request cost of an authenticated index read through the
//! router (in-memory store, token cache warm), with an unrestricted token
//! and with scoped, crate-pattern-limited tokens, against the same request
//! on a route that needs no crate check (config.json) as the baseline.
//! Run by `scripts/bench-auth`; prints figures, never fails on a number.

use std::time::Instant;

use edge_registry::auth::{Scope, Scopes};
use edge_registry::service::auth::TokenCache;
use edge_registry::service::tokens::{TokenRequest, ensure_user, issue};
use edge_registry::service::{App, Config};
use edge_registry::store::native::NativeStore;
use edge_registry::web::handle;
use futures::executor::block_on;

#[path = "support/mod.rs"]
mod support;
use support::publish_body;

const NOW: i64 = 1_772_706_030;

fn main() {
    let app = App::new(
        NativeStore::new().expect("native stores"),
        Config::default(),
    );
    let cache = TokenCache::new();
    let token = |name: &str, scopes: Scopes, patterns: &str| {
        block_on(async {
            let u = ensure_user(&app.store.db, "bench", true, NOW)
                .await
                .unwrap();
            issue(
                &app.store.db,
                &u,
                &TokenRequest {
                    name,
                    scopes,
                    patterns,
                    expires_at: Some(NOW + 86_400),
                },
                NOW,
            )
            .await
            .unwrap()
            .0
        })
    };
    let full = token("full", Scopes::all(), "");
    let read_only = token("read", Scopes::from_list(&[Scope::Read]), "");
    let patterned = token(
        "patterns",
        Scopes::from_list(&[Scope::Read]),
        "alpha-*, beta-*, gamma, delta-*, serde*",
    );

    // A crate with 20 versions, published through the router.
    for i in 0..20 {
        let body = publish_body("serde", &format!("1.0.{i}"));
        let req = http::Request::builder()
            .method("PUT")
            .uri("http://reg.test/api/v1/crates/new")
            .header("authorization", &full)
            .body(body)
            .unwrap();
        assert_eq!(block_on(handle(&app, &cache, &req, NOW)).status(), 200);
    }

    let n = std::env::var("ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000u32);
    let run = |path: &str, tok: &str| {
        let req = http::Request::builder()
            .uri(format!("http://reg.test{path}"))
            .header("authorization", tok)
            .body(Vec::new())
            .unwrap();
        let mut times = Vec::new();
        for _ in 0..5 {
            let t0 = Instant::now();
            for _ in 0..n {
                assert_eq!(block_on(handle(&app, &cache, &req, NOW)).status(), 200);
            }
            times.push(t0.elapsed().as_nanos() as f64 / f64::from(n));
        }
        times.sort_by(|a, b| a.partial_cmp(b).unwrap());
        times
    };
    let base = run("/index/config.json", &full);
    println!(
        "{:<46} {:>9} {:>9} {:>9}  ratio",
        "ns per request (5 runs of N)", "min", "median", "max"
    );
    let line = |label: &str, t: &[f64]| {
        println!(
            "{label:<46} {:>9.0} {:>9.0} {:>9.0}  {:.2}",
            t[0],
            t[2],
            t[4],
            t[2] / base[2]
        );
    };
    line("config.json (baseline, no crate check)", &base);
    line(
        "index file, unrestricted token",
        &run("/index/se/rd/serde", &full),
    );
    line(
        "index file, read-only token",
        &run("/index/se/rd/serde", &read_only),
    );
    line(
        "index file, read-only + 5 crate patterns",
        &run("/index/se/rd/serde", &patterned),
    );
}
