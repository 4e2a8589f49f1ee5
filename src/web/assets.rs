//! The web app's static files, compiled into the Worker from `public/` by
//! `build.rs` (no asset binding, so nothing sits in front of the index
//! path): finding the file for a URL the way Cloudflare's asset router
//! does (`/` is `index.html`, `/tokens` is `tokens.html`, `.html` and
//! trailing-slash URLs redirect to the clean one), and answering with its
//! content type, its build-time ETag, and 304 on revalidation.

use http::header::{self, HeaderValue};

use super::respond::{Resp, redirect, with_body};
use crate::protocol::index::if_none_match;

/// One file of `public/`.
pub struct Asset {
    /// The URL path of the file itself, e.g. `/tokens.html`.
    pub path: &'static str,
    pub content_type: &'static str,
    /// A strong ETag (quoted), from the file's SHA-256.
    pub etag: &'static str,
    pub body: &'static [u8],
}

/// Every file of `public/`, sorted by path.
pub static FILES: &[Asset] = include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// What a URL path names.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    File(&'static Asset),
    /// The file's clean URL (without `.html` or a trailing slash).
    Redirect(String),
    Missing,
}

impl std::fmt::Debug for Asset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.path)
    }
}

impl PartialEq for Asset {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path
    }
}
impl Eq for Asset {}

fn file(path: &str) -> Option<&'static Asset> {
    FILES.iter().find(|a| a.path == path)
}

/// The file a URL path names, or where to redirect.
pub fn lookup(path: &str) -> Lookup {
    if path == "/" {
        return file("/index.html").map_or(Lookup::Missing, Lookup::File);
    }
    if let Some(stem) = path.strip_suffix(".html")
        && file(path).is_some()
    {
        let clean = stem.strip_suffix("/index").unwrap_or(stem);
        return Lookup::Redirect(if clean.is_empty() { "/" } else { clean }.to_string());
    }
    if let Some(stem) = path.strip_suffix('/')
        && file(&format!("{stem}.html")).is_some()
    {
        return Lookup::Redirect(stem.to_string());
    }
    if path.ends_with(".html") {
        return Lookup::Missing;
    }
    file(path)
        .or_else(|| file(&format!("{path}.html")))
        .map_or(Lookup::Missing, Lookup::File)
}

/// A redirect to `to`, keeping the request's query string.
pub fn redirect_keeping_query(to: &str, query: Option<&str>) -> Resp {
    match query {
        Some(q) if !q.is_empty() => redirect(&format!("{to}?{q}")),
        _ => redirect(to),
    }
}

/// The file's response: 304 when `if_none_match` names its ETag. Browsers
/// revalidate every time (`no-cache`), so a new deployment is seen at once
/// and a signed-out visitor is sent to sign-in even for a cached page.
pub fn respond(asset: &Asset, if_none_match_header: Option<&str>) -> Resp {
    let fresh = if_none_match_header.is_some_and(|h| if_none_match(h, asset.etag));
    let mut r = if fresh {
        with_body(304, asset.content_type, Vec::new())
    } else {
        with_body(200, asset.content_type, asset.body.to_vec())
    };
    let h = r.headers_mut();
    h.insert(header::ETAG, HeaderValue::from_static(asset.etag));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(path: &str) -> &'static str {
        match lookup(path) {
            Lookup::File(a) => a.path,
            other => panic!("{path}: {other:?}"),
        }
    }

    /// The URL path of every file under `dir` (subdirectories included, as
    /// `build.rs` walks them), skipping hidden ones.
    fn walk(dir: &std::path::Path, prefix: &str, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_str().unwrap().to_string();
            if name.starts_with('.') {
                continue;
            }
            let path = format!("{prefix}/{name}");
            if e.file_type().unwrap().is_dir() {
                walk(&e.path(), &path, out);
            } else {
                out.push(path);
            }
        }
    }

    #[test]
    fn every_public_file_is_compiled_in_with_its_own_etag() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/public");
        let mut on_disk = Vec::new();
        walk(std::path::Path::new(dir), "", &mut on_disk);
        on_disk.sort();
        assert!(on_disk.iter().any(|p| p == "/js/common.js"), "{on_disk:?}");
        let compiled: Vec<&str> = FILES.iter().map(|a| a.path).collect();
        assert_eq!(compiled, on_disk);
        for a in FILES {
            let bytes = std::fs::read(format!("{dir}{}", a.path)).unwrap();
            assert_eq!(a.body, &bytes[..], "{}", a.path);
            assert!(a.etag.starts_with('"') && a.etag.ends_with('"') && a.etag.len() == 34);
        }
        let mut etags: Vec<_> = FILES.iter().map(|a| a.etag).collect();
        etags.dedup();
        assert_eq!(etags.len(), FILES.len());
    }

    #[test]
    fn clean_urls_like_the_asset_router() {
        assert_eq!(found("/"), "/index.html");
        assert_eq!(found("/tokens"), "/tokens.html");
        assert_eq!(found("/js/common.js"), "/js/common.js");
        assert_eq!(found("/js/tokens.js"), "/js/tokens.js");
        assert_eq!(found("/style.css"), "/style.css");
        assert_eq!(lookup("/tokens.html"), Lookup::Redirect("/tokens".into()));
        assert_eq!(lookup("/index.html"), Lookup::Redirect("/".into()));
        assert_eq!(lookup("/tokens/"), Lookup::Redirect("/tokens".into()));
        for missing in [
            "/nope",
            "/nope.html",
            "/app.js",
            "/js",
            "/js/",
            "/js/common.js/",
            "/js/common",
            "/../Cargo.toml",
            "/public/js/common.js",
            "//js/common.js",
            "/app",
            "/tokens.html.html",
            "/TOKENS",
        ] {
            assert_eq!(lookup(missing), Lookup::Missing, "{missing}");
        }
    }

    #[test]
    fn content_types_and_revalidation() {
        let Lookup::File(css) = lookup("/style.css") else {
            panic!()
        };
        let r = respond(css, None);
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "text/css; charset=utf-8");
        assert_eq!(r.headers()["cache-control"], "no-cache");
        assert_eq!(r.body(), css.body);
        let etag = r.headers()["etag"].to_str().unwrap().to_string();
        let again = respond(css, Some(&etag));
        assert_eq!(again.status(), 304);
        assert!(again.body().is_empty());
        assert_eq!(again.headers()["etag"], etag.as_str());
        assert_eq!(respond(css, Some("\"other\"")).status(), 200);
        let Lookup::File(html) = lookup("/") else {
            panic!()
        };
        assert_eq!(
            respond(html, None).headers()["content-type"],
            "text/html; charset=utf-8"
        );
        let Lookup::File(js) = lookup("/js/common.js") else {
            panic!()
        };
        assert_eq!(
            respond(js, None).headers()["content-type"],
            "text/javascript; charset=utf-8"
        );
    }
}
