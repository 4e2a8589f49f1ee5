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
#[path = "admin/connect.rs"]
mod connect;

#[cfg(not(target_arch = "wasm32"))]
#[path = "admin/commands.rs"]
mod commands;

#[cfg(not(target_arch = "wasm32"))]
mod cli {
    use std::process::Command;

    use edge_registry::auth::Scopes;
    use serde_json::Value;

    use crate::archive;
    use crate::commands::{self, Registry};
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
            ["user", "add", ..] => {
                let mut a = args[2..].to_vec();
                let admin = flag(&mut a, "--admin");
                let url = option(&mut a, "--url")?;
                let [login] = a.as_slice() else {
                    return Err(USAGE.into());
                };
                commands::user_add(&registry(&t, url)?, login, admin)
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
            ["backup", file] => backup(&t, file),
            ["restore", file] => restore(&t, file, false),
            ["restore", file, "--force"] | ["restore", "--force", file] => restore(&t, file, true),
            ["verify"] => verify(&t, false),
            ["verify", "--deep"] => verify(&t, true),
            ["import", ..] => import_cmd(&t, args[1..].to_vec()),
            ["reindex"] => commands::reindex(&registry(&t, None)?, None),
            ["reindex", name] => commands::reindex(&registry(&t, None)?, Some(name)),
            _ => Err(USAGE.into()),
        }
    }

    /// The registry the command acts on, through its admin API; one-time
    /// links point at `link_url` when given.
    fn registry(t: &Target, link_url: Option<String>) -> Result<Registry, String> {
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
        let conf = std::fs::read_to_string(format!("{}/wrangler.toml", t.root)).unwrap_or_default();
        conf.lines()
            .find_map(|l| l.trim().strip_prefix("PUBLIC_URL"))
            .and_then(|l| l.split('"').nth(1))
            .filter(|v| !v.is_empty())
            .map(|v| v.trim_end_matches('/').to_string())
    }

    /// The registry's public address, for links and `import`.
    fn base_url(t: &Target, url: Option<String>) -> Option<String> {
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
        let url = base_url(t, option(&mut args, "--url")?).unwrap_or_else(|| {
            format!(
                "http://127.0.0.1:{}",
                std::env::var("PORT").unwrap_or_else(|_| "8787".into())
            )
        });
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
                let tok = commands::issue(
                    &registry(t, None)?,
                    &commands::NewToken {
                        login: "importer",
                        name: "import",
                        scopes: Scopes::parse("read,publish-new,publish-update")?,
                        patterns: "",
                        days: Some(1),
                    },
                )?;
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
        commands::reindex(&registry(t, None)?, None)
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
