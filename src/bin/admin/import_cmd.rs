//! `scripts/admin import`: its options and where its token comes from;
//! the copying itself is `import`.

use edge_registry::auth::Scopes;

use crate::cli::{Target, USAGE, base_url, flag, option, registry};
use crate::commands;

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
        return Err(
            "the token holds characters a token never has (check REGISTRY_TOKEN or standard input)"
                .into(),
        );
    }
    Ok(token)
}

pub fn run(t: &Target, mut args: Vec<String>) -> Result<(), String> {
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
                    scopes: Scopes::parse("read,publish-new,publish-update")
                        .map_err(|e| e.to_string())?,
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
