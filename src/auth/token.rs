//! API tokens: a recognisable prefix plus 160 random bits, shown once and
//! stored only as a SHA-256 hash; parsing of the `Authorization` header.

use crate::protocol::index::{sha256_hex, to_hex};

/// Every token starts with this, so secret scanners can recognise it.
pub const TOKEN_PREFIX: &str = "cfreg_";

/// Longest `Authorization` value looked at; longer ones are refused.
pub const MAX_HEADER: usize = 512;

/// Makes a token from 20 random bytes.
pub fn new_token(random: &[u8; 20]) -> String {
    format!("{TOKEN_PREFIX}{}", to_hex(random))
}

/// The hash a token is stored and looked up under.
pub fn hash_token(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// A short, non-secret hint to tell tokens apart in lists.
pub fn token_hint(token: &str) -> String {
    let visible: String = token.chars().take(TOKEN_PREFIX.len() + 4).collect();
    format!("{visible}…")
}

/// What an `Authorization` header holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Credential<'a> {
    /// No header.
    Missing,
    /// A token, from `<token>` or `Bearer <token>`.
    Token(&'a str),
    /// Something that cannot be a token (empty, too long, odd characters).
    Malformed,
}

/// Reads the token from an `Authorization` header value. Accepts a bare
/// token and `Bearer <token>` (scheme case-insensitive).
pub fn parse_authorization(value: Option<&[u8]>) -> Credential<'_> {
    let Some(raw) = value else {
        return Credential::Missing;
    };
    if raw.len() > MAX_HEADER {
        return Credential::Malformed;
    }
    let Ok(s) = std::str::from_utf8(raw) else {
        return Credential::Malformed;
    };
    let s = s.trim_start();
    let is_bearer = s.get(..6).is_some_and(|p| p.eq_ignore_ascii_case("bearer"))
        && s.get(6..)
            .is_some_and(|r| r.is_empty() || r.starts_with(' '));
    let token = if is_bearer {
        s.get(6..).unwrap_or("").trim()
    } else {
        let t = s.trim_end();
        if t.contains(' ') {
            return Credential::Malformed;
        }
        t
    };
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Credential::Malformed;
    }
    Credential::Token(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_prefix_and_hash() {
        let t = new_token(&[7; 20]);
        assert!(t.starts_with("cfreg_"));
        assert_eq!(t.len(), 6 + 40);
        assert_eq!(hash_token(&t).len(), 64);
        assert_ne!(hash_token(&t), hash_token(&new_token(&[8; 20])));
        assert_eq!(token_hint(&t), "cfreg_0707…");
    }

    #[test]
    fn parses_authorization() {
        assert_eq!(parse_authorization(None), Credential::Missing);
        assert_eq!(parse_authorization(Some(b"abc")), Credential::Token("abc"));
        assert_eq!(
            parse_authorization(Some(b"Bearer abc")),
            Credential::Token("abc")
        );
        assert_eq!(
            parse_authorization(Some(b"bearer  abc ")),
            Credential::Token("abc")
        );
        assert_eq!(
            parse_authorization(Some(b"Basic abc")),
            Credential::Malformed
        );
        assert_eq!(parse_authorization(Some(b"")), Credential::Malformed);
        assert_eq!(parse_authorization(Some(b"Bearer ")), Credential::Malformed);
        assert_eq!(parse_authorization(Some(b"a\x01b")), Credential::Malformed);
        assert_eq!(
            parse_authorization(Some(&[0xff, 0xfe])),
            Credential::Malformed
        );
        assert_eq!(
            parse_authorization(Some(&[b'a'; 513])),
            Credential::Malformed
        );
    }
}
