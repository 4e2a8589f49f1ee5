//! Single sign-on with OpenID Connect, without the network: starting an
//! attempt (state, nonce and PKCE verifier kept server-side, the state
//! stored only as its hash and used once), and finishing it from the ID
//! token the provider returned: validated completely (`auth::jwt`), the
//! provider's rules applied (allowed email domains with `email_verified`,
//! a required group, the administrator group) at every sign-in, the
//! account found by issuer and subject (never by email) or created just in
//! time, and a session opened. The routes fetch the discovery document,
//! the key set and the token response and pass them in. Cloudflare
//! Access mode (`access`) signs people in from Access's assertion through
//! the same accounts and sessions.

pub mod access;
pub mod provider;

use serde_json::{Map, Value};

use super::accounts::{NewSession, new_session};
use super::{App, Stores, random};
use crate::auth::jwt::{self, Expect, Jwks, JwtError, Verified};
use crate::auth::oidc::{
    Attempt, Discovery, OidcSettings, authorize_url, random_text, redirect_uri,
};
use crate::auth::token::hash_token;
use crate::error::AppError;
use crate::service::tokens::validate_login;
use crate::store::{AccountStore as _, SsoAttempt, SsoStore as _, User, UserStore as _};

/// How long a started sign-in may take at the provider.
pub const ATTEMPT_SECS: i64 = 600;

/// Expired attempts removed per cron run at most.
pub const PRUNE_BATCH: u32 = 1000;

/// Google's issuer, and the form without the scheme its tokens may use.
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";
pub const GOOGLE_LEGACY_ISSUER: &str = "accounts.google.com";

/// The longest subject and email kept (as a restore checks them).
pub const MAX_SUBJECT: usize = 255;
pub const MAX_EMAIL: usize = 320;

/// Clock difference allowed with the provider, in seconds.
pub const SKEW: i64 = 120;

/// Why a sign-in is refused. `Display` is the message for the person
/// signing in; `log` adds what the operator needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The state is unknown, used or expired.
    Attempt,
    Token(JwtError),
    /// No verified email under an allowed domain.
    Domain,
    /// Not in the required group.
    Group,
    /// The account is disabled here.
    Disabled,
    /// Cloudflare Access mode, and the request carries no assertion (it
    /// did not come through Access).
    NoAssertion,
    /// The provider's userinfo answer is about another subject.
    Userinfo,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Attempt => write!(
                f,
                "this sign-in is unknown, already used or expired; start again from the sign-in page"
            ),
            Refusal::Token(_) | Refusal::Userinfo => write!(
                f,
                "the identity provider's answer could not be verified; start again, and tell an administrator if it keeps happening"
            ),
            Refusal::Domain => write!(
                f,
                "your account at the identity provider has no verified email address in a domain allowed here; ask an administrator"
            ),
            Refusal::Group => write!(
                f,
                "your account at the identity provider is not in the group allowed to use this registry; ask an administrator"
            ),
            Refusal::Disabled => write!(
                f,
                "your account on this registry is disabled; ask an administrator"
            ),
            Refusal::NoAssertion => write!(
                f,
                "this request did not come through Cloudflare Access (no Cf-Access-Jwt-Assertion); open the registry at its Access-protected address"
            ),
        }
    }
}

impl Refusal {
    /// The operator's log line.
    pub fn log(&self) -> String {
        match self {
            Refusal::Token(e) => format!("single sign-on refused: {e}"),
            Refusal::Userinfo => {
                "single sign-on refused: the provider's userinfo answer is about another subject than its ID token".into()
            }
            other => format!("single sign-on refused: {other}"),
        }
    }
}

/// Why finishing a sign-in failed.
#[derive(Debug)]
pub enum SsoError {
    Refused(Refusal),
    App(AppError),
}

impl From<AppError> for SsoError {
    fn from(e: AppError) -> Self {
        SsoError::App(e)
    }
}

impl From<crate::store::StoreError> for SsoError {
    fn from(e: crate::store::StoreError) -> Self {
        SsoError::App(e.into())
    }
}

/// A started sign-in: where to send the browser, and the state, which
/// the browser also keeps in a cookie so the callback is bound to it.
pub struct Begun {
    pub url: String,
    pub state: String,
}

/// Starts a sign-in: stores the attempt and gives the provider's
/// authorization URL. `return_to` must already be checked same-origin.
pub async fn begin<S: Stores>(
    app: &App<S>,
    s: &OidcSettings,
    d: &Discovery,
    origin: &str,
    return_to: Option<&str>,
    now: i64,
) -> Result<Begun, AppError> {
    let a = Attempt {
        state: random_text(&random::<32>()?),
        nonce: random_text(&random::<32>()?),
        verifier: random_text(&random::<32>()?),
    };
    app.store
        .db()
        .insert_sso_attempt(
            &hash_token(&a.state),
            &SsoAttempt {
                nonce: a.nonce.clone(),
                verifier: a.verifier.clone(),
                return_to: return_to.map(str::to_string),
                expires_at: now + ATTEMPT_SECS,
            },
        )
        .await?;
    let url = authorize_url(d, s, &redirect_uri(origin), &a)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(Begun {
        url,
        state: a.state,
    })
}

/// Takes the attempt a callback's `state` names, once; refused when it is
/// unknown, used or expired.
pub async fn take_attempt<S: Stores>(
    app: &App<S>,
    state: &str,
    now: i64,
) -> Result<SsoAttempt, SsoError> {
    if state.is_empty() || state.len() > 200 {
        return Err(SsoError::Refused(Refusal::Attempt));
    }
    match app.store.db().take_sso_attempt(&hash_token(state)).await? {
        Some(a) if a.expires_at > now => Ok(a),
        _ => Err(SsoError::Refused(Refusal::Attempt)),
    }
}

/// The values of a group claim: a list of strings or one string.
fn groups(claims: &Map<String, Value>, claim: &str) -> Vec<String> {
    match claims.get(claim) {
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn verified_email(claims: &Map<String, Value>) -> Option<String> {
    let verified = match claims.get("email_verified") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    };
    let email = claims.get("email")?.as_str()?;
    verified.then(|| email.to_ascii_lowercase())
}

/// The provider's rules for these claims: who may sign in.
pub fn admitted(s: &OidcSettings, claims: &Map<String, Value>) -> Result<(), Refusal> {
    if !s.allowed_domains.is_empty() {
        let domain_ok = verified_email(claims)
            .and_then(|e| e.rsplit_once('@').map(|(_, d)| d.to_string()))
            .is_some_and(|d| s.allowed_domains.contains(&d));
        // At Google anyone may make an account on an address of any
        // domain; only `hd` says the account is the domain's own
        // (Workspace).
        let hosted_ok = s.issuer != GOOGLE_ISSUER
            || claims
                .get("hd")
                .and_then(Value::as_str)
                .is_some_and(|hd| s.allowed_domains.contains(&hd.to_ascii_lowercase()));
        if !domain_ok || !hosted_ok {
            return Err(Refusal::Domain);
        }
    }
    if let Some(required) = &s.required_group
        && !groups(claims, &s.groups_claim).contains(required)
    {
        return Err(Refusal::Group);
    }
    Ok(())
}

/// A login for a new account: the provider's username or the email's
/// local part, reduced to what logins may hold.
pub fn login_hint(claims: &Map<String, Value>) -> String {
    let raw = ["preferred_username", "nickname", "email"]
        .iter()
        .find_map(|c| claims.get(*c).and_then(Value::as_str))
        .unwrap_or("user");
    let raw = raw.split('@').next().unwrap_or(raw);
    let mut out: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    out = out.trim_start_matches(['-', '_']).to_string();
    out.truncate(32);
    if out.is_empty() { "user".into() } else { out }
}

/// Creates the account of a first sign-in, under a free login.
async fn create_account<S: Stores>(app: &App<S>, hint: &str, now: i64) -> Result<User, AppError> {
    let db = app.store.db();
    for n in 1..=50 {
        let login = if n == 1 {
            hint.to_string()
        } else {
            format!("{hint}-{n}")
        };
        validate_login(&login)?;
        if let Some(u) = db.create_user(&login, false, now).await? {
            return Ok(u);
        }
    }
    Err(AppError::Internal(format!(
        "no free login for `{hint}` after 50 tries"
    )))
}

/// Finishes a sign-in from the provider's ID token, with the attempt its
/// state named and the issuer's key set. `UnknownKey` comes back as
/// `Refused(Token(UnknownKey))` for the caller to fetch the keys again.
pub async fn complete<S: Stores>(
    app: &App<S>,
    s: &OidcSettings,
    id_token: &str,
    keys: &Jwks,
    attempt: &SsoAttempt,
    now: i64,
) -> Result<NewSession, SsoError> {
    let v = verify_id_token(app, s, id_token, keys, attempt, now).await?;
    sign_in(app, s, &v, now).await
}

/// Signs in the person a verified ID token (with any userinfo claims
/// merged in) names, under the provider's rules.
pub async fn sign_in<S: Stores>(
    app: &App<S>,
    s: &OidcSettings,
    v: &Verified,
    now: i64,
) -> Result<NewSession, SsoError> {
    let user = account(app, Some(s), v, now).await?;
    open_session(app, &user, now, None).await
}

/// Validates the provider's ID token completely against the attempt.
pub async fn verify_id_token<S: Stores>(
    app: &App<S>,
    s: &OidcSettings,
    id_token: &str,
    keys: &Jwks,
    attempt: &SsoAttempt,
    now: i64,
) -> Result<Verified, SsoError> {
    let refused = |r| SsoError::Refused(r);
    let mut token = jwt::decode(id_token).map_err(|e| refused(Refusal::Token(e)))?;
    // Google documents that its ID tokens may name their issuer without
    // the scheme; it is the same issuer (and the same accounts).
    if s.issuer == GOOGLE_ISSUER
        && token.claims.get("iss").and_then(Value::as_str) == Some(GOOGLE_LEGACY_ISSUER)
    {
        token
            .claims
            .insert("iss".into(), Value::String(GOOGLE_ISSUER.into()));
    }
    let expect = Expect {
        issuer: &s.issuer,
        audience: &s.client_id,
        nonce: Some(&attempt.nonce),
        now,
        skew: SKEW,
    };
    jwt::verify(app.store.jws(), &token, keys, &expect)
        .await
        .map_err(|e| refused(Refusal::Token(e)))
}

/// The claims the registry reads that a provider may keep out of the ID
/// token and answer at its userinfo endpoint (Okta's and oidc-provider's
/// "thin" ID tokens, GitLab's `groups`). The email and whether it is
/// verified are taken together, from one source.
const PROFILE_CLAIMS: &[&str] = &["preferred_username", "nickname", "name"];

/// Adds the userinfo answer's claims that the ID token lacks. The answer
/// must be about the same subject (OpenID Connect Core 5.3.2); one that
/// is not a JSON object (a signed userinfo JWT) adds nothing.
pub fn merge_userinfo(v: &mut Verified, groups_claim: &str, body: &[u8]) -> Result<(), Refusal> {
    let Ok(Value::Object(info)) = serde_json::from_slice::<Value>(body) else {
        return Ok(());
    };
    if info.get("sub").and_then(Value::as_str) != Some(v.subject.as_str()) {
        return Err(Refusal::Userinfo);
    }
    let claims = &mut v.claims;
    let has_pair = claims.contains_key("email") && claims.contains_key("email_verified");
    if !has_pair && info.contains_key("email") {
        claims.remove("email_verified");
        for k in ["email", "email_verified"] {
            if let Some(val) = info.get(k) {
                claims.insert(k.into(), val.clone());
            }
        }
    }
    for k in PROFILE_CLAIMS.iter().copied().chain([groups_claim]) {
        if !claims.contains_key(k)
            && let Some(val) = info.get(k)
        {
            claims.insert(k.into(), val.clone());
        }
    }
    Ok(())
}

/// The account of a verified identity: found by issuer and subject, or
/// created just in time and linked to them. `rules` (OpenID Connect's) are
/// applied at every sign-in: someone who no longer qualifies is refused
/// and their account disabled (so its tokens stop) until they qualify
/// again, and the administrator group sets the account's admin flag.
/// Without rules (Cloudflare Access, whose own policy decides who gets
/// through) anyone verified is admitted.
pub async fn account<S: Stores>(
    app: &App<S>,
    rules: Option<&OidcSettings>,
    v: &Verified,
    now: i64,
) -> Result<User, SsoError> {
    let refused = |r| SsoError::Refused(r);
    if v.subject.len() > MAX_SUBJECT {
        return Err(refused(Refusal::Token(JwtError::Malformed(
            "its subject is longer than 255 bytes",
        ))));
    }
    let db = app.store.db();
    let email = v
        .claims
        .get("email")
        .and_then(Value::as_str)
        .filter(|e| e.len() <= MAX_EMAIL)
        .map(str::to_string);
    let existing = db.identity_user(&v.issuer, &v.subject).await?;
    if let Some(Err(r)) = rules.map(|s| admitted(s, &v.claims)) {
        // The provider decides, even for the last administrator (who may
        // have left the company); `scripts/admin user add --admin` names
        // a new one.
        if let Some(found) = &existing
            && found.user.is_admin
            && super::accounts::would_leave_no_admin(app, &found.user).await?
        {
            crate::error::log(&format!(
                "single sign-on: `{}` no longer qualifies and was the last administrator; the registry has none now (scripts/admin user add <login> --admin)",
                found.user.login
            ));
        }
        if let Some(found) = existing
            && (!found.user.disabled || found.suspended)
        {
            db.set_disabled(found.user.id, true).await?;
            db.delete_user_sessions(found.user.id).await?;
            db.touch_identity(&v.issuer, &v.subject, email.as_deref(), now, true)
                .await?;
        }
        return Err(refused(r));
    }
    let mut user = match existing {
        Some(found) if found.suspended => {
            db.set_disabled(found.user.id, false).await?;
            User {
                disabled: false,
                ..found.user
            }
        }
        Some(found) if found.user.disabled => return Err(refused(Refusal::Disabled)),
        Some(found) => found.user,
        None => {
            let u = create_account(app, &login_hint(&v.claims), now).await?;
            if !db
                .insert_identity(&v.issuer, &v.subject, u.id, email.as_deref(), now)
                .await?
            {
                // A concurrent first sign-in of the same subject won: use
                // its account; the one made here keeps no identity and is
                // disabled.
                db.set_disabled(u.id, true).await?;
                match db.identity_user(&v.issuer, &v.subject).await? {
                    Some(found) if !found.user.disabled => found.user,
                    _ => return Err(refused(Refusal::Disabled)),
                }
            } else {
                u
            }
        }
    };
    if let Some(s) = rules
        && let Some(admins) = &s.admin_group
    {
        let admin = groups(&v.claims, &s.groups_claim).contains(admins);
        if !admin && user.is_admin && super::accounts::would_leave_no_admin(app, &user).await? {
            crate::error::log(&format!(
                "single sign-on: `{}` left OIDC_ADMIN_GROUP and was the last administrator; the registry has none now (scripts/admin user add <login> --admin)",
                user.login
            ));
        }
        if admin != user.is_admin {
            db.set_admin(user.id, admin).await?;
            user.is_admin = admin;
        }
    }
    if let Some(s) = rules
        && !s.team_map.is_empty()
    {
        sync_teams(app, s, &user, &groups(&v.claims, &s.groups_claim), now).await?;
    }
    db.touch_identity(&v.issuer, &v.subject, email.as_deref(), now, false)
        .await?;
    Ok(user)
}

/// Keeps the teams `OIDC_TEAM_CLAIM_MAP` names in step with the person's
/// groups: a member of each team one of their groups maps to, and no
/// longer of a mapped team none does, when the membership came from
/// sign-in. Memberships an administrator or maintainer made stay. A
/// mapped team that does not exist is logged and skipped.
async fn sync_teams<S: Stores>(
    app: &App<S>,
    s: &OidcSettings,
    user: &User,
    held: &[String],
    now: i64,
) -> Result<(), AppError> {
    use crate::store::{MemberSource, TeamStore as _};
    let db = app.store.db();
    let current = db.user_memberships(user.id).await?;
    let mut names: Vec<&str> = s.team_map.iter().map(|(_, t)| t.as_str()).collect();
    names.sort_unstable_by_key(|n| n.to_ascii_lowercase());
    names.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    for name in names {
        let Some(team) = db.team_by_name(name).await? else {
            crate::error::log(&format!(
                "single sign-on: OIDC_TEAM_CLAIM_MAP names team `{name}`, which does not exist; create it with scripts/admin team add"
            ));
            continue;
        };
        let wanted = s
            .team_map
            .iter()
            .any(|(claim, t)| t.eq_ignore_ascii_case(name) && held.contains(claim));
        let has = current
            .iter()
            .find(|(id, _)| *id == team.id)
            .map(|(_, src)| *src);
        match (wanted, has) {
            (true, None) => {
                db.put_member(team.id, user.id, false, MemberSource::Sso, None, now)
                    .await?
            }
            (false, Some(MemberSource::Sso)) => {
                db.remove_member(team.id, user.id, None, now).await?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Opens a session for a signed-in account, ending no later than `until`
/// when given (an assertion's expiry).
pub async fn open_session<S: Stores>(
    app: &App<S>,
    user: &User,
    now: i64,
    until: Option<i64>,
) -> Result<NewSession, SsoError> {
    let (cookie, mut record) = new_session(user, now)?;
    if let Some(until) = until {
        record.expires_at = record.expires_at.min(until);
    }
    if !app
        .store
        .db()
        .create_sso_session(&hash_token(&cookie), &record)
        .await?
    {
        return Err(SsoError::Refused(Refusal::Disabled));
    }
    Ok(NewSession {
        cookie,
        record,
        user: user.clone(),
    })
}

/// Links an existing account to an identity (an administrator's
/// `user link --oidc`, or naming the first administrator in advance).
pub async fn link<S: Stores>(
    app: &App<S>,
    user: &User,
    issuer: &str,
    subject: &str,
    now: i64,
) -> Result<(), AppError> {
    if subject.is_empty() || subject.len() > 255 {
        return Err(AppError::BadRequest(
            "an OIDC subject is 1 to 255 characters".into(),
        ));
    }
    if app
        .store
        .db()
        .insert_identity(issuer, subject, user.id, None, now)
        .await?
    {
        Ok(())
    } else {
        Err(AppError::Conflict(format!(
            "the subject is already linked to an account, or `{}` already has an identity at this provider",
            user.login
        )))
    }
}

/// Batches of expired attempts one cron run removes at most.
pub const PRUNE_ROUNDS: u32 = 20;

/// Removes expired attempts (the cron): batches of `limit` until none is
/// left or `PRUNE_ROUNDS` were removed, so a flood of started sign-ins
/// cannot outgrow the cleanup. Gives how many.
pub async fn prune<S: Stores>(app: &App<S>, now: i64, limit: u32) -> Result<u32, AppError> {
    let mut total = 0;
    for _ in 0..PRUNE_ROUNDS {
        let n = app.store.db().prune_sso_attempts(now, limit).await?;
        total += n;
        if n < limit {
            break;
        }
    }
    Ok(total)
}
