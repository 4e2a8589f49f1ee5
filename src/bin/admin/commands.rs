//! The commands that act through the service (users, tokens, teams,
//! reindex, verify): each runs the service's own functions over the registry's
//! admin API (`connect`), the same for the local state and `--remote`.

use std::sync::Arc;

use edge_registry::auth::Scopes;
use edge_registry::auth::scopes::patterns_text;
use edge_registry::protocol::names::canonical;
use edge_registry::protocol::time::format_utc;
use edge_registry::service::teams::{self, Actor};
use edge_registry::service::tokens::{self, Revoker, TokenRequest};
use edge_registry::service::{App, Config, Stores, accounts, index, sso, verify};
use edge_registry::store::{CrateStore, SsoStore, TokenStore, User, UserStore};
use futures_executor::block_on;

use crate::connect::{Connection, RemoteStores};

/// A connected registry and the app over its stores.
pub struct Registry {
    pub app: App<RemoteStores>,
    /// Where one-time links point.
    pub base: String,
    _conn: Connection,
}

impl Registry {
    pub fn new(conn: Connection, link_base: Option<String>) -> Self {
        let base = link_base.unwrap_or_else(|| conn.api.base.clone());
        Registry {
            app: App::new(RemoteStores::new(Arc::clone(&conn.api)), Config::default()),
            base,
            _conn: conn,
        }
    }

    fn db(&self) -> &edge_registry::store::sql::SqlStore<crate::connect::HttpExec> {
        self.app.store.db()
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn err(e: edge_registry::store::StoreError) -> String {
    e.0
}

fn detail(e: edge_registry::error::AppError) -> String {
    match e {
        edge_registry::error::AppError::Internal(cause) => cause,
        e => e.detail(),
    }
}

/// The user, created when missing; and whether it was.
fn ensure_user(r: &Registry, login: &str, admin: bool) -> Result<(User, bool), String> {
    let existed = block_on(r.db().user_by_login(login)).map_err(err)?;
    if let Some(u) = existed {
        return Ok((u, false));
    }
    let u = block_on(tokens::ensure_user(r.db(), login, admin, now())).map_err(detail)?;
    Ok((u, true))
}

fn user(r: &Registry, login: &str) -> Result<User, String> {
    block_on(r.db().user_by_login(login))
        .map_err(err)?
        .ok_or_else(|| format!("no user `{login}`"))
}

/// Prints a one-time link that sets the user's password and signs in.
fn print_link(r: &Registry, u: &User) -> Result<(), String> {
    let at = now();
    let secret =
        block_on(accounts::create_link(&r.app, u.id, "password", None, at)).map_err(detail)?;
    println!(
        "One-time link for `{}` to set a password and sign in (valid until {}):",
        u.login,
        format_utc(at + accounts::LINK_SECS)
    );
    println!(
        "{}/set-password#secret={secret}",
        r.base.trim_end_matches('/')
    );
    Ok(())
}

/// Adds (or promotes) a user; with `identity` (issuer, subject), links
/// the account to it for single sign-on instead of printing a password
/// link.
pub fn user_add(
    r: &Registry,
    login: &str,
    admin: bool,
    identity: Option<(&str, &str)>,
) -> Result<(), String> {
    if let Some((_, subject)) = identity
        && (subject.is_empty() || subject.len() > 255)
    {
        return Err("an OIDC subject is 1 to 255 characters".into());
    }
    // Refuse a taken subject before creating anyone.
    if let Some((issuer, subject)) = identity
        && let Some(owner) = block_on(r.db().identity_user(issuer, subject)).map_err(err)?
        && owner.user.login != login
    {
        return Err(format!(
            "the subject `{subject}` of {issuer} is already linked to `{}`",
            owner.user.login
        ));
    }
    let (u, created) = ensure_user(r, login, admin)?;
    if !created && admin && !u.is_admin {
        block_on(r.db().set_admin(u.id, true)).map_err(err)?;
    }
    let role = if admin { "administrator" } else { "user" };
    let id = u.id;
    if created {
        println!("created {role} `{login}` (id {id})");
    } else if admin {
        println!("`{login}` (id {id}) exists and is now an administrator");
    } else {
        println!("`{login}` (id {id}) exists already");
    }
    match identity {
        Some((issuer, subject)) => {
            block_on(sso::link(&r.app, &u, issuer, subject, now())).map_err(detail)?;
            println!(
                "linked `{login}` to the subject `{subject}` of {issuer}; they sign in with single sign-on"
            );
            Ok(())
        }
        None => print_link(r, &u),
    }
}

pub fn user_link(r: &Registry, login: &str) -> Result<(), String> {
    print_link(r, &user(r, login)?)
}

/// What `token create` asks for.
pub struct NewToken<'a> {
    pub login: &'a str,
    pub name: &'a str,
    pub scopes: Scopes,
    pub patterns: &'a str,
    pub days: Option<i64>,
}

/// Issues a token with the service's rules; returns it.
pub fn issue(r: &Registry, t: &NewToken<'_>) -> Result<String, String> {
    let at = now();
    let expires_at = tokens::expiry_in_days(t.days, at).map_err(detail)?;
    let req = TokenRequest {
        name: t.name,
        scopes: t.scopes,
        patterns: t.patterns,
        expires_at,
    };
    // Refuse a bad request before creating the user.
    tokens::check(&req, at).map_err(detail)?;
    let (u, created) = ensure_user(r, t.login, false)?;
    if created {
        println!("created user `{}` (id {})", t.login, u.id);
    }
    let (token, rec) = block_on(tokens::issue(r.db(), &u, &req, at)).map_err(detail)?;
    let patterns = patterns_text(&rec.patterns);
    println!(
        "created token `{}` for `{}`; scopes: {}; crates: {}; expires: {}",
        rec.name,
        t.login,
        rec.scopes,
        if rec.patterns.is_empty() {
            "all"
        } else {
            &patterns
        },
        rec.expires_at
            .map(format_utc)
            .unwrap_or_else(|| "never".into())
    );
    Ok(token)
}

pub fn token_list(r: &Registry, login: &str) -> Result<(), String> {
    let list = match block_on(r.db().user_by_login(login)).map_err(err)? {
        Some(u) => block_on(r.db().list_tokens(u.id)).map_err(err)?,
        None => Vec::new(),
    };
    if list.is_empty() {
        println!("no tokens for `{login}`");
        return Ok(());
    }
    println!(
        "{:<6} {:<20} {:<14} {:<48} {:<21} {:<21} {:<21} status",
        "id", "name", "hint", "scopes", "created", "last used", "expires"
    );
    let when = |v: Option<i64>| v.map(format_utc).unwrap_or_else(|| "-".into());
    let at = now();
    for t in list {
        let status = tokens::status(&t, at);
        println!(
            "{:<6} {:<20} {:<14} {:<48} {:<21} {:<21} {:<21} {status}",
            t.id,
            t.name,
            t.hint,
            t.scopes,
            when(Some(t.created_at)),
            when(t.last_used_at),
            when(t.expires_at),
        );
    }
    Ok(())
}

pub fn token_revoke(r: &Registry, id: &str) -> Result<(), String> {
    let id: i64 = id
        .parse()
        .map_err(|_| "the token id must be a number (see `token list`)")?;
    let t = block_on(tokens::revoke(r.db(), Revoker::Operator, id, now()))
        .map_err(|e| format!("{} with id {id}", detail(e)))?;
    if t.revoked_at.is_some() {
        println!("token {id} was revoked already");
        return Ok(());
    }
    println!(
        "revoked token {id}; running Workers stop accepting it within their token cache time (TOKEN_CACHE_SECS, 30 s by default)"
    );
    Ok(())
}

pub fn reindex(r: &Registry, only: Option<&str>) -> Result<(), String> {
    let crates = match only {
        Some(name) => block_on(r.db().crate_by_canon(&canonical(name)))
            .map_err(err)?
            .into_iter()
            .collect(),
        None => block_on(r.db().all_crates()).map_err(err)?,
    };
    if crates.is_empty() {
        return match only {
            Some(name) => Err(format!("no crate named `{name}`")),
            None => {
                println!("no crates to reindex");
                Ok(())
            }
        };
    }
    for c in crates {
        block_on(index::sync_crate(&r.app.store, c.id)).map_err(detail)?;
        println!("reindexed `{}`", c.name);
    }
    Ok(())
}

/// Reports drift; `Ok(false)` when something drifted.
pub fn verify(r: &Registry, deep: bool, remote: bool) -> Result<bool, String> {
    // A registry in use has writes in flight: report only what is still
    // drifted when looked at again a moment later.
    let (checked, first) = block_on(verify::verify(&r.app.store, deep)).map_err(detail)?;
    let drift = if first.is_empty() {
        first
    } else {
        std::thread::sleep(std::time::Duration::from_secs(2));
        let (_, second) = block_on(verify::verify(&r.app.store, deep)).map_err(detail)?;
        second.into_iter().filter(|d| first.contains(d)).collect()
    };
    for d in &drift {
        println!("DRIFT {d}");
    }
    println!(
        "{checked} crates checked{}, {} drifted",
        if deep { " (deep)" } else { "" },
        drift.len()
    );
    if !drift.is_empty() {
        println!(
            "repair with: scripts/admin{} reindex",
            if remote { " --remote" } else { "" }
        );
    }
    Ok(drift.is_empty())
}

/// `team add <team>`.
pub fn team_add(r: &Registry, name: &str) -> Result<(), String> {
    let t = block_on(teams::create(&r.app, Actor::Operator, name, now())).map_err(detail)?;
    println!("created team `{}` (id {})", t.name, t.id);
    Ok(())
}

/// `team member add|remove <team> <login> [--maintainer]`.
pub fn team_member(
    r: &Registry,
    add: bool,
    team: &str,
    login: &str,
    maintainer: bool,
) -> Result<(), String> {
    if add {
        block_on(teams::add_member(
            &r.app,
            Actor::Operator,
            team,
            login,
            maintainer,
            now(),
        ))
        .map_err(detail)?;
        let role = if maintainer { "maintainer" } else { "member" };
        println!("`{login}` is a {role} of team `{team}`");
    } else {
        block_on(teams::remove_member(
            &r.app,
            Actor::Operator,
            team,
            login,
            now(),
        ))
        .map_err(detail)?;
        println!("`{login}` is no longer a member of team `{team}`");
    }
    Ok(())
}

/// `team list`: every team with its members (maintainers marked).
pub fn team_list(r: &Registry) -> Result<(), String> {
    let all = block_on(teams::list(&r.app)).map_err(detail)?;
    if all.is_empty() {
        println!("no teams yet; create one with `scripts/admin team add <team>`");
    }
    for (t, n) in all {
        let members = block_on(teams::members(&r.app, &t.name)).map_err(detail)?;
        let names: Vec<String> = members
            .iter()
            .map(|m| {
                let mut s = m.user.login.clone();
                if m.maintainer {
                    s.push_str(" (maintainer)");
                }
                if m.source == edge_registry::store::MemberSource::Sso {
                    s.push_str(" (from sign-in)");
                }
                s
            })
            .collect();
        let count = if n == 1 {
            "1 member".to_string()
        } else {
            format!("{n} members")
        };
        println!("{}\t{count}\t{}", t.name, names.join(", "));
    }
    Ok(())
}

/// `crate visibility <crate> registry|restricted`.
pub fn crate_visibility(r: &Registry, name: &str, value: &str) -> Result<(), String> {
    let restricted = match value {
        "registry" => false,
        "restricted" => true,
        other => {
            return Err(format!(
                "visibility is `registry` or `restricted`, not `{other}`"
            ));
        }
    };
    let changed = block_on(edge_registry::service::access::set_visibility(
        &r.app,
        Actor::Operator,
        name,
        restricted,
        now(),
    ))
    .map_err(detail)?;
    let what = if restricted {
        "restricted to its owners and granted readers"
    } else {
        "readable by every user"
    };
    if changed {
        println!("`{name}` is now {what}");
    } else {
        println!("`{name}` was already {what}");
    }
    Ok(())
}

/// `crate grant|revoke <crate> <login | team:NAME>`.
pub fn crate_reader(r: &Registry, grant: bool, name: &str, who: &str) -> Result<(), String> {
    let changed = block_on(edge_registry::service::access::set_reader(
        &r.app,
        Actor::Operator,
        name,
        who,
        grant,
        now(),
    ))
    .map_err(detail)?;
    match (grant, changed) {
        (true, true) => println!("`{who}` may read `{name}`"),
        (true, false) => println!("`{who}` could already read `{name}`"),
        (false, true) => println!("`{who}` is no longer granted `{name}`"),
        (false, false) => println!("`{who}` had no grant on `{name}`"),
    }
    Ok(())
}
