//! Signed JSON Web Tokens (compact JWS), as an OpenID provider's ID token
//! or a Cloudflare Access assertion: parsed, checked against what the
//! caller expects (issuer, audience, times, nonce) and verified with a key
//! from the issuer's JWKS. Pure logic: the signature itself is checked
//! through [`JwsVerifier`] (WebCrypto in the Worker, `ring` natively), the
//! same kind of seam as the password KDF.
//!
//! Only RS256 and ES256 are accepted. `none`, every HMAC algorithm (an
//! RSA public key used as an HMAC secret) and any other value are refused
//! before a key is looked at; the key must be of the algorithm's type, and
//! a key that names its own `alg` must name this one.

use serde::Deserialize;
use serde_json::{Map, Value};

/// The signature algorithms accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// ECDSA on P-256 with SHA-256 (`r || s`, 64 bytes).
    Es256,
}

impl Alg {
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Es256 => "ES256",
        }
    }

    fn parse(s: &str) -> Option<Alg> {
        match s {
            "RS256" => Some(Alg::Rs256),
            "ES256" => Some(Alg::Es256),
            _ => None,
        }
    }
}

/// One public key of a JWKS, as the issuer publishes it (base64url fields).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Jwk {
    pub kty: String,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default)]
    pub alg: Option<String>,
    #[serde(default, rename = "use")]
    pub usage: Option<String>,
    /// RSA modulus and exponent.
    #[serde(default)]
    pub n: Option<String>,
    #[serde(default)]
    pub e: Option<String>,
    /// EC curve and point.
    #[serde(default)]
    pub crv: Option<String>,
    #[serde(default)]
    pub x: Option<String>,
    #[serde(default)]
    pub y: Option<String>,
}

/// A key set (`jwks_uri`, or Access's certs endpoint).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// Parses a key set; keys of other types stay in it and are never
    /// chosen.
    pub fn parse(json: &[u8]) -> Result<Jwks, JwtError> {
        serde_json::from_slice(json).map_err(|_| JwtError::BadKeySet)
    }

    /// The key for this token: its `kid` (when the token names one), of
    /// the algorithm's type, for signatures, and not meant for another
    /// algorithm. Without a `kid`, only a set with exactly one such key
    /// answers.
    pub fn key_for(&self, alg: Alg, kid: Option<&str>) -> Option<&Jwk> {
        let fits = |k: &&Jwk| {
            let kind_ok = match alg {
                Alg::Rs256 => k.kty == "RSA" && k.n.is_some() && k.e.is_some(),
                Alg::Es256 => {
                    k.kty == "EC"
                        && k.crv.as_deref() == Some("P-256")
                        && k.x.is_some()
                        && k.y.is_some()
                }
            };
            kind_ok
                && k.usage.as_deref().is_none_or(|u| u == "sig")
                && k.alg.as_deref().is_none_or(|a| a == alg.as_str())
        };
        match kid {
            Some(kid) => self
                .keys
                .iter()
                .filter(fits)
                .find(|k| k.kid.as_deref() == Some(kid)),
            None => {
                let mut it = self.keys.iter().filter(fits);
                match (it.next(), it.next()) {
                    (Some(k), None) => Some(k),
                    _ => None,
                }
            }
        }
    }
}

/// Checks a signature with a public key.
#[allow(async_fn_in_trait)]
pub trait JwsVerifier {
    /// Whether `sig` is `alg`'s signature of `input` under `key`; `Err`
    /// when the key itself cannot be used.
    async fn verify(&self, alg: Alg, key: &Jwk, input: &[u8], sig: &[u8]) -> Result<bool, String>;
}

/// Why a token is refused. The messages are for the operator's log and
/// the person signing in; none repeats the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwtError {
    /// Not three base64url parts of JSON objects.
    Malformed(&'static str),
    /// `none`, an HMAC or any other algorithm.
    Algorithm(String),
    /// No key of the issuer's set fits (`kid`, type, use).
    UnknownKey(Option<String>),
    BadKey(String),
    BadSignature,
    BadKeySet,
    MissingClaim(&'static str),
    Issuer(String),
    Audience,
    AuthorizedParty,
    Expired,
    /// `iat` or `nbf` after now (beyond the skew).
    NotYetValid,
    Nonce,
}

impl std::fmt::Display for JwtError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use JwtError as E;
        match self {
            E::Malformed(what) => write!(f, "the token is malformed: {what}"),
            E::Algorithm(a) => write!(
                f,
                "the token's algorithm `{}` is not accepted (only RS256 and ES256)",
                crate::protocol::version::printable(a)
            ),
            E::UnknownKey(Some(kid)) => write!(
                f,
                "no signing key `{}` in the issuer's key set",
                crate::protocol::version::printable(kid)
            ),
            E::UnknownKey(None) => write!(
                f,
                "the token names no key and the issuer's key set has no single key for it"
            ),
            E::BadKey(why) => write!(f, "the issuer's key cannot be used: {why}"),
            E::BadSignature => write!(f, "the token's signature does not verify"),
            E::BadKeySet => write!(f, "the issuer's key set is not a JWKS"),
            E::MissingClaim(c) => write!(f, "the token has no `{c}` claim"),
            E::Issuer(iss) => write!(
                f,
                "the token was issued by `{}`, not by the configured issuer",
                crate::protocol::version::printable(iss)
            ),
            E::Audience => write!(f, "the token is not meant for this registry (`aud`)"),
            E::AuthorizedParty => {
                write!(f, "the token was issued to another client (`azp`)")
            }
            E::Expired => write!(f, "the token has expired"),
            E::NotYetValid => write!(f, "the token is not valid yet (`iat`/`nbf` in the future)"),
            E::Nonce => write!(f, "the token's nonce does not match this sign-in"),
        }
    }
}

/// What a token must say to be accepted.
#[derive(Debug, Clone)]
pub struct Expect<'a> {
    /// Compared exactly.
    pub issuer: &'a str,
    /// One of `aud`; and `azp`, when present, must be it.
    pub audience: &'a str,
    /// The sign-in's nonce (ID tokens); `None` where none was sent.
    pub nonce: Option<&'a str>,
    pub now: i64,
    /// Allowed clock difference, in seconds.
    pub skew: i64,
}

/// A token's header fields that matter.
#[derive(Debug, Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crit: Option<Value>,
}

/// A decoded, not yet verified token.
#[derive(Debug)]
pub struct Unverified {
    pub alg: Alg,
    pub kid: Option<String>,
    /// `header.payload`, the bytes the signature covers.
    signing_input: Vec<u8>,
    signature: Vec<u8>,
    pub claims: Map<String, Value>,
}

/// A verified token's claims.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub issuer: String,
    pub subject: String,
    pub claims: Map<String, Value>,
}

fn b64(part: &str, what: &'static str) -> Result<Vec<u8>, JwtError> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JwtError::Malformed(what))
}

/// Decodes base64url without padding (JWK fields).
pub fn b64url(s: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .ok()
}

/// Largest token accepted, in bytes.
pub const MAX_TOKEN: usize = 16 * 1024;

/// Splits and decodes a compact JWS; refuses every algorithm but RS256
/// and ES256 here, before any key is chosen.
pub fn decode(token: &str) -> Result<Unverified, JwtError> {
    if token.len() > MAX_TOKEN {
        return Err(JwtError::Malformed("it is too long"));
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed("it is not three dot-separated parts"));
    };
    let header: Header = serde_json::from_slice(&b64(h, "the header is not base64url")?)
        .map_err(|_| JwtError::Malformed("the header is not a JSON object with `alg`"))?;
    let alg = Alg::parse(&header.alg).ok_or_else(|| JwtError::Algorithm(header.alg.clone()))?;
    if header.crit.is_some() {
        return Err(JwtError::Malformed("it has critical header parameters"));
    }
    let claims = match serde_json::from_slice::<Value>(&b64(p, "the payload is not base64url")?) {
        Ok(Value::Object(m)) => m,
        _ => return Err(JwtError::Malformed("the payload is not a JSON object")),
    };
    let signature = b64(s, "the signature is not base64url")?;
    if signature.is_empty() {
        return Err(JwtError::BadSignature);
    }
    Ok(Unverified {
        alg,
        kid: header.kid,
        signing_input: format!("{h}.{p}").into_bytes(),
        signature,
        claims,
    })
}

fn text<'a>(claims: &'a Map<String, Value>, name: &'static str) -> Result<&'a str, JwtError> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or(JwtError::MissingClaim(name))
}

fn time(claims: &Map<String, Value>, name: &'static str) -> Result<Option<i64>, JwtError> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_f64().map(|f| f as i64))
            .map(Some)
            .ok_or(JwtError::MissingClaim(name)),
    }
}

/// Checks the claims (not the signature): `iss` exactly; `aud` holds the
/// audience; `azp`, when present, is the audience (and must be present
/// when `aud` names several); `exp` required and not passed; `iat` and
/// `nbf` not in the future; the nonce when one is expected; a `sub`.
pub fn check_claims(claims: &Map<String, Value>, expect: &Expect<'_>) -> Result<(), JwtError> {
    let iss = text(claims, "iss")?;
    if iss != expect.issuer {
        return Err(JwtError::Issuer(iss.to_string()));
    }
    let auds: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => return Err(JwtError::MissingClaim("aud")),
    };
    if !auds.contains(&expect.audience) {
        return Err(JwtError::Audience);
    }
    match claims.get("azp").map(Value::as_str) {
        Some(Some(azp)) if azp == expect.audience => {}
        Some(_) => return Err(JwtError::AuthorizedParty),
        None if auds.len() > 1 => return Err(JwtError::AuthorizedParty),
        None => {}
    }
    let exp = time(claims, "exp")?.ok_or(JwtError::MissingClaim("exp"))?;
    if expect.now >= exp.saturating_add(expect.skew) {
        return Err(JwtError::Expired);
    }
    for claim in ["iat", "nbf"] {
        if let Some(t) = time(claims, claim)?
            && t > expect.now.saturating_add(expect.skew)
        {
            return Err(JwtError::NotYetValid);
        }
    }
    if let Some(nonce) = expect.nonce {
        let got = claims.get("nonce").and_then(Value::as_str);
        if !got.is_some_and(|g| {
            crate::auth::password::constant_time_eq(g.as_bytes(), nonce.as_bytes())
        }) {
            return Err(JwtError::Nonce);
        }
    }
    text(claims, "sub")?;
    Ok(())
}

/// Verifies a decoded token with the issuer's keys and checks its claims.
/// `UnknownKey` tells the caller to fetch the key set again (rotation)
/// and retry once.
pub async fn verify<V: JwsVerifier>(
    verifier: &V,
    token: &Unverified,
    keys: &Jwks,
    expect: &Expect<'_>,
) -> Result<Verified, JwtError> {
    let key = keys
        .key_for(token.alg, token.kid.as_deref())
        .ok_or_else(|| JwtError::UnknownKey(token.kid.clone()))?;
    let ok = verifier
        .verify(token.alg, key, &token.signing_input, &token.signature)
        .await
        .map_err(JwtError::BadKey)?;
    if !ok {
        return Err(JwtError::BadSignature);
    }
    check_claims(&token.claims, expect)?;
    Ok(Verified {
        issuer: text(&token.claims, "iss")?.to_string(),
        subject: text(&token.claims, "sub")?.to_string(),
        claims: token.claims.clone(),
    })
}

/// The native verifier (`ring`), for tests and `scripts/admin`.
#[cfg(not(target_arch = "wasm32"))]
pub struct RingVerifier;

#[cfg(not(target_arch = "wasm32"))]
impl JwsVerifier for RingVerifier {
    async fn verify(&self, alg: Alg, key: &Jwk, input: &[u8], sig: &[u8]) -> Result<bool, String> {
        use ring::signature;
        let field = |v: &Option<String>, name: &str| {
            v.as_deref()
                .and_then(b64url)
                .ok_or_else(|| format!("the key's `{name}` is missing or not base64url"))
        };
        match alg {
            Alg::Rs256 => {
                let n = field(&key.n, "n")?;
                let e = field(&key.e, "e")?;
                let pk = signature::RsaPublicKeyComponents { n: &n, e: &e };
                Ok(pk
                    .verify(&signature::RSA_PKCS1_2048_8192_SHA256, input, sig)
                    .is_ok())
            }
            Alg::Es256 => {
                let x = field(&key.x, "x")?;
                let y = field(&key.y, "y")?;
                if x.len() != 32 || y.len() != 32 {
                    return Err("a P-256 key has 32-byte coordinates".into());
                }
                let mut point = Vec::with_capacity(65);
                point.push(4);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                let pk =
                    signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point);
                Ok(pk.verify(input, sig).is_ok())
            }
        }
    }
}

#[cfg(test)]
#[path = "jwt_tests.rs"]
mod tests;
