//! `Cargo.lock` reading (versions 1 to 4) and dependency ordering.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

/// One `[[package]]` of a lockfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locked {
    pub name: String,
    pub version: String,
    /// `registry+…`, `sparse+…`, `git+…`; `None` for workspace members.
    pub source: Option<String>,
    /// The `.crate` file's SHA-256 (registry packages).
    pub checksum: Option<String>,
    /// Dependencies as the lockfile writes them: `name`, `name version` or
    /// `name version (source)`.
    pub dependencies: Vec<String>,
}

impl Locked {
    /// `name@version`.
    pub fn id(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }

    /// Whether the package comes from crates.io (git or sparse protocol).
    pub fn is_crates_io(&self) -> bool {
        matches!(
            self.source.as_deref(),
            Some("registry+https://github.com/rust-lang/crates.io-index")
                | Some("sparse+https://index.crates.io/")
        )
    }
}

#[derive(Deserialize)]
struct LockFile {
    #[serde(default)]
    package: Vec<RawPackage>,
    /// Version 1 lockfiles keep checksums here.
    #[serde(default)]
    metadata: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct RawPackage {
    name: String,
    version: String,
    source: Option<String>,
    checksum: Option<String>,
    #[serde(default)]
    dependencies: Vec<String>,
}

/// Parses a lockfile.
pub fn parse(text: &str) -> Result<Vec<Locked>, String> {
    let lock: LockFile = toml::from_str(text).map_err(|e| format!("not a Cargo.lock: {e}"))?;
    Ok(lock
        .package
        .into_iter()
        .map(|p| {
            let checksum = p.checksum.or_else(|| {
                let source = p.source.as_deref()?;
                let key = format!("checksum {} {} ({source})", p.name, p.version);
                lock.metadata.get(&key).cloned()
            });
            Locked {
                name: p.name,
                version: p.version,
                source: p.source,
                checksum,
                dependencies: p.dependencies,
            }
        })
        .collect())
}

/// Each package's dependencies, as indexes into `packages` (lockfile
/// edges; a dependency that is not in `packages` is left out).
fn edges(packages: &[Locked]) -> Vec<Vec<usize>> {
    // `name` alone names the only version of that name in the lockfile.
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, p) in packages.iter().enumerate() {
        by_name.entry(p.name.as_str()).or_default().push(i);
    }
    let resolve = |dep: &str| -> Option<usize> {
        let mut words = dep.split_whitespace();
        let name = words.next()?;
        let candidates = by_name.get(name)?;
        match words.next() {
            None => candidates.first().copied(),
            Some(v) => candidates
                .iter()
                .copied()
                .find(|&i| packages.get(i).is_some_and(|p| p.version == v)),
        }
    };
    packages
        .iter()
        .map(|p| p.dependencies.iter().filter_map(|d| resolve(d)).collect())
        .collect()
}

/// Orders `packages` so that every package comes after the packages it
/// depends on (lockfile edges; a dependency that is not in `packages` is
/// ignored). Ties keep name order, so the result is deterministic. Returns
/// indexes into `packages`.
pub fn dependency_order(packages: &[Locked]) -> Vec<usize> {
    let deps = edges(packages);
    let mut order: Vec<usize> = (0..packages.len()).collect();
    order.sort_by_key(|&i| {
        packages
            .get(i)
            .map(|p| (p.name.as_str(), p.version.as_str()))
    });
    // Depth-first, emitting a package after its dependencies; lockfiles
    // have no cycles among registry packages, and a cycle would only be
    // cut, never looped on.
    let mut state = vec![0u8; packages.len()]; // 0 new, 1 open, 2 done
    let mut out = Vec::with_capacity(packages.len());
    for &start in &order {
        let mut stack = vec![(start, 0usize)];
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if *next == 0 {
                if state.get(node).copied() != Some(0) {
                    stack.pop();
                    continue;
                }
                if let Some(s) = state.get_mut(node) {
                    *s = 1;
                }
            }
            let children = deps.get(node).map(Vec::as_slice).unwrap_or(&[]);
            if let Some(&child) = children.get(*next) {
                *next += 1;
                if state.get(child).copied() == Some(0) {
                    stack.push((child, 0));
                }
            } else {
                if let Some(s) = state.get_mut(node) {
                    *s = 2;
                }
                out.push(node);
                stack.pop();
            }
        }
    }
    out
}

/// `packages` in dependency levels: level 0 depends on nothing in
/// `packages`, and every package is in a later level than each of its
/// dependencies, so the packages of one level can be published at the same
/// time once the levels before it are done. Levels are in
/// `dependency_order`, and a cycle is cut where that order cut it.
pub fn dependency_levels(packages: &[Locked]) -> Vec<Vec<usize>> {
    let deps = edges(packages);
    let mut level: Vec<Option<usize>> = vec![None; packages.len()];
    let mut levels: Vec<Vec<usize>> = Vec::new();
    for i in dependency_order(packages) {
        let l = deps
            .get(i)
            .into_iter()
            .flatten()
            .filter_map(|&d| level.get(d).copied().flatten())
            .map(|d| d + 1)
            .max()
            .unwrap_or(0);
        if let Some(slot) = level.get_mut(i) {
            *slot = Some(l);
        }
        while levels.len() <= l {
            levels.push(Vec::new());
        }
        if let Some(v) = levels.get_mut(l) {
            v.push(i);
        }
    }
    levels
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"
version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = ["serde", "rand 0.8.5", "rand 0.7.3"]

[[package]]
name = "rand"
version = "0.7.3"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "aaaa"
dependencies = ["libc"]

[[package]]
name = "rand"
version = "0.8.5"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "bbbb"
dependencies = ["libc", "rand_core"]

[[package]]
name = "rand_core"
version = "0.6.4"
source = "sparse+https://index.crates.io/"
checksum = "cccc"

[[package]]
name = "libc"
version = "0.2.150"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "dddd"

[[package]]
name = "serde"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "eeee"

[[package]]
name = "gitdep"
version = "0.1.0"
source = "git+https://example.com/x#abc"
"#;

    #[test]
    fn parses_sources_checksums_and_edges() {
        let p = parse(LOCK).unwrap();
        assert_eq!(p.len(), 7);
        assert!(!p[0].is_crates_io());
        assert!(p[1].is_crates_io() && p[3].is_crates_io());
        assert!(!p[6].is_crates_io());
        assert_eq!(p[2].checksum.as_deref(), Some("bbbb"));
        assert_eq!(p[0].dependencies.len(), 3);
    }

    #[test]
    fn version_1_checksums_come_from_metadata() {
        let v1 = r#"
[[package]]
name = "libc"
version = "0.2.1"
source = "registry+https://github.com/rust-lang/crates.io-index"

[metadata]
"checksum libc 0.2.1 (registry+https://github.com/rust-lang/crates.io-index)" = "ffff"
"#;
        assert_eq!(parse(v1).unwrap()[0].checksum.as_deref(), Some("ffff"));
        assert!(parse("not toml [").is_err());
    }

    #[test]
    fn dependencies_come_first() {
        let p = parse(LOCK).unwrap();
        let order = dependency_order(&p);
        assert_eq!(order.len(), p.len());
        let pos = |id: &str| order.iter().position(|&i| p[i].id() == id).unwrap();
        assert!(pos("libc@0.2.150") < pos("rand@0.7.3"));
        assert!(pos("libc@0.2.150") < pos("rand@0.8.5"));
        assert!(pos("rand_core@0.6.4") < pos("rand@0.8.5"));
        assert!(pos("rand@0.8.5") < pos("app@0.1.0"));
        assert!(pos("serde@1.0.0") < pos("app@0.1.0"));
        // Deterministic.
        assert_eq!(order, dependency_order(&p));
    }

    #[test]
    fn levels_put_every_package_after_its_dependencies() {
        let p = parse(LOCK).unwrap();
        let levels = dependency_levels(&p);
        let level = |id: &str| {
            levels
                .iter()
                .position(|l| l.iter().any(|&i| p[i].id() == id))
                .unwrap()
        };
        assert_eq!(level("libc@0.2.150"), 0);
        assert_eq!(level("rand_core@0.6.4"), 0);
        assert_eq!(level("serde@1.0.0"), 0);
        assert_eq!(level("gitdep@0.1.0"), 0);
        assert_eq!(level("rand@0.7.3"), 1);
        assert_eq!(level("rand@0.8.5"), 1);
        assert_eq!(level("app@0.1.0"), 2);
        let mut all: Vec<usize> = levels.concat();
        all.sort();
        assert_eq!(all, (0..p.len()).collect::<Vec<_>>(), "each package once");
        assert!(dependency_levels(&[]).is_empty());
    }

    #[test]
    fn a_cycle_is_cut_not_looped() {
        let p = vec![
            Locked {
                name: "a".into(),
                version: "1.0.0".into(),
                source: None,
                checksum: None,
                dependencies: vec!["b".into()],
            },
            Locked {
                name: "b".into(),
                version: "1.0.0".into(),
                source: None,
                checksum: None,
                dependencies: vec!["a".into()],
            },
        ];
        let mut o = dependency_order(&p);
        o.sort();
        assert_eq!(o, [0, 1]);
        let levels = dependency_levels(&p);
        assert_eq!(levels.concat().len(), 2);
        assert_eq!(levels.len(), 2, "one of the pair waits for the other");
    }
}
