//! A corpus of hostile requests: broken framing, lying lengths, bad JSON,
//! every invalid-name class, bad versions, manifest mismatches, broken and
//! malicious tarballs, malformed credentials, and odd paths. Each must get
//! a 4xx in Cargo's error format, store nothing, and leave the index as it
//! was.

mod common;

use common::*;
use edge_registry::protocol::publish::Limits;
use edge_registry::service::Config;
use edge_registry::store::native::NativeStore;
use futures::executor::block_on;
use tar::EntryType as T;

struct Case {
    what: &'static str,
    method: &'static str,
    path: String,
    auth: Option<String>,
    body: Vec<u8>,
    /// The exact error detail, where the case pins it.
    detail: Option<String>,
}

fn put(what: &'static str, auth: &str, body: Vec<u8>) -> Case {
    Case {
        what,
        method: "PUT",
        path: "/api/v1/crates/new".into(),
        auth: Some(auth.into()),
        body,
        detail: None,
    }
}

/// A publish refused with exactly this message.
fn put_says(what: &'static str, auth: &str, body: Vec<u8>, detail: &str) -> Case {
    Case {
        detail: Some(detail.into()),
        ..put(what, auth, body)
    }
}

fn req(what: &'static str, method: &'static str, path: &str, auth: Option<&str>) -> Case {
    Case {
        what,
        method,
        path: path.into(),
        auth: auth.map(str::to_string),
        body: vec![],
        detail: None,
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
        NativeStore::new().unwrap(),
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
        // Paths cargo's extraction would place elsewhere than they read,
        // and data cargo never unpacks.
        put_says(
            "hidden manifest behind an empty component",
            &t,
            m(&[(
                "fresh-1.0.0//Cargo.toml",
                T::Regular,
                b"[package]\nbuild = \"build.rs\"\n",
            )]),
            "the .crate contains a path with an empty name (`//`): `fresh-1.0.0//Cargo.toml`",
        ),
        put_says(
            "hidden manifest behind a trailing slash",
            &t,
            m(&[("fresh-1.0.0/Cargo.toml/", T::Regular, b"[package]\n")]),
            "the .crate contains a file path ending in `/`: `fresh-1.0.0/Cargo.toml/`",
        ),
        put_says(
            "dot component",
            &t,
            m(&[("fresh-1.0.0/./src/lib.rs", T::Regular, b"")]),
            "the .crate contains a path with `.`: `fresh-1.0.0/./src/lib.rs`",
        ),
        put_says(
            "backslash",
            &t,
            m(&[("fresh-1.0.0\\Cargo.toml", T::Regular, b"")]),
            "the .crate contains a path with a backslash: `fresh-1.0.0\\Cargo.toml`; use `/` between names",
        ),
        put_says(
            "cargo-ok marker",
            &t,
            m(&[("fresh-1.0.0/.cargo-ok", T::Regular, b"")]),
            "the .crate contains a path with `.cargo-ok`, which cargo skips: `fresh-1.0.0/.cargo-ok`",
        ),
        put_says(
            "same file twice",
            &t,
            m(&[("fresh-1.0.0/Cargo.toml", T::Regular, b"[package]\n")]),
            "the .crate contains `fresh-1.0.0/Cargo.toml` and `fresh-1.0.0/Cargo.toml`, which land on the same file (paths are compared ignoring case, as macOS and Windows do)",
        ),
        put_says(
            "only a lowercase manifest",
            &t,
            publish_body(
                &json,
                &raw_tarball(&[("fresh-1.0.0/cargo.toml", T::Regular, manifest.as_slice())]),
            ),
            "the manifest `cargo.toml` must be named `Cargo.toml` with that exact casing",
        ),
        put_says(
            "data after the gzip stream",
            &t,
            publish_body(&json, &[tar.as_slice(), b"tail"].concat()),
            "the .crate has data after the end of its gzip stream (4 bytes); cargo would ignore it",
        ),
        put_says(
            "a second gzip member",
            &t,
            publish_body(&json, &[tar.as_slice(), tar.as_slice()].concat()),
            &format!(
                "the .crate has a second gzip member after the end of its gzip stream ({} bytes); cargo would ignore it",
                tar.len()
            ),
        ),
        put_says(
            "data after the tar end",
            &t,
            publish_body(&json, &{
                let plain = flate2::read::GzDecoder::new(tar.as_slice());
                let mut bytes = Vec::new();
                std::io::Read::read_to_end(&mut { plain }, &mut bytes).unwrap();
                bytes.extend_from_slice(b"hidden after the end-of-archive blocks");
                gzip(&bytes)
            }),
            "the .crate has data after the end of its tar archive; cargo would ignore it",
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
        detail: None,
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
        if let Some(want) = &c.detail {
            assert_eq!(detail, want, "{}", c.what);
        }
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

/// Everything the web app's routes could change: users (admin, disabled),
/// every token (name, revoked), the index and owners of a crate, and the
/// storage counts.
fn web_state(h: &Harness, t: &str) -> String {
    use edge_registry::store::{TokenStore, UserStore};
    let s = &h.app.store.db;
    let users = block_on(s.list_users()).unwrap();
    let mut out = format!("{:?}\n", h.snapshot());
    for u in &users {
        out += &format!("{} admin={} disabled={}\n", u.login, u.is_admin, u.disabled);
        for tok in block_on(s.list_tokens(u.id)).unwrap() {
            out += &format!("  token {} {} {:?}\n", tok.id, tok.name, tok.revoked_at);
        }
    }
    out += &h.get("/index/vi/ct/victim", Some(t)).text();
    out += &h.get("/api/v1/crates/victim/owners", Some(t)).text();
    out
}

#[test]
fn every_hostile_web_request_gets_a_4xx_and_changes_nothing() {
    let h = Harness::new();
    let t = h.token("alice");
    h.publish_ok(&t, "victim", "1.0.0");
    let (root_cookie, root_csrf) = web_session(&h, "root", true);
    let (carol_cookie, carol_csrf) = web_session(&h, "carol", false);
    let bob_token_id = {
        h.token("bob");
        use edge_registry::store::{TokenStore, UserStore};
        let bob = block_on(h.app.store.db.user_by_login("bob"))
            .unwrap()
            .unwrap();
        block_on(h.app.store.db.list_tokens(bob.id)).unwrap()[0].id
    };
    let root_id = {
        use edge_registry::store::UserStore;
        block_on(h.app.store.db.user_by_login("root"))
            .unwrap()
            .unwrap()
            .id
    };
    let long = "x".repeat(100_000);
    let huge_password = "p".repeat(2 * 1024 * 1024);
    // (what, as, method, path, body, status)
    let root = Some((root_cookie.as_str(), root_csrf.as_str()));
    let carol = Some((carol_cookie.as_str(), carol_csrf.as_str()));
    let tok = |body: &str| ("POST", "/web/api/tokens".to_string(), body.to_string());
    type Who<'a> = Option<(&'a str, &'a str)>;
    type Req<'a> = (&'a str, String, String);
    let cases: Vec<(&str, Who, Req, u16)> = vec![
        (
            "login: not JSON",
            None,
            ("POST", "/web/api/login".into(), "login=root".into()),
            400,
        ),
        (
            "login: JSON array",
            None,
            ("POST", "/web/api/login".into(), "[]".into()),
            400,
        ),
        (
            "login: no password",
            None,
            (
                "POST",
                "/web/api/login".into(),
                r#"{"login":"root"}"#.into(),
            ),
            400,
        ),
        (
            "login: 100 KB login",
            None,
            (
                "POST",
                "/web/api/login".into(),
                format!(r#"{{"login":"{long}","password":"x"}}"#),
            ),
            401,
        ),
        (
            "login: 2 MB password",
            None,
            (
                "POST",
                "/web/api/login".into(),
                format!(r#"{{"login":"root","password":"{huge_password}"}}"#),
            ),
            401,
        ),
        (
            "login: NUL in login",
            None,
            (
                "POST",
                "/web/api/login".into(),
                r#"{"login":"root\u0000","password":"a good password"}"#.into(),
            ),
            401,
        ),
        (
            "login: wrong types",
            None,
            (
                "POST",
                "/web/api/login".into(),
                r#"{"login":1,"password":true}"#.into(),
            ),
            400,
        ),
        (
            "set-password: short secret",
            None,
            (
                "POST",
                "/web/api/set-password".into(),
                r#"{"secret":"x","password":"a good password"}"#.into(),
            ),
            403,
        ),
        (
            "set-password: 100 KB secret",
            None,
            (
                "POST",
                "/web/api/set-password".into(),
                format!(r#"{{"secret":"{long}","password":"a good password"}}"#),
            ),
            403,
        ),
        (
            "set-password: forged secret",
            None,
            (
                "POST",
                "/web/api/set-password".into(),
                format!(
                    r#"{{"secret":"{}","password":"a good password"}}"#,
                    "a".repeat(48)
                ),
            ),
            403,
        ),
        (
            "no session: create token",
            None,
            tok(r#"{"name":"x","scopes":["read"]}"#),
            401,
        ),
        ("token: not JSON", root, tok("{"), 400),
        (
            "token: unknown scope",
            root,
            tok(r#"{"name":"x","scopes":["root"]}"#),
            400,
        ),
        (
            "token: no scopes",
            root,
            tok(r#"{"name":"x","scopes":[]}"#),
            400,
        ),
        (
            "token: scopes not a list",
            root,
            tok(r#"{"name":"x","scopes":"read"}"#),
            400,
        ),
        (
            "token: empty name",
            root,
            tok(r#"{"name":"  ","scopes":["read"]}"#),
            400,
        ),
        (
            "token: 101-byte name",
            root,
            tok(&format!(
                r#"{{"name":"{}","scopes":["read"]}}"#,
                "n".repeat(101)
            )),
            400,
        ),
        (
            "token: 100 KB name",
            root,
            tok(&format!(r#"{{"name":"{long}","scopes":["read"]}}"#)),
            400,
        ),
        (
            "token: pattern with ..",
            root,
            tok(r#"{"name":"x","scopes":["read"],"crates":"../*"}"#),
            400,
        ),
        (
            "token: pattern with inner *",
            root,
            tok(r#"{"name":"x","scopes":["read"],"crates":"a*b"}"#),
            400,
        ),
        (
            "token: expiry 0 days",
            root,
            tok(r#"{"name":"x","scopes":["read"],"expires_days":0}"#),
            400,
        ),
        (
            "token: negative expiry",
            root,
            tok(r#"{"name":"x","scopes":["read"],"expires_days":-5}"#),
            400,
        ),
        (
            "token: expiry 3651 days",
            root,
            tok(r#"{"name":"x","scopes":["read"],"expires_days":3651}"#),
            400,
        ),
        (
            "token: expiry overflows",
            root,
            tok(r#"{"name":"x","scopes":["read"],"expires_days":1e30}"#),
            400,
        ),
        (
            "revoke: id not a number",
            root,
            ("DELETE", "/web/api/tokens/abc".into(), String::new()),
            404,
        ),
        (
            "revoke: negative id",
            root,
            ("DELETE", "/web/api/tokens/-1".into(), String::new()),
            404,
        ),
        (
            "revoke: id overflows",
            root,
            (
                "DELETE",
                "/web/api/tokens/99999999999999999999".into(),
                String::new(),
            ),
            404,
        ),
        (
            "revoke: someone else's token",
            carol,
            (
                "DELETE",
                format!("/web/api/tokens/{bob_token_id}"),
                String::new(),
            ),
            404,
        ),
        (
            "invite: space in login",
            root,
            (
                "POST",
                "/web/api/users".into(),
                r#"{"login":"bad login"}"#.into(),
            ),
            400,
        ),
        (
            "invite: 100 KB login",
            root,
            (
                "POST",
                "/web/api/users".into(),
                format!(r#"{{"login":"{long}"}}"#),
            ),
            400,
        ),
        (
            "invite: leading dash",
            root,
            ("POST", "/web/api/users".into(), r#"{"login":"-x"}"#.into()),
            400,
        ),
        (
            "invite: existing login",
            root,
            ("POST", "/web/api/users".into(), r#"{"login":"bob"}"#.into()),
            409,
        ),
        (
            "invite: not an admin",
            carol,
            ("POST", "/web/api/users".into(), r#"{"login":"eve"}"#.into()),
            403,
        ),
        (
            "user: id not a number",
            root,
            (
                "POST",
                "/web/api/users/abc/disabled".into(),
                r#"{"value":true}"#.into(),
            ),
            404,
        ),
        (
            "user: no such id",
            root,
            (
                "POST",
                "/web/api/users/999999/disabled".into(),
                r#"{"value":true}"#.into(),
            ),
            404,
        ),
        (
            "user: unknown action",
            root,
            (
                "POST",
                format!("/web/api/users/{root_id}/explode"),
                r#"{"value":true}"#.into(),
            ),
            404,
        ),
        (
            "user: flag not a bool",
            root,
            (
                "POST",
                format!("/web/api/users/{root_id}/admin"),
                r#"{"value":"no"}"#.into(),
            ),
            400,
        ),
        (
            "user: not an admin",
            carol,
            (
                "POST",
                format!("/web/api/users/{root_id}/disabled"),
                r#"{"value":true}"#.into(),
            ),
            403,
        ),
        (
            "yank: no such version",
            root,
            (
                "POST",
                "/web/api/crates/victim/versions/9.9.9/yank".into(),
                r#"{"value":true}"#.into(),
            ),
            404,
        ),
        (
            "yank: invalid version",
            root,
            (
                "POST",
                "/web/api/crates/victim/versions/1.0/yank".into(),
                r#"{"value":true}"#.into(),
            ),
            404,
        ),
        (
            "yank: encoded slash in name",
            root,
            (
                "POST",
                "/web/api/crates/..%2Fvictim/versions/1.0.0/yank".into(),
                r#"{"value":true}"#.into(),
            ),
            404,
        ),
        (
            "yank: not an owner",
            carol,
            (
                "POST",
                "/web/api/crates/victim/versions/1.0.0/yank".into(),
                r#"{"value":true}"#.into(),
            ),
            403,
        ),
        (
            "yank: flag missing",
            root,
            (
                "POST",
                "/web/api/crates/victim/versions/1.0.0/yank".into(),
                "{}".into(),
            ),
            400,
        ),
        (
            "crate page: NUL name",
            root,
            ("GET", "/web/api/crates/%00".into(), String::new()),
            404,
        ),
        (
            "crate page: no such crate",
            root,
            ("GET", "/web/api/crates/nope".into(), String::new()),
            404,
        ),
        (
            "unknown endpoint",
            root,
            ("PATCH", "/web/api/tokens".into(), "{}".into()),
            404,
        ),
        (
            "password: wrong current",
            root,
            (
                "POST",
                "/web/api/password".into(),
                r#"{"current":"nope","password":"another good one"}"#.into(),
            ),
            403,
        ),
        (
            "password: too short",
            root,
            (
                "POST",
                "/web/api/password".into(),
                r#"{"current":"a good password","password":"short"}"#.into(),
            ),
            400,
        ),
    ];
    let before = web_state(&h, &t);
    let mut wrong = Vec::new();
    for (what, who, (method, path, body), want) in &cases {
        let mut hs = vec![("content-type", "application/json")];
        if let Some((cookie, csrf)) = who {
            hs.push(("cookie", cookie));
            hs.push(("x-csrf-token", csrf));
        }
        let r = block_on(h.send_async(method, path, None, &hs, body.as_bytes().to_vec()));
        if r.status != *want {
            wrong.push(format!("{what}: {} {}", r.status, r.text()));
            continue;
        }
        let v: serde_json::Value = serde_json::from_slice(&r.body)
            .unwrap_or_else(|_| panic!("{what}: not JSON: {}", r.text()));
        let detail = v["errors"][0]["detail"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: no errors[0].detail in {v}"));
        assert!(!detail.is_empty() && detail.len() < 300, "{what}: {detail}");
        assert!(!detail.contains(&long[..100]), "{what}: input echoed");
        assert_eq!(web_state(&h, &t), before, "{what} changed something");
    }
    assert!(
        wrong.is_empty(),
        "unexpected statuses:\n{}",
        wrong.join("\n")
    );
    println!(
        "{} hostile web cases, all 4xx, nothing changed",
        cases.len()
    );
}

/// What signing in can change: accounts, identities, sessions and
/// started attempts.
fn sign_in_state(h: &Harness) -> Vec<i64> {
    ["users", "identities", "sessions", "sso_attempts"]
        .iter()
        .map(|t| {
            h.app
                .store
                .sqlite()
                .with_conn(|c| c.query_row(&format!("SELECT COUNT(*) FROM {t}"), [], |r| r.get(0)))
                .unwrap()
        })
        .collect()
}

#[test]
fn every_hostile_sign_in_request_signs_nobody_in_and_changes_nothing() {
    use common::idp::{Provider, RsaSigner, access_assertion, enc, sign_in_harness};
    let provider = Provider::new("k1");
    let team = RsaSigner::fixture(1, "access-1");
    let h = sign_in_harness(&provider, &team);
    let cargo_token = h.token("alice");
    // A sign-in under way, so forged callbacks have a real state to aim at.
    let r = h.get("/auth/oidc/start", None);
    assert_eq!(r.status, 302);
    let loc = url::Url::parse(&r.header("location").unwrap()).unwrap();
    let state = loc
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .to_string();
    let bound = format!("sso-state={state}");
    let long = "s".repeat(10_000);
    let valid = access_assertion(&team, "dana", h.now);
    let (header, body) = valid.split_once('.').unwrap();
    let body = body.split('.').next().unwrap();
    let none = format!("{}.{body}.", enc(br#"{"alg":"none"}"#));
    let unsigned = format!("{header}.{body}.");
    let hs256 = {
        let h = enc(br#"{"alg":"HS256","kid":"access-1"}"#);
        format!("{h}.{body}.{}", enc(&[7; 32]))
    };
    let oidc_token = provider.id_token(&serde_json::json!({
        "iss": common::idp::TEAM, "aud": common::idp::AUD, "sub": "dana", "exp": h.now + 60,
    }));
    let callback = |q: &str| format!("/auth/oidc/callback?{q}");
    // (what, method, path, headers, status, location or error detail)
    type Headers<'a> = Vec<(&'a str, String)>;
    let cases: Vec<(&str, &str, String, Headers, u16, &str)> = vec![
        (
            "callback without anything",
            "GET",
            callback(""),
            vec![],
            302,
            "/login?sso_error=attempt",
        ),
        (
            "callback, real state, no cookie",
            "GET",
            callback(&format!("code=c&state={state}")),
            vec![],
            302,
            "/login?sso_error=attempt",
        ),
        (
            "callback, real state, another browser's cookie",
            "GET",
            callback(&format!("code=c&state={state}")),
            vec![("cookie", "sso-state=someone-elses".into())],
            302,
            "/login?sso_error=attempt",
        ),
        (
            "callback, forged state and matching cookie",
            "GET",
            callback("code=c&state=forged"),
            vec![("cookie", "sso-state=forged".into())],
            302,
            "/login?sso_error=attempt",
        ),
        (
            "callback, 10,000-byte state",
            "GET",
            callback(&format!("code=c&state={long}")),
            vec![("cookie", format!("sso-state={long}"))],
            302,
            "/login?sso_error=attempt",
        ),
        (
            "callback, bound but 10,000-byte code",
            "GET",
            callback(&format!("code={long}&state={state}")),
            vec![("cookie", bound.clone())],
            302,
            "/login?sso_error=attempt",
        ),
        (
            "callback, bound but empty code",
            "GET",
            callback(&format!("code=&state={state}")),
            vec![("cookie", bound.clone())],
            302,
            "/login?sso_error=attempt",
        ),
        (
            "callback, provider error with markup",
            "GET",
            callback("error=access_denied&error_description=%3Cscript%3Ealert(1)%3C/script%3E"),
            vec![],
            302,
            "/login?sso_error=provider",
        ),
        (
            "callback, a cargo token instead",
            "GET",
            callback("code=c&state=forged"),
            vec![("authorization", cargo_token.clone())],
            302,
            "/login?sso_error=attempt",
        ),
        (
            "start by POST",
            "POST",
            "/auth/oidc/start".into(),
            vec![],
            405,
            "method not allowed on this path",
        ),
        (
            "logout by POST",
            "POST",
            "/auth/oidc/logout".into(),
            vec![],
            405,
            "method not allowed on this path",
        ),
        (
            "unknown sign-in route",
            "GET",
            "/auth/oidc/token".into(),
            vec![],
            404,
            "no page at /auth/oidc/token",
        ),
        (
            "dot segments",
            "GET",
            "/auth/oidc/../web/api/users".into(),
            vec![],
            404,
            "no page at /auth/oidc/../web/api/users",
        ),
        (
            "access without an assertion",
            "GET",
            "/auth/access".into(),
            vec![],
            302,
            "/login?sso_error=access",
        ),
        (
            "access, a cargo token instead",
            "GET",
            "/auth/access".into(),
            vec![("authorization", cargo_token.clone())],
            302,
            "/login?sso_error=access",
        ),
        (
            "access, assertion with a Bearer prefix",
            "GET",
            "/auth/access".into(),
            vec![("cf-access-jwt-assertion", format!("Bearer {valid}"))],
            302,
            "/login?sso_error=token",
        ),
        (
            "access, 20,000-byte assertion",
            "GET",
            "/auth/access".into(),
            vec![("cf-access-jwt-assertion", "e".repeat(20_000))],
            302,
            "/login?sso_error=token",
        ),
        (
            "access, alg none",
            "GET",
            "/auth/access".into(),
            vec![("cf-access-jwt-assertion", none)],
            302,
            "/login?sso_error=token",
        ),
        (
            "access, RS256 header without a signature",
            "GET",
            "/auth/access".into(),
            vec![("cf-access-jwt-assertion", unsigned)],
            302,
            "/login?sso_error=token",
        ),
        (
            "access, HS256 with a made-up secret",
            "GET",
            "/auth/access".into(),
            vec![("cf-access-jwt-assertion", hs256)],
            302,
            "/login?sso_error=token",
        ),
        (
            "access, the OpenID provider's token",
            "GET",
            "/auth/access".into(),
            vec![("cf-access-jwt-assertion", oidc_token)],
            302,
            "/login?sso_error=token",
        ),
        (
            "access by POST",
            "POST",
            "/auth/access".into(),
            vec![("cf-access-jwt-assertion", valid.clone())],
            405,
            "method not allowed on this path",
        ),
    ];
    let before = (sign_in_state(&h), web_state(&h, &cargo_token));
    assert_eq!(before.0, vec![1, 0, 0, 1]);
    for (what, method, path, headers, status, want) in &cases {
        let hs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = block_on(h.send_async(method, path, None, &hs, Vec::new()));
        assert_eq!(r.status, *status, "{what}: {}", r.text());
        if *status == 302 {
            assert_eq!(r.header("location").as_deref(), Some(*want), "{what}");
        } else {
            assert_eq!(
                r.json(),
                serde_json::json!({"errors": [{"detail": want}]}),
                "{what}"
            );
        }
        let sessions = r
            .headers
            .get_all("set-cookie")
            .iter()
            .filter(|c| c.to_str().unwrap().starts_with("session="))
            .count();
        assert_eq!(sessions, 0, "{what} set a session cookie");
        assert_eq!(
            (sign_in_state(&h), web_state(&h, &cargo_token)),
            before,
            "{what} changed something"
        );
    }
    // The real callback can still finish: nothing above used it up.
    let taken: i64 = h
        .app
        .store
        .sqlite()
        .with_conn(|c| c.query_row("SELECT COUNT(*) FROM sso_attempts", [], |r| r.get(0)))
        .unwrap();
    assert_eq!(taken, 1);
    println!("{} hostile sign-in cases, nobody signed in", cases.len());
}
