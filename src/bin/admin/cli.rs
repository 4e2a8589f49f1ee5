//! The command line of `scripts/admin`: which command, on which registry
//! (the local state or `--remote`), with which options.

use edge_registry::auth::Scopes;

use crate::commands::{self, Registry};
use crate::{backup, import_cmd};

pub const USAGE: &str = "usage: scripts/admin [--remote] <command>
  user add <login> [--admin] [--url BASE]   (prints a one-time link to set the password)
  user add <login> [--admin] --oidc SUBJECT (links the account to OIDC_ISSUER's subject instead)
  user link <login> [--url BASE]            (a new one-time password link)
  token create <login> [--name NAME] [--scopes LIST] [--crates PATTERNS] [--expires-days N]
  token list <login>
  token revoke <id>
  team add <team>
  team member add|remove <team> <login> [--maintainer]
  team list                                 (every team and its members)
  crate visibility <crate> registry|restricted
  crate grant|revoke <crate> <login | team:NAME>
  reindex [<crate>]
  backup <file>                             (database rows and .crate blobs, as a .tar.gz)
  restore <file> [--force]                  (into an empty registry; --force allows a non-empty one)
  verify [--deep]                            (report index drift from the database; changes nothing)
  import [--lockfile Cargo.lock] [NAME[@REQ]...] [--url BASE] [--token-stdin] [--jobs N]
                                        (copy crates and their dependencies from crates.io;
                                         N publishes at a time, default 4; an existing token
                                         from REGISTRY_TOKEN or, with --token-stdin, stdin)
Acts on the local state (STATE_DIR, default .wrangler/state) unless --remote.";

/// Where commands act.
pub struct Target {
    pub remote: bool,
    pub state: String,
    pub wrangler: String,
    pub root: String,
}

pub fn flag(args: &mut Vec<String>, name: &str) -> bool {
    match args.iter().position(|a| a == name) {
        Some(p) => {
            args.remove(p);
            true
        }
        None => false,
    }
}

pub fn option(args: &mut Vec<String>, name: &str) -> Result<Option<String>, String> {
    match args.iter().position(|a| a == name) {
        Some(p) if p + 1 < args.len() => {
            let v = args.remove(p + 1);
            args.remove(p);
            Ok(Some(v))
        }
        Some(_) => Err(format!("{name} needs a value")),
        None => Ok(None),
    }
}

pub fn run(args: &[String]) -> Result<(), String> {
    let mut args = args.to_vec();
    let remote = flag(&mut args, "--remote");
    let root = std::env::var("REGISTRY_ROOT").unwrap_or_else(|_| ".".into());
    let t = Target {
        remote,
        state: std::env::var("STATE_DIR").unwrap_or_else(|_| format!("{root}/.wrangler/state")),
        wrangler: std::env::var("WRANGLER").unwrap_or_else(|_| "wrangler".into()),
        root,
    };
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["user", "add", ..] => {
            let mut a = args[2..].to_vec();
            let admin = flag(&mut a, "--admin");
            let url = option(&mut a, "--url")?;
            let oidc = match option(&mut a, "--oidc")? {
                Some(subject) => Some((oidc_issuer(&t)?, subject)),
                None => None,
            };
            let [login] = a.as_slice() else {
                return Err(USAGE.into());
            };
            let identity = oidc.as_ref().map(|(i, s)| (i.as_str(), s.as_str()));
            commands::user_add(&registry(&t, url)?, login, admin, identity)
        }
        ["user", "link", ..] => {
            let mut a = args[2..].to_vec();
            let url = option(&mut a, "--url")?;
            let [login] = a.as_slice() else {
                return Err(USAGE.into());
            };
            commands::user_link(&registry(&t, url)?, login)
        }
        ["token", "create", ..] => token_create(&t, args[2..].to_vec()),
        ["token", "list", login] => commands::token_list(&registry(&t, None)?, login),
        ["token", "revoke", id] => commands::token_revoke(&registry(&t, None)?, id),
        ["backup", file] => backup::backup(&registry(&t, None)?, file),
        ["restore", file] => backup::restore(&registry(&t, None)?, file, false),
        ["restore", file, "--force"] | ["restore", "--force", file] => {
            backup::restore(&registry(&t, None)?, file, true)
        }
        ["verify"] => verify(&t, false),
        ["verify", "--deep"] => verify(&t, true),
        ["import", ..] => import_cmd::run(&t, args[1..].to_vec()),
        ["team", "add", name] => commands::team_add(&registry(&t, None)?, name),
        ["team", "list"] => commands::team_list(&registry(&t, None)?),
        ["team", "member", op @ ("add" | "remove"), ..] => {
            let add = *op == "add";
            let mut a = args[3..].to_vec();
            let maintainer = flag(&mut a, "--maintainer");
            let [team, login] = a.as_slice() else {
                return Err(USAGE.into());
            };
            if !add && maintainer {
                return Err("--maintainer goes with `team member add`".into());
            }
            commands::team_member(&registry(&t, None)?, add, team, login, maintainer)
        }
        ["crate", "visibility", name, value] => {
            commands::crate_visibility(&registry(&t, None)?, name, value)
        }
        ["crate", op @ ("grant" | "revoke"), name, who] => {
            commands::crate_reader(&registry(&t, None)?, *op == "grant", name, who)
        }
        ["reindex"] => commands::reindex(&registry(&t, None)?, None),
        ["reindex", name] => commands::reindex(&registry(&t, None)?, Some(name)),
        _ => Err(USAGE.into()),
    }
}

/// The registry the command acts on, through its admin API; one-time
/// links point at `link_url` when given.
pub fn registry(t: &Target, link_url: Option<String>) -> Result<Registry, String> {
    let conn = if t.remote {
        crate::connect::remote(std::path::Path::new(&t.root), public_url(t))?
    } else {
        crate::connect::local(
            std::path::Path::new(&t.root),
            std::path::Path::new(&t.state),
            &t.wrangler,
        )?
    };
    Ok(Registry::new(conn, base_url(t, link_url)))
}

fn verify(t: &Target, deep: bool) -> Result<(), String> {
    if !commands::verify(&registry(t, None)?, deep, t.remote)? {
        std::process::exit(1);
    }
    Ok(())
}

fn token_create(t: &Target, mut args: Vec<String>) -> Result<(), String> {
    let name = option(&mut args, "--name")?.unwrap_or_else(|| "cli".into());
    let scopes = match option(&mut args, "--scopes")? {
        Some(s) => Scopes::parse(&s).map_err(|e| e.to_string())?,
        None => Scopes::all(),
    };
    let patterns = option(&mut args, "--crates")?.unwrap_or_default();
    let days = match option(&mut args, "--expires-days")? {
        Some(d) => Some(
            d.parse::<i64>()
                .map_err(|_| "--expires-days needs a number of days")?,
        ),
        None => None,
    };
    let [login] = args.as_slice() else {
        return Err(USAGE.into());
    };
    let token = commands::issue(
        &registry(t, None)?,
        &commands::NewToken {
            login,
            name: &name,
            scopes,
            patterns: &patterns,
            days,
        },
    )?;
    println!("It is shown only this once:");
    println!("{token}");
    Ok(())
}

/// `PUBLIC_URL` from `wrangler.toml`, when set.
fn public_url(t: &Target) -> Option<String> {
    toml_var(t, "PUBLIC_URL").map(|v| v.trim_end_matches('/').to_string())
}

/// A `[vars]` value of `wrangler.toml`, when set and not empty.
fn toml_var(t: &Target, name: &str) -> Option<String> {
    let conf = std::fs::read_to_string(format!("{}/wrangler.toml", t.root)).unwrap_or_default();
    conf.lines()
        .find_map(|l| {
            let rest = l.trim().strip_prefix(name)?;
            rest.trim_start().starts_with('=').then_some(rest)
        })
        .and_then(|l| l.split('"').nth(1))
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// The OIDC issuer identities are linked at: `OIDC_ISSUER` from the
/// environment (as `scripts/dev` takes it) or `wrangler.toml`.
fn oidc_issuer(t: &Target) -> Result<String, String> {
    std::env::var("OIDC_ISSUER")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| toml_var(t, "OIDC_ISSUER"))
        .ok_or_else(|| {
            "--oidc needs OIDC_ISSUER (in wrangler.toml [vars] or the environment)".to_string()
        })
}

/// The registry's public address, for links and `import`.
pub fn base_url(t: &Target, url: Option<String>) -> Option<String> {
    if let Some(u) = url.or_else(|| std::env::var("REGISTRY_URL").ok()) {
        return Some(u.trim_end_matches('/').to_string());
    }
    if t.remote {
        return public_url(t);
    }
    // The server of this state, as whoever started it recorded it.
    std::fs::read_to_string(format!("{}/dev-url", t.state))
        .ok()
        .map(|u| u.trim().trim_end_matches('/').to_string())
        .filter(|u| !u.is_empty())
}
