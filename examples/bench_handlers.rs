//! Native per-request cost of the two hot handlers through the router on
//! the in-memory store: the authenticated index read in steady state (token
//! cache warm, file stored) and the publish of a small crate (framing,
//! metadata and tarball checks, README rendering, commit, index render).
//! Prints `METRIC <name> <min> <median> <max>` in nanoseconds per request
//! over 5 batches, for `scripts/bench`; never fails on a number.

use std::time::Instant;

use edge_registry::auth::Scopes;
use edge_registry::service::auth::TokenCache;
use edge_registry::service::tokens::{TokenRequest, ensure_user, issue};
use edge_registry::service::{App, Config};
use edge_registry::store::native::NativeStore;
use edge_registry::web::handle;
use futures::executor::block_on;

#[path = "support/mod.rs"]
mod support;
use support::{publish_body, publish_body_with};

const NOW: i64 = 1_772_706_030;

fn app_and_token() -> (App<NativeStore>, TokenCache, String) {
    let app = App::new(
        NativeStore::new().expect("native stores"),
        Config::default(),
    );
    let token = block_on(async {
        let u = ensure_user(&app.store.db, "bench", true, NOW)
            .await
            .unwrap();
        issue(
            &app.store.db,
            &u,
            &TokenRequest {
                name: "bench",
                scopes: Scopes::all(),
                patterns: "",
                expires_at: None,
            },
            NOW,
        )
        .await
        .unwrap()
        .0
    });
    (app, TokenCache::new(), token)
}

fn send(app: &App<NativeStore>, cache: &TokenCache, req: &http::Request<Vec<u8>>) -> u16 {
    block_on(handle(app, cache, req, NOW)).status().as_u16()
}

fn report(name: &str, mut times: Vec<f64>) {
    times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "METRIC {name} {:.0} {:.0} {:.0}",
        times[0],
        times[times.len() / 2],
        times[times.len() - 1]
    );
}

fn main() {
    let iterations = |default: u32| {
        std::env::var("ITERATIONS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };

    // Index read: a 20-version file, token cached.
    let (app, cache, token) = app_and_token();
    for i in 0..20 {
        let req = http::Request::builder()
            .method("PUT")
            .uri("http://reg.test/api/v1/crates/new")
            .header("authorization", &token)
            .body(publish_body("serde", &format!("1.0.{i}")))
            .unwrap();
        assert_eq!(send(&app, &cache, &req), 200);
    }
    let get = http::Request::builder()
        .uri("http://reg.test/index/se/rd/serde")
        .header("authorization", &token)
        .body(Vec::new())
        .unwrap();
    let n = iterations(100_000);
    let mut times = Vec::new();
    for _ in 0..5 {
        let t0 = Instant::now();
        for _ in 0..n {
            assert_eq!(send(&app, &cache, &get), 200);
        }
        times.push(t0.elapsed().as_nanos() as f64 / f64::from(n));
    }
    report("native_index_get_ns", times);

    // Publish: each request a new crate (fixed work per request), with a
    // small README rendered at publish time; a fresh store per batch.
    let readme = "# Bench\n\nA *small* README with a [link](docs/x.md) and a table:\n\n| a | b |\n|---|---|\n| 1 | 2 |\n";
    let n = iterations(100_000) / 50;
    let mut times = Vec::new();
    for batch in 0..5 {
        let (app, cache, token) = app_and_token();
        let bodies: Vec<Vec<u8>> = (0..n)
            .map(|i| publish_body_with(&format!("crate-{batch}-{i}"), "1.0.0", &[], readme))
            .collect();
        let t0 = Instant::now();
        for body in bodies {
            let req = http::Request::builder()
                .method("PUT")
                .uri("http://reg.test/api/v1/crates/new")
                .header("authorization", &token)
                .body(body)
                .unwrap();
            assert_eq!(send(&app, &cache, &req), 200);
        }
        times.push(t0.elapsed().as_nanos() as f64 / f64::from(n));
    }
    report("native_publish_ns", times);
}
