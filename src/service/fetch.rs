//! Outbound HTTP, for what the registry asks of other services (an
//! identity provider's discovery document, keys, token and userinfo
//! endpoints): a
//! small seam, `fetch` in the Worker and a scripted fake natively.

/// The largest reply body read; a longer one is refused.
pub const MAX_REPLY: usize = 1024 * 1024;

/// A reply: status and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpReply {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Makes outbound requests. Errors are for the operator's log.
#[allow(async_fn_in_trait)]
pub trait Fetch {
    /// GETs JSON, with a bearer token when given.
    async fn get(&self, url: &str, bearer: Option<&str>) -> Result<HttpReply, String>;
    /// POSTs `application/x-www-form-urlencoded`, with HTTP Basic
    /// credentials when given.
    async fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> Result<HttpReply, String>;
}

/// The form body of `post_form`.
pub fn form_body(form: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form {
        s.append_pair(k, v);
    }
    s.finish()
}

/// The `Authorization` value of HTTP Basic credentials, each part
/// form-encoded first as OAuth 2.0 (RFC 6749, 2.3.1) asks.
pub fn basic_auth(id: &str, secret: &str) -> String {
    use base64::Engine as _;
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
    )
}

/// For stores that never call out (`scripts/admin`): every request fails.
pub struct NoFetch;

impl Fetch for NoFetch {
    async fn get(&self, url: &str, _bearer: Option<&str>) -> Result<HttpReply, String> {
        Err(format!("no outbound requests from here ({url})"))
    }
    async fn post_form(
        &self,
        url: &str,
        _form: &[(&str, &str)],
        _basic: Option<(&str, &str)>,
    ) -> Result<HttpReply, String> {
        Err(format!("no outbound requests from here ({url})"))
    }
}
