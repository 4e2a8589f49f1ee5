//! Entry points for the fuzz targets in `fuzz/` and for the regression
//! test that replays their corpus (`tests/fuzz_regressions.rs`). Each must
//! never panic on any input; `index_line` also checks the render → parse
//! round trip.

use super::index::{IndexLine, NewLine, new_line, render_file};
use super::publish::{Limits, parse_meta, split_body};
use super::tarball::check_tarball;

/// Small limits, so the fuzzer explores the checks instead of memory.
fn limits() -> Limits {
    Limits {
        max_crate_bytes: 1 << 20,
        max_json_bytes: 1 << 16,
        max_unpacked_bytes: 4 << 20,
        max_entries: 500,
    }
}

/// Framing, then metadata, then (when both parse) the tarball.
pub fn publish_body(data: &[u8]) {
    let l = limits();
    if let Ok(framed) = split_body(data, &l)
        && let Ok(valid) = parse_meta(framed.json, &["sparse+http://fuzz/index/".into()])
    {
        let _ = check_tarball(framed.tarball, &valid.meta.name, &valid.version.text, &l);
    }
}

/// The tarball checker on raw bytes (and, gzipped, on the bytes as a tar).
pub fn tarball(data: &[u8]) {
    let l = limits();
    let _ = check_tarball(data, "fuzz", "1.0.0", &l);
}

/// Builds an index line from metadata JSON, renders a file of it, and
/// parses every line back: the round trip must be exact.
pub fn index_line(data: &[u8]) {
    let Ok(valid) = parse_meta(data, &[]) else {
        return;
    };
    let line = new_line(NewLine {
        name: &valid.meta.name,
        vers: &valid.version.text,
        deps: valid.deps.clone(),
        cksum: "0000000000000000000000000000000000000000000000000000000000000000",
        features: &valid.meta.features,
        links: valid.meta.links.clone(),
        rust_version: valid.meta.rust_version.clone(),
        pubtime: "2026-01-01T00:00:00Z".into(),
    });
    let mut yanked = line.clone();
    yanked.yanked = true;
    let lines = vec![line, yanked];
    let Ok(rendered) = render_file(&lines) else {
        panic!("a valid line failed to render");
    };
    let back: Vec<IndexLine> = rendered
        .body
        .lines()
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("rendered line does not parse: {e}: {l}"))
        })
        .collect();
    assert_eq!(back, lines, "render → parse round trip");
    assert!(rendered.body.ends_with('\n') && rendered.body.lines().count() == 2);
}
