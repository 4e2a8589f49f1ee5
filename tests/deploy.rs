//! Deployment: the bundle `wrangler deploy` would upload builds and binds
//! every resource, and `scripts/setup-cloudflare` records the ids it gets
//! from wrangler (checked against a stand-in wrangler, since no Cloudflare
//! account is reachable here). Needs the Worker built; run by scripts/test.

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
#[ignore = "needs the built Worker and wrangler; run by scripts/test"]
fn deploy_bundle_builds_with_every_binding() {
    let out_dir = root().join("target/deploy-bundle");
    let _ = std::fs::remove_dir_all(&out_dir);
    let out = Command::new(root().join("node_modules/.bin/wrangler"))
        .args(["deploy", "--dry-run", "--outdir"])
        .arg(&out_dir)
        .current_dir(root())
        .env("SKIP_BUILD", "1")
        .env("WRANGLER_SEND_METRICS", "false")
        .output()
        .expect("wrangler runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "dry run failed:\n{text}");
    for binding in ["env.DB", "env.INDEX", "env.CRATES"] {
        assert!(text.contains(binding), "{binding} missing from:\n{text}");
    }
    // The pages are compiled into the Worker: no asset binding (and so no
    // asset router in front of every request).
    assert!(
        !text.contains("env.ASSETS"),
        "unexpected asset binding:\n{text}"
    );
    let files: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(files.iter().any(|f| f == "index.js"), "{files:?}");
    let wasm = files
        .iter()
        .find(|f| f.ends_with(".wasm"))
        .unwrap_or_else(|| panic!("no wasm in {files:?}"));
    let size = std::fs::metadata(out_dir.join(wasm)).unwrap().len();
    assert!(size > 100_000 && size < 3_000_000, "wasm size {size}");
    println!("deploy bundle: {wasm} {size} bytes");
}

#[test]
#[ignore = "needs Node 22; run by scripts/test"]
fn setup_script_records_resource_ids() {
    let dir = root().join("target/setup-test");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("wrangler.toml");
    std::fs::copy(root().join("wrangler.toml"), &conf).unwrap();
    let calls = dir.join("calls.log");
    // A stand-in wrangler answering as wrangler 4 does.
    let stub = dir.join("wrangler");
    std::fs::write(
        &stub,
        format!(
            r#"#!/usr/bin/env bash
echo "$*" >> {calls}
case "$*" in
  *"kv namespace create INDEX"*) printf '✨ Success!\n{{\n  "kv_namespaces": [\n    {{ "binding": "INDEX", "id": "0123456789abcdef0123456789abcdef" }}\n  ]\n}}\n' ;;
  *"r2 bucket create"*) echo "Created bucket 'edge-registry-crates'" ;;
  *"d1 create"*) printf '✅ Successfully created DB\n{{\n  "d1_databases": [\n    {{ "binding": "DB", "database_name": "edge-registry", "database_id": "11111111-2222-3333-4444-555555555555" }}\n  ]\n}}\n' ;;
  *"d1 migrations apply DB --remote"*) echo "migrations applied" ;;
  *"secret put ADMIN_TOKEN"*) cat > {secret} ;;
  *) echo "unexpected: $*" >&2; exit 1 ;;
esac
"#,
            calls = calls.display(),
            secret = dir.join("secret.txt").display()
        ),
    )
    .unwrap();
    Command::new("chmod").arg("+x").arg(&stub).status().unwrap();
    let run_with = |args: &[&str]| {
        Command::new(root().join("scripts/setup-cloudflare"))
            .args(args)
            .env("WRANGLER", &stub)
            .env("WRANGLER_TOML", &conf)
            .env("ADMIN_TOKEN_FILE", dir.join("admin-token"))
            .env_remove("PUBLIC_URL")
            .output()
            .unwrap()
    };
    let run = || run_with(&[]);
    let out = run();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Warning: PUBLIC_URL is empty"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let toml = std::fs::read_to_string(&conf).unwrap();
    assert!(
        toml.contains("id = \"0123456789abcdef0123456789abcdef\""),
        "{toml}"
    );
    assert!(
        toml.contains("database_id = \"11111111-2222-3333-4444-555555555555\""),
        "{toml}"
    );
    let log = std::fs::read_to_string(&calls).unwrap();
    assert!(log.contains("d1 migrations apply DB --remote"), "{log}");
    // The admin token: set as the Worker secret through stdin, kept in a
    // 0600 file, never on a command line.
    let kept = std::fs::read_to_string(dir.join("admin-token")).unwrap();
    let kept = kept.trim();
    assert_eq!(kept.len(), 64, "{kept}");
    assert!(kept.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(
        std::fs::read_to_string(dir.join("secret.txt")).unwrap(),
        kept
    );
    assert!(!log.contains(kept), "{log}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.join("admin-token"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // Running it again reuses the recorded ids.
    std::fs::remove_file(&calls).unwrap();
    let out = run();
    assert!(out.status.success());
    let log = std::fs::read_to_string(&calls).unwrap();
    assert!(
        !log.contains("kv namespace create")
            && !log.contains("d1 create")
            && !log.contains("secret put"),
        "{log}"
    );
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), toml);

    // --public-url takes only an https origin, parsed as a URL.
    for bad in [
        "http://crates.example.com",
        "https://crates.example.com/path",
        "https://user@crates.example.com",
        "crates.example.com",
    ] {
        let out = run_with(&["--public-url", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).trim(),
            format!(
                "--public-url must be an https origin such as https://crates.example.com (no path, query or user), not: {bad}"
            )
        );
        assert_eq!(std::fs::read_to_string(&conf).unwrap(), toml, "{bad}");
    }
    let out = run_with(&["--public-url", "https://Crates.Example.com/"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("Warning"));
    let set = std::fs::read_to_string(&conf).unwrap();
    assert_eq!(
        set,
        toml.replace(
            "PUBLIC_URL = \"\"",
            "PUBLIC_URL = \"https://crates.example.com\""
        )
    );
}
