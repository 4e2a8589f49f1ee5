//! `scripts/admin import`: copies crates from crates.io into the registry.
//! Resolves the closure with cargo (in a scratch package), fetches the
//! `.crate` files with `cargo fetch` (so only the package registry is
//! contacted and cargo's cache is reused), and publishes each package, its
//! dependencies first, through the registry's own publish API, several at
//! a time within each dependency level. Versions
//! already present with the same checksum are skipped, so a run can be
//! repeated or resumed at any time.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use edge_registry::import::lockfile::{self, Locked};
use edge_registry::import::{crate_file, manifest};
use edge_registry::protocol::index::sha256_hex;
use edge_registry::protocol::names::index_path;
use edge_registry::protocol::version::printable;

use crate::scratch::ScratchDir;

/// What to import.
pub enum Source {
    /// `name` or `name@requirement`, resolved with default features.
    Specs(Vec<String>),
    /// Exactly the crates.io packages of this lockfile.
    Lockfile(PathBuf),
}

pub struct Options {
    pub source: Source,
    /// The registry's base URL (`http://127.0.0.1:8787`).
    pub url: String,
    /// A token with publish-new, publish-update and read scopes.
    pub token: String,
    /// Show a progress bar (a terminal) or plain lines.
    pub progress: bool,
    /// Publishes in flight at once (at least 1).
    pub jobs: usize,
}

/// Default for `--jobs`: the registry takes concurrent publishes, and
/// four keep a local `wrangler dev` busy without queueing behind it.
pub const DEFAULT_JOBS: usize = 4;

/// How each package ended.
#[derive(Default)]
pub struct Summary {
    pub imported: Vec<String>,
    pub skipped: Vec<String>,
    pub failed: Vec<(String, String)>,
    pub elapsed: Duration,
}

/// Runs an import; `Err` only when nothing could be attempted.
pub fn run(opts: &Options) -> Result<Summary, String> {
    // A private directory of its own: cargo reads the manifest written
    // there, so nobody else may prepare or change it.
    let work = ScratchDir::new("edge-registry-import")?;
    run_in(opts, work.path())
}

fn run_in(opts: &Options, work: &Path) -> Result<Summary, String> {
    let started = Instant::now();
    let mut summary = Summary::default();
    std::fs::create_dir_all(work.join("src")).map_err(|e| format!("scratch dir: {e}"))?;
    std::fs::write(work.join("src/lib.rs"), "").map_err(|e| format!("scratch dir: {e}"))?;
    let deps = match &opts.source {
        Source::Specs(specs) => specs
            .iter()
            .map(|s| spec_dep(s))
            .collect::<Result<Vec<_>, _>>()?,
        Source::Lockfile(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let locked = lockfile::parse(&text)?;
            for p in locked
                .iter()
                .filter(|p| p.source.is_some() && !p.is_crates_io())
            {
                summary.failed.push((
                    p.id(),
                    "not from crates.io (git or another registry)".into(),
                ));
            }
            let deps = locked
                .iter()
                .filter(|p| p.is_crates_io())
                .map(locked_dep)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("refusing {}: {e}", path.display()))?;
            std::fs::write(work.join("Cargo.lock"), &text)
                .map_err(|e| format!("scratch dir: {e}"))?;
            deps
        }
    };
    if deps.is_empty() {
        return Err("nothing to import: name crates (`serde@1`) or give --lockfile".into());
    }
    std::fs::write(work.join("Cargo.toml"), scratch_manifest(&deps)?)
        .map_err(|e| format!("scratch dir: {e}"))?;

    eprintln!("resolving and fetching with cargo…");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["fetch", "--manifest-path"])
        .arg(work.join("Cargo.toml"))
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err("cargo could not resolve or fetch the crates (see above)".into());
    }
    let resolved = lockfile::parse(
        &std::fs::read_to_string(work.join("Cargo.lock"))
            .map_err(|e| format!("cargo wrote no lockfile: {e}"))?,
    )?;
    let packages: Vec<Locked> = resolved.into_iter().filter(Locked::is_crates_io).collect();
    let levels = lockfile::dependency_levels(&packages);
    let caches = cache_dirs()?;
    let registry = Registry::new(&opts.url, &opts.token);
    let present = registry.present(&packages)?;
    let ctx = Ctx {
        caches,
        registry,
        present,
        all: &packages,
    };

    let bar = progress_bar(opts.progress, packages.len());
    let mut failed_ids: HashSet<String> = HashSet::new();
    for level in &levels {
        let mut failed_here = Vec::new();
        import_level(level, opts.jobs, &ctx, &failed_ids, |p, outcome| {
            match outcome {
                Outcome::Imported => summary.imported.push(p.id()),
                Outcome::Skipped => summary.skipped.push(p.id()),
                Outcome::Failed(why) => {
                    bar.println(format!("failed {}: {why}", p.id()));
                    failed_here.push(p.id());
                    summary.failed.push((p.id(), why));
                }
            }
            bar.set_message(p.id());
            bar.set_prefix(format!(
                "imported {} skipped {} failed {}",
                summary.imported.len(),
                summary.skipped.len(),
                summary.failed.len()
            ));
            bar.inc(1);
            let done = bar.position();
            if !opts.progress && (done.is_multiple_of(25) || done == packages.len() as u64) {
                // No terminal: a plain progress line now and then.
                eprintln!("{done}/{} {}", packages.len(), bar.prefix());
            }
        });
        // Dependents (in later levels) of a failure are not published.
        failed_ids.extend(failed_here);
    }
    bar.finish_and_clear();
    summary.elapsed = started.elapsed();
    Ok(summary)
}

fn progress_bar(visible: bool, len: usize) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len as u64);
    if !visible {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        return bar;
    }
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{elapsed_precise} [{bar:30}] {pos}/{len} {per_sec} {prefix} {wide_msg}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// One dependency of the scratch package cargo resolves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScratchDep {
    pub package: String,
    pub req: String,
    pub default_features: bool,
}

/// `name[@req]` from the command line: a valid name and requirement.
fn spec_dep(spec: &str) -> Result<ScratchDep, String> {
    let (name, req) = spec.split_once('@').unwrap_or((spec, "*"));
    edge_registry::protocol::names::validate_dependency_name(name)
        .map_err(|e| format!("`{}`: {e}", printable(spec)))?;
    semver::VersionReq::parse(req).map_err(|e| format!("`{}`: {e}", printable(spec)))?;
    Ok(ScratchDep {
        package: name.to_string(),
        req: req.to_string(),
        default_features: true,
    })
}

/// A crates.io package of a lockfile, pinned exactly: its name must be a
/// crate name and its version a semver version (a lockfile is input, not
/// trusted).
fn locked_dep(p: &Locked) -> Result<ScratchDep, String> {
    edge_registry::protocol::names::validate_dependency_name(&p.name)
        .map_err(|e| format!("a package has an {e}"))?;
    let v = edge_registry::protocol::version::parse_version(&p.version)
        .map_err(|e| format!("package `{}` has an invalid version: {e}", p.name))?;
    // Build metadata is ignored in requirements (and warned about).
    Ok(ScratchDep {
        package: p.name.clone(),
        req: format!("={}", v.no_build),
        default_features: false,
    })
}

/// The scratch package's `Cargo.toml`, written by toml's serialiser so no
/// value can become a key, a table or another dependency source.
pub fn scratch_manifest(deps: &[ScratchDep]) -> Result<String, String> {
    use toml::{Table, Value};
    let mut package = Table::new();
    package.insert("name".into(), Value::from("edge-registry-import"));
    package.insert("version".into(), Value::from("0.0.0"));
    package.insert("edition".into(), Value::from("2021"));
    package.insert("publish".into(), Value::from(false));
    let mut dependencies = Table::new();
    for (i, d) in deps.iter().enumerate() {
        let mut dep = Table::new();
        dep.insert("package".into(), Value::from(d.package.as_str()));
        dep.insert("version".into(), Value::from(d.req.as_str()));
        if !d.default_features {
            dep.insert("default-features".into(), Value::from(false));
        }
        dependencies.insert(format!("d{i}"), Value::Table(dep));
    }
    let mut root = Table::new();
    root.insert("package".into(), Value::Table(package));
    root.insert("workspace".into(), Value::Table(Table::new()));
    root.insert("dependencies".into(), Value::Table(dependencies));
    toml::to_string(&root).map_err(|e| format!("writing the scratch Cargo.toml: {e}"))
}

enum Outcome {
    Imported,
    Skipped,
    Failed(String),
}

/// What every publish of one import reads.
struct Ctx<'a> {
    /// cargo's download caches.
    caches: Vec<PathBuf>,
    registry: Registry,
    /// `name@version` → checksum already in the registry.
    present: HashMap<String, String>,
    all: &'a [Locked],
}

/// Imports the packages of one dependency level (none depends on another),
/// `jobs` at a time, calling `done` on this thread as each one ends.
fn import_level(
    level: &[usize],
    jobs: usize,
    ctx: &Ctx,
    failed: &HashSet<String>,
    mut done: impl FnMut(&Locked, Outcome),
) {
    let next = AtomicUsize::new(0);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, level.len().max(1)) {
            let tx = tx.clone();
            let next = &next;
            s.spawn(move || {
                while let Some(p) = level
                    .get(next.fetch_add(1, Ordering::Relaxed))
                    .and_then(|&i| ctx.all.get(i))
                {
                    if tx.send((p, import_one(p, ctx, failed))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for (p, outcome) in rx {
            done(p, outcome);
        }
    });
}

fn import_one(p: &Locked, ctx: &Ctx, failed: &HashSet<String>) -> Outcome {
    let (caches, registry, present, all) = (&ctx.caches, &ctx.registry, &ctx.present, ctx.all);
    let Some(want) = p.checksum.as_deref() else {
        return Outcome::Failed("the lockfile has no checksum for it".into());
    };
    if let Some(have) = present.get(&p.id()) {
        return if have == want {
            Outcome::Skipped
        } else {
            Outcome::Failed(format!(
                "the registry holds different contents for this version (checksum {have})"
            ))
        };
    }
    // A dependency that failed makes this one unresolvable: do not publish.
    for d in &p.dependencies {
        let mut w = d.split_whitespace();
        let (name, vers) = (w.next().unwrap_or(""), w.next());
        if let Some(f) = all
            .iter()
            .filter(|q| q.name == name && vers.is_none_or(|v| q.version == v))
            .map(Locked::id)
            .find(|id| failed.contains(id))
        {
            return Outcome::Failed(format!("its dependency {f} failed"));
        }
    }
    let file = format!("{}-{}.crate", p.name, p.version);
    let Some(bytes) = caches
        .iter()
        .find_map(|dir| std::fs::read(dir.join(&file)).ok())
    else {
        return Outcome::Failed(
            "cargo fetched it but its .crate file is not in cargo's cache".into(),
        );
    };
    if sha256_hex(&bytes) != want {
        return Outcome::Failed(
            "the cached .crate file does not match the lockfile checksum".into(),
        );
    }
    let meta = crate_file::read(&bytes, &p.name, &p.version)
        .and_then(|c| manifest::publish_meta(&c))
        .and_then(|m| serde_json::to_vec(&m).map_err(|e| e.to_string()));
    let body = match meta.and_then(|json| crate_file::publish_body(&json, &bytes)) {
        Ok(b) => b,
        Err(e) => return Outcome::Failed(e),
    };
    match registry.publish(&body) {
        Ok(()) => Outcome::Imported,
        Err(e) => Outcome::Failed(e),
    }
}

/// cargo's download caches (`$CARGO_HOME/registry/cache/*`).
fn cache_dirs() -> Result<Vec<PathBuf>, String> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .ok_or("set CARGO_HOME or HOME")?;
    let dir = home.join("registry").join("cache");
    let entries =
        std::fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    Ok(entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
}

/// The registry's HTTP API, as cargo uses it.
struct Registry {
    agent: ureq::Agent,
    url: String,
    token: String,
}

impl Registry {
    fn new(url: &str, token: &str) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .new_agent();
        Registry {
            agent,
            url: url.trim_end_matches('/').to_string(),
            token: token.to_string(),
        }
    }

    /// `name@version` → checksum of every version already published of
    /// the crates in `packages` (one index read per crate name).
    fn present(&self, packages: &[Locked]) -> Result<HashMap<String, String>, String> {
        let names: HashSet<&str> = packages.iter().map(|p| p.name.as_str()).collect();
        let mut out = HashMap::new();
        for name in names {
            let Some(path) = index_path(name) else {
                continue;
            };
            let mut resp = self
                .agent
                .get(format!("{}/index/{path}", self.url))
                .header("Authorization", &self.token)
                .call()
                .map_err(|e| format!("cannot reach the registry at {}: {e}", self.url))?;
            match resp.status().as_u16() {
                200 => {}
                404 => continue,
                401 | 403 => {
                    return Err(format!(
                        "the registry refused the token ({}): it needs the read, publish-new and publish-update scopes",
                        resp.status()
                    ));
                }
                s => return Err(format!("reading the index of `{name}`: HTTP {s}")),
            }
            let text = resp
                .body_mut()
                .read_to_string()
                .map_err(|e| format!("reading the index of `{name}`: {e}"))?;
            for line in text.lines() {
                let v: serde_json::Value = serde_json::from_str(line)
                    .map_err(|e| format!("the index of `{name}` is damaged: {e}"))?;
                if let (Some(n), Some(vers), Some(ck)) =
                    (v["name"].as_str(), v["vers"].as_str(), v["cksum"].as_str())
                {
                    out.insert(format!("{n}@{vers}"), ck.to_string());
                }
            }
        }
        Ok(out)
    }

    fn publish(&self, body: &[u8]) -> Result<(), String> {
        let mut resp = self
            .agent
            .put(format!("{}/api/v1/crates/new", self.url))
            .header("Authorization", &self.token)
            .send(body)
            .map_err(|e| format!("cannot reach the registry: {e}"))?;
        let status = resp.status().as_u16();
        if status == 200 {
            return Ok(());
        }
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        let detail = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["errors"][0]["detail"].as_str().map(str::to_string))
            .unwrap_or(text);
        Err(format!("the registry answered {status}: {detail}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locked(name: &str, version: &str) -> Locked {
        Locked {
            name: name.into(),
            version: version.into(),
            source: Some("registry+https://github.com/rust-lang/crates.io-index".into()),
            checksum: Some("0".repeat(64)),
            dependencies: vec![],
        }
    }

    fn deps_of(manifest: &str) -> toml::Table {
        let t: toml::Table = toml::from_str(manifest).unwrap();
        t["dependencies"].as_table().unwrap().clone()
    }

    #[test]
    fn the_scratch_manifest_is_serialised_not_pasted() {
        // Even values no check would let through stay plain strings.
        let hostile = "x\", git = \"https://evil.example/x\" }\n[patch.crates-io]\nserde = { path = \"/tmp/evil";
        let deps = vec![
            ScratchDep {
                package: "serde".into(),
                req: "=1.0.0".into(),
                default_features: false,
            },
            ScratchDep {
                package: hostile.into(),
                req: "1\"\npath = \"/etc".into(),
                default_features: true,
            },
        ];
        let text = scratch_manifest(&deps).unwrap();
        let t: toml::Table = toml::from_str(&text).unwrap();
        let keys: Vec<&String> = t.keys().collect();
        assert_eq!(keys, ["dependencies", "package", "workspace"]);
        let d = deps_of(&text);
        assert_eq!(d.len(), 2);
        assert_eq!(d["d0"]["package"].as_str(), Some("serde"));
        assert_eq!(d["d0"]["version"].as_str(), Some("=1.0.0"));
        assert_eq!(d["d0"]["default-features"].as_bool(), Some(false));
        let evil = d["d1"].as_table().unwrap();
        assert_eq!(
            evil.keys().collect::<Vec<_>>(),
            ["package", "version"],
            "no git or path key"
        );
        assert_eq!(evil["package"].as_str(), Some(hostile));
        assert_eq!(t["package"]["name"].as_str(), Some("edge-registry-import"));
        assert_eq!(t["package"]["publish"].as_bool(), Some(false));
    }

    #[test]
    fn lockfile_names_and_versions_are_checked() {
        assert_eq!(
            locked_dep(&locked("serde", "1.0.219+build")).unwrap(),
            ScratchDep {
                package: "serde".into(),
                req: "=1.0.219".into(),
                default_features: false
            }
        );
        let err = locked_dep(&locked("x\", git = \"https://evil.example/x", "1.0.0")).unwrap_err();
        assert_eq!(
            err,
            "a package has an invalid crate name `x\", git = \"https://evil.example/x`: invalid character `\"`; only ASCII letters, digits, `-` and `_` are allowed"
        );
        let err = locked_dep(&locked("serde", "1.0.0\", path = \"/etc")).unwrap_err();
        assert!(
            err.starts_with("package `serde` has an invalid version: \"1.0.0\", path = \"/etc\" is an invalid semver version"),
            "{err}"
        );
        assert!(locked_dep(&locked("serde", "*")).is_err());
        assert!(locked_dep(&locked("", "1.0.0")).is_err());
    }

    #[test]
    fn a_hostile_lockfile_is_refused_before_cargo_runs() {
        let dir = ScratchDir::new("import-test").unwrap();
        let lock = dir.join("Cargo.lock");
        std::fs::write(
            &lock,
            "version = 4\n\n[[package]]\nname = \"serde\\\", git = \\\"https://evil.example/x\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"00\"\n",
        )
        .unwrap();
        let opts = Options {
            source: Source::Lockfile(lock.clone()),
            url: "http://127.0.0.1:9".into(),
            token: "t".into(),
            progress: false,
            jobs: 1,
        };
        let work = ScratchDir::new("import-test").unwrap();
        let err = run_in(&opts, work.path()).err().unwrap();
        assert!(
            err == format!(
                "refusing {}: a package has an invalid crate name `serde\", git = \"https://evil.example/x`: invalid character `\"`; only ASCII letters, digits, `-` and `_` are allowed",
                lock.display()
            ),
            "{err}"
        );
        assert!(
            !work.join("Cargo.toml").exists(),
            "nothing written for cargo"
        );
    }

    #[test]
    fn command_line_specs_go_through_the_same_serialiser() {
        let d = spec_dep("serde@1").unwrap();
        assert_eq!(d.req, "1");
        assert!(spec_dep("serde@1\"").is_err());
        assert!(spec_dep("ser de").is_err());
        let text = scratch_manifest(&[d]).unwrap();
        assert_eq!(deps_of(&text)["d0"]["version"].as_str(), Some("1"));
    }
}
