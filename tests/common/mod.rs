//! Helpers for native tests: the whole app on the in-memory store, driven
//! through the router with plain `http` requests, and builders for publish
//! bodies and `.crate` tarballs.
#![allow(dead_code)]

pub mod idp;

use std::io::Write;

use edge_registry::auth::Scopes;
use edge_registry::service::auth::TokenCache;
use edge_registry::service::tokens::{TokenRequest, ensure_user, issue};
use edge_registry::service::{App, Config};
use edge_registry::store::native::NativeStore;
use edge_registry::web::handle;
use flate2::Compression;
use flate2::write::GzEncoder;
use futures::executor::block_on;
use serde_json::Value;

pub const BASE: &str = "http://reg.test";
pub const NOW: i64 = 1_772_706_030; // 2026-03-05T10:20:30Z

pub struct Harness {
    pub app: App<NativeStore>,
    pub cache: TokenCache,
    pub now: i64,
}

pub struct Resp {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }
    /// The error detail of a Cargo-shaped error body.
    pub fn detail(&self) -> String {
        let v = self.json();
        v["errors"][0]["detail"]
            .as_str()
            .unwrap_or_else(|| panic!("no error detail in {v}"))
            .to_string()
    }
}

/// Counts of everything stored, to prove a rejection stored nothing.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub struct Snapshot {
    pub blobs: usize,
    pub index_files: usize,
    pub versions: usize,
    pub crates: usize,
}

impl Harness {
    pub fn new() -> Self {
        Self::with(NativeStore::new().unwrap(), Config::default())
    }

    pub fn with(store: NativeStore, config: Config) -> Self {
        Harness {
            app: App::new(store, config),
            cache: TokenCache::new(),
            now: NOW,
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        let s = &self.app.store;
        Snapshot {
            blobs: s.blob_count(),
            index_files: s.index_count(),
            versions: s.version_count(),
            crates: s.crate_count(),
        }
    }

    /// Issues a token for `login` (created if missing).
    pub fn token_with(
        &self,
        login: &str,
        admin: bool,
        scopes: Scopes,
        patterns: &str,
        expires_at: Option<i64>,
    ) -> String {
        block_on(async {
            let user = ensure_user(&self.app.store.db, login, admin, self.now)
                .await
                .unwrap();
            issue(
                &self.app.store.db,
                &user,
                &TokenRequest {
                    name: "test",
                    scopes,
                    patterns,
                    expires_at,
                },
                self.now,
            )
            .await
            .unwrap()
            .0
        })
    }

    pub fn token(&self, login: &str) -> String {
        self.token_with(login, false, Scopes::all(), "", None)
    }

    pub async fn send_async(
        &self,
        method: &str,
        path: &str,
        auth: Option<&str>,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Resp {
        let mut b = http::Request::builder()
            .method(method)
            .uri(format!("{BASE}{path}"));
        if let Some(t) = auth {
            b = b.header("authorization", t);
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let req = b.body(body).unwrap();
        let (parts, body) = handle(&self.app, &self.cache, &req, self.now)
            .await
            .into_parts();
        Resp {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        }
    }

    pub fn send(&self, method: &str, path: &str, auth: Option<&str>, body: Vec<u8>) -> Resp {
        block_on(self.send_async(method, path, auth, &[], body))
    }

    pub fn get(&self, path: &str, auth: Option<&str>) -> Resp {
        self.send("GET", path, auth, Vec::new())
    }

    pub fn publish(&self, token: &str, body: Vec<u8>) -> Resp {
        self.send("PUT", "/api/v1/crates/new", Some(token), body)
    }

    /// Publishes a simple crate and asserts success.
    pub fn publish_ok(&self, token: &str, name: &str, vers: &str) {
        let r = self.publish(token, CrateSpec::new(name, vers).body());
        assert_eq!(r.status, 200, "publish {name}@{vers}: {}", r.text());
    }

    /// The index file of a crate, as lines of JSON.
    pub fn index_lines(&self, token: &str, name: &str) -> Vec<Value> {
        let path = edge_registry::protocol::names::index_path(name).unwrap();
        let r = self.get(&format!("/index/{path}"), Some(token));
        assert_eq!(r.status, 200, "index of {name}: {}", r.text());
        r.text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// A crate to publish: metadata JSON and a tarball built to match it.
#[derive(Clone)]
pub struct CrateSpec {
    pub name: String,
    pub vers: String,
    pub deps: Vec<Value>,
    pub features: Value,
    pub manifest_extra: String,
    pub meta_extra: Vec<(String, Value)>,
    pub files: Vec<(String, Vec<u8>)>,
}

impl CrateSpec {
    pub fn new(name: &str, vers: &str) -> Self {
        CrateSpec {
            name: name.into(),
            vers: vers.into(),
            deps: vec![],
            features: serde_json::json!({}),
            manifest_extra: String::new(),
            meta_extra: vec![],
            files: vec![("src/lib.rs".into(), b"pub fn f() {}\n".to_vec())],
        }
    }

    pub fn dep(mut self, d: Value) -> Self {
        self.deps.push(d);
        self
    }

    pub fn meta(mut self, key: &str, v: Value) -> Self {
        self.meta_extra.push((key.into(), v));
        self
    }

    pub fn manifest(mut self, extra: &str) -> Self {
        self.manifest_extra.push_str(extra);
        self
    }

    pub fn file(mut self, path: &str, data: &[u8]) -> Self {
        self.files.push((path.into(), data.to_vec()));
        self
    }

    pub fn meta_json(&self) -> Vec<u8> {
        let mut m = serde_json::json!({
            "name": self.name, "vers": self.vers, "deps": self.deps, "features": self.features,
            "authors": [], "description": "a test crate", "documentation": null, "homepage": null,
            "readme": "# Readme", "readme_file": "README.md", "keywords": [], "categories": [],
            "license": "MIT", "license_file": null, "repository": null, "badges": {}, "links": null,
            "rust_version": null
        });
        for (k, v) in &self.meta_extra {
            m[k] = v.clone();
        }
        serde_json::to_vec(&m).unwrap()
    }

    pub fn manifest_text(&self) -> String {
        format!(
            "[package]\nname = \"{}\"\nversion = \"{}\"\nedition = \"2021\"\n{}",
            self.name, self.vers, self.manifest_extra
        )
    }

    pub fn tarball(&self) -> Vec<u8> {
        let root = format!("{}-{}", self.name, self.vers);
        let mut entries = vec![(
            format!("{root}/Cargo.toml"),
            self.manifest_text().into_bytes(),
        )];
        for (p, d) in &self.files {
            entries.push((format!("{root}/{p}"), d.clone()));
        }
        gzip_tar(&entries)
    }

    pub fn body(&self) -> Vec<u8> {
        publish_body(&self.meta_json(), &self.tarball())
    }
}

/// A gzip tarball of regular files.
pub fn gzip_tar(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, path, data.as_slice()).unwrap();
    }
    gzip(&b.into_inner().unwrap())
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// cargo's publish framing.
pub fn publish_body(json: &[u8], tarball: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&(json.len() as u32).to_le_bytes());
    b.extend_from_slice(json);
    b.extend_from_slice(&(tarball.len() as u32).to_le_bytes());
    b.extend_from_slice(tarball);
    b
}

/// A dependency as cargo sends it.
pub fn dep(name: &str, req: &str, kind: &str) -> Value {
    serde_json::json!({
        "name": name, "version_req": req, "features": [], "optional": false,
        "default_features": true, "target": null, "kind": kind
    })
}

pub fn sha256_hex(b: &[u8]) -> String {
    edge_registry::protocol::index::sha256_hex(b)
}

/// A gzip tarball with raw headers, so hostile entries (`..`, absolute
/// paths, links, devices) can be made.
pub fn raw_tarball(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, kind, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(*kind);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        if kind.is_symlink() || kind.is_hard_link() {
            h.set_link_name("target").unwrap();
        }
        let name = &mut h.as_gnu_mut().unwrap().name;
        name.fill(0);
        name[..path.len()].copy_from_slice(path.as_bytes());
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    gzip(&b.into_inner().unwrap())
}

/// A signed-in browser session for `login` (created if missing, with a
/// password set through a one-time link): (cookie, CSRF token).
pub fn web_session(h: &Harness, login: &str, admin: bool) -> (String, String) {
    let secret = block_on(async {
        let u = ensure_user(&h.app.store.db, login, admin, h.now)
            .await
            .unwrap();
        edge_registry::service::accounts::create_link(&h.app, u.id, "password", None, h.now)
            .await
            .unwrap()
    });
    let body =
        serde_json::to_vec(&serde_json::json!({"secret": secret, "password": "a good password"}))
            .unwrap();
    let r = block_on(h.send_async(
        "POST",
        "/web/api/set-password",
        None,
        &[("content-type", "application/json")],
        body,
    ));
    assert_eq!(r.status, 200, "{}", r.text());
    let cookie = r
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    (cookie, r.json()["csrf"].as_str().unwrap().to_string())
}
