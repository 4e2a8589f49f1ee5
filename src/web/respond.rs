//! Building responses: JSON and text bodies, Cargo's error body and its
//! `WWW-Authenticate` challenge, and the security headers every response
//! carries.

use http::header::{self, HeaderMap, HeaderValue};
use http::{Response, StatusCode};

use crate::error::AppError;

pub type Resp = Response<Vec<u8>>;

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A response with a body and content type.
pub fn with_body(code: u16, content_type: &'static str, body: Vec<u8>) -> Resp {
    let mut r = Response::new(body);
    *r.status_mut() = status(code);
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// A JSON response.
pub fn json(code: u16, value: &impl serde::Serialize) -> Resp {
    match serde_json::to_vec(value) {
        Ok(b) => with_body(code, "application/json; charset=utf-8", b),
        Err(e) => error(
            &AppError::Internal(format!("serialising response: {e}")),
            None,
        ),
    }
}

/// Cargo's error body for an error. `login_url` adds the `Cargo` challenge
/// to a 401.
pub fn error(e: &AppError, login_url: Option<&str>) -> Resp {
    let mut r = with_body(
        e.status(),
        "application/json; charset=utf-8",
        e.body().into_bytes(),
    );
    if e.status() == 401
        && let Some(url) = login_url
        && let Ok(v) = HeaderValue::from_str(&format!("Cargo login_url=\"{url}\""))
    {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    if let AppError::TooManyRequests(_, secs) = e
        && let Ok(v) = HeaderValue::from_str(&(*secs).max(1).to_string())
    {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    if e.status() == 405 {
        r.headers_mut().insert(
            header::ALLOW,
            HeaderValue::from_static("GET, HEAD, PUT, DELETE"),
        );
    }
    r
}

/// A redirect.
pub fn redirect(location: &str) -> Resp {
    let mut r = with_body(302, "text/plain; charset=utf-8", Vec::new());
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// Where the pages may load images from (README images included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Images {
    /// This registry, `data:` and any `https:` host (a README's remote
    /// images show; their hosts see who views the page).
    Remote,
    /// This registry and `data:` only (remote README images do not load).
    Local,
}

/// The Content-Security-Policy of every response: no inline script, no
/// framing; images from anywhere over https.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// `CSP` with images from this registry and `data:` only.
pub const CSP_LOCAL_IMAGES: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The security headers every response carries; HSTS only on https.
pub fn security_headers(
    https: bool,
    images: Images,
) -> impl Iterator<Item = (&'static str, &'static str)> {
    let csp = match images {
        Images::Remote => CSP,
        Images::Local => CSP_LOCAL_IMAGES,
    };
    [
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
        ("x-frame-options", "DENY"),
        ("content-security-policy", csp),
    ]
    .into_iter()
    .chain(https.then_some((
        "strict-transport-security",
        "max-age=31536000; includeSubDomains",
    )))
}

/// Whether `name` (lowercase) is one of `security_headers`.
pub fn is_security_header(name: &str) -> bool {
    security_headers(true, Images::Remote).any(|(n, _)| n == name)
}

/// Adds the security headers every response carries; HSTS only on https.
pub fn add_security_headers(h: &mut HeaderMap, https: bool, images: Images) {
    for (name, value) in security_headers(https, images) {
        h.insert(name, HeaderValue::from_static(value));
    }
}
