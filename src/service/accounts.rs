//! Web accounts: sign-in with lockout after repeated failures, server-side
//! sessions, one-time links (invitations, set/reset password), password
//! changes, and the administrators' user management.

use super::{App, Stores};
use crate::auth::password::{self, DECOY};
use crate::auth::token::hash_token;
use crate::error::AppError;
use crate::protocol::index::to_hex;
use crate::service::tokens::validate_login;
use crate::store::{AccountStore as _, AttemptRule, SessionRecord, User, UserStore as _};

/// How long a session lasts.
pub const SESSION_SECS: i64 = 7 * 86_400;
/// Failed sign-ins allowed within `FAILURE_WINDOW` before a lockout.
pub const MAX_FAILURES: i64 = 5;
pub const FAILURE_WINDOW: i64 = 15 * 60;
/// How long a login stays locked after too many failures.
pub const LOCKOUT_SECS: i64 = 15 * 60;
/// How long invitation and password links stay valid.
pub const LINK_SECS: i64 = 7 * 86_400;

/// The one message for every wrong login or password.
pub const WRONG: &str = "wrong login or password";

use super::random;

/// A new session: the cookie value (secret, shown to the browser once) and
/// what is stored.
pub struct NewSession {
    pub cookie: String,
    pub record: SessionRecord,
    pub user: User,
}

/// Opens a session for `user`, whose password hash `checked` was just
/// verified or set; refused (as a wrong password) when the password
/// changed in the meantime, so a sign-in racing a reset opens nothing.
async fn start_session<S: Stores>(
    app: &App<S>,
    user: User,
    checked: &str,
    now: i64,
) -> Result<NewSession, AppError> {
    let (cookie, record) = new_session(&user, now)?;
    let opened = app
        .store
        .db()
        .create_session(&hash_token(&cookie), &record, checked)
        .await?;
    if !opened {
        return Err(AppError::Unauthorized(WRONG.into()));
    }
    Ok(NewSession {
        cookie,
        record,
        user,
    })
}

/// A new session's cookie value (shown to the browser only) and record.
pub fn new_session(user: &User, now: i64) -> Result<(String, SessionRecord), AppError> {
    let cookie = to_hex(&random::<32>()?);
    let record = SessionRecord {
        user_id: user.id,
        csrf: to_hex(&random::<16>()?),
        created_at: now,
        expires_at: now + SESSION_SECS,
    };
    Ok((cookie, record))
}

/// Attempts counted against one login.
pub const LOGIN_RULE: AttemptRule = AttemptRule {
    max: MAX_FAILURES,
    window: FAILURE_WINDOW,
    lockout: LOCKOUT_SECS,
};
/// Failed attempts allowed from one client (its address) within the same
/// window, whatever the logins, by default; successful sign-ins do not
/// count.
pub const MAX_CLIENT_FAILURES: i64 = 100;

fn client_rule(max: i64) -> AttemptRule {
    AttemptRule {
        max,
        window: FAILURE_WINDOW,
        lockout: LOCKOUT_SECS,
    }
}
/// Counters removed per cron run at most.
pub const PRUNE_BATCH: u32 = 1000;

/// The counter key of a login (typed logins are lowercased; the prefix
/// keeps login and client keys apart whatever is typed).
fn login_key(login: &str) -> String {
    format!("login:{}", login.to_lowercase())
}

/// The counter key of a client address: an IPv4 address as it is, an
/// IPv6 address by its /64 (one subscriber's network, which it can rotate
/// through freely).
fn client_key(client: &str) -> String {
    match client.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => {
            let [a, b, c, d, ..] = v6.segments();
            format!("client:{a:x}:{b:x}:{c:x}:{d:x}::/64")
        }
        Ok(std::net::IpAddr::V4(v4)) => format!("client:{v4}"),
        Err(_) => format!("client:{client}"),
    }
}

fn locked(until: i64, now: i64, whose: &str) -> AppError {
    let minutes = (until - now + 59) / 60;
    AppError::TooManyRequests(
        format!("too many failed sign-ins {whose}; try again in {minutes} minute(s)"),
        until - now,
    )
}

/// Counts an attempt against a key before any password is checked, so
/// however many attempts run at once, at most `rule.max` reach the check
/// in a window; the right password is refused too while the key is locked.
async fn admit<S: Stores>(
    app: &App<S>,
    key: &str,
    rule: &AttemptRule,
    now: i64,
    whose: &str,
) -> Result<(), AppError> {
    let f = app.store.db().count_attempt(key, now, rule).await?;
    match f.locked_until {
        Some(until) if until > now => Err(locked(until, now, whose)),
        _ => Ok(()),
    }
}

/// Signs in with a login and password. Every wrong login or password, and
/// any password for a disabled account, gets the same answer after the
/// same work. Each attempt is counted against the login and against the
/// client (when its address is known) before the password is checked:
/// five per login or a hundred failures per client within 15 minutes,
/// then 429 for 15 minutes, whether the login exists or not.
pub async fn sign_in<S: Stores>(
    app: &App<S>,
    login: &str,
    password: &str,
    client: Option<&str>,
    now: i64,
) -> Result<NewSession, AppError> {
    let db = app.store.db();
    let key = login.trim().to_lowercase();
    if key.is_empty() || key.len() > 100 || password.len() > 1024 {
        return Err(AppError::Unauthorized(WRONG.into()));
    }
    let client = client.map(client_key);
    if let Some(c) = &client {
        let rule = client_rule(app.config.client_sign_in_failures);
        admit(app, c, &rule, now, "from this address").await?;
    }
    let lkey = login_key(&key);
    admit(app, &lkey, &LOGIN_RULE, now, "for this login").await?;
    let user = db.user_by_login(&key).await?;
    let stored = match &user {
        Some(u) => db.password_hash(u.id).await?,
        None => None,
    };
    let ok = password::verify(
        app.store.kdf(),
        password,
        stored.as_deref().unwrap_or(DECOY),
    )
    .await
    .map_err(AppError::Internal)?;
    let (Some(user), Some(checked), true) = (user.filter(|u| !u.disabled), stored, ok) else {
        return Err(AppError::Unauthorized(WRONG.into()));
    };
    db.clear_failures(&lkey).await?;
    if let Some(c) = &client {
        db.refund_attempt(c).await?;
    }
    start_session(app, user, &checked, now).await
}

/// Removes counters whose window and lock have ended (the cron), so
/// attempts on logins that do not exist leave nothing behind.
pub async fn prune_attempts<S: Stores>(app: &App<S>, now: i64) -> Result<u32, AppError> {
    Ok(app
        .store
        .db()
        .prune_attempts(now, FAILURE_WINDOW, PRUNE_BATCH)
        .await?)
}

/// The live session for a cookie value, if any.
pub async fn session<S: Stores>(
    app: &App<S>,
    cookie: &str,
    now: i64,
) -> Result<Option<(SessionRecord, User)>, AppError> {
    if cookie.len() != 64 {
        return Ok(None);
    }
    let Some((s, u)) = app.store.db().session(&hash_token(cookie)).await? else {
        return Ok(None);
    };
    if s.expires_at <= now || u.disabled {
        return Ok(None);
    }
    Ok(Some((s, u)))
}

pub async fn sign_out<S: Stores>(app: &App<S>, cookie: &str) -> Result<(), AppError> {
    Ok(app.store.db().delete_session(&hash_token(cookie)).await?)
}

/// Ends every session of a user (sign out everywhere).
pub async fn sign_out_everywhere<S: Stores>(app: &App<S>, user_id: i64) -> Result<(), AppError> {
    Ok(app.store.db().delete_user_sessions(user_id).await?)
}

/// Stores a new password; gives its hash.
async fn store_password<S: Stores>(
    app: &App<S>,
    user_id: i64,
    new: &str,
) -> Result<String, AppError> {
    password::validate_new(new).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let hash = password::hash(app.store.kdf(), new, random::<16>()?)
        .await
        .map_err(AppError::Internal)?;
    app.store.db().set_password(user_id, &hash).await?;
    Ok(hash)
}

/// Changes the signed-in user's password: every session ends and a new one
/// starts for this browser.
pub async fn change_password<S: Stores>(
    app: &App<S>,
    user: &User,
    current: &str,
    new: &str,
    now: i64,
) -> Result<NewSession, AppError> {
    // The current-password check is a guess like a sign-in: it counts
    // against the same login, so a stolen session cannot brute-force it.
    let lkey = login_key(&user.login);
    admit(app, &lkey, &LOGIN_RULE, now, "for this login").await?;
    let stored = app.store.db().password_hash(user.id).await?;
    let ok = password::verify(app.store.kdf(), current, stored.as_deref().unwrap_or(DECOY))
        .await
        .map_err(AppError::Internal)?;
    if !ok || stored.is_none() {
        return Err(AppError::Forbidden("the current password is wrong".into()));
    }
    app.store.db().clear_failures(&lkey).await?;
    // Sessions opened before the new password is stored end here; those
    // of sign-ins still checking the old one cannot open (start_session).
    let hash = store_password(app, user.id, new).await?;
    app.store.db().delete_user_sessions(user.id).await?;
    start_session(app, user.clone(), &hash, now).await
}

/// Makes a one-time link secret for a user (`invite` or `password`); the
/// user's older unused links stop working.
pub async fn create_link<S: Stores>(
    app: &App<S>,
    user_id: i64,
    purpose: &str,
    by: Option<i64>,
    now: i64,
) -> Result<String, AppError> {
    let secret = to_hex(&random::<24>()?);
    app.store
        .db()
        .create_link(
            &hash_token(&secret),
            user_id,
            purpose,
            by,
            now,
            now + LINK_SECS,
        )
        .await?;
    Ok(secret)
}

/// Sets a password through a one-time link and signs in, ending every
/// other session of the user.
pub async fn use_link<S: Stores>(
    app: &App<S>,
    secret: &str,
    new: &str,
    now: i64,
) -> Result<NewSession, AppError> {
    password::validate_new(new).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let gone = || {
        AppError::Forbidden(
            "this link is invalid, used or expired; ask an administrator for a new one".into(),
        )
    };
    if secret.len() != 48 {
        return Err(gone());
    }
    let (user_id, _) = app
        .store
        .db()
        .consume_link(&hash_token(secret), now)
        .await?
        .ok_or_else(gone)?;
    let user = app.store.db().user_by_id(user_id).await?.ok_or_else(gone)?;
    if user.disabled {
        return Err(AppError::Forbidden(
            "this account is disabled; ask an administrator".into(),
        ));
    }
    // A link is how an account is taken back: every session ends before
    // the new password is stored (so no failure below leaves one alive)
    // and again after it (ending any a racing sign-in with the old
    // password opened meanwhile; later ones cannot open, see
    // start_session). API tokens are not revoked by a reset.
    app.store.db().delete_user_sessions(user.id).await?;
    let hash = store_password(app, user.id, new).await?;
    app.store.db().delete_user_sessions(user.id).await?;
    app.store
        .db()
        .clear_failures(&login_key(&user.login))
        .await?;
    start_session(app, user, &hash, now).await
}

/// Whether any enabled administrator exists.
pub async fn has_admin<S: Stores>(app: &App<S>) -> Result<bool, AppError> {
    Ok(app
        .store
        .db()
        .list_users()
        .await?
        .iter()
        .any(|u| u.is_admin && !u.disabled))
}

fn require_admin(who: &User) -> Result<(), AppError> {
    if who.is_admin {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "only administrators can manage users".into(),
        ))
    }
}

/// Invites a new user: creates the account and returns a one-time link
/// secret for setting its password.
pub async fn invite<S: Stores>(
    app: &App<S>,
    who: &User,
    login: &str,
    admin: bool,
    now: i64,
) -> Result<(User, String), AppError> {
    require_admin(who)?;
    validate_login(login)?;
    let Some(user) = app.store.db().create_user(login, admin, now).await? else {
        return Err(AppError::Conflict(format!(
            "a user `{login}` exists already"
        )));
    };
    let secret = create_link(app, user.id, "invite", Some(who.id), now).await?;
    Ok((user, secret))
}

async fn target<S: Stores>(app: &App<S>, id: i64) -> Result<User, AppError> {
    app.store
        .db()
        .user_by_id(id)
        .await?
        .ok_or_else(|| AppError::NotFound("no such user".into()))
}

/// Whether `losing` is the last enabled administrator.
pub(crate) async fn would_leave_no_admin<S: Stores>(
    app: &App<S>,
    losing: &User,
) -> Result<bool, AppError> {
    let others = app
        .store
        .db()
        .list_users()
        .await?
        .into_iter()
        .filter(|u| u.is_admin && !u.disabled && u.id != losing.id)
        .count();
    Ok(losing.is_admin && !losing.disabled && others == 0)
}

/// Disables (ending sessions and stopping tokens) or re-enables a user.
pub async fn set_disabled<S: Stores>(
    app: &App<S>,
    who: &User,
    id: i64,
    disabled: bool,
) -> Result<User, AppError> {
    require_admin(who)?;
    let u = target(app, id).await?;
    if disabled && would_leave_no_admin(app, &u).await? {
        return Err(AppError::BadRequest(
            "cannot disable the last administrator".into(),
        ));
    }
    app.store.db().set_disabled(id, disabled).await?;
    target(app, id).await
}

/// Grants or removes administrator rights; the last one cannot be removed.
pub async fn set_admin<S: Stores>(
    app: &App<S>,
    who: &User,
    id: i64,
    admin: bool,
) -> Result<User, AppError> {
    require_admin(who)?;
    let u = target(app, id).await?;
    if !admin && would_leave_no_admin(app, &u).await? {
        return Err(AppError::BadRequest(
            "cannot remove the last administrator".into(),
        ));
    }
    app.store.db().set_admin(id, admin).await?;
    target(app, id).await
}

/// A password reset link for another user (administrators).
pub async fn reset_link<S: Stores>(
    app: &App<S>,
    who: &User,
    id: i64,
    now: i64,
) -> Result<String, AppError> {
    require_admin(who)?;
    let u = target(app, id).await?;
    create_link(app, u.id, "password", Some(who.id), now).await
}

pub async fn list_users<S: Stores>(app: &App<S>, who: &User) -> Result<Vec<User>, AppError> {
    require_admin(who)?;
    let mut users = app.store.db().list_users().await?;
    users.sort_by_key(|a| a.login.to_lowercase());
    Ok(users)
}
