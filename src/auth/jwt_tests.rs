//! Every way an ID token must fail, with real RS256 and ES256 signatures.

use super::*;
use base64::Engine as _;
use futures::executor::block_on;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use serde_json::json;

const RSA_DER: &[u8] = include_bytes!("../../tests/fixtures/jwt-test-rsa.der");
const ISS: &str = "https://idp.example.com";
const AUD: &str = "registry-client";
const NOW: i64 = 1_800_000_000;

fn enc(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

struct Keys {
    rsa: RsaKeyPair,
    ec: EcdsaKeyPair,
}

fn keys() -> Keys {
    let rng = SystemRandom::new();
    let ec_pk8 =
        EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    Keys {
        rsa: RsaKeyPair::from_der(RSA_DER).unwrap(),
        ec: EcdsaKeyPair::from_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            ec_pk8.as_ref(),
            &rng,
        )
        .unwrap(),
    }
}

fn rsa_jwk(k: &RsaKeyPair, kid: &str) -> Value {
    let p: ring::rsa::PublicKeyComponents<Vec<u8>> = k.public().into();
    json!({
        "kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
        "n": enc(&p.n),
        "e": enc(&p.e),
    })
}

fn ec_jwk(k: &EcdsaKeyPair, kid: &str) -> Value {
    let point = k.public_key().as_ref();
    json!({
        "kty": "EC", "kid": kid, "crv": "P-256",
        "x": enc(&point[1..33]), "y": enc(&point[33..65]),
    })
}

fn jwks(keys: Vec<Value>) -> Jwks {
    Jwks::parse(&serde_json::to_vec(&json!({ "keys": keys })).unwrap()).unwrap()
}

/// A compact JWS over `header` and `claims`, signed as `alg` says.
fn sign(k: &Keys, header: Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        enc(&serde_json::to_vec(&header).unwrap()),
        enc(&serde_json::to_vec(claims).unwrap())
    );
    let rng = SystemRandom::new();
    let sig = match header["alg"].as_str().unwrap() {
        "RS256" => {
            let mut sig = vec![0; k.rsa.public().modulus_len()];
            k.rsa
                .sign(
                    &signature::RSA_PKCS1_SHA256,
                    &rng,
                    input.as_bytes(),
                    &mut sig,
                )
                .unwrap();
            sig
        }
        "ES256" => k.ec.sign(&rng, input.as_bytes()).unwrap().as_ref().to_vec(),
        "HS256" => {
            // HMAC keyed with the RSA public key: the classic confusion.
            let secret = serde_json::to_vec(&rsa_jwk(&k.rsa, "r1")).unwrap();
            let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &secret);
            ring::hmac::sign(&key, input.as_bytes()).as_ref().to_vec()
        }
        _ => b"x".to_vec(),
    };
    format!("{input}.{}", enc(&sig))
}

fn claims() -> Value {
    json!({
        "iss": ISS, "sub": "user-1", "aud": AUD, "exp": NOW + 300, "iat": NOW - 5,
        "nonce": "n-123", "email": "a@example.com",
    })
}

fn expect() -> Expect<'static> {
    Expect {
        issuer: ISS,
        audience: AUD,
        nonce: Some("n-123"),
        now: NOW,
        skew: 60,
    }
}

fn check(token: &str, set: &Jwks, e: &Expect<'_>) -> Result<Verified, JwtError> {
    let t = decode(token)?;
    block_on(verify(&RingVerifier, &t, set, e))
}

#[test]
fn good_rs256_and_es256_tokens_verify() {
    let k = keys();
    let set = jwks(vec![rsa_jwk(&k.rsa, "r1"), ec_jwk(&k.ec, "e1")]);
    for (alg, kid) in [("RS256", "r1"), ("ES256", "e1")] {
        let t = sign(&k, json!({"alg": alg, "kid": kid, "typ": "JWT"}), &claims());
        let v = check(&t, &set, &expect()).unwrap();
        assert_eq!((v.issuer.as_str(), v.subject.as_str()), (ISS, "user-1"));
        assert_eq!(v.claims["email"], "a@example.com");
    }
    // No `kid`: only a set with exactly one key of the type answers.
    let t = sign(&k, json!({"alg": "ES256"}), &claims());
    assert!(check(&t, &set, &expect()).is_ok());
    let two = jwks(vec![ec_jwk(&k.ec, "e1"), ec_jwk(&keys().ec, "e2")]);
    assert_eq!(
        check(&t, &two, &expect()).unwrap_err(),
        JwtError::UnknownKey(None)
    );
}

#[test]
fn a_signature_by_another_key_or_over_other_bytes_is_refused() {
    let k = keys();
    let other = keys();
    let set = jwks(vec![ec_jwk(&k.ec, "e1")]);
    let forged = sign(&other, json!({"alg": "ES256", "kid": "e1"}), &claims());
    assert_eq!(
        check(&forged, &set, &expect()).unwrap_err(),
        JwtError::BadSignature
    );
    // A signed token whose payload was swapped for another.
    let t = sign(&k, json!({"alg": "ES256", "kid": "e1"}), &claims());
    let mut parts: Vec<&str> = t.split('.').collect();
    let mut evil = claims();
    evil["sub"] = json!("admin");
    let payload = enc(&serde_json::to_vec(&evil).unwrap());
    parts[1] = &payload;
    assert_eq!(
        check(&parts.join("."), &set, &expect()).unwrap_err(),
        JwtError::BadSignature
    );
    // RS256 with a key from the set, but the signature of another RSA key
    // is not possible here (one fixture); an ES256 key named as RS256 is
    // not of the algorithm's type.
    let rs = sign(&k, json!({"alg": "RS256", "kid": "e1"}), &claims());
    assert_eq!(
        check(&rs, &set, &expect()).unwrap_err(),
        JwtError::UnknownKey(Some("e1".into()))
    );
}

#[test]
fn none_hmac_and_other_algorithms_are_refused_before_any_key() {
    let k = keys();
    let set = jwks(vec![rsa_jwk(&k.rsa, "r1")]);
    for alg in ["none", "HS256", "RS512", "PS256", "ES384", "rs256", ""] {
        let t = sign(&k, json!({"alg": alg, "kid": "r1"}), &claims());
        assert_eq!(
            check(&t, &set, &expect()).unwrap_err(),
            JwtError::Algorithm(alg.into()),
            "{alg}"
        );
    }
    // `alg: none` with an empty signature part.
    let input = format!(
        "{}.{}.",
        enc(br#"{"alg":"none"}"#),
        enc(&serde_json::to_vec(&claims()).unwrap())
    );
    assert_eq!(
        decode(&input).unwrap_err(),
        JwtError::Algorithm("none".into())
    );
    assert_eq!(
        JwtError::Algorithm("HS256".into()).to_string(),
        "the token's algorithm `HS256` is not accepted (only RS256 and ES256)"
    );
    // A key that says it is for another algorithm is not used.
    let mut jwk = rsa_jwk(&k.rsa, "r1");
    jwk["alg"] = json!("RS512");
    let t = sign(&k, json!({"alg": "RS256", "kid": "r1"}), &claims());
    assert_eq!(
        check(&t, &jwks(vec![jwk]), &expect()).unwrap_err(),
        JwtError::UnknownKey(Some("r1".into()))
    );
    // An encryption key is not a signing key.
    let mut jwk = rsa_jwk(&k.rsa, "r1");
    jwk["use"] = json!("enc");
    assert_eq!(
        check(&t, &jwks(vec![jwk]), &expect()).unwrap_err(),
        JwtError::UnknownKey(Some("r1".into()))
    );
}

#[test]
fn an_unknown_kid_asks_for_the_key_set_again() {
    let k = keys();
    let t = sign(&k, json!({"alg": "RS256", "kid": "r2"}), &claims());
    let old = jwks(vec![rsa_jwk(&k.rsa, "r1")]);
    let err = check(&t, &old, &expect()).unwrap_err();
    assert_eq!(err, JwtError::UnknownKey(Some("r2".into())));
    assert_eq!(
        err.to_string(),
        "no signing key `r2` in the issuer's key set"
    );
    // After the rotation the new set has it.
    let rotated = jwks(vec![rsa_jwk(&k.rsa, "r1"), rsa_jwk(&k.rsa, "r2")]);
    assert!(check(&t, &rotated, &expect()).is_ok());
}

#[test]
fn each_claim_is_checked() {
    let k = keys();
    let set = jwks(vec![ec_jwk(&k.ec, "e1")]);
    let with = |f: &dyn Fn(&mut Value)| {
        let mut c = claims();
        f(&mut c);
        sign(&k, json!({"alg": "ES256", "kid": "e1"}), &c)
    };
    let cases: Vec<(&str, String, JwtError)> = vec![
        (
            "issuer",
            with(&|c| c["iss"] = json!("https://evil.example")),
            JwtError::Issuer("https://evil.example".into()),
        ),
        (
            "issuer with a trailing slash",
            with(&|c| c["iss"] = json!(format!("{ISS}/"))),
            JwtError::Issuer(format!("{ISS}/")),
        ),
        (
            "no issuer",
            with(&|c| drop(c.as_object_mut().unwrap().remove("iss"))),
            JwtError::MissingClaim("iss"),
        ),
        (
            "audience",
            with(&|c| c["aud"] = json!("other-client")),
            JwtError::Audience,
        ),
        (
            "audience list without us",
            with(&|c| c["aud"] = json!(["a", "b"])),
            JwtError::Audience,
        ),
        (
            "several audiences, no azp",
            with(&|c| c["aud"] = json!([AUD, "other"])),
            JwtError::AuthorizedParty,
        ),
        (
            "azp of another client",
            with(&|c| c["azp"] = json!("other")),
            JwtError::AuthorizedParty,
        ),
        (
            "expired",
            with(&|c| c["exp"] = json!(NOW - 61)),
            JwtError::Expired,
        ),
        (
            "no exp",
            with(&|c| drop(c.as_object_mut().unwrap().remove("exp"))),
            JwtError::MissingClaim("exp"),
        ),
        (
            "issued in the future",
            with(&|c| c["iat"] = json!(NOW + 61)),
            JwtError::NotYetValid,
        ),
        (
            "not before the future",
            with(&|c| c["nbf"] = json!(NOW + 120)),
            JwtError::NotYetValid,
        ),
        (
            "wrong nonce",
            with(&|c| c["nonce"] = json!("n-999")),
            JwtError::Nonce,
        ),
        (
            "no nonce",
            with(&|c| drop(c.as_object_mut().unwrap().remove("nonce"))),
            JwtError::Nonce,
        ),
        (
            "no subject",
            with(&|c| c["sub"] = json!("")),
            JwtError::MissingClaim("sub"),
        ),
        (
            "exp not a number",
            with(&|c| c["exp"] = json!("soon")),
            JwtError::MissingClaim("exp"),
        ),
    ];
    for (what, token, err) in cases {
        assert_eq!(check(&token, &set, &expect()).unwrap_err(), err, "{what}");
    }
    // Within the skew is fine; several audiences with our azp too.
    for ok in [
        with(&|c| c["exp"] = json!(NOW - 30)),
        with(&|c| c["iat"] = json!(NOW + 30)),
        with(&|c| {
            c["aud"] = json!([AUD, "other"]);
            c["azp"] = json!(AUD);
        }),
    ] {
        assert!(check(&ok, &set, &expect()).is_ok());
    }
    // No nonce expected (an Access assertion): none needed.
    let no_nonce = Expect {
        nonce: None,
        ..expect()
    };
    assert!(
        check(
            &with(&|c| drop(c.as_object_mut().unwrap().remove("nonce"))),
            &set,
            &no_nonce
        )
        .is_ok()
    );
}

#[test]
fn malformed_tokens_are_refused_with_a_reason() {
    let cases: &[(&str, &str)] = &[
        ("", "it is not three dot-separated parts"),
        ("a.b", "it is not three dot-separated parts"),
        ("a.b.c.d", "it is not three dot-separated parts"),
        ("!!.e30.c2ln", "the header is not base64url"),
        ("e30.e30.c2ln", "the header is not a JSON object with `alg`"),
    ];
    for (t, why) in cases {
        assert_eq!(decode(t).unwrap_err(), JwtError::Malformed(why), "{t:?}");
    }
    let header = enc(br#"{"alg":"ES256","crit":["exp"]}"#);
    assert_eq!(
        decode(&format!("{header}.e30.c2ln")).unwrap_err(),
        JwtError::Malformed("it has critical header parameters")
    );
    let header = enc(br#"{"alg":"ES256"}"#);
    assert_eq!(
        decode(&format!("{header}.{}.c2ln", enc(b"[1]"))).unwrap_err(),
        JwtError::Malformed("the payload is not a JSON object")
    );
    assert_eq!(
        decode(&format!("{header}.e30.")).unwrap_err(),
        JwtError::BadSignature
    );
    assert_eq!(
        decode(&"a".repeat(MAX_TOKEN + 1)).unwrap_err(),
        JwtError::Malformed("it is too long")
    );
    assert_eq!(
        Jwks::parse(b"{\"keys\": 3}").unwrap_err(),
        JwtError::BadKeySet
    );
}
