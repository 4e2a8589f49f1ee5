//! Cloudflare Access mode through the router: assertions minted with an
//! RSA key whose set the team's certs URL serves (scripted), a valid one
//! signing the person in without a second sign-in (and the session ending
//! with the assertion), and every invalid or missing one signing nobody in
//! and making no account, with the reason in the log line.

mod common;

use common::idp::RsaSigner;
use common::*;
use edge_registry::auth::oidc::SignInSettings;
use edge_registry::service::Config;
use edge_registry::service::sso::{Refusal, SsoError, access};
use edge_registry::store::native::NativeStore;
use futures::executor::block_on;
use serde_json::{Value, json};

const TEAM: &str = "https://acme.cloudflareaccess.com";
const CERTS: &str = "https://acme.cloudflareaccess.com/cdn-cgi/access/certs";
const AUD: &str = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2";

fn harness(extra: &[(&str, &str)]) -> Harness {
    let mut vars = vec![
        (
            "ACCESS_TEAM_DOMAIN".to_string(),
            "acme.cloudflareaccess.com".to_string(),
        ),
        ("ACCESS_AUD".into(), AUD.into()),
    ];
    vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let sign_in =
        SignInSettings::from_vars(|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
            .unwrap();
    Harness::with(
        NativeStore::new().unwrap(),
        Config {
            sign_in,
            ..Config::default()
        },
    )
}

/// The team's certs endpoint, in Access's shape (`keys` beside the PEM
/// forms, which the registry ignores).
fn serve_certs(h: &Harness, keys: &[&RsaSigner]) {
    let set = json!({
        "keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>(),
        "public_cert": {"kid": "x", "cert": "-----BEGIN CERTIFICATE-----"},
        "public_certs": [],
    });
    h.app
        .store
        .http
        .reply(CERTS, 200, serde_json::to_vec(&set).unwrap());
}

/// What Access puts in an application token.
fn claims(h: &Harness) -> Value {
    json!({
        "aud": [AUD], "email": "dana@acme.test", "exp": h.now + 3600,
        "iat": h.now - 5, "nbf": h.now - 5, "iss": TEAM, "type": "app",
        "identity_nonce": "6ei69kawdKzMIAPF", "sub": "7335d417-61da-459d-899c-0a01c76a2f94",
        "country": "DE",
    })
}

fn get(h: &Harness, path: &str, headers: &[(&str, &str)]) -> Resp {
    block_on(h.send_async("GET", path, None, headers, Vec::new()))
}

fn session_cookie(r: &Resp) -> Option<(String, i64)> {
    let set = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("session="))?;
    let value = set.split(';').next().unwrap().to_string();
    let max_age = set
        .split("; ")
        .find_map(|p| p.strip_prefix("Max-Age="))
        .unwrap()
        .parse()
        .unwrap();
    Some((value, max_age))
}

fn count(h: &Harness, table: &str) -> i64 {
    h.app
        .store
        .sqlite()
        .with_conn(|c| c.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)))
        .unwrap()
}

#[test]
fn a_valid_assertion_signs_the_person_in_without_a_second_sign_in() {
    let h = harness(&[]);
    let key = RsaSigner::fixture(1, "access-1");
    serve_certs(&h, &[&key]);
    let jwt = key.sign(&claims(&h));
    let through = [("cf-access-jwt-assertion", jwt.as_str())];
    // A private page, signed out, through Access: on to the Access route
    // instead of the sign-in page.
    let r = get(&h, "/tokens", &through);
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location").as_deref(),
        Some("/auth/access?next=%2Ftokens")
    );
    let r = get(&h, "/auth/access?next=%2Fcrates%3Fq%3Dserde", &through);
    assert_eq!(r.status, 302, "{}", r.text());
    assert_eq!(r.header("location").as_deref(), Some("/crates?q=serde"));
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    let (cookie, max_age) = session_cookie(&r).expect("a session cookie");
    assert_eq!(max_age, 3600, "the session ends with the assertion");
    let me = get(&h, "/web/api/session", &[("cookie", &cookie)]);
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["login"], "dana");
    assert_eq!(me.json()["is_admin"], false);
    // The account is linked to the team and Access's subject.
    let (iss, sub, email): (String, String, String) = h
        .app
        .store
        .sqlite()
        .with_conn(|c| {
            c.query_row("SELECT issuer, subject, email FROM identities", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
        })
        .unwrap();
    assert_eq!(
        (iss.as_str(), sub.as_str(), email.as_str()),
        (
            TEAM,
            "7335d417-61da-459d-899c-0a01c76a2f94",
            "dana@acme.test"
        )
    );
    // Again (another browser): the same account, not a second one.
    let r = get(&h, "/auth/access", &through);
    assert_eq!(r.header("location").as_deref(), Some("/tokens"));
    assert!(session_cookie(&r).is_some());
    assert_eq!(count(&h, "users"), 1);
    assert_eq!(count(&h, "sessions"), 2);
    // A return path that resolves to another origin lands on Tokens.
    for next in ["/.//evil.example", "/%2e//evil.example", "//evil.example"] {
        let r = get(&h, &format!("/auth/access?next={next}"), &through);
        assert_eq!(r.header("location").as_deref(), Some("/tokens"), "{next}");
    }
    // An hour later the assertion, and so the session, has ended.
    let mut h = h;
    h.now += 3601;
    let me = get(&h, "/web/api/session", &[("cookie", &cookie)]);
    assert_eq!(me.status, 401);
}

#[test]
fn missing_and_invalid_assertions_sign_nobody_in() {
    let h = harness(&[]);
    let key = RsaSigner::fixture(1, "access-1");
    let other = RsaSigner::fixture(2, "access-1");
    serve_certs(&h, &[&key]);
    let with = |f: &dyn Fn(&mut Value)| {
        let mut c = claims(&h);
        f(&mut c);
        key.sign(&c)
    };
    let es256 = common::idp::Provider::new("access-1").id_token(&claims(&h));
    let cases: Vec<(&str, Option<String>, &str)> = vec![
        (
            "missing",
            None,
            "single sign-on refused: this request did not come through Cloudflare Access (no Cf-Access-Jwt-Assertion); open the registry at its Access-protected address",
        ),
        (
            "expired",
            Some(with(&|c| c["exp"] = json!(h.now - 121))),
            "single sign-on refused: the token has expired",
        ),
        (
            "wrong aud",
            Some(with(&|c| c["aud"] = json!(["another-application"]))),
            "single sign-on refused: the token is not meant for this registry (`aud`)",
        ),
        (
            "wrong key",
            Some(other.sign(&claims(&h))),
            "single sign-on refused: the token's signature does not verify",
        ),
        (
            "wrong team",
            Some(with(&|c| {
                c["iss"] = json!("https://evil.cloudflareaccess.com")
            })),
            "single sign-on refused: the token was issued by `https://evil.cloudflareaccess.com`, not by the configured issuer",
        ),
        (
            "not yet valid",
            Some(with(&|c| c["nbf"] = json!(h.now + 600))),
            "single sign-on refused: the token is not valid yet (`iat`/`nbf` in the future)",
        ),
        (
            "service token without a person",
            Some(with(&|c| {
                c["sub"] = json!("");
                c["common_name"] = json!("ci.access");
            })),
            "single sign-on refused: the token has no `sub` claim",
        ),
        (
            "ES256",
            Some(es256),
            "single sign-on refused: the token is malformed: Cloudflare Access signs with RS256 only",
        ),
        (
            "not a JWT",
            Some("not.a.jwt".into()),
            "single sign-on refused: the token is malformed: the header is not base64url",
        ),
    ];
    let settings = h.app.config.sign_in.access.clone().unwrap();
    for (what, jwt, log) in &cases {
        match block_on(access::sign_in(&h.app, &settings, jwt.as_deref(), h.now)) {
            Err(SsoError::Refused(r)) => assert_eq!(&r.log(), log, "{what}"),
            Err(SsoError::App(e)) => panic!("{what}: {e:?}"),
            Ok(_) => panic!("{what}: signed in"),
        }
        let headers: Vec<(&str, &str)> = jwt
            .as_deref()
            .map(|j| ("cf-access-jwt-assertion", j))
            .into_iter()
            .collect();
        let r = get(&h, "/auth/access?next=/tokens", &headers);
        assert_eq!(r.status, 302, "{what}");
        let code = if *what == "missing" {
            "access"
        } else {
            "token"
        };
        assert_eq!(
            r.header("location"),
            Some(format!("/login?sso_error={code}")),
            "{what}"
        );
        assert!(session_cookie(&r).is_none(), "{what}");
    }
    assert_eq!(count(&h, "sessions"), 0);
    assert_eq!(count(&h, "users"), 0);
    assert_eq!(count(&h, "identities"), 0);
    // Without an assertion a private page goes to the sign-in page.
    let r = get(&h, "/tokens", &[]);
    assert_eq!(
        r.header("location").as_deref(),
        Some("/login?next=%2Ftokens")
    );
}

#[test]
fn the_teams_key_rotation_is_picked_up_but_unknown_kids_do_not_hammer_it() {
    let mut h = harness(&[]);
    let (old, new) = (
        RsaSigner::fixture(1, "access-1"),
        RsaSigner::fixture(2, "access-2"),
    );
    serve_certs(&h, &[&old]);
    let sign_in = |h: &Harness, k: &RsaSigner| {
        let settings = h.app.config.sign_in.access.clone().unwrap();
        block_on(access::sign_in(
            &h.app,
            &settings,
            Some(&k.sign(&claims(h))),
            h.now,
        ))
    };
    assert!(sign_in(&h, &old).is_ok());
    h.now += 60;
    serve_certs(&h, &[&old, &new]);
    assert!(sign_in(&h, &new).is_ok(), "the new key is fetched");
    let fetches = |h: &Harness| {
        h.app
            .store
            .http
            .requests()
            .iter()
            .filter(|r| r.url == CERTS)
            .count()
    };
    assert_eq!(fetches(&h), 2);
    let stranger = RsaSigner::fixture(1, "access-3");
    for _ in 0..3 {
        match sign_in(&h, &stranger) {
            Err(SsoError::Refused(Refusal::Token(e))) => {
                assert_eq!(
                    e.to_string(),
                    "no signing key `access-3` in the issuer's key set"
                )
            }
            _ => panic!("an unknown kid signs nobody in"),
        }
    }
    assert_eq!(fetches(&h), 2, "fetched less than 30 seconds ago");
    assert_eq!(count(&h, "users"), 1);
}

#[test]
fn the_pages_and_sign_out_know_about_access() {
    let h = harness(&[]);
    let c = h.get("/web/api/config", None).json();
    assert_eq!(
        c["sso"],
        json!({"kind": "access", "name": "Cloudflare Access", "start": "/auth/access",
            "sign_out": "/cdn-cgi/access/logout", "admin_group": false})
    );
    let key = RsaSigner::fixture(1, "access-1");
    serve_certs(&h, &[&key]);
    let jwt = key.sign(&claims(&h));
    let r = get(&h, "/auth/access", &[("cf-access-jwt-assertion", &jwt)]);
    let (cookie, _) = session_cookie(&r).unwrap();
    let me = get(&h, "/web/api/session", &[("cookie", &cookie)]);
    let csrf = me.json()["csrf"].as_str().unwrap().to_string();
    let out = block_on(h.send_async(
        "POST",
        "/web/api/logout",
        None,
        &[
            ("cookie", &cookie),
            ("x-csrf-token", &csrf),
            ("origin", BASE),
            ("content-type", "application/json"),
        ],
        b"{}".to_vec(),
    ));
    assert_eq!(out.status, 200);
    assert_eq!(out.json()["provider_sign_out"], "/cdn-cgi/access/logout");
    assert_eq!(count(&h, "sessions"), 0);
    // Without Access configured the route says so.
    let plain = Harness::new();
    let r = get(&plain, "/auth/access", &[("cf-access-jwt-assertion", &jwt)]);
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json(),
        json!({"errors": [{"detail": "Cloudflare Access mode is not configured on this registry (ACCESS_TEAM_DOMAIN and ACCESS_AUD)"}]})
    );
    assert_eq!(count(&plain, "users"), 0);
}
