//! Settings, discovery and the authorization request.

use super::*;
use std::collections::HashMap;

fn settings(vars: &[(&str, &str)]) -> Result<SignInSettings, SettingsError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    SignInSettings::from_vars(|k| map.get(k).cloned())
}

const BASE: &[(&str, &str)] = &[
    ("OIDC_ISSUER", "https://idp.example.com/realms/acme"),
    ("OIDC_CLIENT_ID", "registry"),
];

fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut v = BASE.to_vec();
    v.extend_from_slice(extra);
    v
}

#[test]
fn nothing_set_means_passwords_only() {
    assert_eq!(settings(&[]).unwrap(), SignInSettings::default());
    assert!(SignInSettings::default().passwords);
    // Empty values count as unset.
    assert_eq!(
        settings(&[("OIDC_ISSUER", " "), ("ACCESS_AUD", "")]).unwrap(),
        SignInSettings::default()
    );
}

#[test]
fn oidc_settings_take_their_defaults() {
    let s = settings(BASE).unwrap().oidc.unwrap();
    assert_eq!(
        s,
        OidcSettings {
            issuer: "https://idp.example.com/realms/acme".into(),
            client_id: "registry".into(),
            client_secret: None,
            name: "idp.example.com".into(),
            scopes: "openid email profile".into(),
            groups_claim: "groups".into(),
            required_group: None,
            admin_group: None,
            allowed_domains: vec![],
            team_map: vec![],
        }
    );
    let s = settings(&with(&[
        ("OIDC_CLIENT_SECRET", "s3cret"),
        ("OIDC_NAME", "Acme SSO"),
        ("OIDC_SCOPES", "openid email groups"),
        ("OIDC_GROUPS_CLAIM", "roles"),
        ("OIDC_REQUIRED_GROUP", "engineering"),
        ("OIDC_ADMIN_GROUP", "registry-admins"),
        ("OIDC_ALLOWED_DOMAINS", "Acme.com, @corp.acme.com,,"),
        ("PASSWORD_SIGN_IN", "off"),
    ]))
    .unwrap();
    assert!(!s.passwords);
    let o = s.oidc.unwrap();
    assert_eq!(o.client_secret.as_deref(), Some("s3cret"));
    assert_eq!(o.name, "Acme SSO");
    assert_eq!(o.groups_claim, "roles");
    assert_eq!(o.required_group.as_deref(), Some("engineering"));
    assert_eq!(o.admin_group.as_deref(), Some("registry-admins"));
    assert_eq!(o.allowed_domains, ["acme.com", "corp.acme.com"]);
}

#[test]
fn bad_settings_are_refused_with_the_setting_named() {
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![
                ("OIDC_ISSUER", "http://idp.example.com"),
                ("OIDC_CLIENT_ID", "r"),
            ],
            "OIDC_ISSUER `http://idp.example.com` must be an https:// URL (http:// only for 127.0.0.1, ::1 or localhost) without query, fragment or credentials",
        ),
        (
            vec![
                ("OIDC_ISSUER", "https://u:p@idp.example.com"),
                ("OIDC_CLIENT_ID", "r"),
            ],
            "OIDC_ISSUER `https://u:p@idp.example.com` must be an https:// URL (http:// only for 127.0.0.1, ::1 or localhost) without query, fragment or credentials",
        ),
        (
            vec![("OIDC_ISSUER", "idp.example.com"), ("OIDC_CLIENT_ID", "r")],
            "OIDC_ISSUER `idp.example.com` must be an https:// URL (http:// only for 127.0.0.1, ::1 or localhost) without query, fragment or credentials",
        ),
        (
            vec![
                ("OIDC_ISSUER", "https://idp.example.com?x=1"),
                ("OIDC_CLIENT_ID", "r"),
            ],
            "OIDC_ISSUER `https://idp.example.com?x=1` must be an https:// URL (http:// only for 127.0.0.1, ::1 or localhost) without query, fragment or credentials",
        ),
        (
            vec![("OIDC_ISSUER", "https://idp.example.com")],
            "OIDC_CLIENT_ID must be set",
        ),
        (
            with(&[("OIDC_SCOPES", "email profile")]),
            "OIDC_SCOPES must include `openid`",
        ),
        (
            vec![("PASSWORD_SIGN_IN", "no")],
            "PASSWORD_SIGN_IN has an unusable value `no`",
        ),
        (
            vec![("ACCESS_AUD", "abc")],
            "ACCESS_TEAM_DOMAIN must be set",
        ),
        (
            vec![("ACCESS_TEAM_DOMAIN", "acme.cloudflareaccess.com")],
            "ACCESS_AUD must be set",
        ),
        (
            vec![
                ("ACCESS_TEAM_DOMAIN", "acme.cloudflareaccess.com/x"),
                ("ACCESS_AUD", "a"),
            ],
            "ACCESS_TEAM_DOMAIN `acme.cloudflareaccess.com/x` must be an https:// URL (http:// only for 127.0.0.1, ::1 or localhost) without query, fragment or credentials",
        ),
    ];
    for (vars, msg) in cases {
        assert_eq!(settings(&vars).unwrap_err().to_string(), msg, "{vars:?}");
    }
}

#[test]
fn plain_http_only_on_loopback() {
    for ok in [
        "http://127.0.0.1:9000",
        "http://localhost:9000/oidc",
        "http://[::1]:9000",
        "https://idp.example.com",
    ] {
        assert!(checked_url("X", ok, false).is_ok(), "{ok}");
    }
    for bad in [
        "http://10.0.0.1",
        "http://localhost.evil.com",
        "http://127.0.0.1.nip.io",
        "ftp://idp.example.com",
        "https://idp.example.com/#frag",
        "javascript:alert(1)",
    ] {
        assert!(checked_url("X", bad, false).is_err(), "{bad}");
    }
}

#[test]
fn access_derives_its_issuer_and_certs_url() {
    let a = settings(&[
        ("ACCESS_TEAM_DOMAIN", "acme.cloudflareaccess.com"),
        ("ACCESS_AUD", "aud-tag"),
    ])
    .unwrap()
    .access
    .unwrap();
    assert_eq!(
        a,
        AccessSettings {
            issuer: "https://acme.cloudflareaccess.com".into(),
            aud: "aud-tag".into(),
            certs_url: "https://acme.cloudflareaccess.com/cdn-cgi/access/certs".into(),
        }
    );
    let a = settings(&[
        ("ACCESS_TEAM_DOMAIN", "http://127.0.0.1:9100"),
        ("ACCESS_AUD", "aud-tag"),
        ("ACCESS_CERTS_URL", "http://127.0.0.1:9100/certs"),
    ])
    .unwrap()
    .access
    .unwrap();
    assert_eq!(a.issuer, "http://127.0.0.1:9100");
    assert_eq!(a.certs_url, "http://127.0.0.1:9100/certs");
}

fn doc(issuer: &str) -> serde_json::Value {
    serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/auth"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "end_session_endpoint": format!("{issuer}/session/end"),
        "code_challenge_methods_supported": ["S256"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
    })
}

fn parse(v: &serde_json::Value, issuer: &str) -> Result<Discovery, DiscoveryError> {
    Discovery::parse(&serde_json::to_vec(v).unwrap(), issuer)
}

#[test]
fn discovery_is_checked_against_the_issuer() {
    let iss = "https://idp.example.com/realms/acme";
    let d = parse(&doc(iss), iss).unwrap();
    assert_eq!(d.token_endpoint, format!("{iss}/token"));
    assert_eq!(
        discovery_url(iss),
        "https://idp.example.com/realms/acme/.well-known/openid-configuration"
    );
    assert_eq!(
        discovery_url("https://idp.example.com/"),
        "https://idp.example.com/.well-known/openid-configuration"
    );
    // A document for another issuer (a mix-up) is refused.
    let err = parse(&doc("https://evil.example"), iss).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the provider's discovery document names the issuer `https://evil.example`, not OIDC_ISSUER"
    );
    let mut v = doc(iss);
    v["token_endpoint"] = serde_json::json!("http://idp.example.com/token");
    assert_eq!(
        parse(&v, iss).unwrap_err(),
        DiscoveryError::Endpoint(SettingsError::BadUrl(
            "token_endpoint",
            "http://idp.example.com/token".into()
        ))
    );
    let mut v = doc(iss);
    v["code_challenge_methods_supported"] = serde_json::json!(["plain"]);
    assert_eq!(parse(&v, iss).unwrap_err(), DiscoveryError::NoS256);
    let mut v = doc(iss);
    v["id_token_signing_alg_values_supported"] = serde_json::json!(["HS256", "none"]);
    assert_eq!(parse(&v, iss).unwrap_err(), DiscoveryError::NoAlgorithm);
    // Providers that do not list them are trusted to support the defaults.
    let mut v = doc(iss);
    v.as_object_mut()
        .unwrap()
        .remove("code_challenge_methods_supported");
    v.as_object_mut().unwrap().remove("end_session_endpoint");
    assert!(parse(&v, iss).is_ok());
    assert_eq!(
        Discovery::parse(b"<html>", iss).unwrap_err(),
        DiscoveryError::NotJson
    );
}

#[test]
fn pkce_matches_the_rfc_example() {
    // RFC 7636, appendix B.
    assert_eq!(
        pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
    let t = random_text(&[7u8; 32]);
    assert_eq!(t.len(), 43);
    assert!(
        t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
}

#[test]
fn the_authorization_request_carries_state_nonce_and_challenge() {
    let iss = "https://idp.example.com";
    let mut v = doc(iss);
    v["authorization_endpoint"] = serde_json::json!("https://idp.example.com/auth?tenant=acme");
    let d = parse(&v, iss).unwrap();
    let s = settings(&[("OIDC_ISSUER", iss), ("OIDC_CLIENT_ID", "reg & co")])
        .unwrap()
        .oidc
        .unwrap();
    let a = Attempt {
        state: "st".into(),
        nonce: "no".into(),
        verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into(),
    };
    let redirect = redirect_uri("https://reg.example.com/");
    assert_eq!(redirect, "https://reg.example.com/auth/oidc/callback");
    let u = Url::parse(&authorize_url(&d, &s, &redirect, &a).unwrap()).unwrap();
    assert_eq!(u.path(), "/auth");
    let q: Vec<(String, String)> = u.query_pairs().into_owned().collect();
    let pairs: Vec<(&str, &str)> = q.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        pairs,
        [
            ("tenant", "acme"),
            ("response_type", "code"),
            ("client_id", "reg & co"),
            ("redirect_uri", "https://reg.example.com/auth/oidc/callback"),
            ("scope", "openid email profile"),
            ("state", "st"),
            ("nonce", "no"),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
            ),
            ("code_challenge_method", "S256"),
        ]
    );
}

#[test]
fn the_end_session_url_names_the_client_and_the_way_back() {
    let iss = "https://idp.example.com";
    let s = settings(&[("OIDC_ISSUER", iss), ("OIDC_CLIENT_ID", "reg")])
        .unwrap()
        .oidc
        .unwrap();
    let back = post_logout_uri("https://reg.example.com/");
    assert_eq!(back, "https://reg.example.com/login");
    let d = parse(&doc(iss), iss).unwrap();
    assert_eq!(
        end_session_url(&d, &s, &back).unwrap(),
        "https://idp.example.com/session/end?client_id=reg&post_logout_redirect_uri=https%3A%2F%2Freg.example.com%2Flogin"
    );
    // A provider without one offers nothing.
    let mut v = doc(iss);
    v.as_object_mut().unwrap().remove("end_session_endpoint");
    assert_eq!(end_session_url(&parse(&v, iss).unwrap(), &s, &back), None);
}

/// What the registry reads of named providers' discovery documents, in
/// the shapes they publish (issuer form, PKCE methods, algorithms,
/// end-session and userinfo endpoints): each is accepted, found at the
/// right discovery URL, and gives an authorization request with S256.
#[test]
fn named_providers_discovery_documents_are_accepted() {
    use serde_json::{Value, json};
    struct P {
        name: &'static str,
        issuer: &'static str,
        discovery: &'static str,
        doc: Value,
        end_session: bool,
    }
    let ps = [
        P {
            name: "Okta (custom authorization server)",
            issuer: "https://acme.okta.com/oauth2/default",
            discovery: "https://acme.okta.com/oauth2/default/.well-known/openid-configuration",
            doc: json!({"authorization_endpoint": "https://acme.okta.com/oauth2/default/v1/authorize",
                "token_endpoint": "https://acme.okta.com/oauth2/default/v1/token",
                "jwks_uri": "https://acme.okta.com/oauth2/default/v1/keys",
                "userinfo_endpoint": "https://acme.okta.com/oauth2/default/v1/userinfo",
                "end_session_endpoint": "https://acme.okta.com/oauth2/default/v1/logout",
                "code_challenge_methods_supported": ["S256"],
                "id_token_signing_alg_values_supported": ["RS256"]}),
            end_session: true,
        },
        P {
            name: "Microsoft Entra ID (v2.0, one tenant)",
            issuer: "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0",
            discovery: "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0/.well-known/openid-configuration",
            doc: json!({"authorization_endpoint": "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/oauth2/v2.0/authorize",
                "token_endpoint": "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/oauth2/v2.0/token",
                "jwks_uri": "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/discovery/v2.0/keys",
                "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
                "end_session_endpoint": "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/oauth2/v2.0/logout",
                "id_token_signing_alg_values_supported": ["RS256"]}),
            end_session: true,
        },
        P {
            name: "Google",
            issuer: "https://accounts.google.com",
            discovery: "https://accounts.google.com/.well-known/openid-configuration",
            doc: json!({"authorization_endpoint": "https://accounts.google.com/o/oauth2/v2/auth",
                "token_endpoint": "https://oauth2.googleapis.com/token",
                "jwks_uri": "https://www.googleapis.com/oauth2/v3/certs",
                "userinfo_endpoint": "https://openidconnect.googleapis.com/v1/userinfo",
                "code_challenge_methods_supported": ["plain", "S256"],
                "id_token_signing_alg_values_supported": ["RS256"]}),
            end_session: false,
        },
        P {
            name: "Keycloak",
            issuer: "https://sso.acme.test/realms/acme",
            discovery: "https://sso.acme.test/realms/acme/.well-known/openid-configuration",
            doc: json!({"authorization_endpoint": "https://sso.acme.test/realms/acme/protocol/openid-connect/auth",
                "token_endpoint": "https://sso.acme.test/realms/acme/protocol/openid-connect/token",
                "jwks_uri": "https://sso.acme.test/realms/acme/protocol/openid-connect/certs",
                "userinfo_endpoint": "https://sso.acme.test/realms/acme/protocol/openid-connect/userinfo",
                "end_session_endpoint": "https://sso.acme.test/realms/acme/protocol/openid-connect/logout",
                "code_challenge_methods_supported": ["plain", "S256"],
                "id_token_signing_alg_values_supported": ["PS384", "ES384", "RS384", "HS256", "RS256", "ES256", "PS256"]}),
            end_session: true,
        },
        P {
            name: "GitLab",
            issuer: "https://gitlab.com",
            discovery: "https://gitlab.com/.well-known/openid-configuration",
            doc: json!({"authorization_endpoint": "https://gitlab.com/oauth/authorize",
                "token_endpoint": "https://gitlab.com/oauth/token",
                "jwks_uri": "https://gitlab.com/oauth/discovery/keys",
                "userinfo_endpoint": "https://gitlab.com/oauth/userinfo",
                "code_challenge_methods_supported": ["plain", "S256"],
                "id_token_signing_alg_values_supported": ["RS256"]}),
            end_session: false,
        },
        P {
            name: "authentik (issuer with a trailing slash)",
            issuer: "https://auth.acme.test/application/o/registry/",
            discovery: "https://auth.acme.test/application/o/registry/.well-known/openid-configuration",
            doc: json!({"authorization_endpoint": "https://auth.acme.test/application/o/authorize/",
                "token_endpoint": "https://auth.acme.test/application/o/token/",
                "jwks_uri": "https://auth.acme.test/application/o/registry/jwks/",
                "userinfo_endpoint": "https://auth.acme.test/application/o/userinfo/",
                "end_session_endpoint": "https://auth.acme.test/application/o/registry/end-session/",
                "code_challenge_methods_supported": ["plain", "S256"],
                "id_token_signing_alg_values_supported": ["RS256"]}),
            end_session: true,
        },
        P {
            name: "Auth0 (issuer with a trailing slash)",
            issuer: "https://acme.eu.auth0.com/",
            discovery: "https://acme.eu.auth0.com/.well-known/openid-configuration",
            doc: json!({"authorization_endpoint": "https://acme.eu.auth0.com/authorize",
                "token_endpoint": "https://acme.eu.auth0.com/oauth/token",
                "jwks_uri": "https://acme.eu.auth0.com/.well-known/jwks.json",
                "userinfo_endpoint": "https://acme.eu.auth0.com/userinfo",
                "code_challenge_methods_supported": ["S256", "plain"],
                "id_token_signing_alg_values_supported": ["HS256", "RS256", "PS256"]}),
            end_session: false,
        },
    ];
    for p in ps {
        let s = settings(&[("OIDC_ISSUER", p.issuer), ("OIDC_CLIENT_ID", "registry")])
            .unwrap_or_else(|e| panic!("{}: {e}", p.name))
            .oidc
            .unwrap();
        assert_eq!(discovery_url(&s.issuer), p.discovery, "{}", p.name);
        let mut doc = p.doc.clone();
        doc["issuer"] = json!(p.issuer);
        let d = parse(&doc, p.issuer).unwrap_or_else(|e| panic!("{}: {e}", p.name));
        assert_eq!(
            d.end_session_endpoint.is_some(),
            p.end_session,
            "{}",
            p.name
        );
        assert!(d.userinfo_endpoint.is_some(), "{}", p.name);
        let a = Attempt {
            state: "st".into(),
            nonce: "no".into(),
            verifier: "v".repeat(43),
        };
        let u = authorize_url(&d, &s, "https://reg.example.com/auth/oidc/callback", &a).unwrap();
        assert!(
            u.starts_with(doc["authorization_endpoint"].as_str().unwrap()),
            "{}",
            p.name
        );
        assert!(u.ends_with("&code_challenge_method=S256"), "{}", p.name);
        // The same provider configured without its trailing slash, or with
        // one it does not have, is told apart (issuers compare exactly).
        let other = match p.issuer.strip_suffix('/') {
            Some(bare) => bare.to_string(),
            None => format!("{}/", p.issuer),
        };
        assert_eq!(
            parse(&doc, &other).unwrap_err(),
            DiscoveryError::Issuer(p.issuer.into()),
            "{}",
            p.name
        );
    }
}

#[test]
fn a_password_setting_that_cannot_be_read_turns_passwords_off() {
    for (v, on) in [
        (None, true),
        (Some(""), true),
        (Some("on"), true),
        (Some("off"), false),
        (Some("OFF"), false),
        (Some("false"), false),
        (Some("0"), false),
        (Some("yes"), false),
    ] {
        assert_eq!(passwords_when_refused(v), on, "{v:?}");
        if v.is_some_and(|v| !v.is_empty() && v != "on" && v != "off") {
            assert!(settings(&[("PASSWORD_SIGN_IN", v.unwrap_or_default())]).is_err());
        }
    }
}

#[test]
fn the_team_claim_map_is_pairs_of_claim_values_and_team_names() {
    let s = settings(&with(&[(
        "OIDC_TEAM_CLAIM_MAP",
        " eng=core , cn=ops,admins=ops,,",
    )]))
    .unwrap()
    .oidc
    .unwrap();
    assert_eq!(
        s.team_map,
        [
            ("eng".to_string(), "core".to_string()),
            ("cn".into(), "ops".into()),
            ("admins".into(), "ops".into())
        ]
    );
    for bad in ["eng", "=core", "eng=", "eng=team:x", "eng=-x"] {
        assert_eq!(
            settings(&with(&[("OIDC_TEAM_CLAIM_MAP", bad)])).unwrap_err(),
            SettingsError::BadValue("OIDC_TEAM_CLAIM_MAP", bad.into()),
            "{bad}"
        );
    }
}
