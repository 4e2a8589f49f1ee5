//! The authorisation matrix: every Cargo route × every way a credential can
//! be wrong (none, unknown, revoked, expired, wrong scope, wrong crate
//! pattern, another user's crate, disabled user) → the status cargo
//! expects, a message that says why, and nothing changed.

mod common;

use common::*;
use edge_registry::auth::{Scope, Scopes};
use edge_registry::store::{TokenStore, UserStore};
use futures::executor::block_on;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// Index files and downloads: 401 for bad credentials, with the challenge.
    Index,
    /// API calls: 401 without a token, 403 with a bad one.
    Api,
}

struct Route {
    name: &'static str,
    method: &'static str,
    path: String,
    body: Vec<u8>,
    kind: Kind,
    /// The scope the route needs (`None`: any valid token).
    scope: Option<Scope>,
    /// Whether the route acts on one crate (token patterns apply).
    per_crate: bool,
    /// Whether only owners may do it.
    owners_only: bool,
}

#[derive(Clone, Copy, Debug)]
enum Case {
    NoToken,
    Unknown,
    Revoked,
    Expired,
    WrongScope,
    WrongPattern,
    OtherUsersCrate,
    DisabledUser,
}

fn all_but(s: Scope) -> Scopes {
    Scopes::from_list(
        &Scope::ALL
            .iter()
            .copied()
            .filter(|x| *x != s)
            .collect::<Vec<_>>(),
    )
}

#[test]
fn every_route_refuses_every_bad_credential_and_changes_nothing() {
    let mut h = Harness::new();
    let owner = h.token("alice");
    let spec = CrateSpec::new("matrix", "1.0.0");
    assert_eq!(h.publish(&owner, spec.body()).status, 200);
    let ck = sha256_hex(&spec.tarball());
    // bob gets owner rights too, then is disabled: his token must stop.
    let bob = h.token("bob");
    assert_eq!(
        h.send(
            "PUT",
            "/api/v1/crates/matrix/owners",
            Some(&owner),
            br#"{"users":["bob"]}"#.to_vec()
        )
        .status,
        200
    );
    let carol = h.token("carol");
    h.token("dave");

    let routes = vec![
        Route {
            name: "config.json",
            method: "GET",
            path: "/index/config.json".into(),
            body: vec![],
            kind: Kind::Index,
            scope: None,
            per_crate: false,
            owners_only: false,
        },
        Route {
            name: "index file",
            method: "GET",
            path: "/index/ma/tr/matrix".into(),
            body: vec![],
            kind: Kind::Index,
            scope: Some(Scope::Read),
            per_crate: true,
            owners_only: false,
        },
        Route {
            name: "dl",
            method: "GET",
            path: format!("/dl/matrix/1.0.0/{ck}"),
            body: vec![],
            kind: Kind::Index,
            scope: Some(Scope::Read),
            per_crate: true,
            owners_only: false,
        },
        Route {
            name: "api download",
            method: "GET",
            path: "/api/v1/crates/matrix/1.0.0/download".into(),
            body: vec![],
            kind: Kind::Index,
            scope: Some(Scope::Read),
            per_crate: true,
            owners_only: false,
        },
        Route {
            name: "search",
            method: "GET",
            path: "/api/v1/crates?q=matrix".into(),
            body: vec![],
            kind: Kind::Api,
            scope: Some(Scope::Read),
            per_crate: false,
            owners_only: false,
        },
        Route {
            name: "publish",
            method: "PUT",
            path: "/api/v1/crates/new".into(),
            body: CrateSpec::new("matrix", "1.1.0").body(),
            kind: Kind::Api,
            scope: Some(Scope::PublishUpdate),
            per_crate: true,
            owners_only: true,
        },
        Route {
            name: "yank",
            method: "DELETE",
            path: "/api/v1/crates/matrix/1.0.0/yank".into(),
            body: vec![],
            kind: Kind::Api,
            scope: Some(Scope::Yank),
            per_crate: true,
            owners_only: true,
        },
        Route {
            name: "unyank",
            method: "PUT",
            path: "/api/v1/crates/matrix/1.0.0/unyank".into(),
            body: vec![],
            kind: Kind::Api,
            scope: Some(Scope::Yank),
            per_crate: true,
            owners_only: true,
        },
        Route {
            name: "owners list",
            method: "GET",
            path: "/api/v1/crates/matrix/owners".into(),
            body: vec![],
            kind: Kind::Api,
            scope: Some(Scope::Read),
            per_crate: true,
            owners_only: false,
        },
        Route {
            name: "owners add",
            method: "PUT",
            path: "/api/v1/crates/matrix/owners".into(),
            body: br#"{"users":["dave"]}"#.to_vec(),
            kind: Kind::Api,
            scope: Some(Scope::ChangeOwners),
            per_crate: true,
            owners_only: true,
        },
        Route {
            name: "owners remove",
            method: "DELETE",
            path: "/api/v1/crates/matrix/owners".into(),
            body: br#"{"users":["alice"]}"#.to_vec(),
            kind: Kind::Api,
            scope: Some(Scope::ChangeOwners),
            per_crate: true,
            owners_only: true,
        },
    ];

    // Tokens for each case, made before time moves on.
    let expiring = h.token_with("alice", false, Scopes::all(), "", Some(NOW + 5));
    let revoked = h.token("alice");
    let narrow = h.token_with("alice", false, Scopes::all(), "zzz-*", None);
    block_on(async {
        let u = h
            .app
            .store
            .db
            .user_by_login("alice")
            .await
            .unwrap()
            .unwrap();
        let last = h
            .app
            .store
            .db
            .list_tokens(u.id)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.id)
            .max()
            .unwrap();
        // `revoked` is the second-newest of alice's tokens.
        assert!(h.app.store.db.revoke_token(last - 1, NOW).await.unwrap());
        let b = h.app.store.db.user_by_login("bob").await.unwrap().unwrap();
        h.app.store.db.set_disabled(b.id, true).await.unwrap();
    });
    h.now = NOW + 10;
    let owners_before = h.get("/api/v1/crates/matrix/owners", Some(&owner)).json();
    let index_before = h.get("/index/ma/tr/matrix", Some(&owner)).text();
    let snap_before = h.snapshot();

    let mut checked = 0;
    for r in &routes {
        for case in [
            Case::NoToken,
            Case::Unknown,
            Case::Revoked,
            Case::Expired,
            Case::WrongScope,
            Case::WrongPattern,
            Case::OtherUsersCrate,
            Case::DisabledUser,
        ] {
            let scoped;
            let token: Option<&str> = match case {
                Case::NoToken => None,
                Case::Unknown => Some("cfreg_1111111111111111111111111111111111111111"),
                Case::Revoked => Some(&revoked),
                Case::Expired => Some(&expiring),
                Case::WrongScope => {
                    // Index reads are open to any acting scope, so the wrong
                    // scope there is none at all.
                    let scopes = match (r.kind, r.scope) {
                        (Kind::Index, _) | (_, None) => Scopes::from_list(&[]),
                        (_, Some(s)) => all_but(s),
                    };
                    let scopes = if r.name == "dl" || r.name == "api download" {
                        all_but(Scope::Read)
                    } else {
                        scopes
                    };
                    scoped = h.token_with("alice", false, scopes, "", None);
                    Some(&scoped)
                }
                Case::WrongPattern => Some(&narrow),
                Case::OtherUsersCrate => Some(&carol),
                Case::DisabledUser => Some(&bob),
            };
            let resp = h.send(r.method, &r.path, token, r.body.clone());
            let index_style = r.kind == Kind::Index;
            let bad_credential = if index_style { 401 } else { 403 };
            let lacks = |scope: &str| {
                format!(
                    "this token lacks the `{scope}` scope needed for this request; create a token with that scope"
                )
            };
            let (status, msg): (u16, String) = match case {
                Case::NoToken => (
                    401,
                    "this registry requires a token: run `cargo login --registry <name>` with a token from the registry's Tokens page, or set CARGO_REGISTRIES_<NAME>_TOKEN".into(),
                ),
                Case::Unknown => (
                    bad_credential,
                    "this token is not valid for this registry; create one and run `cargo login` again".into(),
                ),
                Case::Revoked => (
                    bad_credential,
                    "this token (`test`) was revoked; create a new one and run `cargo login` again".into(),
                ),
                Case::Expired => (
                    bad_credential,
                    "this token (`test`) expired at 2026-03-05T10:20:35Z; create a new one and run `cargo login` again".into(),
                ),
                Case::DisabledUser => (
                    bad_credential,
                    "the account `bob` that owns this token is disabled; ask an administrator".into(),
                ),
                Case::WrongScope => match r.scope {
                    _ if index_style && (r.name == "config.json" || r.name == "index file") => {
                        (403, lacks("read"))
                    }
                    Some(s) => (403, lacks(s.as_str())),
                    None => (403, lacks("read")),
                },
                Case::WrongPattern if r.per_crate => (
                    403,
                    "this token is limited to the crates `zzz_*` and cannot act on `matrix`".into(),
                ),
                Case::WrongPattern => (200, String::new()),
                Case::OtherUsersCrate if r.owners_only && r.name == "publish" => (
                    403,
                    "crate `matrix` exists but you are not one of its owners; ask an owner to run `cargo owner --add <your login> matrix`".into(),
                ),
                Case::OtherUsersCrate if r.owners_only => (
                    403,
                    "you are not an owner of crate `matrix`; only its owners can do this".into(),
                ),
                Case::OtherUsersCrate => (200, String::new()),
            };
            assert_eq!(
                resp.status,
                status,
                "{} × {case:?}: {}",
                r.name,
                resp.text()
            );
            if status != 200 {
                let d = resp.detail();
                assert_eq!(d, msg, "{} × {case:?}", r.name);
                if status == 401 && index_style {
                    assert!(
                        resp.header("www-authenticate")
                            .unwrap()
                            .starts_with("Cargo login_url=\"http://reg.test/me\"")
                    );
                }
            }
            if r.name == "search" && matches!(case, Case::WrongPattern) {
                assert_eq!(
                    resp.json()["crates"],
                    serde_json::json!([]),
                    "patterns filter search"
                );
            }
            assert_eq!(
                h.snapshot(),
                snap_before,
                "{} × {case:?} changed storage",
                r.name
            );
            assert_eq!(
                h.get("/index/ma/tr/matrix", Some(&owner)).text(),
                index_before,
                "{} × {case:?}",
                r.name
            );
            assert_eq!(
                h.get("/api/v1/crates/matrix/owners", Some(&owner)).json(),
                owners_before,
                "{} × {case:?}",
                r.name
            );
            checked += 1;
        }
    }
    assert_eq!(checked, routes.len() * 8);
}

#[test]
fn a_publish_only_token_can_read_the_index_it_publishes_to() {
    let h = Harness::new();
    let owner = h.token("alice");
    h.publish_ok(&owner, "release-me", "1.0.0");
    let ci = h.token_with(
        "alice",
        false,
        Scopes::from_list(&[Scope::PublishUpdate]),
        "release-me",
        None,
    );
    assert_eq!(h.get("/index/config.json", Some(&ci)).status, 200);
    let r = h.get("/index/re/le/release-me", Some(&ci));
    assert_eq!(r.status, 200, "{}", r.text());
    let r = h.get("/api/v1/crates/release-me/1.0.0/download", Some(&ci));
    assert_eq!(r.status, 403, "downloads need `read`");
    assert_eq!(
        h.publish(&ci, CrateSpec::new("release-me", "1.0.1").body())
            .status,
        200
    );
}

#[test]
fn a_token_whose_stored_limits_are_damaged_is_never_read_as_unlimited() {
    let h = Harness::new();
    let owner = h.token("alice");
    h.publish_ok(&owner, "secret-thing", "1.0.0");
    let limited = h.token_with("bob", false, Scopes::all(), "public-*", None);
    let path = "/index/se/cr/secret-thing";
    assert_eq!(h.get(path, Some(&limited)).status, 403);
    // The pattern text no longer parses: the token must not become one for
    // every crate (an empty list), nor keep working with fewer limits.
    for (col, damaged) in [
        ("patterns", "public-*,bad name!"),
        ("scopes", "read,everything"),
    ] {
        let fresh = Harness::new();
        let owner = fresh.token("alice");
        fresh.publish_ok(&owner, "secret-thing", "1.0.0");
        let limited = fresh.token_with("bob", false, Scopes::all(), "public-*", None);
        fresh
            .app
            .store
            .sqlite()
            .with_conn(|c| {
                c.execute(
                    &format!("UPDATE tokens SET {col} = ?1 WHERE name = 'test' AND user_id = (SELECT id FROM users WHERE login = 'bob')"),
                    [damaged],
                )
            })
            .unwrap();
        let r = fresh.get(path, Some(&limited));
        assert_eq!(r.status, 500, "{col}: {}", r.text());
        assert_eq!(
            r.detail(),
            "internal error in the registry; nothing was changed by this request if it failed, please retry"
        );
    }
}

/// The sign-in routes (`/auth/oidc/*`, `/auth/access`) are not Cargo
/// routes: a token of any scope, valid or not, changes nothing about how
/// they answer and opens no session; and the session they open is no
/// credential for a Cargo route, as a cookie or as a token.
#[test]
fn the_sign_in_routes_take_no_token_and_their_sessions_are_no_cargo_credential() {
    use common::idp::{Provider, RsaSigner, access_assertion, sign_in_harness};
    let provider = Provider::new("k1");
    let team = RsaSigner::fixture(1, "access-1");
    let h = sign_in_harness(&provider, &team);
    let full = h.token_with("alice", true, Scopes::all(), "", None);
    let read = h.token_with("alice", false, Scopes::from_list(&[Scope::Read]), "", None);
    let revoked = h.token("carol");
    {
        let u = block_on(h.app.store.db.user_by_login("carol"))
            .unwrap()
            .unwrap();
        let id = block_on(h.app.store.db.list_tokens(u.id)).unwrap()[0].id;
        assert!(block_on(h.app.store.db.revoke_token(id, h.now)).unwrap());
    }
    let sessions = |h: &Harness| -> i64 {
        h.app
            .store
            .sqlite()
            .with_conn(|c| c.query_row("SELECT COUNT(*) FROM sessions", [], |r| r.get(0)))
            .unwrap()
    };
    let routes = [
        "/auth/oidc/callback?code=c&state=s",
        "/auth/oidc/logout",
        "/auth/oidc/nope",
        "/auth/access",
        "/auth/access?next=/tokens",
    ];
    for path in routes {
        let plain = h.get(path, None);
        for (which, tok) in [
            ("all scopes", full.as_str()),
            ("read", read.as_str()),
            ("revoked", revoked.as_str()),
            ("unknown", "cfreg_0000000000000000000000000000000000000000"),
        ] {
            let r = h.get(path, Some(tok));
            assert_eq!(
                (r.status, r.header("location"), r.body.clone()),
                (plain.status, plain.header("location"), plain.body.clone()),
                "{path} with a {which} token"
            );
            assert!(
                r.header("set-cookie")
                    .is_none_or(|c| !c.starts_with("session="))
            );
        }
    }
    assert_eq!(sessions(&h), 0);

    // A session from Access: its cookie and its value open no Cargo route.
    let jwt = access_assertion(&team, "dana", h.now);
    let r = block_on(h.send_async(
        "GET",
        "/auth/access",
        None,
        &[("cf-access-jwt-assertion", &jwt)],
        vec![],
    ));
    assert_eq!(r.status, 302);
    let cookie = r
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let value = cookie.strip_prefix("session=").unwrap().to_string();
    assert_eq!(sessions(&h), 1);
    let index = "/index/config.json";
    let by_cookie = block_on(h.send_async("GET", index, None, &[("cookie", &cookie)], vec![]));
    assert_eq!(by_cookie.status, 401);
    let as_token = h.get(index, Some(&value));
    assert_eq!(as_token.status, 401);
    let publish = block_on(h.send_async(
        "PUT",
        "/api/v1/crates/new",
        None,
        &[("cookie", &cookie)],
        CrateSpec::new("by-cookie", "1.0.0").body(),
    ));
    assert_eq!(publish.status, 401, "{}", publish.text());
    assert_eq!(
        publish.json()["errors"][0]["detail"],
        "this registry requires a token: run `cargo login --registry <name>` with a token from the registry's Tokens page, or set CARGO_REGISTRIES_<NAME>_TOKEN"
    );
    // An assertion is no Cargo credential either.
    let r = block_on(h.send_async(
        "GET",
        index,
        None,
        &[("cf-access-jwt-assertion", &jwt)],
        vec![],
    ));
    assert_eq!(r.status, 401);
    assert!(h.snapshot().crates == 0);
}
