//! The use-cases (publish, index reads, yank, owners, search, downloads,
//! tokens), generic over the store traits, with the app's configuration.

pub mod access;
pub mod accounts;
pub mod auth;
pub mod backup;
pub mod download;
pub mod fetch;
pub mod index;
pub mod owners;
pub mod pages;
pub mod publish;
pub mod repair;
pub mod search;
pub mod sso;
pub mod teams;
pub mod tokens;
pub mod verify;
pub mod yank;

use crate::auth::password::Kdf;
use crate::protocol::publish::Limits;
use crate::store::exec::Executor;
use crate::store::sql::SqlStore;
use crate::store::{BlobStore, IndexStore};

/// Everything the app stores (the index cache, the blobs and the
/// database: the SQL store over the platform's executor), and the
/// platform's password key derivation.
pub trait Stores {
    type Index: IndexStore;
    type Blobs: BlobStore;
    type Exec: Executor;
    type Kdf: Kdf;
    /// Checks JWT signatures (single sign-on).
    type Jws: crate::auth::jwt::JwsVerifier;
    /// Outbound HTTP (the identity provider).
    type Fetch: fetch::Fetch;
    fn index(&self) -> &Self::Index;
    fn blobs(&self) -> &Self::Blobs;
    fn db(&self) -> &SqlStore<Self::Exec>;
    fn kdf(&self) -> &Self::Kdf;
    fn jws(&self) -> &Self::Jws;
    fn fetch(&self) -> &Self::Fetch;
}

/// Deployment settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub limits: Limits,
    /// The public base URL (`https://reg.example.com`), when it must not be
    /// taken from the request.
    pub public_url: Option<String>,
    /// How long a validated token is trusted without asking the database;
    /// also the longest time a revocation takes to be honoured.
    pub token_cache_secs: i64,
    /// The name users give this registry in their cargo configuration
    /// (`[registries.<name>]`), used in the help page's snippets.
    pub registry_name: String,
    /// Failed sign-ins allowed from one client address within the failure
    /// window before it is locked out (`accounts::MAX_CLIENT_FAILURES`).
    pub client_sign_in_failures: i64,
    /// Where pages may load images from (`README_IMAGES`).
    pub images: crate::web::respond::Images,
    /// The SHA-256 of the admin token (the `ADMIN_TOKEN` secret) that
    /// opens the admin store API; `None` keeps it closed.
    pub admin_token_hash: Option<String>,
    /// Single sign-on and whether passwords are accepted.
    pub sign_in: crate::auth::oidc::SignInSettings,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            limits: Limits::default(),
            public_url: None,
            token_cache_secs: 30,
            registry_name: "private".into(),
            client_sign_in_failures: accounts::MAX_CLIENT_FAILURES,
            images: crate::web::respond::Images::Remote,
            admin_token_hash: None,
            sign_in: Default::default(),
        }
    }
}

impl Config {
    /// What the operator must be told at start-up about `PUBLIC_URL`:
    /// unset, the registry takes its own URLs (`config.json`'s `dl` and
    /// `api`, the `login_url` of the 401 challenge, the pages' snippets)
    /// from each request's `Host` header.
    pub fn public_url_warning(&self) -> Option<String> {
        let Some(u) = &self.public_url else {
            return Some(
                "PUBLIC_URL is not set: the registry's own URLs (config.json, the login_url challenge, the help snippets) are taken from each request's Host header; set PUBLIC_URL in wrangler.toml [vars] to the registry's https URL (scripts/setup-cloudflare --public-url URL)".into(),
            );
        };
        let rest = u
            .strip_prefix("https://")
            .or_else(|| u.strip_prefix("http://"));
        let ok = rest.is_some_and(|r| {
            let host = r.trim_end_matches('/');
            !host.is_empty() && !host.contains(['/', '?', '#', '@', ' '])
        });
        (!ok).then(|| {
            format!(
                "PUBLIC_URL `{}` is not an origin such as https://crates.example.com (scheme and host only)",
                crate::protocol::version::printable(u)
            )
        })
    }
}

/// Random bytes for secrets (tokens, session cookies, one-time links):
/// the one source the use-cases draw from.
pub fn random<const N: usize>() -> Result<[u8; N], crate::error::AppError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b)
        .map_err(|e| crate::error::AppError::Internal(format!("no randomness: {e}")))?;
    Ok(b)
}

/// The app: its stores and settings, and what it keeps between requests
/// of one isolate.
pub struct App<S> {
    pub store: S,
    pub config: Config,
    /// The identity provider's documents.
    pub provider: sso::provider::ProviderCache,
}

impl<S: Stores> App<S> {
    pub fn new(store: S, config: Config) -> Self {
        App {
            store,
            config,
            provider: Default::default(),
        }
    }
}

/// Per-request facts the use-cases need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestCtx {
    /// Public base URL without a trailing slash.
    pub base: String,
    /// Unix seconds.
    pub now: i64,
}

impl RequestCtx {
    /// The index URL as consumers configure it.
    pub fn index_url(&self) -> String {
        format!("sparse+{}/index/", self.base)
    }

    /// Spellings of this registry's own index URL that cargo may send as a
    /// dependency's `registry`.
    pub fn own_index_urls(&self) -> Vec<String> {
        vec![self.index_url(), format!("{}/index/", self.base)]
    }
}

#[cfg(test)]
mod config_tests {
    use super::Config;

    #[test]
    fn public_url_is_checked_and_its_absence_warned_about() {
        let with = |u: Option<&str>| Config {
            public_url: u.map(str::to_string),
            ..Config::default()
        };
        assert!(
            with(None)
                .public_url_warning()
                .unwrap()
                .contains("Host header")
        );
        assert_eq!(
            with(Some("https://crates.example.com")).public_url_warning(),
            None
        );
        assert_eq!(
            with(Some("http://127.0.0.1:8787/")).public_url_warning(),
            None
        );
        for bad in [
            "crates.example.com",
            "https://",
            "https://a.example/path",
            "https://u@evil.example",
            "ftp://x",
        ] {
            let w = with(Some(bad)).public_url_warning();
            assert_eq!(
                w.as_deref(),
                Some(format!("PUBLIC_URL `{bad}` is not an origin such as https://crates.example.com (scheme and host only)").as_str()),
                "{bad}"
            );
        }
    }
}
