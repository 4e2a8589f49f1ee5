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

/// The tarball checker on raw bytes, and on the bytes gzipped as a tar
/// (so the fuzzer reaches the tar headers); every archive it accepts must
/// unpack, as cargo unpacks it, to exactly what it validated.
pub fn tarball(data: &[u8]) {
    let l = limits();
    let _ = check_tarball(data, "fuzz", "1.0.0", &l);
    let gz = gzip(data);
    if let Ok(info) = check_tarball(&gz, "fuzz", "1.0.0", &l) {
        #[cfg(not(target_arch = "wasm32"))]
        if let Err(e) = unpacks_as_validated(&gz, "fuzz-1.0.0", &info) {
            panic!("accepted archive does not unpack as validated: {e}");
        }
        #[cfg(target_arch = "wasm32")]
        let _ = info;
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    match gz.write_all(data) {
        Ok(()) => gz.finish().unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

/// Unpacks a `.crate` as cargo's `unpack_package` does (entries outside
/// `root` refused, `.cargo-ok` skipped, each entry through the `tar`
/// crate's `unpack_in`) into a scratch folder, and checks that the regular
/// files there are exactly `info.files` (paths and sizes), that nothing
/// else (links, files outside `root`) was made, and that `Cargo.toml` is
/// byte-for-byte `info.manifest_text`.
#[cfg(not(target_arch = "wasm32"))]
pub fn unpacks_as_validated(
    gz: &[u8],
    root: &str,
    info: &super::tarball::TarballInfo,
) -> Result<(), String> {
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dst = std::env::temp_dir().join(format!(
        "unpack-check-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dst);
    std::fs::create_dir_all(&dst).map_err(|e| e.to_string())?;
    let result = (|| {
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(gz));
        for entry in tar.entries().map_err(|e| e.to_string())? {
            let mut entry = entry.map_err(|e| e.to_string())?;
            let path = entry.path().map_err(|e| e.to_string())?.into_owned();
            if !path.starts_with(root) {
                return Err(format!("cargo refuses `{}`", path.display()));
            }
            if path.file_name().is_some_and(|n| n == ".cargo-ok") {
                continue;
            }
            entry
                .unpack_in(&dst)
                .map_err(|e| format!("cargo cannot unpack `{}`: {e}", path.display()))?;
        }
        let mut disk = BTreeMap::new();
        let mut dirs = vec![dst.clone()];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).map_err(|e| e.to_string())? {
                let e = e.map_err(|e| e.to_string())?;
                let meta = std::fs::symlink_metadata(e.path()).map_err(|e| e.to_string())?;
                let rel = e
                    .path()
                    .strip_prefix(dst.join(root))
                    .map_err(|_| format!("`{}` is outside the root", e.path().display()))?
                    .to_string_lossy()
                    .into_owned();
                if meta.is_dir() {
                    dirs.push(e.path());
                } else if meta.is_file() {
                    disk.insert(rel, meta.len());
                } else {
                    return Err(format!("`{rel}` is neither a file nor a folder"));
                }
            }
        }
        let validated: BTreeMap<String, u64> = info
            .files
            .iter()
            .map(|f| (f.path.clone(), f.size))
            .collect();
        if validated.len() != info.files.len() {
            return Err("a file was reported twice".into());
        }
        if disk != validated {
            return Err(format!("on disk {disk:?}, validated {validated:?}"));
        }
        let manifest =
            std::fs::read(dst.join(root).join("Cargo.toml")).map_err(|e| e.to_string())?;
        if manifest != info.manifest_text.as_bytes() {
            return Err("the Cargo.toml on disk is not the one validated".into());
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&dst);
    result
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
