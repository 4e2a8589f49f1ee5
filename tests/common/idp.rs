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
