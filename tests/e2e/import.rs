//! `scripts/admin import` end to end: this project's own `Cargo.lock` (a
//! real lockfile of well over 100 crates.io packages) is imported into the
//! registry under `wrangler dev`; a consumer that replaces crates.io with the
//! registry then resolves the same graph, fetches every `.crate` with the
//! same checksums, and builds a small program, from the registry alone.

use super::*;

/// `name version checksum` of every crates.io package in a lockfile.
fn registry_packages(lock: &str) -> Vec<String> {
    let mut v: Vec<String> = edge_registry::import::lockfile::parse(lock)
        .unwrap()
        .into_iter()
        .filter(|p| p.is_crates_io())
        .map(|p| {
            format!(
                "{} {} {}",
                p.name,
                p.version,
                p.checksum.unwrap_or_default()
            )
        })
        .collect();
    v.sort();
    v
}

fn run_import(base: &str, state: &Path, extra: &[&str]) -> Output {
    Command::new(root().join("scripts/admin"))
        .args(["import", "--lockfile", "Cargo.lock", "--url", base])
        .args(extra)
        .current_dir(root())
        .env("STATE_DIR", state)
        .output()
        .expect("scripts/admin runs")
}

fn import(base: &str, state: &Path, extra: &[&str]) -> String {
    let out = run_import(base, state, extra);
    let text = both(&out);
    assert!(out.status.success(), "import failed:\n{text}");
    text
}

/// (imported, skipped, failed) from the summary line.
fn counts(text: &str) -> (usize, usize, usize) {
    let line = text
        .lines()
        .find(|l| l.starts_with("imported "))
        .unwrap_or_else(|| panic!("no summary:\n{text}"));
    let nums: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    (nums[0], nums[1], nums[2])
}

/// An index line with the fields cargo resolves on, comparable between
/// registries: features merged, dependencies as a sorted set, and a
/// dependency's registry dropped (crates.io lines leave it out because it
/// is their own; ours name crates.io, which source replacement maps back)
/// and a null `package` treated as absent.
fn comparable(line: &serde_json::Value) -> serde_json::Value {
    let mut features = line["features"].as_object().cloned().unwrap_or_default();
    if let Some(f2) = line["features2"].as_object() {
        features.extend(f2.clone());
    }
    let mut deps: Vec<String> = line["deps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let mut d = d.clone();
            let o = d.as_object_mut().unwrap();
            o.remove("registry");
            // `"package": null` (ours) and no `package` (crates.io) agree.
            if o.get("package").is_some_and(serde_json::Value::is_null) {
                o.remove("package");
            }
            d.to_string()
        })
        .collect();
    deps.sort();
    serde_json::json!({
        "name": line["name"], "vers": line["vers"], "cksum": line["cksum"],
        "features": features, "deps": deps, "links": line["links"],
        "rust_version": line["rust_version"],
    })
}

#[test]
#[ignore = "needs wrangler dev and crates.io; run by scripts/test"]
fn imported_lockfile_serves_a_source_replaced_consumer() {
    // Its own registry, so the shared one stays small for the other tests.
    srv();
    let state = work().join("import-state");
    let base = spawn_registry(&state);
    let reader = {
        let out = Command::new(root().join("scripts/admin"))
            .args(["token", "create", "import-reader", "--scopes", "read"])
            .env("STATE_DIR", &state)
            .output()
            .expect("scripts/admin runs");
        assert!(out.status.success(), "{}", both(&out));
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap()
            .trim()
            .to_string()
    };
    let ours = registry_packages(&std::fs::read_to_string(root().join("Cargo.lock")).unwrap());
    assert!(
        ours.len() >= 100,
        "a real lockfile of 100+ crates: {}",
        ours.len()
    );

    for bad in ["0", "65", "many"] {
        let out = run_import(&base, &state, &["--jobs", bad]);
        assert!(!out.status.success(), "--jobs {bad} accepted");
        assert!(
            both(&out).contains("--jobs takes a number from 1 to 64"),
            "{}",
            both(&out)
        );
    }
    // Publishes run 4 at a time within each dependency level (the default).
    let first = import(&base, &state, &[]);
    let (imported, skipped, failed) = counts(&first);
    assert_eq!(failed, 0, "{first}");
    assert_eq!(skipped, 0, "the refused runs imported nothing: {first}");
    assert!(imported >= ours.len(), "{first}");
    // Idempotent: a second run, one at a time, finds everything present.
    let again = import(&base, &state, &["--jobs", "1"]);
    assert_eq!(counts(&again), (0, imported + skipped, 0), "{again}");

    // Fidelity: the lines cargo resolves on match crates.io's own index
    // for crates exercising targets, renames, features2, links and
    // build metadata.
    for name in [
        "serde_json",
        "windows-sys",
        "web-sys",
        "toml",
        "getrandom",
        "flate2",
    ] {
        let path = edge_registry::protocol::names::index_path(name).unwrap();
        let (st, _, theirs) = curl(&[&format!("https://index.crates.io/{path}")]);
        assert_eq!(st, 200, "crates.io index of {name}");
        let (st, _, mine) = curl(&[
            "-H",
            &format!("Authorization: {reader}"),
            &format!("{base}/index/{path}"),
        ]);
        assert_eq!(st, 200, "our index of {name}");
        for line in mine.lines() {
            let m: serde_json::Value = serde_json::from_str(line).unwrap();
            let t = theirs
                .lines()
                .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
                .find(|t| t["vers"] == m["vers"])
                .unwrap_or_else(|| panic!("{name} {} not on crates.io", m["vers"]));
            assert_eq!(comparable(&m), comparable(&t), "{name} {}", m["vers"]);
        }
    }

    // A consumer with crates.io replaced by the registry and an empty
    // CARGO_HOME: resolving this project's dependencies from scratch finds
    // exactly the imported graph, and every download matches its checksum.
    let c = Cargo::for_base(
        &base,
        "replaced",
        Some(&reader),
        "credential-provider = \"cargo:token\"\n[source.crates-io]\nreplace-with = \"local\"\n",
    );
    let big = work().join("import-big");
    std::fs::create_dir_all(big.join("src")).unwrap();
    std::fs::copy(root().join("Cargo.toml"), big.join("Cargo.toml")).unwrap();
    std::fs::write(big.join("src/lib.rs"), "").unwrap();
    c.ok(&big, &["generate-lockfile"]);
    let resolved = registry_packages(&std::fs::read_to_string(big.join("Cargo.lock")).unwrap());
    assert_eq!(resolved, ours, "the registry alone resolves the same graph");
    let fetched = c.ok(&big, &["fetch"]);
    assert!(fetched.contains("(registry `local`)"), "{fetched}");

    // And a small program builds and runs against it.
    let small = package(
        "import-small",
        "[package]\nname = \"import-small\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nserde_json = \"1\"\nsemver = \"1\"\n",
        &[(
            "src/main.rs",
            "fn main() { let v: serde_json::Value = serde_json::from_str(\"[1,2]\").unwrap(); println!(\"{v} {}\", semver::Version::parse(\"1.2.3\").unwrap()); }",
        )],
    );
    let out = c.ok(&small, &["run", "-q"]);
    assert!(out.contains("[1,2] 1.2.3"), "{out}");
}
