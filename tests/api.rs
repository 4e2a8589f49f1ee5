//! The whole app through the router on the in-memory store: every Cargo
//! endpoint's success shape, and every rejection with its status, message
//! and proof that nothing was stored.

mod common;

use common::*;
use edge_registry::auth::{Scope, Scopes};
use edge_registry::protocol::publish::Limits;
use edge_registry::service::Config;
use edge_registry::store::native::NativeStore;
use serde_json::json;

#[test]
fn config_json_needs_a_token_and_challenges_with_an_absolute_login_url() {
    let h = Harness::new();
    let r = h.get("/index/config.json", None);
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate").unwrap(),
        "Cargo login_url=\"http://reg.test/me\""
    );
    assert_eq!(
        r.detail(),
        "this registry requires a token: run `cargo login --registry <name>` with a token from the registry's Tokens page, or set CARGO_REGISTRIES_<NAME>_TOKEN"
    );

    let t = h.token("alice");
    for auth in [t.clone(), format!("Bearer {t}"), format!("bearer {t}")] {
        let r = h.get("/index/config.json", Some(&auth));
        assert_eq!(r.status, 200, "{auth}");
        let c = r.json();
        assert_eq!(c["api"], "http://reg.test");
        assert_eq!(c["auth-required"], true);
        assert_eq!(
            c["dl"],
            "http://reg.test/dl/{crate}/{version}/{sha256-checksum}"
        );
        assert!(r.header("cache-control").unwrap().contains("private"));
    }
}

#[test]
fn bad_tokens_are_rejected_with_the_status_cargo_expects_per_path() {
    let h = Harness::new();
    let t = h.token("alice");
    h.publish_ok(&t, "foo", "1.0.0");
    let bad = "cfreg_0000000000000000000000000000000000000000";
    let malformed = ["Basic abc", "Bearer", "tok en"];
    // Index and downloads: 401 with the challenge, so cargo says "token rejected".
    for path in ["/index/config.json", "/index/3/f/foo", "/dl/foo/1.0.0/00"] {
        let r = h.get(path, Some(bad));
        assert_eq!(r.status, 401, "{path}");
        assert!(r.header("www-authenticate").is_some(), "{path}");
        assert_eq!(
            r.detail(),
            "this token is not valid for this registry; create one and run `cargo login` again",
            "{path}: {}",
            r.detail()
        );
        for m in malformed {
            assert_eq!(h.get(path, Some(m)).status, 401, "{path} {m}");
        }
    }
    // API: 401 without a token, 403 with a bad one.
    for (m, path) in [
        ("GET", "/api/v1/crates?q=foo"),
        ("PUT", "/api/v1/crates/new"),
        ("DELETE", "/api/v1/crates/foo/1.0.0/yank"),
        ("PUT", "/api/v1/crates/foo/1.0.0/unyank"),
        ("GET", "/api/v1/crates/foo/owners"),
        ("PUT", "/api/v1/crates/foo/owners"),
        ("DELETE", "/api/v1/crates/foo/owners"),
    ] {
        let r = h.send(m, path, None, Vec::new());
        assert_eq!(r.status, 401, "{m} {path}");
        assert_eq!(
            r.detail(),
            "this registry requires a token: run `cargo login --registry <name>` with a token from the registry's Tokens page, or set CARGO_REGISTRIES_<NAME>_TOKEN"
        );
        let r = h.send(m, path, Some(bad), Vec::new());
        assert_eq!(r.status, 403, "{m} {path}");
        assert_eq!(
            r.detail(),
            "this token is not valid for this registry; create one and run `cargo login` again",
            "{}",
            r.detail()
        );
    }
    // An oversized header is refused, not hashed.
    let huge = "x".repeat(10_000);
    assert_eq!(h.get("/index/config.json", Some(&huge)).status, 401);
}

#[test]
fn revoked_and_expired_tokens_say_why_within_the_cache_bound() {
    let mut h = Harness::new();
    let t = h.token_with("bob", false, Scopes::all(), "", Some(NOW + 10));
    assert_eq!(h.get("/index/config.json", Some(&t)).status, 200);
    h.now = NOW + 20;
    let r = h.get("/index/config.json", Some(&t));
    assert_eq!(r.status, 401);
    assert_eq!(
        r.detail(),
        "this token (`test`) expired at 2026-03-05T10:20:40Z; create a new one and run `cargo login` again",
        "{}",
        r.detail()
    );
    let r = h.get("/api/v1/crates?q=x", Some(&t));
    assert_eq!(r.status, 403);

    let t2 = h.token("carol");
    assert_eq!(h.get("/index/config.json", Some(&t2)).status, 200);
    let id = futures::executor::block_on(async {
        use edge_registry::store::{TokenStore, UserStore};
        let u = h
            .app
            .store
            .db
            .user_by_login("carol")
            .await
            .unwrap()
            .unwrap();
        let id = h.app.store.db.list_tokens(u.id).await.unwrap()[0].id;
        assert!(h.app.store.db.revoke_token(id, h.now).await.unwrap());
        id
    });
    assert!(id > 0);
    // Honoured once the isolate's cache entry is older than the bound.
    h.now += h.app.config.token_cache_secs;
    let r = h.get("/index/config.json", Some(&t2));
    assert_eq!(r.status, 401);
    assert_eq!(
        r.detail(),
        "this token (`test`) was revoked; create a new one and run `cargo login` again",
        "{}",
        r.detail()
    );
}

#[test]
fn publish_then_index_download_search_read_your_writes() {
    let h = Harness::new();
    let t = h.token("alice");
    let spec = CrateSpec::new("Acme-Core", "1.2.0")
        .dep(json!({"name": "serde_json", "version_req": "^1", "features": ["std"], "optional": true,
                    "default_features": false, "target": "cfg(unix)", "kind": "normal",
                    "registry": "https://github.com/rust-lang/crates.io-index", "explicit_name_in_toml": "json"}))
        .dep(dep("tester", "^1", "dev"))
        .manifest("rust-version = \"1.74\"\nlinks = \"acme\"\n")
        .meta("features", json!({"default": ["std"], "std": [], "json": ["dep:json"], "weak": ["json?/std"]}));
    let tarball = spec.tarball();
    let before = h.snapshot();
    let r = h.publish(&t, publish_body(&spec.meta_json(), &tarball));
    assert_eq!(r.status, 200, "{}", r.text());
    let w = r.json();
    assert_eq!(w["warnings"]["other"], json!([]));
    assert_eq!(w["warnings"]["invalid_categories"], json!([]));
    assert_eq!(h.snapshot().versions, before.versions + 1);

    // Read-your-writes: the very next index read has the line, exactly.
    let r = h.get("/index/ac/me/acme-core", Some(&t));
    assert_eq!(r.status, 200);
    let body = r.text();
    assert!(body.ends_with('\n') && body.lines().count() == 1);
    let line: serde_json::Value = serde_json::from_str(body.trim_end()).unwrap();
    assert_eq!(line["name"], "Acme-Core");
    assert_eq!(line["vers"], "1.2.0");
    assert_eq!(line["cksum"], sha256_hex(&tarball));
    assert_eq!(line["rust_version"], "1.74");
    assert_eq!(line["links"], "acme");
    assert_eq!(line["yanked"], false);
    assert_eq!(line["pubtime"], "2026-03-05T10:20:30Z");
    assert_eq!(line["v"], 2);
    assert_eq!(line["features"], json!({"default": ["std"], "std": []}));
    assert_eq!(
        line["features2"],
        json!({"json": ["dep:json"], "weak": ["json?/std"]})
    );
    let deps = line["deps"].as_array().unwrap();
    assert_eq!(deps.len(), 2);
    assert_eq!(
        deps[0],
        json!({"name": "json", "req": "^1", "features": ["std"], "optional": true,
        "default_features": false, "target": "cfg(unix)", "kind": "normal",
        "registry": "https://github.com/rust-lang/crates.io-index", "package": "serde_json"})
    );
    assert_eq!(deps[1]["name"], "tester");
    assert_eq!(deps[1]["kind"], "dev");
    assert_eq!(deps[1]["registry"], serde_json::Value::Null);

    // Strong ETag, 304 on revalidation, HEAD without a body.
    let etag = r.header("etag").unwrap();
    assert_eq!(etag, format!("\"{}\"", sha256_hex(body.as_bytes())));
    let r304 = futures::executor::block_on(h.send_async(
        "GET",
        "/index/ac/me/acme-core",
        Some(&t),
        &[("if-none-match", &etag)],
        vec![],
    ));
    assert_eq!(r304.status, 304);
    assert!(r304.body.is_empty());
    assert_eq!(r304.header("etag").unwrap(), etag);
    let head = h.send("HEAD", "/index/ac/me/acme-core", Some(&t), vec![]);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());

    // Downloads: the dl template and the standard API path give the same bytes.
    let dl = h.get(
        &format!("/dl/Acme-Core/1.2.0/{}", sha256_hex(&tarball)),
        Some(&t),
    );
    assert_eq!(dl.status, 200);
    assert_eq!(dl.body, tarball);
    let dl2 = h.get("/api/v1/crates/Acme-Core/1.2.0/download", Some(&t));
    assert_eq!(dl2.body, tarball);
    // Wrong checksum or wrong crate for a blob: 404.
    let wrong = h.get(
        &format!("/dl/other/1.2.0/{}", sha256_hex(&tarball)),
        Some(&t),
    );
    assert_eq!(wrong.status, 404);
    assert_eq!(
        h.get(&format!("/dl/Acme-Core/1.2.0/{}", "0".repeat(64)), Some(&t))
            .status,
        404
    );
    assert_eq!(h.get("/dl/Acme-Core/1.2.0/../../x", Some(&t)).status, 404);

    // A blob without metadata (restored from a backup) is served only for
    // the crate and version the database has with that checksum.
    h.app
        .store
        .r2
        .forget_meta(&edge_registry::store::blob_key(&sha256_hex(&tarball)));
    let dl = h.get(
        &format!("/dl/acme_core/1.2.0/{}", sha256_hex(&tarball)),
        Some(&t),
    );
    assert_eq!(dl.status, 200);
    assert_eq!(dl.body, tarball);
    for (name, vers) in [("Acme-Core", "1.2.1"), ("other", "1.2.0")] {
        let r = h.get(
            &format!("/dl/{name}/{vers}/{}", sha256_hex(&tarball)),
            Some(&t),
        );
        assert_eq!(r.status, 404, "{name}@{vers}");
        assert_eq!(
            r.detail(),
            format!("no download for crate `{name}` version `{vers}`")
        );
    }

    // Search finds it by name and description.
    let s = h.get("/api/v1/crates?q=acme&per_page=5", Some(&t)).json();
    assert_eq!(s["meta"]["total"], 1);
    assert_eq!(
        s["crates"][0],
        json!({"name": "Acme-Core", "max_version": "1.2.0", "description": "a test crate"})
    );
}

#[test]
fn unknown_crates_are_404_never_410() {
    let h = Harness::new();
    let t = h.token("alice");
    for path in [
        "/index/no/ne/nonexistent",
        "/index/3/x/xyz",
        "/index/1/a",
        "/index/se/rd/Serde",
        "/index/se/rd/../x",
        "/index/se%2Frd/serde",
        "/index/a/b/c/d",
    ] {
        let r = h.get(path, Some(&t));
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.detail(), "no such crate in this registry");
    }
    assert_eq!(h.get("/api/v1/crates/nope/owners", Some(&t)).status, 404);
    assert_eq!(h.get("/api/v1/nothing", Some(&t)).status, 404);
    assert_eq!(
        h.send("POST", "/index/config.json", Some(&t), vec![])
            .status,
        405
    );
    assert_eq!(
        h.send("POST", "/api/v1/crates/new", Some(&t), vec![])
            .status,
        405
    );
    // Other paths are the web app's pages.
    let help = h.get("/", None);
    assert_eq!(help.status, 200);
    assert!(help.text().contains("<html"), "{}", help.text());
    let missing = h.get("/nothing-here", None);
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.detail(),
        "no page at /nothing-here: the registry's help is at /, its crates at /crates"
    );
    let me = h.get("/me", None);
    assert_eq!(me.status, 302);
}

/// `README_IMAGES`: by default images may come from any https host; with
/// `local`, every response's CSP allows only this registry and `data:`.
#[test]
fn the_image_policy_is_every_response_csp() {
    use edge_registry::web::respond::{CSP, CSP_LOCAL_IMAGES, Images};
    let remote = Harness::new();
    let local = Harness::with(
        NativeStore::new().unwrap(),
        Config {
            images: Images::Local,
            ..Config::default()
        },
    );
    let t = local.token("alice");
    for path in ["/", "/crates/x", "/index/config.json", "/api/v1/crates?q=a"] {
        assert_eq!(
            remote
                .get(path, None)
                .header("content-security-policy")
                .unwrap(),
            CSP,
            "{path}"
        );
        for auth in [None, Some(t.as_str())] {
            assert_eq!(
                local
                    .get(path, auth)
                    .header("content-security-policy")
                    .unwrap(),
                CSP_LOCAL_IMAGES,
                "{path}"
            );
        }
    }
    assert!(CSP.contains("img-src 'self' https: data:;"));
    assert!(CSP_LOCAL_IMAGES.contains("img-src 'self' data:;"));
    assert_eq!(
        CSP.replace("img-src 'self' https: data:;", "img-src 'self' data:;"),
        CSP_LOCAL_IMAGES,
        "the two policies differ only in where images come from"
    );
}

/// The pages compiled into the Worker: bytes, types, revalidation, HEAD,
/// clean URLs, and only GET/HEAD.
#[test]
fn web_pages_are_served_from_the_worker() {
    let h = Harness::new();
    let file =
        |f: &str| std::fs::read(format!("{}/public/{f}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let help = h.get("/", None);
    assert_eq!(help.status, 200);
    assert_eq!(help.body, file("index.html"));
    assert_eq!(
        help.header("content-type").unwrap(),
        "text/html; charset=utf-8"
    );
    assert_eq!(help.header("cache-control").unwrap(), "no-cache");
    assert!(
        help.header("content-security-policy")
            .unwrap()
            .contains("script-src 'self'")
    );
    let etag = help.header("etag").unwrap();
    let again = futures::executor::block_on(h.send_async(
        "GET",
        "/",
        None,
        &[("if-none-match", &etag)],
        vec![],
    ));
    assert_eq!((again.status, again.body.len()), (304, 0));
    let head = h.send("HEAD", "/style.css", None, vec![]);
    assert_eq!((head.status, head.body.len()), (200, 0));
    assert_eq!(
        head.header("content-type").unwrap(),
        "text/css; charset=utf-8"
    );
    let js = h.get("/js/common.js", None);
    assert_eq!(js.body, file("js/common.js"));
    assert_eq!(
        js.header("content-type").unwrap(),
        "text/javascript; charset=utf-8"
    );
    assert_ne!(js.header("etag"), Some(etag));
    // `.html` URLs redirect to the clean one, keeping the query.
    let r = h.get("/login.html?next=%2Fcrates", None);
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location").unwrap(), "/login?next=%2Fcrates");
    assert_eq!(h.get("/index.html", None).header("location").unwrap(), "/");
    // Only reads; nothing outside public/.
    for (m, p) in [("POST", "/"), ("PUT", "/login"), ("DELETE", "/style.css")] {
        let r = h.send(m, p, None, vec![]);
        assert_eq!(r.status, 405, "{m} {p}");
        assert_eq!(
            r.detail(),
            "method not allowed on this path",
            "{m} {p}: {}",
            r.detail()
        );
    }
    for p in [
        "/../Cargo.toml",
        "/public/js/common.js",
        "/%2e%2e/Cargo.toml",
        "/build.rs",
    ] {
        let r = h.get(p, None);
        assert_eq!(r.status, 404, "{p}");
        assert_eq!(
            r.detail(),
            format!("no page at {p}: the registry's help is at /, its crates at /crates"),
        );
    }
}

#[test]
fn dash_underscore_variants_are_not_served_at_each_others_paths() {
    let h = Harness::new();
    let t = h.token("alice");
    h.publish_ok(&t, "foo_bar", "1.0.0");
    assert_eq!(h.get("/index/fo/o_/foo_bar", Some(&t)).status, 200);
    assert_eq!(h.get("/index/fo/o-/foo-bar", Some(&t)).status, 404);
}

/// Every publish rejection: status, message, and nothing stored.
#[test]
fn publish_rejections_store_nothing() {
    let h = Harness::with(
        NativeStore::new().unwrap(),
        Config {
            limits: Limits {
                max_crate_bytes: 64 * 1024,
                ..Limits::default()
            },
            ..Config::default()
        },
    );
    let t = h.token("alice");
    h.publish_ok(&t, "existing", "1.0.0");
    h.publish_ok(&t, "with-build", "2.0.0+meta");
    let other = h.token("mallory");
    let read_only = h.token_with("alice", false, Scopes::from_list(&[Scope::Read]), "", None);
    let update_only = h.token_with(
        "alice",
        false,
        Scopes::from_list(&[Scope::Read, Scope::PublishUpdate]),
        "",
        None,
    );
    let narrow = h.token_with("alice", false, Scopes::all(), "acme-*", None);

    let ok = CrateSpec::new("fresh", "1.0.0");
    let mut big = CrateSpec::new("big", "1.0.0");
    // Incompressible content over the 64 KiB test limit.
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let noise: Vec<u8> = (0..200_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    big = big.file("noise.bin", &noise);
    let mismatched_name = {
        let mut s = CrateSpec::new("fresh", "1.0.0");
        s.name = "fresh".into();
        let tar = CrateSpec::new("other", "1.0.0").tarball();
        publish_body(&s.meta_json(), &tar)
    };
    let manifest_version = {
        let s = CrateSpec::new("fresh", "1.0.0");
        let mut tar_spec = s.clone();
        tar_spec.manifest_extra.clear();
        let root = "fresh-1.0.0";
        let tar = gzip_tar(&[(
            format!("{root}/Cargo.toml"),
            b"[package]\nname = \"fresh\"\nversion = \"1.0.1\"\n".to_vec(),
        )]);
        publish_body(&s.meta_json(), &tar)
    };
    let no_manifest = publish_body(
        &ok.meta_json(),
        &gzip_tar(&[("fresh-1.0.0/src/lib.rs".into(), b"".to_vec())]),
    );
    let outside = publish_body(
        &ok.meta_json(),
        &gzip_tar(&[
            (
                "fresh-1.0.0/Cargo.toml".into(),
                ok.manifest_text().into_bytes(),
            ),
            ("elsewhere/x".into(), b"x".to_vec()),
        ]),
    );
    let not_gzip = publish_body(&ok.meta_json(), b"this is not gzip");
    let mut json_len_lie = ok.body();
    json_len_lie[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
    let mut crate_len_lie = ok.body();
    let jl = ok.meta_json().len();
    crate_len_lie[4 + jl..8 + jl].copy_from_slice(&(10_000u32).to_le_bytes());

    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        (
            "empty body",
            &t,
            vec![],
            400,
            "invalid metadata length: the body is too short to hold one",
        ),
        (
            "lying json length",
            &t,
            json_len_lie,
            413,
            "JSON metadata blob too large: 4294967295 bytes, the limit is 1048576",
        ),
        (
            "lying crate length",
            &t,
            crate_len_lie,
            400,
            "invalid tarball length: 10000 bytes announced but the body ends early",
        ),
        (
            "truncated",
            &t,
            ok.body()[..20].to_vec(),
            400,
            "invalid metadata length: 309 bytes announced but the body ends early",
        ),
        (
            "invalid json",
            &t,
            publish_body(b"{nope", &ok.tarball()),
            400,
            "invalid upload request: key must be a string at line 1 column 2",
        ),
        (
            "bad name",
            &t,
            CrateSpec::new("1abc", "1.0.0").body(),
            400,
            "invalid crate name `1abc`: the name cannot start with a digit",
        ),
        (
            "bad char",
            &t,
            CrateSpec::new("ab.c", "1.0.0").body(),
            400,
            "invalid crate name `ab.c`: invalid character `.`; only ASCII letters, digits, `-` and `_` are allowed",
        ),
        (
            "reserved",
            &t,
            CrateSpec::new("std", "1.0.0").body(),
            400,
            "cannot upload a crate with a reserved name: `std` is reserved (toolchain or Windows device name)",
        ),
        (
            "reserved windows",
            &t,
            CrateSpec::new("Nul", "1.0.0").body(),
            400,
            "cannot upload a crate with a reserved name: `Nul` is reserved (toolchain or Windows device name)",
        ),
        (
            "bad semver",
            &t,
            CrateSpec::new("fresh", "1.0").body(),
            400,
            "\"1.0\" is an invalid semver version: unexpected end of input while parsing minor version number",
        ),
        (
            "too large",
            &t,
            big.body(),
            413,
            "max upload size is: 65536 bytes; this crate is 200375 bytes",
        ),
        (
            "not gzip",
            &t,
            not_gzip,
            400,
            "the uploaded .crate is not a gzip file",
        ),
        (
            "name mismatch",
            &t,
            mismatched_name,
            400,
            "the .crate contains `other-1.0.0/Cargo.toml`, outside its single root folder `fresh-1.0.0/`",
        ),
        (
            "manifest version",
            &t,
            manifest_version,
            400,
            "metadata version `1.0.0` does not match manifest version `1.0.1`",
        ),
        (
            "no manifest",
            &t,
            no_manifest,
            400,
            "the .crate is missing a `Cargo.toml` manifest file at `fresh-1.0.0/Cargo.toml`",
        ),
        (
            "outside root",
            &t,
            outside,
            400,
            "the .crate contains `elsewhere/x`, outside its single root folder `fresh-1.0.0/`",
        ),
        (
            "unknown dep",
            &t,
            CrateSpec::new("fresh", "1.0.0")
                .dep(dep("ghost", "^1", "normal"))
                .body(),
            400,
            "no known crate named `ghost` in this registry: publish it first, or, if it comes from crates.io, declare it without `registry = ...`",
        ),
        (
            "unknown build dep",
            &t,
            CrateSpec::new("fresh", "1.0.0")
                .dep(dep("ghost", "^1", "build"))
                .body(),
            400,
            "no known crate named `ghost` in this registry: publish it first, or, if it comes from crates.io, declare it without `registry = ...`",
        ),
        (
            "dep case",
            &t,
            CrateSpec::new("fresh", "1.0.0")
                .dep(dep("Existing", "^1", "normal"))
                .body(),
            400,
            "dependency `Existing` is spelled `existing` in this registry; fix the name in Cargo.toml",
        ),
        (
            "duplicate",
            &t,
            CrateSpec::new("existing", "1.0.0")
                .file("changed", b"x")
                .body(),
            400,
            "crate version `1.0.0` of `existing` is already uploaded; versions are immutable, publish a new version number instead",
        ),
        (
            "dup ignoring build",
            &t,
            CrateSpec::new("existing", "1.0.0+other").body(),
            400,
            "crate version `1.0.0` of `existing` is already uploaded; versions are immutable, publish a new version number instead",
        ),
        (
            "dup of build",
            &t,
            CrateSpec::new("with-build", "2.0.0").body(),
            400,
            "crate version `2.0.0+meta` of `with-build` is already uploaded; versions are immutable, publish a new version number instead",
        ),
        (
            "case collision",
            &t,
            CrateSpec::new("Existing", "9.0.0").body(),
            400,
            "crate `Existing` conflicts with the existing crate `existing`: names that differ only in case or in `-` versus `_` are the same crate; publish it as `existing`",
        ),
        (
            "dash collision",
            &t,
            CrateSpec::new("with_build", "9.0.0").body(),
            400,
            "crate `with_build` conflicts with the existing crate `with-build`: names that differ only in case or in `-` versus `_` are the same crate; publish it as `with-build`",
        ),
        (
            "not owner",
            &other,
            CrateSpec::new("existing", "2.0.0").body(),
            403,
            "crate `existing` exists but you are not one of its owners; ask an owner to run `cargo owner --add <your login> existing`",
        ),
        (
            "read-only token",
            &read_only,
            CrateSpec::new("fresh", "1.0.0").body(),
            403,
            "this token lacks the `publish-new` or `publish-update` scope needed for this request; create a token with that scope",
        ),
        // A refused publish says nothing about the crates that exist.
        (
            "narrow token, dependency on a crate it cannot read",
            &narrow,
            CrateSpec::new("acme-probe", "1.0.0")
                .dep(dep("existing", "^1", "normal"))
                .body(),
            400,
            "no known crate named `existing` in this registry: publish it first, or, if it comes from crates.io, declare it without `registry = ...`",
        ),
        (
            "narrow token, dependency spelled otherwise than a crate it cannot read",
            &narrow,
            CrateSpec::new("acme-probe", "1.0.0")
                .dep(dep("Existing", "^1", "normal"))
                .body(),
            400,
            "no known crate named `Existing` in this registry: publish it first, or, if it comes from crates.io, declare it without `registry = ...`",
        ),
        (
            "read-only token, name of an existing crate in other case",
            &read_only,
            CrateSpec::new("Existing", "9.0.0").body(),
            403,
            "this token lacks the `publish-new` or `publish-update` scope needed for this request; create a token with that scope",
        ),
        (
            "narrow token, name of an existing crate in other case",
            &narrow,
            CrateSpec::new("Existing", "9.0.0").body(),
            403,
            "this token is limited to the crates `acme_*` and cannot act on `Existing`",
        ),
        (
            "update-only new crate",
            &update_only,
            CrateSpec::new("fresh", "1.0.0").body(),
            403,
            "this token lacks the `publish-new` scope needed for this request; create a token with that scope",
        ),
        (
            "crate pattern",
            &narrow,
            CrateSpec::new("fresh", "1.0.0").body(),
            403,
            "this token is limited to the crates `acme_*` and cannot act on `fresh`",
        ),
        (
            "bad rust-version",
            &t,
            CrateSpec::new("fresh", "1.0.0")
                .manifest("rust-version = \"latest\"\n")
                .body(),
            400,
            "invalid `rust-version` \"latest\": use a bare version such as 1.74",
        ),
        (
            "artifact dep",
            &t,
            CrateSpec::new("fresh", "1.0.0")
                .dep(json!({"name":"x","version_req":"1","artifact":["bin"]}))
                .body(),
            400,
            "dependency `x` is an artifact dependency, which this registry does not support",
        ),
    ];
    let before = h.snapshot();
    let index_before = h.get("/index/ex/is/existing", Some(&t)).text();
    for (what, token, body, status, msg) in cases {
        let r = h.publish(token, body);
        assert_eq!(r.status, status, "{what}: {}", r.text());
        let detail = r.detail();
        assert_eq!(detail, msg, "{what}");
        assert_eq!(h.snapshot(), before, "{what} stored something");
    }
    assert_eq!(
        h.get("/index/ex/is/existing", Some(&t)).text(),
        index_before
    );
    assert_eq!(h.get("/index/fr/es/fresh", Some(&t)).status, 404);
}

#[test]
fn a_crates_io_dependency_and_dev_dependencies_need_not_exist_here() {
    let h = Harness::new();
    let t = h.token("alice");
    let mut crates_io = dep("serde", "^1", "normal");
    crates_io["registry"] = json!("https://github.com/rust-lang/crates.io-index");
    let spec =
        CrateSpec::new("uses-deps", "0.1.0")
            .dep(crates_io)
            .dep(dep("cycle-partner", "^1", "dev"));
    let r = h.publish(&t, spec.body());
    assert_eq!(r.status, 200, "{}", r.text());
    // A same-registry dep by its own index URL counts as this registry.
    h.publish_ok(&t, "base", "1.0.0");
    let mut own = dep("base", "^1", "normal");
    own["registry"] = json!("sparse+http://reg.test/index/");
    let r = h.publish(&t, CrateSpec::new("on-base", "0.1.0").dep(own).body());
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        h.index_lines(&t, "on-base")[0]["deps"][0]["registry"],
        serde_json::Value::Null
    );
}

#[test]
fn build_metadata_round_trips_through_urls() {
    let h = Harness::new();
    let t = h.token("alice");
    let spec = CrateSpec::new("meta", "1.0.0+build.7");
    assert_eq!(h.publish(&t, spec.body()).status, 200);
    let line = &h.index_lines(&t, "meta")[0];
    assert_eq!(line["vers"], "1.0.0+build.7");
    let ck = sha256_hex(&spec.tarball());
    assert_eq!(
        h.get(&format!("/dl/meta/1.0.0+build.7/{ck}"), Some(&t))
            .body,
        spec.tarball()
    );
    assert_eq!(
        h.get(&format!("/dl/meta/1.0.0%2Bbuild.7/{ck}"), Some(&t))
            .body,
        spec.tarball()
    );
    let r = h.send(
        "DELETE",
        "/api/v1/crates/meta/1.0.0+build.7/yank",
        Some(&t),
        vec![],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(h.index_lines(&t, "meta")[0]["yanked"], true);
}

#[test]
fn yank_and_unyank_flip_only_the_flag() {
    let h = Harness::new();
    let t = h.token("alice");
    h.publish_ok(&t, "yanky", "1.0.0");
    h.publish_ok(&t, "yanky", "1.1.0");
    let before = h.index_lines(&t, "yanky");
    let r = h.send(
        "DELETE",
        "/api/v1/crates/yanky/1.1.0/yank",
        Some(&t),
        vec![],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"ok": true}));
    let after = h.index_lines(&t, "yanky");
    assert_eq!(after[1]["yanked"], true);
    assert_eq!(after[0], before[0]);
    let mut unflagged = after[1].clone();
    unflagged["yanked"] = json!(false);
    assert_eq!(unflagged, before[1], "only `yanked` may change");
    // max_version skips yanked versions.
    assert_eq!(
        h.get("/api/v1/crates?q=yanky", Some(&t)).json()["crates"][0]["max_version"],
        "1.0.0"
    );
    // Yanking again is fine; unyank restores.
    assert_eq!(
        h.send(
            "DELETE",
            "/api/v1/crates/yanky/1.1.0/yank",
            Some(&t),
            vec![]
        )
        .status,
        200
    );
    let r = h.send("PUT", "/api/v1/crates/yanky/1.1.0/unyank", Some(&t), vec![]);
    assert_eq!(r.json(), json!({"ok": true}));
    assert_eq!(h.index_lines(&t, "yanky"), before);

    let other = h.token("mallory");
    let r = h.send(
        "DELETE",
        "/api/v1/crates/yanky/1.1.0/yank",
        Some(&other),
        vec![],
    );
    assert_eq!(r.status, 403);
    assert_eq!(
        r.detail(),
        "you are not an owner of crate `yanky`; only its owners can do this"
    );
    let r = h.send(
        "DELETE",
        "/api/v1/crates/yanky/9.9.9/yank",
        Some(&t),
        vec![],
    );
    assert_eq!(r.status, 404);
    assert_eq!(r.detail(), "crate `yanky` has no version `9.9.9`");
    let r = h.send("DELETE", "/api/v1/crates/nope/1.0.0/yank", Some(&t), vec![]);
    assert_eq!(r.status, 404);
    let no_yank = h.token_with("alice", false, Scopes::from_list(&[Scope::Read]), "", None);
    let r = h.send(
        "DELETE",
        "/api/v1/crates/yanky/1.1.0/yank",
        Some(&no_yank),
        vec![],
    );
    assert_eq!(r.status, 403);
    assert_eq!(
        r.detail(),
        "this token lacks the `yank` scope needed for this request; create a token with that scope"
    );
    assert_eq!(h.index_lines(&t, "yanky"), before);
}

#[test]
fn owners_list_add_remove_in_cargos_shapes() {
    let h = Harness::new();
    let t = h.token("alice");
    let bob = h.token("bob");
    h.publish_ok(&t, "shared", "1.0.0");
    let r = h.get("/api/v1/crates/shared/owners", Some(&t)).json();
    assert_eq!(r["users"].as_array().unwrap().len(), 1);
    assert_eq!(r["users"][0]["login"], "alice");
    assert!(r["users"][0]["id"].as_u64().is_some());

    // bob cannot publish until added.
    assert_eq!(
        h.publish(&bob, CrateSpec::new("shared", "1.1.0").body())
            .status,
        403
    );
    let r = h.send(
        "PUT",
        "/api/v1/crates/shared/owners",
        Some(&t),
        br#"{"users":["bob"]}"#.to_vec(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["ok"], true);
    assert!(v["msg"].as_str().unwrap().contains("`bob`"));
    h.publish_ok(&bob, "shared", "1.1.0");

    let r = h.send(
        "PUT",
        "/api/v1/crates/shared/owners",
        Some(&t),
        br#"{"users":["ghost"]}"#.to_vec(),
    );
    assert_eq!(r.status, 404);
    assert_eq!(
        r.detail(),
        "could not find a user with login `ghost`; an administrator can create it"
    );
    let r = h.send(
        "PUT",
        "/api/v1/crates/shared/owners",
        Some(&t),
        b"not json".to_vec(),
    );
    assert_eq!(r.status, 400);
    let r = h.send(
        "PUT",
        "/api/v1/crates/shared/owners",
        Some(&h.token("mallory")),
        br#"{"users":["mallory"]}"#.to_vec(),
    );
    assert_eq!(r.status, 403);

    let r = h.send(
        "DELETE",
        "/api/v1/crates/shared/owners",
        Some(&bob),
        br#"{"owners":["alice"]}"#.to_vec(),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!({"ok": true, "msg": "owners successfully removed"})
    );
    // The last owner cannot be removed.
    let r = h.send(
        "DELETE",
        "/api/v1/crates/shared/owners",
        Some(&bob),
        br#"{"users":["bob"]}"#.to_vec(),
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.detail(),
        "cannot remove every owner of crate `shared`; add another owner first"
    );
    let owners = h.get("/api/v1/crates/shared/owners", Some(&t)).json();
    assert_eq!(owners["users"].as_array().unwrap().len(), 1);
    assert_eq!(owners["users"][0]["login"], "bob");
}

#[test]
fn search_ranks_exact_then_prefix_and_pages() {
    let h = Harness::new();
    let t = h.token("alice");
    for n in ["serde", "serde-json", "my-serde", "zzz"] {
        h.publish_ok(&t, n, "1.0.0");
    }
    let s = h.get("/api/v1/crates?q=serde&per_page=2", Some(&t)).json();
    assert_eq!(s["meta"]["total"], 3);
    let names: Vec<_> = s["crates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["serde", "serde-json"]);
    let s = h
        .get("/api/v1/crates?q=serde&per_page=2&page=2", Some(&t))
        .json();
    assert_eq!(s["crates"][0]["name"], "my-serde");
    let s = h.get("/api/v1/crates?q=%25&per_page=100", Some(&t)).json();
    assert_eq!(s["meta"]["total"], 0, "LIKE wildcards are literal");
    let s = h.get("/api/v1/crates?q=&per_page=1000", Some(&t)).json();
    assert_eq!(s["meta"]["total"], 4);
    assert_eq!(s["crates"].as_array().unwrap().len(), 4);
    let s = h.get("/api/v1/crates?q=serde&per_page=0", Some(&t)).json();
    assert_eq!(s["meta"]["total"], 3);
    assert_eq!(s["crates"], json!([]));
}

#[test]
fn republishing_identical_bytes_is_a_safe_retry() {
    let h = Harness::new();
    let t = h.token("alice");
    let body = CrateSpec::new("again", "1.0.0").body();
    assert_eq!(h.publish(&t, body.clone()).status, 200);
    let index = h.get("/index/ag/ai/again", Some(&t)).text();
    let (blobs, versions) = (h.app.store.blob_count(), h.app.store.version_count());
    // The same bytes again (a retry after a lost reply): success, a
    // warning saying nothing changed, and nothing changed.
    let r = h.publish(&t, body);
    assert_eq!(r.status, 200, "{}", r.text());
    let warnings = r.json()["warnings"]["other"].to_string();
    assert_eq!(
        warnings,
        "[\"version `1.0.0` was already stored with these exact contents; nothing changed\"]",
        "{warnings}"
    );
    assert_eq!(h.get("/index/ag/ai/again", Some(&t)).text(), index);
    assert_eq!(h.app.store.blob_count(), blobs);
    assert_eq!(h.app.store.version_count(), versions);
    // Other bytes under the same version are still refused.
    let r = h.publish(
        &t,
        CrateSpec::new("again", "1.0.0").file("extra", b"x").body(),
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.detail(),
        "crate version `1.0.0` of `again` is already uploaded; versions are immutable, publish a new version number instead",
        "{}",
        r.text()
    );
    assert_eq!(h.app.store.blob_count(), blobs);
    assert_eq!(h.get("/index/ag/ai/again", Some(&t)).text(), index);
    // Someone who may not publish this crate gets no success from
    // identical bytes either.
    let mallory = h.token("mallory");
    let r = h.publish(&mallory, CrateSpec::new("again", "1.0.0").body());
    assert_eq!(r.status, 403, "{}", r.text());
}

#[test]
fn a_missing_index_file_is_rerendered_from_the_database() {
    let h = Harness::new();
    let t = h.token("alice");
    h.publish_ok(&t, "heal", "1.0.0");
    let good = h.get("/index/he/al/heal", Some(&t)).text();
    futures::executor::block_on(async {
        use edge_registry::store::IndexStore;
        h.app.store.kv.delete_file("he/al/heal").await.unwrap();
    });
    assert_eq!(h.get("/index/he/al/heal", Some(&t)).text(), good);
    // `reindex` repairs a corrupted file.
    h.app.store.corrupt_index("he/al/heal", "garbage\n");
    assert_eq!(h.get("/index/he/al/heal", Some(&t)).text(), "garbage\n");
    let n = futures::executor::block_on(edge_registry::service::index::reindex(&h.app.store, None))
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(h.get("/index/he/al/heal", Some(&t)).text(), good);
}

#[test]
fn concurrent_publishes_lose_nothing_and_one_version_wins_once() {
    let h = Harness::with(NativeStore::interleaving().unwrap(), Config::default());
    let t = h.token("alice");
    h.publish_ok(&t, "busy", "0.0.1");
    let bodies: Vec<Vec<u8>> = (1..=20)
        .map(|i| CrateSpec::new("busy", &format!("1.0.{i}")).body())
        .collect();
    let results = futures::executor::block_on(futures::future::join_all(
        bodies
            .into_iter()
            .map(|b| h.send_async("PUT", "/api/v1/crates/new", Some(&t), &[], b)),
    ));
    for r in &results {
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let lines = h.index_lines(&t, "busy");
    assert_eq!(
        lines.len(),
        21,
        "every acknowledged version is in the index"
    );

    let same: Vec<Vec<u8>> = (0..10)
        .map(|i| {
            CrateSpec::new("busy", "2.0.0")
                .file("which", format!("{i}").as_bytes())
                .body()
        })
        .collect();
    let results = futures::executor::block_on(futures::future::join_all(
        same.into_iter()
            .map(|b| h.send_async("PUT", "/api/v1/crates/new", Some(&t), &[], b)),
    ));
    let ok = results.iter().filter(|r| r.status == 200).count();
    assert_eq!(ok, 1, "exactly one publish of 2.0.0 wins");
    for r in results.iter().filter(|r| r.status != 200) {
        assert_eq!(r.status, 400);
        assert_eq!(
            r.detail(),
            "crate version `2.0.0` of `busy` is already uploaded; versions are immutable, publish a new version number instead"
        );
    }
    let lines = h.index_lines(&t, "busy");
    assert_eq!(lines.len(), 22);
    let winner = lines.iter().find(|l| l["vers"] == "2.0.0").unwrap();
    let ck = winner["cksum"].as_str().unwrap();
    let blob = h.get(&format!("/dl/busy/2.0.0/{ck}"), Some(&t));
    assert_eq!(
        sha256_hex(&blob.body),
        ck,
        "served bytes hash to the index cksum"
    );
}

#[test]
fn concurrent_yanks_and_owner_changes_converge() {
    let h = Harness::with(NativeStore::interleaving().unwrap(), Config::default());
    let (a, b) = (h.token("alice"), h.token("bob"));
    h.token("carol");
    for v in ["1.0.0", "1.0.1", "1.0.2"] {
        h.publish_ok(&a, "churn", v);
    }
    let yank = |v: &str| ("DELETE", format!("/api/v1/crates/churn/{v}/yank"));
    let unyank = |v: &str| ("PUT", format!("/api/v1/crates/churn/{v}/unyank"));
    assert_eq!(
        h.send("DELETE", &yank("1.0.1").1, Some(&a), vec![]).status,
        200
    );
    let owners = "/api/v1/crates/churn/owners";
    let mut reqs: Vec<(&str, String, Vec<u8>)> = Vec::new();
    for i in 0..6 {
        let (m, p) = yank("1.0.0");
        reqs.push((m, p, vec![]));
        let (m, p) = unyank("1.0.1");
        reqs.push((m, p, vec![]));
        let (m, p) = if i % 2 == 0 {
            yank("1.0.2")
        } else {
            unyank("1.0.2")
        };
        reqs.push((m, p, vec![]));
        reqs.push(("PUT", owners.into(), br#"{"users":["bob"]}"#.to_vec()));
        reqs.push(("PUT", owners.into(), br#"{"users":["carol"]}"#.to_vec()));
    }
    let results = futures::executor::block_on(futures::future::join_all(
        reqs.iter()
            .map(|(m, p, body)| h.send_async(m, p, Some(&a), &[], body.clone())),
    ));
    for r in &results {
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let lines = h.index_lines(&a, "churn");
    assert_eq!(lines[0]["yanked"], true);
    assert_eq!(lines[1]["yanked"], false);
    // The served file is exactly what a fresh render of the database gives.
    let served = h.get("/index/ch/ur/churn", Some(&a)).text();
    assert_eq!(
        futures::executor::block_on(edge_registry::service::index::reindex(&h.app.store, None))
            .unwrap(),
        1
    );
    assert_eq!(h.get("/index/ch/ur/churn", Some(&a)).text(), served);
    // Two owners removing each other at once: exactly one wins.
    let results = futures::executor::block_on(futures::future::join_all([
        h.send_async(
            "DELETE",
            owners,
            Some(&a),
            &[],
            br#"{"users":["bob","carol"]}"#.to_vec(),
        ),
        h.send_async(
            "DELETE",
            owners,
            Some(&b),
            &[],
            br#"{"users":["alice"]}"#.to_vec(),
        ),
    ]));
    assert_eq!(
        results.iter().filter(|r| r.status == 200).count(),
        1,
        "{:?}",
        results.iter().map(|r| r.text()).collect::<Vec<_>>()
    );
    let left = h.get(owners, Some(&a));
    let left = if left.status == 200 {
        left
    } else {
        h.get(owners, Some(&b))
    };
    assert_eq!(
        left.json()["users"].as_array().unwrap().len(),
        1,
        "{}",
        left.text()
    );
}

#[test]
fn new_crate_race_between_users_gives_one_owner() {
    let h = Harness::with(NativeStore::interleaving().unwrap(), Config::default());
    let a = h.token("alice");
    let b = h.token("bob");
    let results = futures::executor::block_on(futures::future::join(
        h.send_async(
            "PUT",
            "/api/v1/crates/new",
            Some(&a),
            &[],
            CrateSpec::new("contested", "1.0.0").body(),
        ),
        h.send_async(
            "PUT",
            "/api/v1/crates/new",
            Some(&b),
            &[],
            CrateSpec::new("contested", "1.0.1").body(),
        ),
    ));
    let statuses = [results.0.status, results.1.status];
    assert!(statuses.contains(&200), "{statuses:?}");
    let owners = h.get("/api/v1/crates/contested/owners", Some(&a)).json();
    assert_eq!(owners["users"].as_array().unwrap().len(), 1);
    let lines = h.index_lines(&a, "contested");
    assert_eq!(lines.len(), statuses.iter().filter(|s| **s == 200).count());
}

#[test]
fn token_crate_patterns_limit_reads() {
    let h = Harness::new();
    let t = h.token("alice");
    h.publish_ok(&t, "acme-core", "1.0.0");
    h.publish_ok(&t, "secret", "1.0.0");
    let narrow = h.token_with(
        "alice",
        false,
        Scopes::from_list(&[Scope::Read]),
        "acme-*",
        None,
    );
    assert_eq!(h.get("/index/ac/me/acme-core", Some(&narrow)).status, 200);
    let r = h.get("/index/se/cr/secret", Some(&narrow));
    assert_eq!(r.status, 403);
    assert_eq!(
        r.detail(),
        "this token is limited to the crates `acme_*` and cannot act on `secret`"
    );
    let s = h.get("/api/v1/crates?q=", Some(&narrow)).json();
    let names: Vec<_> = s["crates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("acme-core")]);
    assert_eq!(s["meta"]["total"], 1);

    // The reviewed oracle: a search for another crate's words must not
    // count it, or its description can be recovered a letter at a time.
    h.publish_ok(&t, "acme-extra", "1.0.0");
    h.publish_ok(&t, "acme-more", "1.0.0");
    for q in ["secret", "s", "", "e"] {
        let all = h
            .get(&format!("/api/v1/crates?q={q}&per_page=100"), Some(&t))
            .json();
        let s = h
            .get(&format!("/api/v1/crates?q={q}&per_page=100"), Some(&narrow))
            .json();
        let visible: Vec<_> = all["crates"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["name"].as_str().unwrap().starts_with("acme-"))
            .cloned()
            .collect();
        assert_eq!(s["crates"], json!(visible), "q={q}");
        assert_eq!(s["meta"]["total"], visible.len(), "q={q}");
    }
    let s = h.get("/api/v1/crates?q=secret", Some(&narrow)).json();
    assert_eq!(s, json!({"crates": [], "meta": {"total": 0}}));
    // Pages are full pages of what the token may read.
    let s = h.get("/api/v1/crates?q=e&per_page=2", Some(&narrow)).json();
    assert_eq!(s["crates"].as_array().unwrap().len(), 2);
    assert_eq!(s["meta"]["total"], 3);
}
