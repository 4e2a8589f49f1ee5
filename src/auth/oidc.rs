//! Single sign-on settings and the pure parts of the OpenID Connect
//! authorization code flow: the `[vars]` that configure it (`OIDC_*`,
//! `PASSWORD_SIGN_IN`, `ACCESS_*`), the provider's discovery document,
//! PKCE (S256) and the authorization request. Every URL is parsed with a
//! real URL parser; plain `http://` is accepted only for loopback hosts.

use serde::Deserialize;
use sha2::{Digest, Sha256};
use url::Url;

/// Why the single sign-on settings are refused (the Worker then refuses
/// to start sign-in and logs this).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingsError {
    /// `<name>` is not an absolute `https://` URL (or `http://` on a
    /// loopback host), or has a query, fragment or credentials.
    BadUrl(&'static str, String),
    Missing(&'static str),
    /// `OIDC_SCOPES` without `openid`.
    NoOpenidScope,
    BadValue(&'static str, String),
}

impl std::fmt::Display for SettingsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::protocol::version::printable;
        match self {
            SettingsError::BadUrl(name, v) => write!(
                f,
                "{name} `{}` must be an https:// URL (http:// only for 127.0.0.1, ::1 or localhost) without query, fragment or credentials",
                printable(v)
            ),
            SettingsError::Missing(name) => write!(f, "{name} must be set"),
            SettingsError::NoOpenidScope => write!(f, "OIDC_SCOPES must include `openid`"),
            SettingsError::BadValue(name, v) => {
                write!(f, "{name} has an unusable value `{}`", printable(v))
            }
        }
    }
}

/// Whether a host is this machine (plain `http://` is allowed there only).
fn loopback(u: &Url) -> bool {
    match u.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Parses a URL a setting or a provider gives: absolute, https (or http
/// on loopback), no credentials, no fragment; `query` allowed or not.
pub fn checked_url(name: &'static str, v: &str, query: bool) -> Result<Url, SettingsError> {
    let bad = || SettingsError::BadUrl(name, v.to_string());
    let u = Url::parse(v).map_err(|_| bad())?;
    let scheme_ok = u.scheme() == "https" || (u.scheme() == "http" && loopback(&u));
    if !scheme_ok
        || u.host().is_none()
        || !u.username().is_empty()
        || u.password().is_some()
        || u.fragment().is_some()
        || (!query && u.query().is_some())
    {
        return Err(bad());
    }
    Ok(u)
}

/// OpenID Connect settings (`OIDC_ISSUER` set turns them on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcSettings {
    /// Exactly as configured: it must equal the discovery document's
    /// `issuer` and every ID token's `iss`.
    pub issuer: String,
    pub client_id: String,
    /// The Worker secret; `None` for a public client (PKCE only).
    pub client_secret: Option<String>,
    /// The provider's name on the sign-in button.
    pub name: String,
    /// Space-separated, `openid` included.
    pub scopes: String,
    pub groups_claim: String,
    /// Only members of this group may sign in.
    pub required_group: Option<String>,
    /// Members of this group are administrators.
    pub admin_group: Option<String>,
    /// Lowercased; a non-empty list admits only verified emails under one
    /// of these domains.
    pub allowed_domains: Vec<String>,
    /// `OIDC_TEAM_CLAIM_MAP`: group-claim values and the team each makes
    /// its holders members of, kept in step at every sign-in.
    pub team_map: Vec<(String, String)>,
}

/// Cloudflare Access settings (`ACCESS_TEAM_DOMAIN` and `ACCESS_AUD`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessSettings {
    /// `https://<team>.cloudflareaccess.com`: the assertions' `iss`.
    pub issuer: String,
    /// The Access application's audience tag.
    pub aud: String,
    pub certs_url: String,
}

/// Every sign-in setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInSettings {
    pub oidc: Option<OidcSettings>,
    pub access: Option<AccessSettings>,
    /// `PASSWORD_SIGN_IN` (on unless `off`).
    pub passwords: bool,
}

impl Default for SignInSettings {
    fn default() -> Self {
        SignInSettings {
            oidc: None,
            access: None,
            passwords: true,
        }
    }
}

fn list(v: Option<String>) -> Vec<String> {
    v.unwrap_or_default()
        .split(',')
        .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
        .filter(|d| !d.is_empty())
        .collect()
}

/// Whether passwords are on for a `PASSWORD_SIGN_IN` value when the
/// settings as a whole were refused: only unset or `on` leaves them on; a
/// value that cannot be read turns them off, the stricter.
pub fn passwords_when_refused(v: Option<&str>) -> bool {
    matches!(v.map(str::trim), None | Some("") | Some("on"))
}

/// Parses `claimvalue=team,...`: every entry has both sides, and a team
/// name as teams have them.
fn team_map(v: Option<String>) -> Result<Vec<(String, String)>, SettingsError> {
    let mut out = Vec::new();
    for entry in v.unwrap_or_default().split(',').map(str::trim) {
        if entry.is_empty() {
            continue;
        }
        let bad = || SettingsError::BadValue("OIDC_TEAM_CLAIM_MAP", entry.to_string());
        let (claim, team) = entry.rsplit_once('=').ok_or_else(bad)?;
        let (claim, team) = (claim.trim(), team.trim());
        if claim.is_empty() || crate::service::teams::validate_team_name(team).is_err() {
            return Err(bad());
        }
        out.push((claim.to_string(), team.to_string()));
    }
    Ok(out)
}

impl SignInSettings {
    /// Reads the settings through `var` (a `[vars]` value or secret by
    /// name; empty counts as unset).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let get = |name: &str| {
            var(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let passwords = match get("PASSWORD_SIGN_IN").as_deref() {
            None | Some("on") => true,
            Some("off") => false,
            Some(other) => return Err(SettingsError::BadValue("PASSWORD_SIGN_IN", other.into())),
        };
        let oidc = match get("OIDC_ISSUER") {
            None => None,
            Some(issuer) => {
                checked_url("OIDC_ISSUER", &issuer, false)?;
                let client_id =
                    get("OIDC_CLIENT_ID").ok_or(SettingsError::Missing("OIDC_CLIENT_ID"))?;
                let scopes = get("OIDC_SCOPES").unwrap_or_else(|| "openid email profile".into());
                if !scopes.split_whitespace().any(|s| s == "openid") {
                    return Err(SettingsError::NoOpenidScope);
                }
                let name = get("OIDC_NAME").unwrap_or_else(|| {
                    Url::parse(&issuer)
                        .ok()
                        .and_then(|u| u.host_str().map(str::to_string))
                        .unwrap_or_else(|| "your identity provider".into())
                });
                Some(OidcSettings {
                    issuer,
                    client_id,
                    client_secret: get("OIDC_CLIENT_SECRET"),
                    name,
                    scopes,
                    groups_claim: get("OIDC_GROUPS_CLAIM").unwrap_or_else(|| "groups".into()),
                    required_group: get("OIDC_REQUIRED_GROUP"),
                    admin_group: get("OIDC_ADMIN_GROUP"),
                    allowed_domains: list(get("OIDC_ALLOWED_DOMAINS")),
                    team_map: team_map(get("OIDC_TEAM_CLAIM_MAP"))?,
                })
            }
        };
        let access = match (get("ACCESS_TEAM_DOMAIN"), get("ACCESS_AUD")) {
            (None, None) => None,
            (None, Some(_)) => return Err(SettingsError::Missing("ACCESS_TEAM_DOMAIN")),
            (Some(_), None) => return Err(SettingsError::Missing("ACCESS_AUD")),
            (Some(team), Some(aud)) => {
                let with_scheme = if team.contains("://") {
                    team.clone()
                } else {
                    format!("https://{team}")
                };
                let u = checked_url("ACCESS_TEAM_DOMAIN", &with_scheme, false)?;
                if u.path() != "/" {
                    return Err(SettingsError::BadUrl("ACCESS_TEAM_DOMAIN", team));
                }
                let issuer = u.origin().ascii_serialization();
                let certs_url = match get("ACCESS_CERTS_URL") {
                    Some(c) => checked_url("ACCESS_CERTS_URL", &c, true)?.to_string(),
                    None => format!("{issuer}/cdn-cgi/access/certs"),
                };
                Some(AccessSettings {
                    issuer,
                    aud,
                    certs_url,
                })
            }
        };
        Ok(SignInSettings {
            oidc,
            access,
            passwords,
        })
    }
}

/// What the registry uses of a provider's discovery document.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    #[serde(default)]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    pub id_token_signing_alg_values_supported: Option<Vec<String>>,
}

/// Why a discovery document is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiscoveryError {
    NotJson,
    /// Its `issuer` is not the configured one (a mix-up or a wrong URL).
    Issuer(String),
    Endpoint(SettingsError),
    /// It lists PKCE methods and S256 is not among them.
    NoS256,
    /// It lists signing algorithms and neither RS256 nor ES256 is among them.
    NoAlgorithm,
}

impl std::fmt::Display for DiscoveryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DiscoveryError::NotJson => write!(f, "the provider's discovery document is not valid"),
            DiscoveryError::Issuer(i) => write!(
                f,
                "the provider's discovery document names the issuer `{}`, not OIDC_ISSUER",
                crate::protocol::version::printable(i)
            ),
            DiscoveryError::Endpoint(e) => write!(f, "the provider's discovery document: {e}"),
            DiscoveryError::NoS256 => {
                write!(f, "the provider does not support PKCE with S256")
            }
            DiscoveryError::NoAlgorithm => {
                write!(
                    f,
                    "the provider signs ID tokens with neither RS256 nor ES256"
                )
            }
        }
    }
}

/// The discovery document's address for an issuer.
pub fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

impl Discovery {
    /// Parses and checks a discovery document against the issuer.
    pub fn parse(json: &[u8], issuer: &str) -> Result<Discovery, DiscoveryError> {
        let d: Discovery = serde_json::from_slice(json).map_err(|_| DiscoveryError::NotJson)?;
        if d.issuer != issuer {
            return Err(DiscoveryError::Issuer(d.issuer));
        }
        for (name, url, query) in [
            ("authorization_endpoint", &d.authorization_endpoint, true),
            ("token_endpoint", &d.token_endpoint, false),
            ("jwks_uri", &d.jwks_uri, true),
        ] {
            checked_url(name, url, query).map_err(DiscoveryError::Endpoint)?;
        }
        if let Some(e) = &d.end_session_endpoint {
            checked_url("end_session_endpoint", e, true).map_err(DiscoveryError::Endpoint)?;
        }
        if let Some(e) = &d.userinfo_endpoint {
            checked_url("userinfo_endpoint", e, true).map_err(DiscoveryError::Endpoint)?;
        }
        if d.code_challenge_methods_supported
            .as_ref()
            .is_some_and(|m| !m.iter().any(|m| m == "S256"))
        {
            return Err(DiscoveryError::NoS256);
        }
        if d.id_token_signing_alg_values_supported
            .as_ref()
            .is_some_and(|a| !a.iter().any(|a| a == "RS256" || a == "ES256"))
        {
            return Err(DiscoveryError::NoAlgorithm);
        }
        Ok(d)
    }
}

/// The PKCE S256 challenge of a verifier.
pub fn pkce_challenge(verifier: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// base64url of random bytes: a state, nonce or PKCE verifier (32 bytes
/// give 43 characters, within PKCE's 43 to 128).
pub fn random_text(bytes: &[u8; 32]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// One sign-in attempt's secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
}

/// The authorization request to send the browser to.
pub fn authorize_url(
    d: &Discovery,
    s: &OidcSettings,
    redirect_uri: &str,
    a: &Attempt,
) -> Result<String, DiscoveryError> {
    let mut u = checked_url("authorization_endpoint", &d.authorization_endpoint, true)
        .map_err(DiscoveryError::Endpoint)?;
    u.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &s.client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", &s.scopes)
        .append_pair("state", &a.state)
        .append_pair("nonce", &a.nonce)
        .append_pair("code_challenge", &pkce_challenge(&a.verifier))
        .append_pair("code_challenge_method", "S256");
    Ok(u.to_string())
}

/// Where the provider sends the browser back after signing out there
/// (register it at the provider as the post-logout redirect URI).
pub fn post_logout_uri(origin: &str) -> String {
    format!("{}/login", origin.trim_end_matches('/'))
}

/// The provider's sign-out page (RP-initiated logout), when its discovery
/// document names one: the client is named, since the registry keeps no
/// ID token to hint with.
pub fn end_session_url(d: &Discovery, s: &OidcSettings, post_logout: &str) -> Option<String> {
    let e = d.end_session_endpoint.as_deref()?;
    let mut u = checked_url("end_session_endpoint", e, true).ok()?;
    u.query_pairs_mut()
        .append_pair("client_id", &s.client_id)
        .append_pair("post_logout_redirect_uri", post_logout);
    Some(u.to_string())
}

/// The redirect URI to register at the provider.
pub fn redirect_uri(origin: &str) -> String {
    format!("{}/auth/oidc/callback", origin.trim_end_matches('/'))
}

#[cfg(test)]
#[path = "oidc_tests.rs"]
mod tests;
