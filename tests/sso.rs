//! Single sign-on over the real SQL, with ID tokens signed by a test
//! provider's real keys: accounts are made just in time and found by
//! issuer and subject, the provider's rules are applied at every sign-in,
//! attempts are used once, and every refusal creates no user and no
//! session.

mod common;

use common::idp::{Provider, enc};
use common::*;
use edge_registry::auth::jwt::JwtError;
use edge_registry::auth::oidc::{Discovery, OidcSettings, SignInSettings};
use edge_registry::service::sso::{self, Refusal, SsoError};
use edge_registry::service::{accounts, auth::TokenCache};
use edge_registry::store::UserStore;
use futures::executor::block_on;
use serde_json::{Value, json};

const ISS: &str = "https://idp.example.com";

fn settings(extra: &[(&str, &str)]) -> OidcSettings {
    let mut vars = vec![
        ("OIDC_ISSUER".to_string(), ISS.to_string()),
        ("OIDC_CLIENT_ID".into(), "registry".into()),
    ];
    vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    SignInSettings::from_vars(|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
        .unwrap()
        .oidc
        .unwrap()
}

fn discovery() -> Discovery {
    let d = json!({
        "issuer": ISS, "authorization_endpoint": format!("{ISS}/auth"),
        "token_endpoint": format!("{ISS}/token"), "jwks_uri": format!("{ISS}/jwks"),
    });
    Discovery::parse(&serde_json::to_vec(&d).unwrap(), ISS).unwrap()
}

/// Starts a sign-in as the browser would and gives the attempt's state
/// and nonce from the authorization URL.
fn start(h: &Harness, s: &OidcSettings) -> (String, String) {
    let begun = block_on(sso::begin(
        &h.app,
        s,
        &discovery(),
        "https://reg.test",
        Some("/tokens"),
        h.now,
    ))
    .unwrap();
    let u = url::Url::parse(&begun.url).unwrap();
    let q = |k: &str| {
        u.query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    assert_eq!(q("redirect_uri"), "https://reg.test/auth/oidc/callback");
    assert_eq!(q("state"), begun.state);
    (q("state"), q("nonce"))
}

/// A change to the claims a test signs.
type Edit = Box<dyn Fn(&mut Value)>;

fn claims(sub: &str, nonce: &str) -> Value {
    json!({
        "iss": ISS, "aud": "registry", "sub": sub, "nonce": nonce,
        "exp": NOW + 300, "iat": NOW, "email": format!("{sub}@acme.com"),
        "email_verified": true, "preferred_username": sub, "groups": ["engineering"],
    })
}

/// Signs in with these claims (the nonce filled in from the attempt).
fn sign_in(
    h: &Harness,
    p: &Provider,
    s: &OidcSettings,
    edit: &dyn Fn(&mut Value),
) -> Result<accounts::NewSession, SsoError> {
    let (state, nonce) = start(h, s);
    let attempt = block_on(sso::take_attempt(&h.app, &state, h.now))?;
    assert_eq!(attempt.return_to.as_deref(), Some("/tokens"));
    let mut c = claims("alice", &nonce);
    edit(&mut c);
    block_on(sso::complete(
        &h.app,
        s,
        &p.id_token(&c),
        &p.jwks(),
        &attempt,
        h.now,
    ))
}

fn refusal(r: Result<accounts::NewSession, SsoError>) -> Refusal {
    match r {
        Err(SsoError::Refused(r)) => r,
        Err(SsoError::App(e)) => panic!("not a refusal: {e:?}"),
        Ok(s) => panic!("signed in as {}", s.user.login),
    }
}

fn count(h: &Harness, table: &str) -> i64 {
    h.app
        .store
        .sqlite()
        .with_conn(|c| c.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)))
        .unwrap()
}

fn counts(h: &Harness) -> (i64, i64, i64) {
    (
        count(h, "users"),
        count(h, "sessions"),
        count(h, "identities"),
    )
}

#[test]
fn a_first_sign_in_makes_the_account_and_the_next_finds_it_by_subject() {
    let h = Harness::new();
    let (p, s) = (Provider::new("k1"), settings(&[]));
    let first = sign_in(&h, &p, &s, &|_| {}).unwrap();
    assert_eq!(first.user.login, "alice");
    assert!(!first.user.is_admin);
    let (session, user) = block_on(accounts::session(&h.app, &first.cookie, h.now))
        .unwrap()
        .expect("a session");
    assert_eq!(
        (session.user_id, user.login.as_str()),
        (first.user.id, "alice")
    );
    // The email changes at the provider: same subject, same account.
    let again = sign_in(&h, &p, &s, &|c| c["email"] = json!("alice.new@acme.com")).unwrap();
    assert_eq!(again.user.id, first.user.id);
    // Another subject with alice's old email and username is someone else.
    let other = sign_in(&h, &p, &s, &|c| c["sub"] = json!("alice-2nd")).unwrap();
    assert_ne!(other.user.id, first.user.id);
    assert_eq!(
        other.user.login, "alice-2",
        "the login is taken, so a suffix"
    );
    assert_eq!(counts(&h), (2, 3, 2));
}

#[test]
fn the_same_subject_at_another_issuer_is_another_account() {
    let h = Harness::new();
    let p = Provider::new("k1");
    let a = sign_in(&h, &p, &settings(&[]), &|_| {}).unwrap();
    let other_iss = "https://other-idp.example.com";
    let s2 = OidcSettings {
        issuer: other_iss.into(),
        ..settings(&[])
    };
    let b = sign_in(&h, &p, &s2, &|c| c["iss"] = json!(other_iss)).unwrap();
    assert_ne!(a.user.id, b.user.id);
}

#[test]
fn a_state_is_used_once_and_only_before_it_expires() {
    let h = Harness::new();
    let s = settings(&[]);
    let (state, _) = start(&h, &s);
    assert!(block_on(sso::take_attempt(&h.app, &state, h.now)).is_ok());
    for (what, st, at) in [
        ("replayed", state.as_str(), h.now),
        ("forged", "not-a-state-we-made", h.now),
        ("empty", "", h.now),
    ] {
        match block_on(sso::take_attempt(&h.app, st, at)) {
            Err(SsoError::Refused(Refusal::Attempt)) => {}
            other => panic!("{what}: {other:?}"),
        }
    }
    let (late, _) = start(&h, &s);
    match block_on(sso::take_attempt(&h.app, &late, h.now + sso::ATTEMPT_SECS)) {
        Err(SsoError::Refused(r)) => assert_eq!(
            r.to_string(),
            "this sign-in is unknown, already used or expired; start again from the sign-in page"
        ),
        other => panic!("expired: {other:?}"),
    }
    // The cron removes what expired.
    let (_, _) = start(&h, &s);
    assert_eq!(count(&h, "sso_attempts"), 1, "taken attempts are gone");
    assert_eq!(
        block_on(sso::prune(&h.app, h.now + sso::ATTEMPT_SECS, 100)).unwrap(),
        1
    );
    assert_eq!(count(&h, "sso_attempts"), 0);
    // A flood larger than one batch goes in one run, in batches.
    for _ in 0..7 {
        start(&h, &s);
    }
    assert_eq!(
        block_on(sso::prune(&h.app, h.now + sso::ATTEMPT_SECS, 3)).unwrap(),
        7
    );
    assert_eq!(count(&h, "sso_attempts"), 0);
}

#[test]
fn every_bad_token_is_refused_and_creates_nothing() {
    let h = Harness::new();
    let (p, s) = (Provider::new("k1"), settings(&[]));
    let stranger = Provider::new("k1");
    let before = counts(&h);
    let cases: Vec<(&str, Edit, JwtError)> = vec![
        (
            "wrong nonce",
            Box::new(|c| c["nonce"] = json!("other")),
            JwtError::Nonce,
        ),
        (
            "missing nonce",
            Box::new(|c| drop(c.as_object_mut().unwrap().remove("nonce"))),
            JwtError::Nonce,
        ),
        (
            "wrong issuer",
            Box::new(|c| c["iss"] = json!("https://evil.example")),
            JwtError::Issuer("https://evil.example".into()),
        ),
        (
            "wrong audience",
            Box::new(|c| c["aud"] = json!("other-app")),
            JwtError::Audience,
        ),
        (
            "expired",
            Box::new(|c| c["exp"] = json!(NOW - 600)),
            JwtError::Expired,
        ),
        (
            "issued in the future",
            Box::new(|c| c["iat"] = json!(NOW + 600)),
            JwtError::NotYetValid,
        ),
    ];
    for (what, edit, err) in cases {
        assert_eq!(
            refusal(sign_in(&h, &p, &s, &*edit)),
            Refusal::Token(err),
            "{what}"
        );
    }
    // Signed by another key under the same kid; unsigned; HMAC.
    let (state, nonce) = start(&h, &s);
    let attempt = block_on(sso::take_attempt(&h.app, &state, h.now)).unwrap();
    let c = claims("alice", &nonce);
    let forged = stranger.id_token(&c);
    let body = enc(&serde_json::to_vec(&c).unwrap());
    let none = format!("{}.{body}.", enc(br#"{"alg":"none"}"#));
    let hs = format!("{}.{body}.c2ln", enc(br#"{"alg":"HS256","kid":"k1"}"#));
    let unknown_kid = p.sign(json!({"alg": "ES256", "kid": "k9"}), &c);
    for (what, token, err) in [
        ("another key", forged, JwtError::BadSignature),
        ("alg none", none, JwtError::Algorithm("none".into())),
        ("HS256", hs, JwtError::Algorithm("HS256".into())),
        (
            "unknown kid",
            unknown_kid,
            JwtError::UnknownKey(Some("k9".into())),
        ),
    ] {
        let r = block_on(sso::complete(
            &h.app,
            &s,
            &token,
            &p.jwks(),
            &attempt,
            h.now,
        ));
        assert_eq!(refusal(r), Refusal::Token(err.clone()), "{what}");
        assert_eq!(
            Refusal::Token(err.clone()).log(),
            format!("single sign-on refused: {err}")
        );
    }
    assert_eq!(counts(&h), before, "no user, no session, no identity");
}

#[test]
fn the_domain_rule_needs_a_verified_email_in_an_allowed_domain() {
    let h = Harness::new();
    let p = Provider::new("k1");
    let s = settings(&[("OIDC_ALLOWED_DOMAINS", "acme.com")]);
    let before = counts(&h);
    for (what, edit) in [
        (
            "unverified",
            Box::new(|c: &mut Value| c["email_verified"] = json!(false)) as Box<dyn Fn(&mut Value)>,
        ),
        (
            "verified missing",
            Box::new(|c: &mut Value| drop(c.as_object_mut().unwrap().remove("email_verified"))),
        ),
        (
            "other domain",
            Box::new(|c: &mut Value| c["email"] = json!("alice@evil.com")),
        ),
        (
            "subdomain lookalike",
            Box::new(|c: &mut Value| c["email"] = json!("alice@acme.com.evil.com")),
        ),
        (
            "no email",
            Box::new(|c: &mut Value| drop(c.as_object_mut().unwrap().remove("email"))),
        ),
    ] {
        assert_eq!(
            refusal(sign_in(&h, &p, &s, &*edit)),
            Refusal::Domain,
            "{what}"
        );
    }
    assert_eq!(counts(&h), before);
    let ok = sign_in(&h, &p, &s, &|c| {
        c["email"] = json!("Alice@ACME.com");
        c["email_verified"] = json!("true");
    });
    assert!(ok.is_ok());
}

#[test]
fn leaving_the_required_group_disables_the_account_and_its_tokens_until_it_qualifies() {
    let h = Harness::new();
    let p = Provider::new("k1");
    let s = settings(&[("OIDC_REQUIRED_GROUP", "engineering")]);
    let first = sign_in(&h, &p, &s, &|_| {}).unwrap();
    let token = h.token("alice");
    assert_eq!(h.get("/index/config.json", Some(&token)).status, 200);
    let out = sign_in(&h, &p, &s, &|c| c["groups"] = json!(["sales"]));
    let r = refusal(out);
    assert_eq!(
        r.to_string(),
        "your account at the identity provider is not in the group allowed to use this registry; ask an administrator"
    );
    let u = block_on(h.app.store.db.user_by_id(first.user.id))
        .unwrap()
        .unwrap();
    assert!(u.disabled, "the account is disabled at once");
    // Its sessions end and its tokens stop (a fresh cache: no TTL wait).
    assert_eq!(
        block_on(accounts::session(&h.app, &first.cookie, h.now)).unwrap(),
        None
    );
    let fresh = Harness {
        cache: TokenCache::new(),
        ..h
    };
    let r = fresh.get("/index/config.json", Some(&token));
    assert_eq!(r.status, 401, "{}", r.text());
    // Back in the group: enabled again at the next sign-in.
    let back = sign_in(&fresh, &p, &s, &|_| {}).unwrap();
    assert_eq!(back.user.id, first.user.id);
    assert!(!back.user.disabled);
}

#[test]
fn the_admin_group_decides_admin_rights_at_every_sign_in() {
    let h = Harness::new();
    let p = Provider::new("k1");
    let s = settings(&[("OIDC_ADMIN_GROUP", "registry-admins")]);
    let a = sign_in(&h, &p, &s, &|c| c["groups"] = json!(["registry-admins"])).unwrap();
    assert!(a.user.is_admin);
    let b = sign_in(&h, &p, &s, &|c| c["groups"] = json!("engineering")).unwrap();
    assert_eq!(b.user.id, a.user.id);
    assert!(!b.user.is_admin);
    let u = block_on(h.app.store.db.user_by_id(a.user.id))
        .unwrap()
        .unwrap();
    assert!(!u.is_admin, "stored, not only in the session");
}

#[test]
fn an_account_disabled_here_stays_disabled_whatever_the_provider_says() {
    let h = Harness::new();
    let p = Provider::new("k1");
    let s = settings(&[]);
    let a = sign_in(&h, &p, &s, &|_| {}).unwrap();
    block_on(h.app.store.db.set_disabled(a.user.id, true)).unwrap();
    let before = count(&h, "sessions");
    assert_eq!(refusal(sign_in(&h, &p, &s, &|_| {})), Refusal::Disabled);
    assert_eq!(count(&h, "sessions"), before);
}

#[test]
fn an_existing_account_can_be_linked_to_an_identity_once() {
    let h = Harness::new();
    let p = Provider::new("k1");
    let s = settings(&[]);
    h.token("carol");
    let carol = block_on(h.app.store.db.user_by_login("carol"))
        .unwrap()
        .unwrap();
    block_on(sso::link(&h.app, &carol, ISS, "carol-sub", h.now)).unwrap();
    let again = block_on(sso::link(&h.app, &carol, ISS, "other-sub", h.now)).unwrap_err();
    assert_eq!(
        again.detail(),
        "the subject is already linked to an account, or `carol` already has an identity at this provider"
    );
    let signed = sign_in(&h, &p, &s, &|c| c["sub"] = json!("carol-sub")).unwrap();
    assert_eq!(signed.user.id, carol.id);
    assert_eq!(
        block_on(sso::link(&h.app, &carol, ISS, "", h.now))
            .unwrap_err()
            .detail(),
        "an OIDC subject is 1 to 255 characters"
    );
}

#[test]
fn logins_for_new_accounts_are_made_safe() {
    let c = |v: Value| v.as_object().unwrap().clone();
    for (claims, login) in [
        (json!({"preferred_username": "Alice.Smith"}), "alice-smith"),
        (json!({"email": "bob+x@acme.com"}), "bob-x"),
        (json!({"preferred_username": "__x"}), "x"),
        (json!({"preferred_username": "日本"}), "user"),
        (json!({}), "user"),
    ] {
        assert_eq!(sso::login_hint(&c(claims)), login);
    }
}

#[test]
fn googles_issuer_without_its_scheme_is_the_same_issuer_and_no_other_is() {
    let google = "https://accounts.google.com";
    let doc = json!({
        "issuer": google, "authorization_endpoint": format!("{google}/o/oauth2/v2/auth"),
        "token_endpoint": "https://oauth2.googleapis.com/token",
        "jwks_uri": "https://www.googleapis.com/oauth2/v3/certs",
    });
    let d = Discovery::parse(&serde_json::to_vec(&doc).unwrap(), google).unwrap();
    let sign = |issuer: &str, token_iss: &str| {
        let h = Harness::new();
        let s = SignInSettings::from_vars(|k| match k {
            "OIDC_ISSUER" => Some(issuer.to_string()),
            "OIDC_CLIENT_ID" => Some("registry".into()),
            _ => None,
        })
        .unwrap()
        .oidc
        .unwrap();
        let p = Provider::new("g1");
        let begun = block_on(sso::begin(&h.app, &s, &d, "https://reg.test", None, h.now)).unwrap();
        let u = url::Url::parse(&begun.url).unwrap();
        let nonce = u
            .query_pairs()
            .find(|(k, _)| k == "nonce")
            .unwrap()
            .1
            .to_string();
        let attempt = block_on(sso::take_attempt(&h.app, &begun.state, h.now)).unwrap();
        let mut c = claims("alice", &nonce);
        c["iss"] = json!(token_iss);
        let r = block_on(sso::complete(
            &h.app,
            &s,
            &p.id_token(&c),
            &p.jwks(),
            &attempt,
            h.now,
        ));
        let issuers: Vec<String> = h
            .app
            .store
            .sqlite()
            .with_conn(|c| {
                let mut st = c.prepare("SELECT issuer FROM identities")?;
                st.query_map([], |r| r.get(0))?.collect()
            })
            .unwrap();
        (r.map(|_| ()), issuers)
    };
    let (r, issuers) = sign(google, "accounts.google.com");
    assert!(r.is_ok());
    assert_eq!(issuers, vec![google.to_string()], "one issuer, one account");
    let (r, _) = sign(google, google);
    assert!(r.is_ok());
    // Only Google's: another issuer's bare host is not its issuer.
    let (r, issuers) = sign("https://idp.example.com", "idp.example.com");
    assert_eq!(
        refusal(r.map(|_| unreachable!())),
        Refusal::Token(JwtError::Issuer("idp.example.com".into()))
    );
    assert!(issuers.is_empty());
}

#[test]
fn at_google_only_the_hosted_domain_claim_admits_a_domain() {
    let google = "https://accounts.google.com";
    let s = SignInSettings::from_vars(|k| match k {
        "OIDC_ISSUER" => Some(google.into()),
        "OIDC_CLIENT_ID" => Some("registry".into()),
        "OIDC_ALLOWED_DOMAINS" => Some("acme.com".into()),
        _ => None,
    })
    .unwrap()
    .oidc
    .unwrap();
    let c = |hd: Option<&str>| {
        let mut c = claims("alice", "n");
        c["iss"] = json!(google);
        if let Some(hd) = hd {
            c["hd"] = json!(hd);
        }
        c.as_object().unwrap().clone()
    };
    // A personal Google account made on a company address: verified
    // email, no `hd`.
    assert_eq!(sso::admitted(&s, &c(None)), Err(Refusal::Domain));
    assert_eq!(
        sso::admitted(&s, &c(Some("evil.com"))),
        Err(Refusal::Domain)
    );
    assert_eq!(sso::admitted(&s, &c(Some("ACME.com"))), Ok(()));
    // Elsewhere `hd` means nothing and is not required.
    let other = settings(&[("OIDC_ALLOWED_DOMAINS", "acme.com")]);
    let mut plain = claims("alice", "n");
    plain.as_object_mut().unwrap().remove("hd");
    assert_eq!(sso::admitted(&other, plain.as_object().unwrap()), Ok(()));
}

#[test]
fn an_administrators_disable_outlasts_a_suspension_by_the_provider() {
    let h = Harness::new();
    let p = Provider::new("k1");
    let s = settings(&[("OIDC_REQUIRED_GROUP", "engineering")]);
    let a = sign_in(&h, &p, &s, &|_| {}).unwrap();
    // Out of the group: suspended by the provider's rule.
    assert_eq!(
        refusal(sign_in(&h, &p, &s, &|c| c["groups"] = json!([]))),
        Refusal::Group
    );
    // An administrator disables the account too; back in the group, the
    // person stays out.
    block_on(h.app.store.db.set_disabled(a.user.id, true)).unwrap();
    assert_eq!(refusal(sign_in(&h, &p, &s, &|_| {})), Refusal::Disabled);
    let u = block_on(h.app.store.db.user_by_id(a.user.id))
        .unwrap()
        .unwrap();
    assert!(u.disabled);
}

#[test]
fn a_subject_longer_than_a_restore_accepts_signs_nobody_in() {
    let h = Harness::new();
    let p = Provider::new("k1");
    let s = settings(&[]);
    let r = sign_in(&h, &p, &s, &|c| c["sub"] = json!("s".repeat(256)));
    assert_eq!(
        refusal(r),
        Refusal::Token(JwtError::Malformed("its subject is longer than 255 bytes"))
    );
    assert_eq!(count(&h, "users"), 0);
    // An over-long email is not kept, and the person still signs in.
    let long = format!("{}@acme.com", "a".repeat(320));
    let ok = sign_in(&h, &p, &s, &|c| c["email"] = json!(long)).unwrap();
    let email: Option<String> = h
        .app
        .store
        .sqlite()
        .with_conn(|c| {
            c.query_row(
                "SELECT email FROM identities WHERE user_id = ?1",
                [ok.user.id],
                |r| r.get(0),
            )
        })
        .unwrap();
    assert_eq!(email, None);
}

#[test]
fn mapped_groups_keep_team_memberships_in_step_at_every_sign_in() {
    use edge_registry::service::teams::{self, Actor};
    use edge_registry::store::{MemberSource, TeamStore as _};
    let h = Harness::new();
    let p = Provider::new("k1");
    let s = settings(&[(
        "OIDC_TEAM_CLAIM_MAP",
        "engineering=core, platform-eng=core, ops=ops, ghosts=missing",
    )]);
    for t in ["core", "ops"] {
        block_on(teams::create(&h.app, Actor::Operator, t, h.now)).unwrap();
    }
    let members = |team: &str| -> Vec<(String, MemberSource)> {
        block_on(teams::members(&h.app, team))
            .unwrap()
            .into_iter()
            .map(|m| (m.user.login, m.source))
            .collect()
    };
    let a = sign_in(&h, &p, &s, &|c| {
        c["groups"] = json!(["engineering", "ghosts"])
    })
    .unwrap();
    assert_eq!(members("core"), [("alice".to_string(), MemberSource::Sso)]);
    assert!(members("ops").is_empty());
    // Added to ops by hand: sign-in never takes that away.
    block_on(teams::add_member(
        &h.app,
        Actor::Operator,
        "ops",
        "alice",
        false,
        h.now,
    ))
    .unwrap();
    // Out of engineering, into platform-eng: still core (same team).
    sign_in(&h, &p, &s, &|c| c["groups"] = json!(["platform-eng"])).unwrap();
    assert_eq!(members("core").len(), 1);
    // Out of every mapped group: out of core, still in ops.
    sign_in(&h, &p, &s, &|c| c["groups"] = json!(["engineering-alumni"])).unwrap();
    assert!(members("core").is_empty());
    assert_eq!(
        members("ops"),
        [("alice".to_string(), MemberSource::Manual)]
    );
    let ops = block_on(h.app.store.db.team_by_name("ops"))
        .unwrap()
        .unwrap();
    assert_eq!(
        block_on(h.app.store.db.user_memberships(a.user.id)).unwrap(),
        [(ops.id, MemberSource::Manual)]
    );
}
