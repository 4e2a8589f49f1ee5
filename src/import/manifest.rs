//! The publish metadata cargo sends for a package, rebuilt from the
//! normalised `Cargo.toml` inside its `.crate` file: every dependency kind
//! and target, renames, features, links, rust-version and README text.
//! Dependencies name crates.io as their registry, exactly as `cargo
//! publish` does when the destination is not crates.io.

use std::collections::BTreeMap;

use toml::{Table, Value};

use super::CRATES_IO_INDEX;
use super::crate_file::CrateContents;
use crate::protocol::publish::{PublishDep, PublishMeta};

fn str_of(t: &Table, k: &str) -> Option<String> {
    t.get(k).and_then(Value::as_str).map(str::to_string)
}

fn strings(t: &Table, k: &str) -> Vec<String> {
    t.get(k)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// `1.0` → `^1.0`, as cargo prints a requirement; kept as written when
/// the semver crate cannot read it (some old crates).
fn requirement(req: &str) -> String {
    semver::VersionReq::parse(req)
        .map(|r| r.to_string())
        .unwrap_or_else(|_| req.trim().to_string())
}

/// The dependencies of one table (`[dependencies]` and friends).
fn deps_of(table: &Table, kind: &str, target: Option<&str>, out: &mut Vec<PublishDep>) {
    for (key, spec) in table {
        let (version, t) = match spec {
            Value::String(v) => (Some(v.clone()), None),
            Value::Table(t) => (str_of(t, "version"), Some(t)),
            _ => continue,
        };
        let flag = |names: &[&str], default: bool| {
            t.and_then(|t| {
                names
                    .iter()
                    .find_map(|n| t.get(*n))
                    .and_then(Value::as_bool)
            })
            .unwrap_or(default)
        };
        let package = t.and_then(|t| str_of(t, "package"));
        let name = package.clone().unwrap_or_else(|| key.clone());
        out.push(PublishDep {
            explicit_name_in_toml: package.map(|_| key.clone()),
            name,
            version_req: requirement(version.as_deref().unwrap_or("*")),
            features: t.map(|t| strings(t, "features")).unwrap_or_default(),
            optional: flag(&["optional"], false),
            default_features: flag(&["default-features", "default_features"], true),
            target: target.map(str::to_string),
            kind: Some(kind.to_string()),
            registry: Some(CRATES_IO_INDEX.to_string()),
            artifact: None,
            bindep_target: None,
        });
    }
}

const KINDS: [(&[&str], &str); 3] = [
    (&["dependencies"], "normal"),
    (&["dev-dependencies", "dev_dependencies"], "dev"),
    (&["build-dependencies", "build_dependencies"], "build"),
];

fn all_deps(manifest: &Table) -> Vec<PublishDep> {
    let mut deps = Vec::new();
    let mut scan = |t: &Table, target: Option<&str>| {
        for (names, kind) in KINDS {
            for n in names {
                if let Some(Value::Table(d)) = t.get(*n) {
                    deps_of(d, kind, target, &mut deps);
                }
            }
        }
    };
    scan(manifest, None);
    if let Some(Value::Table(targets)) = manifest.get("target") {
        for (platform, t) in targets {
            if let Value::Table(t) = t {
                scan(t, Some(platform));
            }
        }
    }
    deps
}

/// The publish metadata for the package in `contents`.
pub fn publish_meta(contents: &CrateContents) -> Result<PublishMeta, String> {
    let manifest: Table = contents
        .manifest
        .parse()
        .map_err(|e| format!("Cargo.toml does not parse: {e}"))?;
    let Some(Value::Table(pkg)) = manifest.get("package") else {
        return Err("Cargo.toml has no [package]".into());
    };
    let name = str_of(pkg, "name").ok_or("Cargo.toml has no package name")?;
    let vers = str_of(pkg, "version").ok_or("Cargo.toml has no package version")?;
    let features: BTreeMap<String, Vec<String>> = match manifest.get("features") {
        Some(Value::Table(f)) => f
            .iter()
            .map(|(k, v)| {
                let list = v
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                (k.clone(), list)
            })
            .collect(),
        _ => BTreeMap::new(),
    };
    let readme_file = str_of(pkg, "readme");
    let readme = readme_file
        .as_deref()
        .and_then(|p| contents.text(p))
        .map(str::to_string);
    Ok(PublishMeta {
        name,
        vers,
        deps: all_deps(&manifest),
        features,
        authors: strings(pkg, "authors"),
        description: str_of(pkg, "description"),
        documentation: str_of(pkg, "documentation"),
        homepage: str_of(pkg, "homepage"),
        repository: str_of(pkg, "repository"),
        license: str_of(pkg, "license"),
        license_file: str_of(pkg, "license-file"),
        readme,
        readme_file,
        keywords: strings(pkg, "keywords"),
        categories: strings(pkg, "categories"),
        links: str_of(pkg, "links"),
        rust_version: str_of(pkg, "rust-version"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::crate_file;

    fn contents(manifest: &str, files: &[(&str, &[u8])]) -> CrateContents {
        let mut all = vec![("demo-1.2.3/Cargo.toml", manifest.as_bytes())];
        all.extend_from_slice(files);
        crate_file::read(&crate_file::tests::crate_bytes(&all), "demo", "1.2.3").unwrap()
    }

    // The shape cargo writes when packaging (normalised manifest).
    const NORMALISED: &str = r#"
[package]
edition = "2021"
rust-version = "1.70"
name = "demo"
version = "1.2.3"
authors = ["A <a@example.com>"]
build = "build.rs"
links = "demo"
description = "A demo"
homepage = "https://example.com"
readme = "README.md"
keywords = ["demo", "test"]
categories = ["development-tools"]
license = "MIT OR Apache-2.0"
repository = "https://example.com/demo"

[lib]
name = "demo"
path = "src/lib.rs"

[dependencies.serde]
version = "1.0.100"
features = ["derive"]
optional = true
default-features = false

[dependencies.rand_core]
version = "0.6"
package = "rand_core"

[dependencies.old_name]
version = "=0.3.1"
package = "new-name"

[dev-dependencies.proptest]
version = "1"

[build-dependencies]
cc = "1.0"

[target."cfg(windows)".dependencies.windows-sys]
version = ">=0.48, <0.60"
features = ["Win32_Foundation"]

[target.x86_64-unknown-linux-gnu.build-dependencies.pkg-config]
version = "0.3"

[features]
default = ["std"]
std = []
derive = ["dep:serde", "serde?/derive"]
"#;

    #[test]
    fn rebuilds_what_cargo_publish_sends() {
        let c = contents(NORMALISED, &[("demo-1.2.3/README.md", b"# Demo\n")]);
        let m = publish_meta(&c).unwrap();
        assert_eq!((m.name.as_str(), m.vers.as_str()), ("demo", "1.2.3"));
        assert_eq!(m.rust_version.as_deref(), Some("1.70"));
        assert_eq!(m.links.as_deref(), Some("demo"));
        assert_eq!(m.readme.as_deref(), Some("# Demo\n"));
        assert_eq!(m.readme_file.as_deref(), Some("README.md"));
        assert_eq!(m.keywords, ["demo", "test"]);
        assert_eq!(m.features["derive"], ["dep:serde", "serde?/derive"]);
        let dep = |n: &str| m.deps.iter().find(|d| d.name == n).unwrap();
        let serde = dep("serde");
        assert_eq!(serde.version_req, "^1.0.100");
        assert!(serde.optional && !serde.default_features);
        assert_eq!(serde.features, ["derive"]);
        assert_eq!(serde.kind.as_deref(), Some("normal"));
        assert_eq!(serde.registry.as_deref(), Some(CRATES_IO_INDEX));
        assert_eq!(serde.explicit_name_in_toml, None);
        let renamed = dep("new-name");
        assert_eq!(renamed.explicit_name_in_toml.as_deref(), Some("old_name"));
        assert_eq!(renamed.version_req, "=0.3.1");
        assert_eq!(dep("proptest").kind.as_deref(), Some("dev"));
        assert_eq!(dep("cc").kind.as_deref(), Some("build"));
        assert_eq!(dep("cc").version_req, "^1.0");
        let win = dep("windows-sys");
        assert_eq!(win.target.as_deref(), Some("cfg(windows)"));
        assert_eq!(win.version_req, ">=0.48, <0.60");
        let pc = dep("pkg-config");
        assert_eq!(pc.target.as_deref(), Some("x86_64-unknown-linux-gnu"));
        assert_eq!(pc.kind.as_deref(), Some("build"));
        assert_eq!(m.deps.len(), 7);
    }

    #[test]
    fn the_server_accepts_what_it_builds() {
        let c = contents(NORMALISED, &[("demo-1.2.3/README.md", b"# Demo\n")]);
        let m = publish_meta(&c).unwrap();
        let json = serde_json::to_vec(&m).unwrap();
        let parsed = crate::protocol::publish::parse_meta(&json, &[]).unwrap();
        assert_eq!(parsed.meta.name, "demo");
        assert_eq!(parsed.deps.len(), 7);
        assert!(parsed.local_deps.is_empty(), "crates.io deps are not local");
    }

    #[test]
    fn missing_pieces_are_errors_or_empty() {
        let c = contents("[package]\nname = \"demo\"\nversion = \"1.2.3\"\n", &[]);
        let m = publish_meta(&c).unwrap();
        assert!(m.deps.is_empty() && m.features.is_empty() && m.readme.is_none());
        let c = contents("[lib]\n", &[]);
        assert!(publish_meta(&c).is_err());
        let c = contents("not = [toml", &[]);
        assert!(publish_meta(&c).is_err());
    }
}
