//! Passwords: PBKDF2-HMAC-SHA256 with a random salt, stored as
//! `pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>`. PBKDF2 because the
//! Workers runtime has it natively in WebCrypto (fast, and within the CPU
//! budget of a request), capped there at 100,000 iterations. The key
//! derivation is a trait: WebCrypto in the Worker, the `pbkdf2` crate
//! natively.

use crate::protocol::index::to_hex;

/// Iterations for new hashes: the most the Workers runtime allows.
pub const ITERATIONS: u32 = 100_000;
/// Password length bounds, in characters.
pub const MIN_LEN: usize = 10;
pub const MAX_LEN: usize = 256;

/// Derives a 32-byte PBKDF2-HMAC-SHA256 key.
#[allow(async_fn_in_trait)]
pub trait Kdf {
    async fn pbkdf2_sha256(
        &self,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> Result<[u8; 32], String>;
}

/// The pure-Rust key derivation (native builds and tests).
#[cfg(not(target_arch = "wasm32"))]
#[derive(Default, Clone, Copy)]
pub struct NativeKdf;

#[cfg(not(target_arch = "wasm32"))]
impl Kdf for NativeKdf {
    async fn pbkdf2_sha256(
        &self,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> Result<[u8; 32], String> {
        let mut out = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, iterations, &mut out);
        Ok(out)
    }
}

/// A parsed stored hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredHash {
    pub iterations: u32,
    pub salt: Vec<u8>,
    pub hash: Vec<u8>,
}

fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
        .collect()
}

impl StoredHash {
    pub fn encode(&self) -> String {
        format!(
            "pbkdf2-sha256${}${}${}",
            self.iterations,
            to_hex(&self.salt),
            to_hex(&self.hash)
        )
    }

    pub fn parse(s: &str) -> Option<StoredHash> {
        let mut parts = s.split('$');
        if parts.next()? != "pbkdf2-sha256" {
            return None;
        }
        let iterations = parts
            .next()?
            .parse()
            .ok()
            .filter(|i| *i > 0 && *i <= 10_000_000)?;
        let salt = from_hex(parts.next()?)?;
        let hash = from_hex(parts.next()?)?;
        if parts.next().is_some() || hash.len() != 32 {
            return None;
        }
        Some(StoredHash {
            iterations,
            salt,
            hash,
        })
    }
}

/// A new password that is too short or too long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordError {
    TooShort,
    TooLong,
}

impl std::fmt::Display for PasswordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PasswordError::TooShort => {
                write!(f, "the password must have at least {MIN_LEN} characters")
            }
            PasswordError::TooLong => {
                write!(f, "the password must have at most {MAX_LEN} characters")
            }
        }
    }
}

/// Checks a new password's length.
pub fn validate_new(password: &str) -> Result<(), PasswordError> {
    let n = password.chars().count();
    if n < MIN_LEN {
        return Err(PasswordError::TooShort);
    }
    if n > MAX_LEN {
        return Err(PasswordError::TooLong);
    }
    Ok(())
}

/// Hashes a new password with a fresh 16-byte salt.
pub async fn hash<K: Kdf>(kdf: &K, password: &str, salt: [u8; 16]) -> Result<String, String> {
    let hash = kdf
        .pbkdf2_sha256(password.as_bytes(), &salt, ITERATIONS)
        .await?;
    Ok(StoredHash {
        iterations: ITERATIONS,
        salt: salt.to_vec(),
        hash: hash.to_vec(),
    }
    .encode())
}

/// Compares without stopping at the first difference.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Verifies a password against a stored hash; a damaged hash never matches.
pub async fn verify<K: Kdf>(kdf: &K, password: &str, stored: &str) -> Result<bool, String> {
    let Some(h) = StoredHash::parse(stored) else {
        return Ok(false);
    };
    let got = kdf
        .pbkdf2_sha256(password.as_bytes(), &h.salt, h.iterations)
        .await?;
    Ok(constant_time_eq(&got, &h.hash))
}

/// A well-formed hash of nothing anyone knows, verified against when a
/// login does not exist so the answer takes as long as for one that does.
pub const DECOY: &str = "pbkdf2-sha256$100000$00000000000000000000000000000000$0000000000000000000000000000000000000000000000000000000000000000";

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;

    #[test]
    fn pbkdf2_matches_the_rfc_7914_vector() {
        let k = block_on(NativeKdf.pbkdf2_sha256(b"passwd", b"salt", 1)).unwrap();
        assert_eq!(
            to_hex(&k),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
        );
    }

    #[test]
    fn hash_and_verify() {
        let h = block_on(hash(&NativeKdf, "correct horse", [7; 16])).unwrap();
        assert!(h.starts_with("pbkdf2-sha256$100000$"));
        assert!(block_on(verify(&NativeKdf, "correct horse", &h)).unwrap());
        assert!(!block_on(verify(&NativeKdf, "wrong horse!", &h)).unwrap());
        assert!(!block_on(verify(&NativeKdf, "x", "garbage")).unwrap());
        assert!(!block_on(verify(&NativeKdf, "x", DECOY)).unwrap());
        assert_eq!(StoredHash::parse(&h).unwrap().encode(), h);
    }

    #[test]
    fn length_rules() {
        assert_eq!(validate_new("short"), Err(PasswordError::TooShort));
        assert_eq!(validate_new("long enough!"), Ok(()));
        assert_eq!(validate_new(&"x".repeat(257)), Err(PasswordError::TooLong));
        assert_eq!(
            PasswordError::TooShort.to_string(),
            "the password must have at least 10 characters"
        );
        assert_eq!(
            PasswordError::TooLong.to_string(),
            "the password must have at most 256 characters"
        );
    }
}
