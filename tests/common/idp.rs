//! A test identity provider: real ES256 keys, its key set and signed
//! ID tokens, for the single sign-on tests.

use base64::Engine as _;
use edge_registry::auth::jwt::Jwks;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};

pub fn enc(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// A provider: one ES256 key.
pub struct Provider {
    key: EcdsaKeyPair,
    kid: String,
}

impl Provider {
    pub fn new(kid: &str) -> Self {
        let rng = SystemRandom::new();
        let pk8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .unwrap();
        Provider {
            key: EcdsaKeyPair::from_pkcs8(
                &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                pk8.as_ref(),
                &rng,
            )
            .unwrap(),
            kid: kid.into(),
        }
    }

    /// This key as a JWK.
    pub fn jwk(&self) -> Value {
        let p = self.key.public_key().as_ref();
        json!({"kty": "EC", "crv": "P-256", "kid": self.kid,
            "x": enc(&p[1..33]), "y": enc(&p[33..65])})
    }

    pub fn jwks(&self) -> Jwks {
        let set = json!({ "keys": [self.jwk()] });
        Jwks::parse(&serde_json::to_vec(&set).unwrap()).unwrap()
    }

    pub fn sign(&self, header: Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            enc(&serde_json::to_vec(&header).unwrap()),
            enc(&serde_json::to_vec(claims).unwrap())
        );
        let sig = self
            .key
            .sign(&SystemRandom::new(), input.as_bytes())
            .unwrap();
        format!("{input}.{}", enc(sig.as_ref()))
    }

    pub fn id_token(&self, claims: &Value) -> String {
        self.sign(json!({"alg": "ES256", "kid": self.kid}), claims)
    }
}

/// An RS256 signer with a fixture key (`ring` cannot make RSA keys), as
/// Cloudflare Access signs its assertions.
pub struct RsaSigner {
    key: ring::rsa::KeyPair,
    kid: String,
}

impl RsaSigner {
    /// `n` picks the fixture: 1 or 2.
    pub fn fixture(n: u8, kid: &str) -> Self {
        let der: &[u8] = match n {
            1 => include_bytes!("../fixtures/jwt-test-rsa.der"),
            _ => include_bytes!("../fixtures/jwt-test-rsa-2.der"),
        };
        RsaSigner {
            key: ring::rsa::KeyPair::from_der(der).unwrap(),
            kid: kid.into(),
        }
    }

    pub fn jwk(&self) -> Value {
        let p: ring::rsa::PublicKeyComponents<Vec<u8>> = self.key.public().into();
        json!({"kty": "RSA", "kid": self.kid, "alg": "RS256", "use": "sig",
            "n": enc(&p.n), "e": enc(&p.e)})
    }

    pub fn sign(&self, claims: &Value) -> String {
        let header = json!({"alg": "RS256", "kid": self.kid, "typ": "JWT"});
        let input = format!(
            "{}.{}",
            enc(&serde_json::to_vec(&header).unwrap()),
            enc(&serde_json::to_vec(claims).unwrap())
        );
        let mut sig = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut sig,
            )
            .unwrap();
        format!("{input}.{}", enc(&sig))
    }
}

/// The issuer the sign-in harness's OpenID provider answers as.
pub const ISS: &str = "https://idp.example.com";
/// Its Cloudflare Access team and application audience.
pub const TEAM: &str = "https://acme.cloudflareaccess.com";
pub const AUD: &str = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2";

/// A registry with both single sign-on (its provider's discovery document
/// and `provider`'s keys scripted) and Cloudflare Access (`access`'s keys
/// at the team's certs URL) on.
pub fn sign_in_harness(provider: &Provider, access: &RsaSigner) -> super::Harness {
    use edge_registry::auth::oidc::SignInSettings;
    use edge_registry::service::Config;
    let vars = [
        ("OIDC_ISSUER", ISS),
        ("OIDC_CLIENT_ID", "registry"),
        ("ACCESS_TEAM_DOMAIN", "acme.cloudflareaccess.com"),
        ("ACCESS_AUD", AUD),
    ];
    let sign_in = SignInSettings::from_vars(|k| {
        vars.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    })
    .unwrap();
    let h = super::Harness::with(
        edge_registry::store::native::NativeStore::new().unwrap(),
        Config {
            sign_in,
            ..Config::default()
        },
    );
    let http = &h.app.store.http;
    let doc = json!({
        "issuer": ISS, "authorization_endpoint": format!("{ISS}/auth"),
        "token_endpoint": format!("{ISS}/token"), "jwks_uri": format!("{ISS}/jwks"),
        "end_session_endpoint": format!("{ISS}/logout"),
        "code_challenge_methods_supported": ["S256"],
    });
    http.reply(
        &format!("{ISS}/.well-known/openid-configuration"),
        200,
        serde_json::to_vec(&doc).unwrap(),
    );
    http.reply(
        &format!("{ISS}/jwks"),
        200,
        serde_json::to_vec(&json!({"keys": [provider.jwk()]})).unwrap(),
    );
    http.reply(
        &format!("{TEAM}/cdn-cgi/access/certs"),
        200,
        serde_json::to_vec(&json!({"keys": [access.jwk()]})).unwrap(),
    );
    h
}

/// A valid Access assertion for `sub` at `now`.
pub fn access_assertion(key: &RsaSigner, sub: &str, now: i64) -> String {
    key.sign(&json!({
        "aud": [AUD], "email": format!("{sub}@acme.test"), "exp": now + 3600, "iat": now,
        "nbf": now, "iss": TEAM, "type": "app", "sub": sub,
    }))
}
