//! A corpus of hostile requests: broken framing, lying lengths, bad JSON,
//! every invalid-name class, bad versions, manifest mismatches, broken and
//! malicious tarballs, malformed credentials, and odd paths. Each must get
//! a 4xx in Cargo's error format, store nothing, and leave the index as it
//! was.

mod common;

use common::*;
use edge_registry::protocol::publish::Limits;
use edge_registry::service::Config;
use edge_registry::store::memory::MemoryStore;
use tar::EntryType as T;

struct Case {
    what: &'static str,
    method: &'static str,
    path: String,
    auth: Option<String>,
    body: Vec<u8>,
}

fn put(what: &'static str, auth: &str, body: Vec<u8>) -> Case {
    Case {
        what,
        method: "PUT",
        path: "/api/v1/crates/new".into(),
        auth: Some(auth.into()),
        body,
    }
}

fn req(what: &'static str, method: &'static str, path: &str, auth: Option<&str>) -> Case {
    Case {
        what,
        method,
        path: path.into(),
        auth: auth.map(str::to_string),
        body: vec![],
    }
}

fn with_lengths(json_len: u32, json: &[u8], crate_len: u32, tar: &[u8]) -> Vec<u8> {
    let mut b = json_len.to_le_bytes().to_vec();
    b.extend_from_slice(json);
    b.extend_from_slice(&crate_len.to_le_bytes());
    b.extend_from_slice(tar);
    b
}

#[test]
fn every_hostile_request_gets_a_cargo_shaped_4xx_and_changes_nothing() {
    let limits = Limits {
        max_crate_bytes: 256 * 1024,
        max_unpacked_bytes: 1024 * 1024,
        max_entries: 200,
        ..Limits::default()
    };
    let h = Harness::with(
        MemoryStore::new(),
        Config {
            limits,
            ..Config::default()
        },
    );
    let t = h.token("alice");
    h.publish_ok(&t, "victim", "1.0.0");
    h.publish_ok(&t, "with_under", "1.0.0");

    let ok = CrateSpec::new("fresh", "1.0.0");
    let json = ok.meta_json();
    let tar = ok.tarball();
    let manifest = ok.manifest_text().into_bytes();
    let m = |extra: &[(&'static str, T, &'static [u8])]| {
        let mut e: Vec<(&str, T, &[u8])> =
            vec![("fresh-1.0.0/Cargo.toml", T::Regular, manifest.as_slice())];
        e.extend_from_slice(extra);
        publish_body(&json, &raw_tarball(&e))
    };
    let mut flipped = tar.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x55;
    let zeros = vec![0u8; 8 * 1024 * 1024];
    let bomb = gzip_tar(&[
        ("fresh-1.0.0/Cargo.toml".into(), manifest.clone()),
        ("fresh-1.0.0/zeros".into(), zeros),
    ]);
    let many: Vec<(String, Vec<u8>)> =
        std::iter::once(("fresh-1.0.0/Cargo.toml".to_string(), manifest.clone()))
            .chain((0..300).map(|i| (format!("fresh-1.0.0/f{i}"), vec![])))
            .collect();

    let mut cases = vec![
        // Framing and lying lengths.
        put("empty body", &t, vec![]),
        put("three bytes", &t, vec![1, 0, 0]),
        put(
            "json length u32::MAX",
            &t,
            with_lengths(u32::MAX, &json, tar.len() as u32, &tar),
        ),
        put(
            "json length past the end",
            &t,
            with_lengths(json.len() as u32 + 100, &json, 0, &[]),
        ),
        put(
            "crate length u32::MAX",
            &t,
            with_lengths(json.len() as u32, &json, u32::MAX, &tar),
        ),
        put(
            "crate length past the end",
            &t,
            with_lengths(json.len() as u32, &json, tar.len() as u32 + 1, &tar),
        ),
        put(
            "crate length short (trailing bytes)",
            &t,
            with_lengths(json.len() as u32, &json, tar.len() as u32 - 1, &tar),
        ),
        put(
            "zero-length crate",
            &t,
            with_lengths(json.len() as u32, &json, 0, &[]),
        ),
        put("truncated mid-json", &t, ok.body()[..30].to_vec()),
        put(
            "truncated mid-tarball",
            &t,
            ok.body()[..ok.body().len() - 20].to_vec(),
        ),
        // JSON.
        put("invalid json", &t, publish_body(b"{\"name\":", &tar)),
        put("json array", &t, publish_body(b"[1,2,3]", &tar)),
        put(
            "json missing name",
            &t,
            publish_body(br#"{"vers":"1.0.0"}"#, &tar),
        ),
        put(
            "json name not a string",
            &t,
            publish_body(br#"{"name":42,"vers":"1.0.0"}"#, &tar),
        ),
        put(
            "json not utf-8",
            &t,
            publish_body(b"{\"name\":\"\xff\xfe\",\"vers\":\"1.0.0\"}", &tar),
        ),
        // Names.
        put("empty name", &t, CrateSpec::new("", "1.0.0").body()),
        put(
            "leading digit",
            &t,
            CrateSpec::new("1fresh", "1.0.0").body(),
        ),
        put("leading dash", &t, CrateSpec::new("-fresh", "1.0.0").body()),
        put("unicode name", &t, CrateSpec::new("frésh", "1.0.0").body()),
        put(
            "space in name",
            &t,
            CrateSpec::new("fr esh", "1.0.0").body(),
        ),
        put(
            "65-char name",
            &t,
            CrateSpec::new(&"a".repeat(65), "1.0.0").body(),
        ),
        put("reserved std", &t, CrateSpec::new("std", "1.0.0").body()),
        put("reserved nul", &t, CrateSpec::new("NUL", "1.0.0").body()),
        put("reserved com1", &t, CrateSpec::new("com1", "1.0.0").body()),
        put(
            "case collision",
            &t,
            CrateSpec::new("Victim", "2.0.0").body(),
        ),
        put(
            "dash collision",
            &t,
            CrateSpec::new("with-under", "2.0.0").body(),
        ),
        // Versions.
        put(
            "two-part version",
            &t,
            CrateSpec::new("fresh", "1.0").body(),
        ),
        put("leading zero", &t, CrateSpec::new("fresh", "01.0.0").body()),
        put("v prefix", &t, CrateSpec::new("fresh", "v1.0.0").body()),
        put(
            "151-char version",
            &t,
            CrateSpec::new("fresh", &format!("1.0.0-{}", "a".repeat(145))).body(),
        ),
        put(
            "duplicate ignoring build",
            &t,
            CrateSpec::new("victim", "1.0.0+evil").body(),
        ),
        // Manifest against metadata.
        put(
            "manifest name",
            &t,
            publish_body(&json, &CrateSpec::new("other", "1.0.0").tarball()),
        ),
        put(
            "manifest version",
            &t,
            publish_body(
                &json,
                &raw_tarball(&[(
                    "fresh-1.0.0/Cargo.toml",
                    T::Regular,
                    b"[package]\nname = \"fresh\"\nversion = \"9.9.9\"\n",
                )]),
            ),
        ),
        // Tarballs.
        put(
            "not gzip",
            &t,
            publish_body(&json, b"just some bytes, not gzip"),
        ),
        put("corrupt gzip", &t, publish_body(&json, &flipped)),
        put(
            "truncated gzip",
            &t,
            publish_body(&json, &tar[..tar.len() / 2]),
        ),
        put("gzip bomb", &t, publish_body(&json, &bomb)),
        put(
            "dot-dot path",
            &t,
            m(&[("fresh-1.0.0/../../etc/passwd", T::Regular, b"x")]),
        ),
        put("absolute path", &t, m(&[("/etc/passwd", T::Regular, b"x")])),
        put("symlink", &t, m(&[("fresh-1.0.0/link", T::Symlink, b"")])),
        put("hardlink", &t, m(&[("fresh-1.0.0/hard", T::Link, b"")])),
        put("char device", &t, m(&[("fresh-1.0.0/dev", T::Char, b"")])),
        put("fifo", &t, m(&[("fresh-1.0.0/fifo", T::Fifo, b"")])),
        put(
            "entry outside the root",
            &t,
            m(&[("elsewhere/file", T::Regular, b"x")]),
        ),
        put(
            "huge entry count",
            &t,
            publish_body(&json, &gzip_tar(&many)),
        ),
        put(
            "no manifest",
            &t,
            publish_body(
                &json,
                &raw_tarball(&[("fresh-1.0.0/src/lib.rs", T::Regular, b"")]),
            ),
        ),
        put(
            "two manifests",
            &t,
            m(&[("fresh-1.0.0/cargo.toml", T::Regular, b"[package]\n")]),
        ),
        // Credentials.
        req(
            "oversized authorization",
            "GET",
            "/index/config.json",
            Some(&"x".repeat(8192)),
        ),
        req(
            "basic auth",
            "GET",
            "/index/config.json",
            Some("Basic YWxpY2U6cGFzcw=="),
        ),
        req(
            "bearer without token",
            "GET",
            "/index/config.json",
            Some("Bearer"),
        ),
        req(
            "non-ascii bytes",
            "GET",
            "/api/v1/crates?q=a",
            Some("cfreg_ÿþabc"),
        ),
        req(
            "unknown token on publish",
            "PUT",
            "/api/v1/crates/new",
            Some("cfreg_0000000000000000000000000000000000000000"),
        ),
        // Paths.
        req(
            "encoded slash in index path",
            "GET",
            "/index/vi/ct%2Fim/victim",
            Some(&t),
        ),
        req(
            "dot-dot in index path",
            "GET",
            "/index/vi/ct/../ct/victim",
            Some(&t),
        ),
        req(
            "encoded dots in index path",
            "GET",
            "/index/%2e%2e/%2e%2e/victim",
            Some(&t),
        ),
        req(
            "uppercase index path",
            "GET",
            "/index/VI/CT/VICTIM",
            Some(&t),
        ),
        req(
            "odd characters in index path",
            "GET",
            "/index/vi/ct/vi%20ctim",
            Some(&t),
        ),
        req(
            "dot-dot crate in yank",
            "DELETE",
            "/api/v1/crates/%2e%2e/1.0.0/yank",
            Some(&t),
        ),
        req(
            "encoded slash crate in owners",
            "GET",
            "/api/v1/crates/vic%2Ftim/owners",
            Some(&t),
        ),
        req(
            "NUL in version",
            "DELETE",
            "/api/v1/crates/victim/1.0.0%00/yank",
            Some(&t),
        ),
        req(
            "invalid utf-8 in path",
            "GET",
            "/api/v1/crates/%ff%fe/1.0.0/download",
            Some(&t),
        ),
        req(
            "bad checksum in dl",
            "GET",
            "/dl/victim/1.0.0/not-a-checksum",
            Some(&t),
        ),
        req(
            "unknown api route",
            "POST",
            "/api/v1/crates/victim/1.0.0/delete",
            Some(&t),
        ),
    ];
    let owners_body = |b: &'static [u8]| Case {
        what: "owners body",
        method: "PUT",
        path: "/api/v1/crates/victim/owners".into(),
        auth: Some(t.clone()),
        body: b.to_vec(),
    };
    cases.push(owners_body(b"not json"));
    cases.push(owners_body(br#"{"users":[]}"#));
    cases.push(owners_body(
        br#"{"users":["a","b","c","d","e","f","g","h","i","j","k"]}"#,
    ));
    assert!(cases.len() >= 40, "{} cases", cases.len());

    let before = h.snapshot();
    let index_before = h.get("/index/vi/ct/victim", Some(&t)).text();
    let owners_before = h.get("/api/v1/crates/victim/owners", Some(&t)).text();
    for c in &cases {
        let r = h.send(c.method, &c.path, c.auth.as_deref(), c.body.clone());
        assert!(
            (400..500).contains(&r.status),
            "{}: status {} {}",
            c.what,
            r.status,
            r.text()
        );
        let v: serde_json::Value = serde_json::from_slice(&r.body)
            .unwrap_or_else(|_| panic!("{}: not JSON: {}", c.what, r.text()));
        let detail = v["errors"][0]["detail"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: no errors[0].detail in {v}", c.what));
        assert!(
            !detail.is_empty() && !detail.contains("panicked"),
            "{}: {detail}",
            c.what
        );
        assert_eq!(h.snapshot(), before, "{} stored something", c.what);
        assert_eq!(
            h.get("/index/vi/ct/victim", Some(&t)).text(),
            index_before,
            "{} changed the index",
            c.what
        );
        assert_eq!(
            h.get("/api/v1/crates/victim/owners", Some(&t)).text(),
            owners_before,
            "{}",
            c.what
        );
    }
    println!(
        "{} hostile cases, all answered 4xx with nothing stored",
        cases.len()
    );
}
