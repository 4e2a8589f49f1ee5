//! `scripts/admin`: user, token and index administration of a local
//! (`wrangler dev` state) or deployed (`--remote`) registry, through
//! `wrangler d1 execute` and `wrangler kv`. Tokens are generated here,
//! printed once and stored only as hashes.

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match cli::run(&args) {
        Ok(()) => {}
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
#[path = "admin/import.rs"]
mod import;

#[cfg(not(target_arch = "wasm32"))]
#[path = "admin/archive.rs"]
mod archive;

#[cfg(not(target_arch = "wasm32"))]
#[path = "admin/scratch.rs"]
mod scratch;

#[cfg(not(target_arch = "wasm32"))]
mod cli {
    use std::process::Command;

    use edge_registry::auth::Scopes;
    use edge_registry::auth::token::{hash_token, new_token, token_hint};
    use edge_registry::protocol::names::{canonical, index_path};
    use edge_registry::protocol::time::format_utc;
    use edge_registry::service::index::render_versions;
    use edge_registry::service::tokens::{self, validate_login};
    use edge_registry::store::VersionRecord;
    use edge_registry::store::sql::{self, admin as asql};
    use serde_json::Value;

    use crate::archive;
    use crate::scratch::{self, ScratchDir};

    const USAGE: &str = "usage: scripts/admin [--remote] <command>
  user add <login> [--admin] [--url BASE]   (prints a one-time link to set the password)
  user link <login> [--url BASE]            (a new one-time password link)
  token create <login> [--name NAME] [--scopes LIST] [--crates PATTERNS] [--expires-days N]
  token list <login>
  token revoke <id>
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
    struct Target {
        remote: bool,
        state: String,
        wrangler: String,
        root: String,
    }

    /// A literal bound into SQL for `wrangler d1 execute`, which takes no
    /// parameters: text is quoted with `'` doubled, or sent as hex (below).
    pub(crate) enum Lit<'a> {
        Text(&'a str),
        Int(i64),
        Null,
    }

    /// Text that wrangler's SQL reader would change before SQLite sees it:
    /// it deletes the first `BEGIN TRANSACTION;` and `COMMIT;` anywhere in
    /// the SQL (inside string literals too) and refuses SQL that still says
    /// `BEGIN TRANSACTION`; a NUL may end the statement early.
    fn altered_by_wrangler(s: &str) -> bool {
        s.contains("BEGIN TRANSACTION") || s.contains("COMMIT;") || s.contains('\0')
    }

    /// One text literal: `'…'`, or for text wrangler would alter, its
    /// UTF-8 bytes as a hex blob read back as text (only `[0-9a-f]`, which
    /// nothing on the way can change).
    fn text_literal(s: &str) -> String {
        if altered_by_wrangler(s) {
            format!(
                "CAST(X'{}' AS TEXT)",
                edge_registry::protocol::index::to_hex(s.as_bytes())
            )
        } else {
            format!("'{}'", s.replace('\'', "''"))
        }
    }

    pub(crate) fn bind(sql: &str, args: &[Lit]) -> String {
        // One pass over the SQL, so a bound value is never scanned again.
        let mut out = String::with_capacity(sql.len());
        let mut chars = sql.char_indices().peekable();
        while let Some((_, c)) = chars.next() {
            if c != '?' {
                out.push(c);
                continue;
            }
            let mut digits = String::new();
            while let Some((_, d)) = chars.peek().copied().filter(|(_, d)| d.is_ascii_digit()) {
                digits.push(d);
                chars.next();
            }
            let arg = digits
                .parse::<usize>()
                .ok()
                .and_then(|n| args.get(n.wrapping_sub(1)));
            match arg {
                Some(Lit::Text(s)) => out.push_str(&text_literal(s)),
                Some(Lit::Int(n)) => out.push_str(&n.to_string()),
                Some(Lit::Null) => out.push_str("NULL"),
                None => {
                    out.push('?');
                    out.push_str(&digits);
                }
            }
        }
        out
    }

    fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }

    impl Target {
        fn location_args(&self) -> Vec<String> {
            if self.remote {
                vec!["--remote".into()]
            } else {
                vec!["--local".into(), "--persist-to".into(), self.state.clone()]
            }
        }

        fn wrangler(&self, args: &[String]) -> Result<String, String> {
            let out = Command::new(&self.wrangler)
                .args(args)
                .current_dir(&self.root)
                .output()
                .map_err(|e| format!("cannot run wrangler: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "wrangler {} failed:\n{}{}",
                    args.first().map(String::as_str).unwrap_or(""),
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        }

        /// Runs one SQL statement and returns its rows.
        fn d1(&self, sql: &str, args: &[Lit]) -> Result<Vec<Value>, String> {
            let mut a: Vec<String> =
                vec!["d1".into(), "execute".into(), "DB".into(), "--json".into()];
            a.extend(self.location_args());
            a.push("--command".into());
            a.push(bind(sql, args));
            let out = self.wrangler(&a)?;
            let v: Value = serde_json::from_str(out.trim())
                .map_err(|e| format!("unexpected output from wrangler d1 execute ({e}): {out}"))?;
            Ok(v.get(0)
                .and_then(|r| r.get("results"))
                .and_then(|r| r.as_array())
                .cloned()
                .unwrap_or_default())
        }

        /// Runs several read statements in one call (one batch, so they
        /// see one state of the database); the rows of each.
        fn d1_many(&self, sqls: &[String]) -> Result<Vec<Vec<Value>>, String> {
            let mut a: Vec<String> =
                vec!["d1".into(), "execute".into(), "DB".into(), "--json".into()];
            a.extend(self.location_args());
            a.push("--command".into());
            a.push(sqls.join("; "));
            let out = self.wrangler(&a)?;
            let v: Value = serde_json::from_str(out.trim())
                .map_err(|e| format!("unexpected output from wrangler d1 execute ({e}): {out}"))?;
            let results: Vec<Vec<Value>> = v
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|r| r["results"].as_array().cloned().unwrap_or_default())
                        .collect()
                })
                .unwrap_or_default();
            if results.len() != sqls.len() {
                return Err(format!(
                    "wrangler d1 execute gave {} results for {} statements",
                    results.len(),
                    sqls.len()
                ));
            }
            Ok(results)
        }
    }

    fn s(v: &Value, k: &str) -> String {
        v.get(k).and_then(Value::as_str).unwrap_or("").to_string()
    }

    fn i(v: &Value, k: &str) -> Option<i64> {
        v.get(k).and_then(Value::as_i64)
    }

    fn flag(args: &mut Vec<String>, name: &str) -> bool {
        match args.iter().position(|a| a == name) {
            Some(p) => {
                args.remove(p);
                true
            }
            None => false,
        }
    }

    fn option(args: &mut Vec<String>, name: &str) -> Result<Option<String>, String> {
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
            ["user", "add", ..] => user_add(&t, args[2..].to_vec()),
            ["user", "link", ..] => user_link(&t, args[2..].to_vec()),
            ["token", "create", ..] => token_create(&t, args[2..].to_vec()),
            ["token", "list", login] => token_list(&t, login),
            ["token", "revoke", id] => token_revoke(&t, id),
            ["backup", file] => backup(&t, file),
            ["restore", file] => restore(&t, file, false),
            ["restore", file, "--force"] | ["restore", "--force", file] => restore(&t, file, true),
            ["verify"] => verify(&t, false),
            ["verify", "--deep"] => verify(&t, true),
            ["import", ..] => import_cmd(&t, args[1..].to_vec()),
            ["reindex"] => reindex(&t, None),
            ["reindex", name] => reindex(&t, Some(name)),
            _ => Err(USAGE.into()),
        }
    }

    /// Finds or creates a user; returns (id, created).
    fn ensure_user(t: &Target, login: &str, admin: bool) -> Result<(i64, bool), String> {
        validate_login(login).map_err(|e| e.detail())?;
        let rows = t.d1(asql::USER_ID_BY_LOGIN, &[Lit::Text(login)])?;
        if let Some(id) = rows.first().and_then(|r| i(r, "id")) {
            return Ok((id, false));
        }
        t.d1(
            asql::INSERT_USER,
            &[
                Lit::Text(login),
                Lit::Int(i64::from(admin)),
                Lit::Int(now()),
            ],
        )?;
        let rows = t.d1(asql::USER_ID_BY_LOGIN, &[Lit::Text(login)])?;
        let id = rows
            .first()
            .and_then(|r| i(r, "id"))
            .ok_or("the user could not be created")?;
        Ok((id, true))
    }

    /// The registry's public address, for links.
    fn base_url(t: &Target, url: Option<String>) -> String {
        if let Some(u) = url.or_else(|| std::env::var("REGISTRY_URL").ok()) {
            return u.trim_end_matches('/').to_string();
        }
        if t.remote {
            let conf =
                std::fs::read_to_string(format!("{}/wrangler.toml", t.root)).unwrap_or_default();
            if let Some(v) = conf
                .lines()
                .find_map(|l| l.trim().strip_prefix("PUBLIC_URL"))
                .and_then(|l| l.split('"').nth(1))
                .filter(|v| !v.is_empty())
            {
                return v.trim_end_matches('/').to_string();
            }
            return "https://<your registry>".into();
        }
        format!(
            "http://127.0.0.1:{}",
            std::env::var("PORT").unwrap_or_else(|_| "8787".into())
        )
    }

    /// Prints a one-time link that sets the user's password and signs in.
    fn print_link(
        t: &Target,
        user_id: i64,
        login: &str,
        url: Option<String>,
    ) -> Result<(), String> {
        let mut random = [0u8; 24];
        getrandom::fill(&mut random).map_err(|e| format!("no randomness: {e}"))?;
        let secret = edge_registry::protocol::index::to_hex(&random);
        let expires = now() + 7 * 86_400;
        t.d1(
            sql::INSERT_LINK,
            &[
                Lit::Text(&hash_token(&secret)),
                Lit::Int(user_id),
                Lit::Text("password"),
                Lit::Null,
                Lit::Int(now()),
                Lit::Int(expires),
            ],
        )?;
        println!(
            "One-time link for `{login}` to set a password and sign in (valid until {}):",
            format_utc(expires)
        );
        println!("{}/set-password#secret={secret}", base_url(t, url));
        Ok(())
    }

    fn user_add(t: &Target, mut args: Vec<String>) -> Result<(), String> {
        let admin = flag(&mut args, "--admin");
        let url = option(&mut args, "--url")?;
        let [login] = args.as_slice() else {
            return Err(USAGE.into());
        };
        let (id, created) = ensure_user(t, login, admin)?;
        if !created && admin {
            t.d1(asql::MAKE_ADMIN, &[Lit::Int(id)])?;
        }
        let role = if admin { "administrator" } else { "user" };
        if created {
            println!("created {role} `{login}` (id {id})");
        } else if admin {
            println!("`{login}` (id {id}) exists and is now an administrator");
        } else {
            println!("`{login}` (id {id}) exists already");
        }
        print_link(t, id, login, url)
    }

    fn user_link(t: &Target, mut args: Vec<String>) -> Result<(), String> {
        let url = option(&mut args, "--url")?;
        let [login] = args.as_slice() else {
            return Err(USAGE.into());
        };
        let rows = t.d1(asql::USER_ID_BY_LOGIN, &[Lit::Text(login)])?;
        let id = rows
            .first()
            .and_then(|r| i(r, "id"))
            .ok_or_else(|| format!("no user `{login}`"))?;
        print_link(t, id, login, url)
    }

    fn token_create(t: &Target, mut args: Vec<String>) -> Result<(), String> {
        let name = option(&mut args, "--name")?.unwrap_or_else(|| "cli".into());
        let scopes = match option(&mut args, "--scopes")? {
            Some(s) => Scopes::parse(&s)?,
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
        // The service's rules for every token (name, patterns, expiry).
        let expires = tokens::expiry_in_days(days, now()).map_err(|e| e.detail())?;
        let request = tokens::TokenRequest {
            name: &name,
            scopes,
            patterns: &patterns,
            expires_at: expires,
        };
        let patterns = tokens::check(&request, now()).map_err(|e| e.detail())?;
        let name = request.name.trim().to_string();
        let scopes = request.scopes;
        let (token, pattern_text) = issue_token(t, login, &name, &scopes, &patterns, expires)?;
        println!(
            "created token `{name}` for `{login}`; scopes: {}; crates: {}; expires: {}",
            scopes.to_list_string(),
            if pattern_text.is_empty() {
                "all"
            } else {
                &pattern_text
            },
            expires.map(format_utc).unwrap_or_else(|| "never".into())
        );
        println!("It is shown only this once:");
        println!("{token}");
        Ok(())
    }

    /// Stores a new token for `login` (created if missing); returns the
    /// token and its crate patterns as text.
    fn issue_token(
        t: &Target,
        login: &str,
        name: &str,
        scopes: &Scopes,
        patterns: &[edge_registry::auth::CratePattern],
        expires: Option<i64>,
    ) -> Result<(String, String), String> {
        let (user_id, created) = ensure_user(t, login, false)?;
        if created {
            println!("created user `{login}` (id {user_id})");
        }
        let mut random = [0u8; 20];
        getrandom::fill(&mut random).map_err(|e| format!("no randomness: {e}"))?;
        let token = new_token(&random);
        let pattern_text = patterns
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(",");
        t.d1(
            asql::INSERT_TOKEN,
            &[
                Lit::Int(user_id),
                Lit::Text(name),
                Lit::Text(&hash_token(&token)),
                Lit::Text(&token_hint(&token)),
                Lit::Text(&scopes.to_list_string()),
                Lit::Text(&pattern_text),
                Lit::Int(now()),
                expires.map(Lit::Int).unwrap_or(Lit::Null),
            ],
        )?;
        Ok((token, pattern_text))
    }

    /// Where `import` takes an existing token from: `--token-stdin` (the
    /// first line of standard input) or `REGISTRY_TOKEN`; `None` means
    /// "make a one-day token". `--token T` is refused: a command line is
    /// visible to every local user (`ps`, `/proc/*/cmdline`) and kept in
    /// shell history.
    fn import_token(
        args: &mut Vec<String>,
        env: Option<String>,
        stdin: impl std::io::BufRead,
    ) -> Result<Option<String>, String> {
        if args
            .iter()
            .any(|a| a == "--token" || a.starts_with("--token="))
        {
            return Err("--token is not accepted: a token on the command line is visible to other users of this machine and kept in shell history; set REGISTRY_TOKEN, or pipe it with --token-stdin".into());
        }
        let token = if flag(args, "--token-stdin") {
            use std::io::BufRead as _;
            let mut line = String::new();
            stdin
                .take(4096)
                .read_line(&mut line)
                .map_err(|e| format!("cannot read the token from standard input: {e}"))?;
            let line = line.trim();
            if line.is_empty() {
                return Err("--token-stdin: standard input holds no token".into());
            }
            Some(line.to_string())
        } else {
            env.map(|t| t.trim().to_string()).filter(|t| !t.is_empty())
        };
        if let Some(t) = &token
            && !t.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        {
            return Err("the token holds characters a token never has (check REGISTRY_TOKEN or standard input)".into());
        }
        Ok(token)
    }

    fn import_cmd(t: &Target, mut args: Vec<String>) -> Result<(), String> {
        let url = base_url(t, option(&mut args, "--url")?);
        let lockfile = option(&mut args, "--lockfile")?;
        let jobs = match option(&mut args, "--jobs")? {
            None => crate::import::DEFAULT_JOBS,
            Some(n) => match n.parse::<usize>() {
                Ok(n) if (1..=64).contains(&n) => n,
                _ => return Err(format!("--jobs takes a number from 1 to 64, not `{n}`")),
            },
        };
        let given = import_token(
            &mut args,
            std::env::var("REGISTRY_TOKEN").ok(),
            std::io::stdin().lock(),
        )?;
        let token = match given {
            Some(tok) => tok,
            None => {
                let scopes = Scopes::parse("read,publish-new,publish-update")?;
                let (tok, _) =
                    issue_token(t, "importer", "import", &scopes, &[], Some(now() + 86_400))?;
                eprintln!("publishing as user `importer` with a new one-day token");
                tok
            }
        };
        if let Some(bad) = args.iter().find(|a| a.starts_with('-')) {
            return Err(format!("unknown option {bad}\n{USAGE}"));
        }
        let source = match lockfile {
            Some(path) if args.is_empty() => crate::import::Source::Lockfile(path.into()),
            Some(_) => return Err("give either --lockfile or crate names, not both".into()),
            None => crate::import::Source::Specs(args),
        };
        use std::io::IsTerminal;
        let opts = crate::import::Options {
            source,
            url,
            token,
            progress: std::io::stderr().is_terminal(),
            jobs,
        };
        let s = crate::import::run(&opts)?;
        let secs = s.elapsed.as_secs_f64();
        println!(
            "imported {}, skipped {} (already present), failed {} in {secs:.1} s ({:.1} imports/s)",
            s.imported.len(),
            s.skipped.len(),
            s.failed.len(),
            s.imported.len() as f64 / secs.max(0.001)
        );
        for (id, why) in &s.failed {
            println!("  failed {id}: {why}");
        }
        if s.failed.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{} packages were not imported; fix the cause and run the same command again (finished ones are skipped)",
                s.failed.len()
            ))
        }
    }

    fn token_list(t: &Target, login: &str) -> Result<(), String> {
        let rows = t.d1(asql::TOKENS_OF_LOGIN, &[Lit::Text(login)])?;
        if rows.is_empty() {
            println!("no tokens for `{login}`");
            return Ok(());
        }
        println!(
            "{:<6} {:<20} {:<14} {:<48} {:<21} {:<21} {:<21} status",
            "id", "name", "hint", "scopes", "created", "last used", "expires"
        );
        let when = |v: Option<i64>| v.map(format_utc).unwrap_or_else(|| "-".into());
        for r in rows {
            let status = if i(&r, "revoked_at").is_some() {
                "revoked"
            } else if i(&r, "expires_at").is_some_and(|e| e <= now()) {
                "expired"
            } else {
                "active"
            };
            println!(
                "{:<6} {:<20} {:<14} {:<48} {:<21} {:<21} {:<21} {status}",
                i(&r, "id").unwrap_or(0),
                s(&r, "name"),
                s(&r, "hint"),
                s(&r, "scopes"),
                when(i(&r, "created_at")),
                when(i(&r, "last_used_at")),
                when(i(&r, "expires_at")),
            );
        }
        Ok(())
    }

    fn token_revoke(t: &Target, id: &str) -> Result<(), String> {
        let id: i64 = id
            .parse()
            .map_err(|_| "the token id must be a number (see `token list`)")?;
        let rows = t.d1(
            asql::REVOKE_TOKEN_RETURNING,
            &[Lit::Int(id), Lit::Int(now())],
        )?;
        if rows.is_empty() {
            return Err(format!("no active token with id {id}"));
        }
        println!(
            "revoked token {id}; running Workers stop accepting it within their token cache time (TOKEN_CACHE_SECS, 30 s by default)"
        );
        Ok(())
    }

    /// Every version of every crate, read in one statement, by crate.
    fn all_versions(
        t: &Target,
    ) -> Result<std::collections::HashMap<i64, Vec<VersionRecord>>, String> {
        let mut by_crate: std::collections::HashMap<i64, Vec<VersionRecord>> =
            std::collections::HashMap::new();
        for r in t.d1(asql::ALL_VERSIONS, &[])? {
            let v = version_row(&r, i(&r, "crate_id").unwrap_or(0));
            by_crate.entry(v.crate_id).or_default().push(v);
        }
        Ok(by_crate)
    }

    fn version_row(r: &Value, crate_id: i64) -> VersionRecord {
        VersionRecord {
            id: i(r, "id").unwrap_or(0),
            crate_id,
            num: s(r, "num"),
            num_no_build: s(r, "num_no_build"),
            cksum: s(r, "cksum"),
            yanked: i(r, "yanked").unwrap_or(0) != 0,
            pubtime: i(r, "pubtime").unwrap_or(0),
            entry: s(r, "entry"),
        }
    }

    fn versions_of(t: &Target, crate_id: i64) -> Result<Vec<VersionRecord>, String> {
        let rows = t.d1(sql::VERSIONS_OF_CRATE, &[Lit::Int(crate_id)])?;
        Ok(rows.iter().map(|r| version_row(r, crate_id)).collect())
    }

    fn bucket(t: &Target) -> String {
        let conf = std::fs::read_to_string(format!("{}/wrangler.toml", t.root)).unwrap_or_default();
        conf.lines()
            .find_map(|l| l.trim().strip_prefix("bucket_name"))
            .and_then(|l| l.split('"').nth(1))
            .unwrap_or("edge-registry-crates")
            .to_string()
    }

    /// Writes every table's rows (as JSON) and every `.crate` blob into a
    /// .tar.gz archive. Blobs pass through a private scratch directory
    /// (random name, mode 0700, removed on every exit); the archive is
    /// written beside `file` under a temporary name with mode 0600 and
    /// renamed into place only when complete.
    fn backup(t: &Target, file: &str) -> Result<(), String> {
        let scratch = ScratchDir::new("edge-registry-backup")?;
        // Every table and the blob list in one batch: one consistent state,
        // even while the registry is in use. Table names are the fixed list.
        let mut sqls: Vec<String> = archive::TABLES
            .iter()
            .map(|(t, _)| format!("SELECT * FROM {t} ORDER BY rowid"))
            .collect();
        sqls.push("SELECT DISTINCT cksum FROM versions".into());
        let mut results = t.d1_many(&sqls)?;
        let sums = results.pop().unwrap_or_default();
        let mut tables = serde_json::Map::new();
        for ((table, _), rows) in archive::TABLES.iter().zip(results) {
            println!("{table}: {} rows", rows.len());
            tables.insert((*table).to_string(), Value::Array(rows));
        }
        let database = serde_json::to_vec(&tables).map_err(|e| e.to_string())?;

        let target = std::path::Path::new(file);
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        let out_dir = ScratchDir::new_in(&parent, ".backup-partial")?;
        let partial = out_dir.join("archive.tar.gz");
        let out = {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&partial)
                .map_err(|e| format!("cannot create {}: {e}", partial.display()))?
        };
        let mut writer = archive::Writer::new(std::io::BufWriter::new(out));
        writer.start(&database)?;
        let bucket = bucket(t);
        for r in &sums {
            let ck = s(r, "cksum");
            if !ck.bytes().all(|b| b.is_ascii_hexdigit()) || ck.len() != 64 {
                return Err(format!(
                    "a version has the malformed checksum `{ck}`; backup aborted"
                ));
            }
            let blob = scratch.join(&format!("{ck}.crate"));
            let mut a: Vec<String> = vec!["r2".into(), "object".into(), "get".into()];
            a.push(format!("{bucket}/crates/{ck}.crate"));
            a.push("--file".into());
            a.push(blob.display().to_string());
            a.extend(t.location_args());
            t.wrangler(&a)?;
            let bytes = std::fs::read(&blob).map_err(|e| e.to_string())?;
            let _ = std::fs::remove_file(&blob);
            if edge_registry::protocol::index::sha256_hex(&bytes) != ck {
                return Err(format!(
                    "blob {ck} does not match its checksum; backup aborted"
                ));
            }
            writer.blob(&ck, &bytes)?;
        }
        println!("blobs: {} (checksums verified)", sums.len());
        let mut buffered = writer.finish()?;
        use std::io::Write;
        buffered
            .flush()
            .map_err(|e| format!("cannot write {}: {e}", partial.display()))?;
        let out = buffered
            .into_inner()
            .map_err(|e| format!("cannot write {}: {e}", partial.display()))?;
        out.sync_all()
            .map_err(|e| format!("cannot write {}: {e}", partial.display()))?;
        std::fs::rename(&partial, target)
            .map_err(|e| format!("cannot move the backup to {file}: {e}"))?;
        println!("backup written to {file} (mode 0600: it holds password and token hashes)");
        Ok(())
    }

    /// The SHA-256 of a file, read in pieces.
    fn file_sha256(file: &str) -> Result<String, String> {
        use sha2::Digest;
        use std::io::Read;
        let mut f = std::fs::File::open(file).map_err(|e| format!("cannot read {file}: {e}"))?;
        let mut hasher = sha2::Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = f
                .read(&mut buf)
                .map_err(|e| format!("cannot read {file}: {e}"))?;
            if n == 0 {
                break;
            }
            hasher.update(buf.get(..n).unwrap_or_default());
        }
        Ok(edge_registry::protocol::index::to_hex(&hasher.finalize()))
    }

    /// Restores a backup: refuses a non-empty registry without `--force`;
    /// reads and checks the whole archive (see `archive.rs`) before writing
    /// anything; then uploads the blobs (content-addressed, like a
    /// publish), inserts the rows in one D1 batch, and renders the index.
    fn restore(t: &Target, file: &str, force: bool) -> Result<(), String> {
        let refuse =
            |problem: String| format!("refusing to restore: {problem}; nothing was changed");
        let count = t.d1(
            "SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM crates) AS n",
            &[],
        )?;
        if !force && count.first().and_then(|r| i(r, "n")).unwrap_or(0) > 0 {
            return Err("this registry is not empty; restore into an empty one, or pass --force to merge into it".into());
        }
        let open = || {
            std::fs::File::open(file)
                .map(std::io::BufReader::new)
                .map_err(|e| format!("cannot read {file}: {e}"))
        };
        let scan = archive::scan(open()?).map_err(refuse)?;
        let archive_sha = file_sha256(file)?;
        let db = archive::parse_database(&scan.database).map_err(refuse)?;
        let plan = archive::check(db, &scan.blobs).map_err(refuse)?;
        let scratch = ScratchDir::new("edge-registry-restore")?;
        archive::extract_blobs(open()?, &plan.blobs, scratch.path()).map_err(refuse)?;
        let queries: Vec<String> = archive::Existing::QUERIES
            .iter()
            .map(|q| q.to_string())
            .collect();
        let existing = archive::Existing::from_rows(&t.d1_many(&queries)?);
        archive::check_against(&plan, &existing).map_err(refuse)?;

        // Everything is checked: blobs first (as a publish stores its blob
        // before its rows), then every row in one batch.
        let bucket = bucket(t);
        for ck in plan.blobs.keys() {
            let mut a: Vec<String> = vec![
                "r2".into(),
                "object".into(),
                "put".into(),
                format!("{bucket}/crates/{ck}.crate"),
            ];
            a.extend([
                "--file".into(),
                scratch.join(&format!("{ck}.crate")).display().to_string(),
            ]);
            a.extend(t.location_args());
            t.wrangler(&a)?;
        }
        let db = &plan.db;
        let note = format!(
            "backup sha256 {archive_sha}: {} users, {} tokens, {} crates, {} versions, {} audit rows",
            db.users.len(),
            db.tokens.len(),
            db.crates.len(),
            db.versions.len(),
            db.audit.len()
        );
        let sql_file = scratch.join("restore.sql");
        scratch::write_private(
            &sql_file,
            archive::restore_sql(&plan, now(), &note).as_bytes(),
        )?;
        let mut a: Vec<String> = vec![
            "d1".into(),
            "execute".into(),
            "DB".into(),
            "--file".into(),
            sql_file.display().to_string(),
        ];
        a.extend(t.location_args());
        t.wrangler(&a)?;
        drop(scratch);
        println!(
            "restored {} users, {} tokens, {} crates, {} versions, {} owners, {} audit rows and {} blobs (checksums verified); rendering the index",
            db.users.len(),
            db.tokens.len(),
            db.crates.len(),
            db.versions.len(),
            db.owners.len(),
            db.audit.len(),
            plan.blobs.len()
        );
        reindex(t, None)
    }

    /// Compares every crate's index file in KV with a fresh render from the
    /// database: missing, stale (ETag or, with `--deep`, bytes differ) or
    /// orphaned (no such crate). Exits non-zero when anything drifted.
    fn verify(t: &Target, deep: bool) -> Result<(), String> {
        // A registry in use has writes in flight: report only what is still
        // drifted when looked at again a moment later.
        let (checked, first) = verify_pass(t, deep)?;
        let drift = if first.is_empty() {
            first
        } else {
            std::thread::sleep(std::time::Duration::from_secs(2));
            let (_, second) = verify_pass(t, deep)?;
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
                if t.remote { " --remote" } else { "" }
            );
            std::process::exit(1);
        }
        Ok(())
    }

    /// One look at the drift: (crates checked, problems).
    fn verify_pass(t: &Target, deep: bool) -> Result<(usize, Vec<String>), String> {
        let crates = t.d1(sql::ALL_CRATES, &[])?;
        let mut a: Vec<String> = vec![
            "kv".into(),
            "key".into(),
            "list".into(),
            "--binding".into(),
            "INDEX".into(),
        ];
        a.extend(t.location_args());
        let listed: Value = serde_json::from_str(t.wrangler(&a)?.trim())
            .map_err(|e| format!("unexpected output from wrangler kv key list: {e}"))?;
        let keys = listed.as_array().cloned().unwrap_or_default();
        let etag_of = |key: &str| {
            keys.iter()
                .find(|k| k["name"] == key)
                .map(|k| k["metadata"]["etag"].as_str().map(str::to_string))
        };
        let mut drift: Vec<String> = Vec::new();
        let mut expected_keys = Vec::new();
        let versions = all_versions(t)?;
        // With --deep, every stored file in one `kv bulk get`.
        let stored: Option<Value> = if deep {
            let names: Vec<&str> = keys.iter().filter_map(|k| k["name"].as_str()).collect();
            let scratch = ScratchDir::new("edge-registry-verify")?;
            let file = scratch.join("keys.json");
            scratch::write_private(
                &file,
                &serde_json::to_vec(&names).map_err(|e| e.to_string())?,
            )?;
            let mut g: Vec<String> = vec!["kv".into(), "bulk".into(), "get".into()];
            g.push(file.display().to_string());
            g.extend(["--binding".into(), "INDEX".into()]);
            g.extend(t.location_args());
            let out = t.wrangler(&g);
            drop(scratch);
            Some(
                serde_json::from_str(out?.trim())
                    .map_err(|e| format!("unexpected output from wrangler kv bulk get: {e}"))?,
            )
        } else {
            None
        };
        let none = Vec::new();
        for c in &crates {
            let (Some(id), name) = (i(c, "id"), s(c, "name")) else {
                continue;
            };
            let key =
                index_path(&name).ok_or_else(|| format!("crate `{name}` has no index path"))?;
            let (rendered, _) = render_versions(versions.get(&id).unwrap_or(&none))
                .map_err(|e| format!("{e:?}"))?;
            expected_keys.push(key.clone());
            let problem = match etag_of(&key) {
                None => Some("missing from the index store".to_string()),
                Some(None) => {
                    Some("has no ETag metadata (not written by the registry)".to_string())
                }
                Some(Some(etag)) if etag != rendered.etag => Some(format!(
                    "is stale (ETag {etag}, expected {})",
                    rendered.etag
                )),
                Some(Some(_)) if deep => {
                    let body = stored
                        .as_ref()
                        .and_then(|m| m[key.as_str()]["value"].as_str());
                    (body != Some(rendered.body.as_str()))
                        .then(|| "has the right ETag but different bytes".to_string())
                }
                Some(Some(_)) => None,
            };
            if let Some(p) = problem {
                drift.push(format!("`{name}` ({key}) {p}"));
            }
        }
        for k in &keys {
            let name = k["name"].as_str().unwrap_or("");
            if !expected_keys.iter().any(|e| e == name) {
                drift.push(format!(
                    "{name} is in the index store but no crate has that path"
                ));
            }
        }
        Ok((crates.len(), drift))
    }

    fn reindex(t: &Target, only: Option<&str>) -> Result<(), String> {
        let crates = match only {
            Some(name) => t.d1(sql::CRATE_BY_CANON, &[Lit::Text(&canonical(name))])?,
            None => t.d1(sql::ALL_CRATES, &[])?,
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
        let mut bulk = Vec::new();
        let mut marks = Vec::new();
        let mut versions = match only {
            Some(_) => std::collections::HashMap::new(),
            None => all_versions(t)?,
        };
        for c in &crates {
            let (Some(id), Some(rev)) = (i(c, "id"), i(c, "rev")) else {
                continue;
            };
            let name = s(c, "name");
            let key =
                index_path(&name).ok_or_else(|| format!("crate `{name}` has no index path"))?;
            let vs = match versions.remove(&id) {
                Some(v) => v,
                None if only.is_some() => versions_of(t, id)?,
                None => Vec::new(),
            };
            let (rendered, max) = render_versions(&vs).map_err(|e| format!("{e:?}"))?;
            bulk.push(serde_json::json!({
                "key": key,
                "value": rendered.body,
                "metadata": {"etag": rendered.etag, "rev": rev},
            }));
            marks.push((id, rev, max, name));
        }
        let scratch = ScratchDir::new("edge-registry-reindex")?;
        let file = scratch.join("bulk.json");
        scratch::write_private(
            &file,
            &serde_json::to_vec(&bulk).map_err(|e| e.to_string())?,
        )?;
        let mut a: Vec<String> = vec!["kv".into(), "bulk".into(), "put".into()];
        a.push(file.display().to_string());
        a.extend(["--binding".into(), "INDEX".into()]);
        a.extend(t.location_args());
        let res = t.wrangler(&a);
        drop(scratch);
        res?;
        for (id, rev, max, name) in marks {
            t.d1(
                sql::MARK_INDEXED,
                &[
                    Lit::Int(id),
                    Lit::Int(rev),
                    max.as_deref().map(Lit::Text).unwrap_or(Lit::Null),
                ],
            )?;
            let now_rev = t
                .d1(sql::CRATE_REV, &[Lit::Int(id)])?
                .first()
                .and_then(|r| i(r, "rev"));
            if now_rev != Some(rev) {
                println!(
                    "`{name}` changed while reindexing; its next change or `reindex {name}` renders it again"
                );
            }
            println!("reindexed `{name}`");
        }
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn bind_quotes_and_orders() {
            let sql = bind(
                "SELECT ?1, ?10, ?2",
                &[
                    Lit::Text("it's ?2"),
                    Lit::Int(2),
                    Lit::Null,
                    Lit::Null,
                    Lit::Null,
                    Lit::Null,
                    Lit::Null,
                    Lit::Null,
                    Lit::Null,
                    Lit::Int(10),
                ],
            );
            assert_eq!(sql, "SELECT 'it''s ?2', 10, 2");
        }

        #[test]
        fn import_takes_tokens_only_from_the_environment_or_stdin() {
            let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
            let refused = "--token is not accepted: a token on the command line is visible to other users of this machine and kept in shell history; set REGISTRY_TOKEN, or pipe it with --token-stdin";
            for a in [
                &["--token", "cfreg_x", "serde"][..],
                &["serde", "--token=cfreg_x"],
            ] {
                let mut a = args(a);
                assert_eq!(
                    import_token(&mut a, Some("env".into()), &b""[..]).unwrap_err(),
                    refused
                );
            }
            let mut a = args(&["--token-stdin", "serde"]);
            assert_eq!(
                import_token(&mut a, Some("env".into()), &b"cfreg_abc\nrest"[..]).unwrap(),
                Some("cfreg_abc".into())
            );
            assert_eq!(a, args(&["serde"]));
            let mut a = args(&["--token-stdin"]);
            assert_eq!(
                import_token(&mut a, None, &b"\n"[..]).unwrap_err(),
                "--token-stdin: standard input holds no token"
            );
            let mut a = args(&["serde"]);
            assert_eq!(
                import_token(&mut a, Some("cfreg_env\n".into()), &b""[..]).unwrap(),
                Some("cfreg_env".into())
            );
            assert_eq!(import_token(&mut a, None, &b""[..]).unwrap(), None);
            assert!(import_token(&mut a, Some("a\rb".into()), &b""[..]).is_err());
        }

        #[test]
        fn text_wrangler_would_edit_is_sent_as_hex() {
            // wrangler deletes the first `COMMIT;` / `BEGIN TRANSACTION;`
            // anywhere in the SQL, string literals included.
            for s in [
                "x COMMIT; y",
                "BEGIN TRANSACTION; z",
                "BEGIN TRANSACTION",
                "a\0b",
            ] {
                let sql = bind("SELECT ?1", &[Lit::Text(s)]);
                assert_eq!(
                    sql,
                    format!(
                        "SELECT CAST(X'{}' AS TEXT)",
                        edge_registry::protocol::index::to_hex(s.as_bytes())
                    )
                );
                assert!(!sql.contains("COMMIT;") && !sql.contains("BEGIN TRANSACTION"));
            }
            assert_eq!(bind("SELECT ?1", &[Lit::Text("commit")]), "SELECT 'commit'");
        }
    }
}
