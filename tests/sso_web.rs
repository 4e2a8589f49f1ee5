//! The single sign-on routes through the router, with the provider's
//! discovery document, key set and token endpoint scripted: the redirect
//! to the provider, the callback bound to the browser that started it,
//! the code exchange with PKCE, key rotation, where the browser lands,
//! and every refusal landing on the sign-in page with nothing created.

mod common;

use common::idp::Provider;
use common::*;
use edge_registry::auth::oidc::{SignInSettings, pkce_challenge};
use edge_registry::service::Config;
use edge_registry::store::native::NativeStore;
use futures::executor::block_on;
use serde_json::{Value, json};

const ISS: &str = "https://idp.example.com";

fn harness(extra: &[(&str, &str)]) -> Harness {
    let mut vars = vec![
        ("OIDC_ISSUER".to_string(), ISS.to_string()),
        ("OIDC_CLIENT_ID".into(), "registry".into()),
    ];
    vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let sign_in =
        SignInSettings::from_vars(|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
            .unwrap();
    let h = Harness::with(
        NativeStore::new().unwrap(),
        Config {
            sign_in,
            ..Config::default()
        },
    );
    let http = &h.app.store.http;
    http.reply(
        &format!("{ISS}/.well-known/openid-configuration"),
        200,
        serde_json::to_vec(&json!({
            "issuer": ISS, "authorization_endpoint": format!("{ISS}/auth"),
            "token_endpoint": format!("{ISS}/token"), "jwks_uri": format!("{ISS}/jwks"),
            "code_challenge_methods_supported": ["S256"],
        }))
        .unwrap(),
    );
    h
}

fn serve_keys(h: &Harness, keys: &[&Provider]) {
    let set = json!({"keys": keys.iter().map(|p| p.jwk()).collect::<Vec<_>>()});
    h.app.store.http.reply(
        &format!("{ISS}/jwks"),
        200,
        serde_json::to_vec(&set).unwrap(),
    );
}

fn get(h: &Harness, path: &str, cookie: Option<&str>) -> Resp {
    let headers: Vec<(&str, &str)> = cookie.map(|c| ("cookie", c)).into_iter().collect();
    block_on(h.send_async("GET", path, None, &headers, Vec::new()))
}

/// `/auth/oidc/start`: the provider URL's query, and the state cookie.
fn start(h: &Harness, next: &str) -> (Vec<(String, String)>, String) {
    let r = get(h, &format!("/auth/oidc/start{next}"), None);
    assert_eq!(r.status, 302, "{}", r.text());
    let loc = url::Url::parse(&r.header("location").unwrap()).unwrap();
    assert_eq!(loc.origin().ascii_serialization(), ISS);
    assert_eq!(loc.path(), "/auth");
    let cookie = r.header("set-cookie").unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    let cookie = cookie.split(';').next().unwrap().to_string();
    (loc.query_pairs().into_owned().collect(), cookie)
}

fn param<'a>(q: &'a [(String, String)], k: &str) -> &'a str {
    &q.iter().find(|(n, _)| n == k).unwrap().1
}

fn claims(nonce: &str) -> Value {
    json!({"iss": ISS, "aud": "registry", "sub": "s-1", "nonce": nonce, "exp": NOW + 300,
        "iat": NOW, "preferred_username": "dana", "email": "dana@acme.com", "email_verified": true})
}

/// The token endpoint answers with this ID token.
fn serve_token(h: &Harness, id_token: &str) {
    h.app.store.http.reply(
        &format!("{ISS}/token"),
        200,
        serde_json::to_vec(
            &json!({"id_token": id_token, "access_token": "at", "token_type": "Bearer"}),
        )
        .unwrap(),
    );
}

fn callback(h: &Harness, state: &str, cookie: Option<&str>) -> Resp {
    get(
        h,
        &format!("/auth/oidc/callback?code=the-code&state={state}"),
        cookie,
    )
}

fn sessions(h: &Harness) -> i64 {
    h.app
        .store
        .sqlite()
        .with_conn(|c| c.query_row("SELECT COUNT(*) FROM sessions", [], |r| r.get(0)))
        .unwrap()
}

#[test]
fn a_sign_in_goes_to_the_provider_and_back_signed_in() {
    let h = harness(&[("OIDC_CLIENT_SECRET", "s3cret")]);
    let p = Provider::new("k1");
    serve_keys(&h, &[&p]);
    let (q, cookie) = start(&h, "?next=/crates/serde%3Fx%3D1");
    assert_eq!(
        param(&q, "redirect_uri"),
        "http://reg.test/auth/oidc/callback"
    );
    assert_eq!(param(&q, "code_challenge_method"), "S256");
    assert_eq!(cookie, format!("sso-state={}", param(&q, "state")));
    serve_token(&h, &p.id_token(&claims(param(&q, "nonce"))));
    let r = callback(&h, param(&q, "state"), Some(&cookie));
    assert_eq!(r.status, 302, "{}", r.text());
    assert_eq!(r.header("location").as_deref(), Some("/crates/serde?x=1"));
    let set: Vec<String> = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let session = set
        .iter()
        .find(|c| c.starts_with("session="))
        .expect("a session cookie");
    assert!(
        set.iter()
            .any(|c| c.starts_with("sso-state=;") && c.contains("Max-Age=0"))
    );
    // The code went to the token endpoint with the verifier of the
    // challenge, the registered redirect URI and the client's secret.
    let post = h
        .app
        .store
        .http
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    let form: Vec<(String, String)> = form_urlencoded::parse(post.body.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(param(&form, "grant_type"), "authorization_code");
    assert_eq!(param(&form, "code"), "the-code");
    assert_eq!(
        param(&form, "redirect_uri"),
        "http://reg.test/auth/oidc/callback"
    );
    assert_eq!(
        pkce_challenge(param(&form, "code_verifier")),
        param(&q, "code_challenge")
    );
    assert!(!form.iter().any(|(k, _)| k == "client_secret"));
    assert_eq!(
        post.authorization.as_deref(),
        Some("Basic cmVnaXN0cnk6czNjcmV0")
    );
    // The session works on the web API.
    let cookie = session.split(';').next().unwrap();
    let me = block_on(h.send_async(
        "GET",
        "/web/api/session",
        None,
        &[("cookie", cookie)],
        vec![],
    ));
    assert_eq!(me.status, 200, "{}", me.text());
    assert_eq!(me.json()["login"], "dana");
    // The state was used: the same callback again signs nobody in.
    let again = callback(
        &h,
        param(&q, "state"),
        Some(&format!("sso-state={}", param(&q, "state"))),
    );
    assert_eq!(
        again.header("location").as_deref(),
        Some("/login?sso_error=attempt")
    );
}

#[test]
fn a_callback_without_the_starting_browsers_cookie_signs_nobody_in() {
    let h = harness(&[]);
    let p = Provider::new("k1");
    serve_keys(&h, &[&p]);
    let (q, _) = start(&h, "");
    serve_token(&h, &p.id_token(&claims(param(&q, "nonce"))));
    for cookie in [None, Some("sso-state=someone-elses"), Some("sso-state=")] {
        let r = callback(&h, param(&q, "state"), cookie);
        assert_eq!(r.status, 302);
        assert_eq!(
            r.header("location").as_deref(),
            Some("/login?sso_error=attempt"),
            "{cookie:?}"
        );
    }
    assert_eq!(sessions(&h), 0);
    assert!(
        h.app
            .store
            .http
            .requests()
            .iter()
            .all(|r| r.method == "GET"),
        "no code exchanged"
    );
}

#[test]
fn a_rotated_key_is_fetched_again_but_not_on_every_unknown_kid() {
    let mut h = harness(&[]);
    let (old, new) = (Provider::new("k1"), Provider::new("k2"));
    serve_keys(&h, &[&old]);
    // A first sign-in caches the key set with only k1.
    let (q, c) = start(&h, "");
    serve_token(&h, &old.id_token(&claims(param(&q, "nonce"))));
    assert_eq!(
        callback(&h, param(&q, "state"), Some(&c))
            .header("location")
            .as_deref(),
        Some("/tokens")
    );
    // Two minutes later the provider rotates to k2: fetched again, signed in.
    h.now += 120;
    serve_keys(&h, &[&old, &new]);
    let (q, c) = start(&h, "");
    serve_token(&h, &new.id_token(&claims(param(&q, "nonce"))));
    assert_eq!(
        callback(&h, param(&q, "state"), Some(&c))
            .header("location")
            .as_deref(),
        Some("/tokens")
    );
    let fetches = |h: &Harness| {
        h.app
            .store
            .http
            .requests()
            .iter()
            .filter(|r| r.url.ends_with("/jwks"))
            .count()
    };
    assert_eq!(fetches(&h), 2);
    // A token naming a kid nobody published: one more fetch at most every
    // 30 seconds, then refused.
    let stranger = Provider::new("k3");
    for _ in 0..3 {
        let (q, c) = start(&h, "");
        serve_token(&h, &stranger.id_token(&claims(param(&q, "nonce"))));
        let r = callback(&h, param(&q, "state"), Some(&c));
        assert_eq!(
            r.header("location").as_deref(),
            Some("/login?sso_error=token")
        );
    }
    assert_eq!(
        fetches(&h),
        2,
        "the set was fetched less than 30 seconds ago"
    );
}

#[test]
fn only_paths_on_this_registry_are_returned_to() {
    use edge_registry::web::sso::safe_return;
    for (next, to) in [
        ("/tokens", Some("/tokens")),
        ("/crates/a?b=c", Some("/crates/a?b=c")),
        ("/a/../tokens", Some("/tokens")),
        ("//evil.example/x", None),
        ("/\\evil.example", None),
        ("https://evil.example/", None),
        ("javascript:alert(1)", None),
        ("/x\ny", None),
        ("", None),
        // Dot segments that leave `//host` behind once resolved.
        ("/.//evil.example", None),
        ("/%2e//evil.example", None),
        ("/a/..//evil.example", None),
        ("/./\\evil.example", None),
    ] {
        assert_eq!(safe_return(next).as_deref(), to, "{next:?}");
    }
    let h = harness(&[]);
    let p = Provider::new("k1");
    serve_keys(&h, &[&p]);
    let (q, c) = start(&h, "?next=//evil.example/");
    serve_token(&h, &p.id_token(&claims(param(&q, "nonce"))));
    let r = callback(&h, param(&q, "state"), Some(&c));
    assert_eq!(r.header("location").as_deref(), Some("/tokens"));
}

#[test]
fn refusals_land_on_the_sign_in_page_with_a_reason() {
    let h = harness(&[("OIDC_REQUIRED_GROUP", "engineering")]);
    let p = Provider::new("k1");
    serve_keys(&h, &[&p]);
    // Not in the group.
    let (q, c) = start(&h, "");
    serve_token(&h, &p.id_token(&claims(param(&q, "nonce"))));
    let r = callback(&h, param(&q, "state"), Some(&c));
    assert_eq!(
        r.header("location").as_deref(),
        Some("/login?sso_error=group")
    );
    // The person cancelled at the provider.
    let (q, c) = start(&h, "");
    let r = get(
        &h,
        &format!(
            "/auth/oidc/callback?error=access_denied&state={}",
            param(&q, "state")
        ),
        Some(&c),
    );
    assert_eq!(
        r.header("location").as_deref(),
        Some("/login?sso_error=provider")
    );
    // The provider refuses the code.
    let (q, c) = start(&h, "");
    h.app.store.http.reply(
        &format!("{ISS}/token"),
        400,
        br#"{"error":"invalid_grant"}"#.to_vec(),
    );
    let r = callback(&h, param(&q, "state"), Some(&c));
    assert_eq!(
        r.header("location").as_deref(),
        Some("/login?sso_error=attempt")
    );
    assert_eq!(sessions(&h), 0);
    let users: i64 = h
        .app
        .store
        .sqlite()
        .with_conn(|c| c.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0)))
        .unwrap();
    assert_eq!(users, 0);
}

#[test]
fn without_single_sign_on_or_a_reachable_provider_the_routes_say_so() {
    let h = Harness::new();
    let r = h.get("/auth/oidc/start", None);
    assert_eq!(r.status, 404);
    assert_eq!(
        r.detail(),
        "single sign-on is not configured on this registry (OIDC_ISSUER)"
    );
    let h = harness(&[]);
    h.app.store.http.reply(
        &format!("{ISS}/.well-known/openid-configuration"),
        503,
        b"down".to_vec(),
    );
    let r = h.get("/auth/oidc/start", None);
    assert_eq!(r.status, 500);
    assert_eq!(
        r.detail(),
        "internal error in the registry; nothing was changed by this request if it failed, please retry"
    );
    let h = harness(&[]);
    assert_eq!(h.send("POST", "/auth/oidc/start", None, vec![]).status, 405);
    assert_eq!(h.get("/auth/oidc/other", None).status, 404);
}

#[test]
fn with_passwords_off_no_password_signs_in() {
    let h = harness(&[("PASSWORD_SIGN_IN", "off")]);
    let before = sessions(&h);
    for (path, body) in [
        (
            "/web/api/login",
            json!({"login": "dana", "password": "a good password"}),
        ),
        (
            "/web/api/set-password",
            json!({"secret": "x", "password": "a good password"}),
        ),
        (
            "/web/api/password",
            json!({"current": "x", "password": "a good password"}),
        ),
    ] {
        let r = block_on(h.send_async(
            "POST",
            path,
            None,
            &[("content-type", "application/json")],
            serde_json::to_vec(&body).unwrap(),
        ));
        assert_eq!(r.status, 403, "{path}");
        assert_eq!(
            r.detail(),
            "password sign-in is turned off on this registry (PASSWORD_SIGN_IN); sign in with single sign-on"
        );
    }
    assert_eq!(sessions(&h), before);
}

#[test]
fn the_pages_are_told_how_people_sign_in() {
    let cfg = |h: &Harness| h.get("/web/api/config", None).json();
    let h = harness(&[("OIDC_NAME", "Acme SSO"), ("PASSWORD_SIGN_IN", "off")]);
    let c = cfg(&h);
    assert_eq!(
        c["sso"],
        json!({"kind": "oidc", "name": "Acme SSO", "start": "/auth/oidc/start",
            "sign_out": "/auth/oidc/logout", "admin_group": false})
    );
    assert_eq!(c["passwords"], false);
    let h = harness(&[("OIDC_ADMIN_GROUP", "registry-admins")]);
    assert_eq!(cfg(&h)["sso"]["admin_group"], true);
    let c = cfg(&Harness::new());
    assert_eq!(c["sso"], Value::Null);
    assert_eq!(c["passwords"], true);
}

/// Signs dana in through the callback; gives the session cookie.
fn signed_in(h: &Harness, p: &Provider) -> String {
    let (q, cookie) = start(h, "");
    serve_token(h, &p.id_token(&claims(param(&q, "nonce"))));
    let r = callback(h, param(&q, "state"), Some(&cookie));
    assert_eq!(r.status, 302, "{}", r.text());
    let set = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("session="))
        .unwrap();
    set.split(';').next().unwrap().to_string()
}

fn sign_out(h: &Harness, cookie: &str) -> Resp {
    let me = block_on(h.send_async(
        "GET",
        "/web/api/session",
        None,
        &[("cookie", cookie)],
        vec![],
    ));
    let csrf = me.json()["csrf"].as_str().unwrap().to_string();
    block_on(h.send_async(
        "POST",
        "/web/api/logout",
        None,
        &[
            ("cookie", cookie),
            ("x-csrf-token", &csrf),
            ("origin", "http://reg.test"),
            ("content-type", "application/json"),
        ],
        b"{}".to_vec(),
    ))
}

#[test]
fn sign_out_ends_the_session_and_offers_the_providers_sign_out() {
    let h = harness(&[]);
    let p = Provider::new("k1");
    serve_keys(&h, &[&p]);
    // This provider's document names no end-session page: nothing offered,
    // and the route goes back to the sign-in page.
    let cookie = signed_in(&h, &p);
    let r = sign_out(&h, &cookie);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"ok": true, "provider_sign_out": null}));
    assert_eq!(sessions(&h), 0);
    let r = get(&h, "/auth/oidc/logout", None);
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location").as_deref(), Some("/login"));

    // One that names it (a fresh isolate reads the new document).
    let h = harness(&[]);
    h.app.store.http.reply(
        &format!("{ISS}/.well-known/openid-configuration"),
        200,
        serde_json::to_vec(&json!({
            "issuer": ISS, "authorization_endpoint": format!("{ISS}/auth"),
            "token_endpoint": format!("{ISS}/token"), "jwks_uri": format!("{ISS}/jwks"),
            "end_session_endpoint": format!("{ISS}/session/end"),
        }))
        .unwrap(),
    );
    serve_keys(&h, &[&p]);
    let cookie = signed_in(&h, &p);
    let r = sign_out(&h, &cookie);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"ok": true, "provider_sign_out": "/auth/oidc/logout"})
    );
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(sessions(&h), 0);
    let me = block_on(h.send_async(
        "GET",
        "/web/api/session",
        None,
        &[("cookie", &cookie)],
        vec![],
    ));
    assert_eq!(me.status, 401);
    let r = get(&h, "/auth/oidc/logout", None);
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location").as_deref(),
        Some(
            "https://idp.example.com/session/end?client_id=registry&post_logout_redirect_uri=http%3A%2F%2Freg.test%2Flogin"
        )
    );
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
}

/// The discovery document with a userinfo endpoint, and its answer.
fn serve_userinfo(h: &Harness, info: &[u8]) {
    let http = &h.app.store.http;
    http.reply(
        &format!("{ISS}/.well-known/openid-configuration"),
        200,
        serde_json::to_vec(&json!({
            "issuer": ISS, "authorization_endpoint": format!("{ISS}/auth"),
            "token_endpoint": format!("{ISS}/token"), "jwks_uri": format!("{ISS}/jwks"),
            "userinfo_endpoint": format!("{ISS}/me"),
        }))
        .unwrap(),
    );
    http.reply(&format!("{ISS}/me"), 200, info.to_vec());
}

#[test]
fn claims_a_thin_id_token_leaves_out_come_from_userinfo() {
    let h = harness(&[
        ("OIDC_REQUIRED_GROUP", "engineering"),
        ("OIDC_ADMIN_GROUP", "registry-admins"),
        ("OIDC_ALLOWED_DOMAINS", "acme.com"),
    ]);
    let p = Provider::new("k1");
    serve_keys(&h, &[&p]);
    // Only the subject and the protocol's claims in the ID token.
    let thin = |nonce: &str| {
        json!({"iss": ISS, "aud": "registry", "sub": "s-1", "nonce": nonce,
            "exp": NOW + 300, "iat": NOW, "email": "old@elsewhere.org"})
    };
    serve_userinfo(
        &h,
        &serde_json::to_vec(&json!({"sub": "s-1", "preferred_username": "dana",
            "email": "dana@acme.com", "email_verified": true,
            "groups": ["engineering", "registry-admins"]}))
        .unwrap(),
    );
    let (q, c) = start(&h, "");
    serve_token(&h, &p.id_token(&thin(param(&q, "nonce"))));
    let r = callback(&h, param(&q, "state"), Some(&c));
    assert_eq!(r.header("location").as_deref(), Some("/tokens"));
    let asked = h
        .app
        .store
        .http
        .requests()
        .into_iter()
        .find(|r| r.url == format!("{ISS}/me"))
        .expect("userinfo was asked");
    assert_eq!(asked.authorization.as_deref(), Some("Bearer at"));
    let (login, admin, email): (String, bool, String) = h
        .app
        .store
        .sqlite()
        .with_conn(|c| {
            c.query_row(
                "SELECT u.login, u.is_admin, i.email FROM users u JOIN identities i ON i.user_id = u.id",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
        })
        .unwrap();
    assert_eq!(
        (login.as_str(), admin, email.as_str()),
        ("dana", true, "dana@acme.com"),
        "the email and whether it is verified come from one source"
    );

    // An answer about someone else signs nobody in.
    serve_userinfo(
        &h,
        &serde_json::to_vec(&json!({"sub": "someone-else", "groups": ["engineering"]})).unwrap(),
    );
    let before = sessions(&h);
    let (q, c) = start(&h, "");
    serve_token(&h, &p.id_token(&thin(param(&q, "nonce"))));
    let r = callback(&h, param(&q, "state"), Some(&c));
    assert_eq!(
        r.header("location").as_deref(),
        Some("/login?sso_error=token")
    );
    assert_eq!(sessions(&h), before);

    // A signed userinfo JWT (not JSON) adds nothing: the thin token alone
    // has no verified address at acme.com, so the person is refused.
    serve_userinfo(&h, b"eyJhbGciOiJSUzI1NiJ9.e30.sig");
    let (q, c) = start(&h, "");
    serve_token(&h, &p.id_token(&thin(param(&q, "nonce"))));
    let r = callback(&h, param(&q, "state"), Some(&c));
    assert_eq!(
        r.header("location").as_deref(),
        Some("/login?sso_error=domain")
    );
}
