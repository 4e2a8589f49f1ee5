//! The web app's JSON API on the in-memory store: sign-in and lockout,
//! sessions and CSRF, one-time links, page gating, and user administration.

mod common;

use common::*;
use edge_registry::service::accounts;
use futures::executor::block_on;
use serde_json::{Value, json};

struct Browser<'a> {
    h: &'a Harness,
    cookie: Option<String>,
    csrf: Option<String>,
}

impl<'a> Browser<'a> {
    fn new(h: &'a Harness) -> Self {
        Browser {
            h,
            cookie: None,
            csrf: None,
        }
    }

    fn call(&mut self, method: &str, path: &str, body: Option<Value>) -> Resp {
        let mut headers: Vec<(&str, String)> = vec![("origin", BASE.to_string())];
        if let Some(c) = &self.cookie {
            headers.push(("cookie", format!("session={c}")));
        }
        if let Some(t) = &self.csrf {
            headers.push(("x-csrf-token", t.clone()));
        }
        if body.is_some() {
            headers.push(("content-type", "application/json".into()));
        }
        let hs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let bytes = body
            .map(|b| serde_json::to_vec(&b).unwrap())
            .unwrap_or_default();
        let r = block_on(self.h.send_async(method, path, None, &hs, bytes));
        if let Some(sc) = r.header("set-cookie") {
            let v = sc
                .split(';')
                .next()
                .unwrap()
                .trim_start_matches("session=")
                .to_string();
            self.cookie = if v.is_empty() { None } else { Some(v) };
        }
        if r.status == 200
            && let Some(c) = serde_json::from_slice::<Value>(&r.body)
                .ok()
                .and_then(|v| v["csrf"].as_str().map(str::to_string))
        {
            self.csrf = Some(c);
        }
        r
    }

    fn login(&mut self, login: &str, password: &str) -> Resp {
        self.call(
            "POST",
            "/web/api/login",
            Some(json!({"login": login, "password": password})),
        )
    }
}

/// Creates a user with a password through a one-time link.
fn user_with_password(h: &Harness, login: &str, admin: bool, password: &str) {
    let secret = block_on(async {
        let u = edge_registry::service::tokens::ensure_user(&h.app.store.db, login, admin, h.now)
            .await
            .unwrap();
        accounts::create_link(&h.app, u.id, "password", None, h.now)
            .await
            .unwrap()
    });
    let mut b = Browser::new(h);
    let r = b.call(
        "POST",
        "/web/api/set-password",
        Some(json!({"secret": secret, "password": password})),
    );
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn sign_in_gives_an_httponly_session_and_the_same_answer_for_every_wrong_guess() {
    let h = Harness::new();
    user_with_password(&h, "alice", true, "alice password");
    let mut b = Browser::new(&h);
    let wrong = b.login("alice", "nope nope nope");
    let unknown = b.login("nobody", "nope nope nope");
    assert_eq!(wrong.status, 401);
    assert_eq!(unknown.status, 401);
    assert_eq!(wrong.detail(), "wrong login or password");
    assert_eq!(unknown.detail(), wrong.detail());
    assert!(wrong.header("set-cookie").is_none());

    let ok = b.login("Alice", "alice password");
    assert_eq!(ok.status, 200, "{}", ok.text());
    let cookie = ok.header("set-cookie").unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert_eq!(ok.json()["login"], "alice");
    assert_eq!(
        b.call("GET", "/web/api/session", None).json()["is_admin"],
        true
    );
}

#[test]
fn sign_out_ends_this_session_only_and_the_cookie_stops_working() {
    let h = Harness::new();
    user_with_password(&h, "alice", false, "alice password");
    let mut one = Browser::new(&h);
    let mut two = Browser::new(&h);
    assert_eq!(one.login("alice", "alice password").status, 200);
    assert_eq!(two.login("alice", "alice password").status, 200);
    let old = one.cookie.clone().unwrap();
    let csrf = one.csrf.clone();
    let r = one.call("POST", "/web/api/logout", Some(json!({})));
    assert_eq!(r.status, 200, "{}", r.text());
    // The old cookie, even replayed with its CSRF token, is signed out.
    one.cookie = Some(old);
    one.csrf = csrf;
    let r = one.call("GET", "/web/api/session", None);
    assert_eq!(r.status, 401);
    assert_eq!(r.detail(), "not signed in");
    // The other session is untouched.
    assert_eq!(two.call("GET", "/web/api/session", None).status, 200);
}

#[test]
fn token_expiry_is_one_rule_for_the_web_api_and_the_service() {
    use edge_registry::service::tokens::{self, TokenRequest};
    let h = Harness::new();
    user_with_password(&h, "alice", false, "alice password");
    let mut b = Browser::new(&h);
    assert_eq!(b.login("alice", "alice password").status, 200);
    for days in [0, -1, 3651] {
        let r = b.call(
            "POST",
            "/web/api/tokens",
            Some(json!({"name": "x", "scopes": ["read"], "expires_days": days})),
        );
        assert_eq!(r.status, 400, "{days}");
        assert_eq!(r.detail(), "the expiry must be 1 to 3650 days");
    }
    let listed = b.call("GET", "/web/api/tokens", None).json();
    assert_eq!(
        listed["tokens"].as_array().unwrap().len(),
        0,
        "nothing stored"
    );
    let r = b.call(
        "POST",
        "/web/api/tokens",
        Some(json!({"name": "x", "scopes": ["read"], "expires_days": 3650})),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    // The service refuses the same range given as a time, whoever calls it.
    let req = |expires_at| TokenRequest {
        name: "x",
        scopes: edge_registry::auth::Scopes::all(),
        patterns: "",
        expires_at,
    };
    for at in [NOW, NOW - 1, NOW + 3650 * 86_400 + 1] {
        let e = tokens::check(&req(Some(at)), NOW).unwrap_err();
        assert_eq!(e.detail(), "the expiry must be 1 to 3650 days");
    }
    assert!(tokens::check(&req(Some(NOW + 3650 * 86_400)), NOW).is_ok());
    assert_eq!(
        tokens::expiry_in_days(Some(2), NOW).unwrap(),
        Some(NOW + 2 * 86_400)
    );
}

#[test]
fn repeated_failures_lock_the_login_whether_or_not_it_exists() {
    let mut h = Harness::new();
    user_with_password(&h, "alice", false, "alice password");
    for login in ["alice", "ghost"] {
        let mut b = Browser::new(&h);
        for _ in 0..accounts::MAX_FAILURES {
            assert_eq!(b.login(login, "wrong password!").status, 401);
        }
        let locked = b.login(login, "alice password");
        assert_eq!(locked.status, 429, "{login}");
        assert_eq!(
            locked.detail(),
            "too many failed sign-ins for this login; try again in 15 minute(s)",
            "{}",
            locked.detail()
        );
        assert!(
            locked
                .header("retry-after")
                .unwrap()
                .parse::<i64>()
                .unwrap()
                > 0
        );
    }
    h.now += accounts::LOCKOUT_SECS + 1;
    assert_eq!(
        Browser::new(&h).login("alice", "alice password").status,
        200
    );
}

/// `n` sign-in requests sent at once on a store that yields at every
/// operation, so they interleave as concurrent requests on D1 do.
fn concurrent_logins(h: &Harness, tries: &[(&str, &str)], client: Option<&str>) -> Vec<Resp> {
    let mut hs: Vec<(&str, &str)> = vec![("origin", BASE), ("content-type", "application/json")];
    if let Some(c) = client {
        hs.push(("cf-connecting-ip", c));
    }
    block_on(futures::future::join_all(tries.iter().map(|(l, p)| {
        let body = serde_json::to_vec(&json!({"login": l, "password": p})).unwrap();
        h.send_async("POST", "/web/api/login", None, &hs, body)
    })))
}

#[test]
fn concurrent_guesses_get_at_most_five_password_checks_and_the_right_one_is_refused_while_locked() {
    let mut h = Harness::with(
        edge_registry::store::native::NativeStore::interleaving().unwrap(),
        edge_registry::service::Config::default(),
    );
    user_with_password(&h, "alice", false, "alice password");
    // The reviewed race: 25 wrong guesses at once, twice.
    for round in 0..2 {
        let rs = concurrent_logins(&h, &[("alice", "wrong guess!"); 25], None);
        let checked = rs.iter().filter(|r| r.status == 401).count();
        let refused: Vec<_> = rs.iter().filter(|r| r.status == 429).collect();
        let want = if round == 0 { 5 } else { 0 };
        assert_eq!(checked, want, "round {round}: password checks");
        assert_eq!(refused.len(), 25 - want, "round {round}");
        for r in &refused {
            assert_eq!(
                r.detail(),
                "too many failed sign-ins for this login; try again in 15 minute(s)"
            );
        }
    }
    // A burst with the right password in it: refused like the rest, and
    // the lock is not lifted by it.
    let mut burst = vec![("alice", "wrong guess!"); 24];
    burst.insert(12, ("alice", "alice password"));
    let rs = concurrent_logins(&h, &burst, None);
    assert!(
        rs.iter().all(|r| r.status == 429),
        "right password while locked"
    );
    assert!(rs.iter().all(|r| r.header("set-cookie").is_none()));
    assert_eq!(
        Browser::new(&h).login("alice", "alice password").status,
        429
    );
    // When the lock ends, the right password works and resets the count.
    h.now += accounts::LOCKOUT_SECS + 1;
    assert_eq!(
        Browser::new(&h).login("alice", "alice password").status,
        200
    );
    let rs = concurrent_logins(&h, &[("alice", "wrong guess!"); 8], None);
    assert_eq!(rs.iter().filter(|r| r.status == 401).count(), 5);
}

#[test]
fn a_disabled_account_answers_a_right_and_a_wrong_password_alike() {
    let h = Harness::new();
    user_with_password(&h, "root", true, "root password");
    user_with_password(&h, "bob", false, "bob password");
    let mut admin = Browser::new(&h);
    admin.login("root", "root password");
    let bob_id = admin.call("GET", "/web/api/users", None).json()["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["login"] == "bob")
        .unwrap()["id"]
        .clone();
    let r = admin.call(
        "POST",
        &format!("/web/api/users/{bob_id}/disabled"),
        Some(json!({"value": true})),
    );
    assert_eq!(r.status, 200);
    let right = Browser::new(&h).login("bob", "bob password");
    let wrong = Browser::new(&h).login("bob", "not bobs password");
    let unknown = Browser::new(&h).login("nobody", "bob password");
    for r in [&right, &wrong, &unknown] {
        assert_eq!(r.status, 401);
        assert_eq!(r.detail(), "wrong login or password");
        assert!(r.header("set-cookie").is_none());
    }
}

#[test]
fn failures_are_limited_per_client_and_successes_do_not_count() {
    assert_eq!(
        edge_registry::service::Config::default().client_sign_in_failures,
        100
    );
    // A lower limit than the default keeps the test to a few password
    // checks; the rule is the same.
    let h = Harness::with(
        edge_registry::store::native::NativeStore::new().unwrap(),
        edge_registry::service::Config {
            client_sign_in_failures: 12,
            ..Default::default()
        },
    );
    user_with_password(&h, "alice", false, "alice password");
    let ip = Some("203.0.113.7");
    // A success is taken back: it never uses up the address's allowance.
    for _ in 0..3 {
        assert_eq!(
            concurrent_logins(&h, &[("alice", "alice password")], ip)[0].status,
            200
        );
    }
    // One wrong guess each at many logins: the login limit never trips,
    // the address limit does.
    for i in 0..12 {
        let login = format!("user{i}");
        let r = concurrent_logins(&h, &[(login.as_str(), "guess guess")], ip);
        assert_eq!(r[0].status, 401, "attempt {i}");
    }
    let r = &concurrent_logins(&h, &[("alice", "alice password")], ip)[0];
    assert_eq!(r.status, 429);
    assert_eq!(
        r.detail(),
        "too many failed sign-ins from this address; try again in 15 minute(s)"
    );
    // Another address, and the same login from it, are not affected.
    let other = &concurrent_logins(&h, &[("alice", "alice password")], Some("198.51.100.1"))[0];
    assert_eq!(other.status, 200);

    // IPv6 counts per /64: rotating the interface part does not help.
    for i in 0..12 {
        let addr = format!("2001:db8:1:2::{i:x}");
        let login = format!("v6user{i}");
        let r = concurrent_logins(&h, &[(login.as_str(), "guess guess")], Some(&addr));
        assert_eq!(r[0].status, 401, "attempt {i}");
    }
    let r = &concurrent_logins(
        &h,
        &[("alice", "alice password")],
        Some("2001:db8:1:2:ffff::1"),
    )[0];
    assert_eq!(r.status, 429);
    let r = &concurrent_logins(&h, &[("alice", "alice password")], Some("2001:db8:1:3::1"))[0];
    assert_eq!(r.status, 200);
}

#[test]
fn the_current_password_check_counts_as_a_sign_in_attempt() {
    let h = Harness::new();
    user_with_password(&h, "alice", false, "alice password");
    let mut b = Browser::new(&h);
    assert_eq!(b.login("alice", "alice password").status, 200);
    let change = |b: &mut Browser, current: &str| {
        b.call(
            "POST",
            "/web/api/password",
            Some(json!({"current": current, "password": "a brand new password"})),
        )
    };
    for _ in 0..accounts::MAX_FAILURES {
        let r = change(&mut b, "wrong current!");
        assert_eq!(r.status, 403);
        assert_eq!(r.detail(), "the current password is wrong");
    }
    let r = change(&mut b, "alice password");
    assert_eq!(r.status, 429);
    assert_eq!(
        r.detail(),
        "too many failed sign-ins for this login; try again in 15 minute(s)"
    );
    // Nothing changed: the old password still is the password (once the
    // lock ends), and sign-in is locked meanwhile.
    assert_eq!(
        Browser::new(&h).login("alice", "alice password").status,
        429
    );
}

#[test]
fn ended_counters_are_pruned_and_live_ones_kept() {
    let mut h = Harness::new();
    user_with_password(&h, "alice", false, "alice password");
    for i in 0..30 {
        Browser::new(&h).login(&format!("ghost{i}"), "guess guess");
    }
    h.now += 600;
    for _ in 0..=accounts::MAX_FAILURES {
        Browser::new(&h).login("alice", "guess guess");
    }
    let pruned = block_on(accounts::prune_attempts(&h.app, h.now)).unwrap();
    assert_eq!(pruned, 0, "nothing has ended yet");
    h.now += accounts::FAILURE_WINDOW - 600;
    let pruned = block_on(accounts::prune_attempts(&h.app, h.now)).unwrap();
    assert_eq!(
        pruned, 30,
        "the ghosts' windows ended; alice's lock has not"
    );
    assert_eq!(
        Browser::new(&h).login("alice", "alice password").status,
        429
    );
    h.now += 600;
    assert_eq!(
        block_on(accounts::prune_attempts(&h.app, h.now)).unwrap(),
        1
    );
    assert_eq!(
        Browser::new(&h).login("alice", "alice password").status,
        200
    );
}

#[test]
fn state_changes_need_the_csrf_token_and_our_origin() {
    let h = Harness::new();
    user_with_password(&h, "alice", false, "alice password");
    let mut b = Browser::new(&h);
    b.login("alice", "alice password");
    let csrf = b.csrf.take();
    let r = b.call(
        "POST",
        "/web/api/tokens",
        Some(json!({"name": "x", "scopes": ["read"]})),
    );
    assert_eq!(r.status, 403);
    assert_eq!(r.detail(), "missing or wrong CSRF token; reload the page");
    b.csrf = csrf;
    let r = b.call(
        "POST",
        "/web/api/tokens",
        Some(json!({"name": "x", "scopes": ["read"], "expires_days": 30})),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(r.json()["token"].as_str().unwrap().starts_with("cfreg_"));
    // A cross-origin request is refused even with the right token.
    let hs = [
        ("origin", "https://evil.example"),
        ("cookie", &*format!("session={}", b.cookie.clone().unwrap())),
        ("x-csrf-token", &*b.csrf.clone().unwrap()),
        ("content-type", "application/json"),
    ];
    let r = block_on(h.send_async("POST", "/web/api/logout-all", None, &hs, b"{}".to_vec()));
    assert_eq!(r.status, 403);
    assert_eq!(r.detail(), "cross-origin request refused");
    let tokens = b.call("GET", "/web/api/tokens", None).json();
    assert_eq!(tokens["tokens"].as_array().unwrap().len(), 1);
    assert_eq!(tokens["tokens"][0]["scopes"], json!(["read"]));
}

#[test]
fn a_new_link_supersedes_the_old_ones_and_using_one_ends_every_session() {
    let h = Harness::new();
    user_with_password(&h, "alice", false, "alice password");
    let mut before = Browser::new(&h);
    assert_eq!(before.login("alice", "alice password").status, 200);
    let mut other = Browser::new(&h);
    assert_eq!(other.login("alice", "alice password").status, 200);
    let link = |purpose: &str| {
        block_on(async {
            let u = edge_registry::store::UserStore::user_by_login(&h.app.store.db, "alice")
                .await
                .unwrap()
                .unwrap();
            accounts::create_link(&h.app, u.id, purpose, None, h.now)
                .await
                .unwrap()
        })
    };
    let first = link("password");
    let invite = link("invite");
    let last = link("password");
    let set = |secret: &str, password: &str| {
        Browser::new(&h).call(
            "POST",
            "/web/api/set-password",
            Some(json!({"secret": secret, "password": password})),
        )
    };
    for old in [&first, &invite] {
        let r = set(old, "taken over password");
        assert_eq!(r.status, 403);
        assert_eq!(
            r.detail(),
            "this link is invalid, used or expired; ask an administrator for a new one"
        );
    }
    // The refused links changed nothing: the password and sessions stand.
    assert_eq!(before.call("GET", "/web/api/session", None).status, 200);
    assert_eq!(
        Browser::new(&h)
            .login("alice", "taken over password")
            .status,
        401
    );

    let mut reset = Browser::new(&h);
    let r = reset.call(
        "POST",
        "/web/api/set-password",
        Some(json!({"secret": last, "password": "the new password"})),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    // Sessions opened before the reset are over; the new one works.
    for b in [&mut before, &mut other] {
        let r = b.call("GET", "/web/api/session", None);
        assert_eq!(r.status, 401);
    }
    assert_eq!(reset.call("GET", "/web/api/session", None).status, 200);
    assert_eq!(
        Browser::new(&h).login("alice", "alice password").status,
        401
    );
    assert_eq!(
        Browser::new(&h).login("alice", "the new password").status,
        200
    );
}

#[test]
fn a_sign_in_racing_a_reset_keeps_no_session() {
    // However the two requests interleave, a session opened with the old
    // password does not outlive the reset.
    for sign_in_first in [true, false] {
        let h = Harness::with(
            edge_registry::store::native::NativeStore::interleaving().unwrap(),
            edge_registry::service::Config::default(),
        );
        user_with_password(&h, "alice", false, "old password 1");
        let secret = block_on(async {
            let u = edge_registry::store::UserStore::user_by_login(&h.app.store.db, "alice")
                .await
                .unwrap()
                .unwrap();
            accounts::create_link(&h.app, u.id, "password", None, h.now)
                .await
                .unwrap()
        });
        let hs = [("origin", BASE), ("content-type", "application/json")];
        let login =
            serde_json::to_vec(&json!({"login": "alice", "password": "old password 1"})).unwrap();
        let reset =
            serde_json::to_vec(&json!({"secret": secret, "password": "new password 2"})).unwrap();
        let a = h.send_async("POST", "/web/api/login", None, &hs, login);
        let b = h.send_async("POST", "/web/api/set-password", None, &hs, reset);
        let (signed, reset) = if sign_in_first {
            block_on(futures::future::join(a, b))
        } else {
            let (r, s) = block_on(futures::future::join(b, a));
            (s, r)
        };
        assert_eq!(reset.status, 200, "{}", reset.text());
        if signed.status == 200 {
            let cookie = signed.header("set-cookie").unwrap();
            let value = cookie.split(';').next().unwrap().to_string();
            let r = block_on(h.send_async(
                "GET",
                "/web/api/session",
                None,
                &[("cookie", &value)],
                vec![],
            ));
            assert_eq!(
                r.status, 401,
                "a session from the old password survived the reset"
            );
        } else {
            assert_eq!(signed.status, 401);
            assert_eq!(signed.detail(), "wrong login or password");
        }
        assert_eq!(
            Browser::new(&h).login("alice", "new password 2").status,
            200
        );
    }
}

#[test]
fn links_work_once_and_pages_need_a_session() {
    let mut h = Harness::new();
    let secret = block_on(async {
        let u = edge_registry::service::tokens::ensure_user(&h.app.store.db, "alice", false, h.now)
            .await
            .unwrap();
        accounts::create_link(&h.app, u.id, "invite", None, h.now)
            .await
            .unwrap()
    });
    let mut b = Browser::new(&h);
    let short = b.call(
        "POST",
        "/web/api/set-password",
        Some(json!({"secret": secret, "password": "short"})),
    );
    assert_eq!(short.status, 400);
    assert_eq!(
        short.detail(),
        "the password must have at least 10 characters"
    );
    assert_eq!(
        b.call(
            "POST",
            "/web/api/set-password",
            Some(json!({"secret": secret, "password": "a long password"}))
        )
        .status,
        200
    );
    let again = Browser::new(&h).call(
        "POST",
        "/web/api/set-password",
        Some(json!({"secret": secret, "password": "another password"})),
    );
    assert_eq!(again.status, 403);
    assert_eq!(
        again.detail(),
        "this link is invalid, used or expired; ask an administrator for a new one"
    );

    // Private pages and /me send signed-out visitors to sign-in, then back.
    for (page, next) in [
        ("/tokens", "%2Ftokens"),
        ("/users.html", "%2Fusers"),
        ("/me", "%2Ftokens"),
    ] {
        let r = h.get(page, None);
        assert_eq!(r.status, 302, "{page}");
        assert_eq!(r.header("location").unwrap(), format!("/login?next={next}"));
    }
    let public =
        |f: &str| std::fs::read(format!("{}/public/{f}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let login = h.get("/login", None);
    assert_eq!(login.status, 200, "the sign-in page needs no session");
    assert_eq!(login.body, public("login.html"));
    assert_eq!(
        login.header("content-type").unwrap(),
        "text/html; charset=utf-8"
    );
    let cookie = format!("session={}", b.cookie.clone().unwrap());
    for (page, file) in [("/tokens", "tokens.html"), ("/users", "users.html")] {
        let r = block_on(h.send_async("GET", page, None, &[("cookie", &cookie)], vec![]));
        assert_eq!(r.status, 200, "{page}");
        assert_eq!(r.body, public(file), "{page}");
    }
    let r = block_on(h.send_async(
        "GET",
        "/me",
        None,
        &[("cookie", &format!("session={}", b.cookie.clone().unwrap()))],
        vec![],
    ));
    assert_eq!(r.header("location").unwrap(), "/tokens");
    // Sessions expire.
    let cookie = b.cookie.clone().unwrap();
    drop(b);
    h.now += accounts::SESSION_SECS + 1;
    let r = block_on(h.send_async(
        "GET",
        "/web/api/session",
        None,
        &[("cookie", &format!("session={cookie}"))],
        vec![],
    ));
    assert_eq!(r.status, 401);
}

#[test]
fn admins_invite_disable_and_promote_and_the_last_admin_stays() {
    let h = Harness::new();
    user_with_password(&h, "root", true, "root password");
    let mut admin = Browser::new(&h);
    admin.login("root", "root password");
    let r = admin.call("POST", "/web/api/users", Some(json!({"login": "bob"})));
    assert_eq!(r.status, 201, "{}", r.text());
    let link = r.json()["link"].as_str().unwrap().to_string();
    let secret = link.split("#secret=").nth(1).unwrap();
    assert!(link.starts_with("http://reg.test/set-password#secret="));
    let mut bob = Browser::new(&h);
    assert_eq!(
        bob.call(
            "POST",
            "/web/api/set-password",
            Some(json!({"secret": secret, "password": "bob password"}))
        )
        .status,
        200
    );
    // bob is no admin.
    assert_eq!(bob.call("GET", "/web/api/users", None).status, 403);
    let dup = admin.call("POST", "/web/api/users", Some(json!({"login": "BOB"})));
    assert_eq!(dup.status, 409);

    let users = admin.call("GET", "/web/api/users", None).json();
    let bob_id = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["login"] == "bob")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let root_id = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["login"] == "root")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    // bob's token works, then stops when he is disabled; his session ends.
    let bob_token = bob
        .call(
            "POST",
            "/web/api/tokens",
            Some(json!({"name": "t", "scopes": ["read"]})),
        )
        .json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(h.get("/index/config.json", Some(&bob_token)).status, 200);
    let r = admin.call(
        "POST",
        &format!("/web/api/users/{bob_id}/disabled"),
        Some(json!({"value": true})),
    );
    assert_eq!(r.status, 200);
    let r = h.get("/index/config.json", Some(&bob_token));
    assert_eq!(r.status, 401);
    assert_eq!(
        r.detail(),
        "the account `bob` that owns this token is disabled; ask an administrator"
    );
    assert_eq!(bob.call("GET", "/web/api/session", None).status, 401);
    let r = bob.login("bob", "bob password");
    assert_eq!(r.status, 401);
    assert_eq!(r.detail(), "wrong login or password");
    admin.call(
        "POST",
        &format!("/web/api/users/{bob_id}/disabled"),
        Some(json!({"value": false})),
    );
    assert_eq!(h.get("/index/config.json", Some(&bob_token)).status, 200);

    // The last administrator can be neither demoted nor disabled.
    let r = admin.call(
        "POST",
        &format!("/web/api/users/{root_id}/admin"),
        Some(json!({"value": false})),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.detail(), "cannot remove the last administrator");
    assert_eq!(
        admin
            .call(
                "POST",
                &format!("/web/api/users/{root_id}/disabled"),
                Some(json!({"value": true}))
            )
            .status,
        400
    );
    assert_eq!(
        admin
            .call(
                "POST",
                &format!("/web/api/users/{bob_id}/admin"),
                Some(json!({"value": true}))
            )
            .status,
        200
    );
    assert_eq!(
        admin
            .call(
                "POST",
                &format!("/web/api/users/{root_id}/admin"),
                Some(json!({"value": false}))
            )
            .status,
        200
    );

    // Tokens can only be revoked by their owner (or an admin).
    let mine = admin
        .call(
            "POST",
            "/web/api/tokens",
            Some(json!({"name": "root-t", "scopes": ["read"]})),
        )
        .json();
    let mut carol_session = Browser::new(&h);
    user_with_password(&h, "carol", false, "carol password");
    carol_session.login("carol", "carol password");
    let r = carol_session.call("DELETE", &format!("/web/api/tokens/{}", mine["id"]), None);
    assert_eq!(r.status, 404);
    assert_eq!(
        h.get("/index/config.json", Some(mine["token"].as_str().unwrap()))
            .status,
        200
    );
}

#[test]
fn change_password_and_sign_out_everywhere_end_other_sessions() {
    let h = Harness::new();
    user_with_password(&h, "alice", false, "first password");
    let mut one = Browser::new(&h);
    let mut two = Browser::new(&h);
    one.login("alice", "first password");
    two.login("alice", "first password");
    let r = one.call(
        "POST",
        "/web/api/password",
        Some(json!({"current": "wrong one!", "password": "second password"})),
    );
    assert_eq!(r.status, 403);
    let r = one.call(
        "POST",
        "/web/api/password",
        Some(json!({"current": "first password", "password": "second password"})),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        one.call("GET", "/web/api/session", None).status,
        200,
        "this browser stays signed in"
    );
    assert_eq!(
        two.call("GET", "/web/api/session", None).status,
        401,
        "others are signed out"
    );
    assert_eq!(
        Browser::new(&h).login("alice", "first password").status,
        401
    );
    assert_eq!(
        one.call("POST", "/web/api/logout-all", Some(json!({})))
            .status,
        200
    );
    assert_eq!(one.call("GET", "/web/api/session", None).status, 401);
}
