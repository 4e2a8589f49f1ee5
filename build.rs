//! Compiles the web app's static files (`public/`) into the Worker: writes
//! `$OUT_DIR/assets.rs`, a table of every file with its URL path, content
//! type and strong ETag (SHA-256 of the bytes, computed here once rather
//! than per request), the bytes themselves included with `include_bytes!`.
//! Serving them from the Worker itself means no asset binding, so no asset
//! router in front of the index path (see `src/web/assets.rs`). Also lists
//! `migrations/` for the native SQLite executor.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "webp" => "image/webp",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// Every file under `dir`, sorted, skipping hidden ones.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        let hidden = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let public = root.join("public");
    println!("cargo:rerun-if-changed=public");
    let mut list = Vec::new();
    files(&public, &mut list);
    let mut code = String::from("&[\n");
    for path in &list {
        println!("cargo:rerun-if-changed={}", path.display());
        let bytes = std::fs::read(path).expect("reading a file under public/");
        let rel = path
            .strip_prefix(&public)
            .expect("under public/")
            .to_str()
            .expect("UTF-8 file name under public/")
            .replace('\\', "/");
        let etag: String = Sha256::digest(&bytes)
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect();
        writeln!(
            code,
            "    Asset {{ path: {:?}, content_type: {:?}, etag: {:?}, body: include_bytes!({:?}) }},",
            format!("/{rel}"),
            content_type(path),
            format!("\"{etag}\""),
            path.display().to_string(),
        )
        .expect("writing to a String");
    }
    code.push(']');
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("assets.rs");
    std::fs::write(out, code).expect("writing assets.rs");
    migrations(&root);
}

/// `$OUT_DIR/migrations.rs`: every `migrations/*.sql`, in name order, for
/// the native SQLite executor (`src/store/sqlite.rs`).
fn migrations(root: &Path) {
    let dir = root.join("migrations");
    println!("cargo:rerun-if-changed=migrations");
    let mut list = Vec::new();
    files(&dir, &mut list);
    let mut code = String::from("&[\n");
    for path in list
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
    {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("UTF-8 migration name");
        writeln!(
            code,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .expect("writing to a String");
    }
    code.push(']');
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("migrations.rs");
    std::fs::write(out, code).expect("writing migrations.rs");
}
