//! Sparse-index lines and files: the line schema cargo parses, the split of
//! new-syntax features into `features2`, deterministic rendering of a whole
//! crate file, its strong ETag, and `config.json`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One dependency in an index line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexDep {
    /// The name used in the dependent's `Cargo.toml` (the rename if any).
    pub name: String,
    pub req: String,
    pub features: Vec<String>,
    pub optional: bool,
    pub default_features: bool,
    pub target: Option<String>,
    pub kind: String,
    pub registry: Option<String>,
    /// The real package name when renamed.
    pub package: Option<String>,
}

/// One version's line in a crate's index file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexLine {
    pub name: String,
    pub vers: String,
    pub deps: Vec<IndexDep>,
    pub cksum: String,
    pub features: BTreeMap<String, Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features2: Option<BTreeMap<String, Vec<String>>>,
    #[serde(default)]
    pub yanked: bool,
    pub links: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rust_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pubtime: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v: Option<u32>,
}

fn kind_rank(kind: &str) -> u8 {
    match kind {
        "normal" => 0,
        "build" => 1,
        _ => 2,
    }
}

/// Sorts dependencies by name, then kind (normal, build, dev), then
/// requirement, as crates.io does.
pub fn sort_deps(deps: &mut [IndexDep]) {
    deps.sort_by(|a, b| {
        a.name
            .cmp(&b.name)
            .then(kind_rank(&a.kind).cmp(&kind_rank(&b.kind)))
            .then(a.req.cmp(&b.req))
            .then(a.target.cmp(&b.target))
    });
}

/// A feature uses the newer syntax when any value is `dep:x` or `x?/y`.
fn uses_new_syntax(values: &[String]) -> bool {
    values
        .iter()
        .any(|v| v.starts_with("dep:") || v.contains("?/"))
}

/// Splits features into the plain map and `features2` (new syntax), and
/// the schema version `v` to emit (2 only when `features2` is present).
#[allow(clippy::type_complexity)]
pub fn split_features(
    all: &BTreeMap<String, Vec<String>>,
) -> (
    BTreeMap<String, Vec<String>>,
    Option<BTreeMap<String, Vec<String>>>,
    Option<u32>,
) {
    let (new, old): (BTreeMap<_, _>, BTreeMap<_, _>) = all
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .partition(|(_, v)| uses_new_syntax(v));
    if new.is_empty() {
        (old, None, None)
    } else {
        (old, Some(new), Some(2))
    }
}

/// The fields of a new version's line, before it is stored.
pub struct NewLine<'a> {
    pub name: &'a str,
    pub vers: &'a str,
    pub deps: Vec<IndexDep>,
    pub cksum: &'a str,
    pub features: &'a BTreeMap<String, Vec<String>>,
    pub links: Option<String>,
    pub rust_version: Option<String>,
    pub pubtime: String,
}

/// Builds the index line of a newly published version.
pub fn new_line(n: NewLine<'_>) -> IndexLine {
    let (features, features2, v) = split_features(n.features);
    IndexLine {
        name: n.name.to_string(),
        vers: n.vers.to_string(),
        deps: n.deps,
        cksum: n.cksum.to_string(),
        features,
        features2,
        yanked: false,
        links: n.links,
        rust_version: n.rust_version,
        pubtime: Some(n.pubtime),
        v,
    }
}

/// A rendered index file: its exact bytes and strong ETag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub body: String,
    pub etag: String,
}

/// Renders a crate's whole index file from its lines, in the given order
/// (publish order). Deterministic: the same lines give the same bytes.
pub fn render_file(lines: &[IndexLine]) -> Result<Rendered, serde_json::Error> {
    let mut body = String::new();
    for line in lines {
        body.push_str(&serde_json::to_string(line)?);
        body.push('\n');
    }
    let etag = etag_of(body.as_bytes());
    Ok(Rendered { body, etag })
}

/// Strong ETag of some bytes: the quoted hex SHA-256.
pub fn etag_of(bytes: &[u8]) -> String {
    format!("\"{}\"", sha256_hex(bytes))
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    to_hex(&Sha256::digest(bytes))
}

/// Lowercase hex of bytes.
pub fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    s
}

/// Whether an `If-None-Match` header matches an ETag: exact comparison of
/// each listed tag, tolerating a `W/` prefix, and `*`.
pub fn if_none_match(header: &str, etag: &str) -> bool {
    header
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag)
}

/// `config.json` for a registry whose public base URL is `base` (no
/// trailing slash).
pub fn config_json(base: &str) -> String {
    serde_json::json!({
        "dl": format!("{base}/dl/{{crate}}/{{version}}/{{sha256-checksum}}"),
        "api": base,
        "auth-required": true,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dep(name: &str, kind: &str, req: &str) -> IndexDep {
        IndexDep {
            name: name.into(),
            req: req.into(),
            features: vec![],
            optional: false,
            default_features: true,
            target: None,
            kind: kind.into(),
            registry: None,
            package: None,
        }
    }

    #[test]
    fn deps_sort_by_name_then_kind() {
        let mut d = vec![
            dep("b", "dev", "^1"),
            dep("a", "dev", "^1"),
            dep("b", "normal", "^1"),
            dep("b", "build", "^1"),
        ];
        sort_deps(&mut d);
        let got: Vec<_> = d
            .iter()
            .map(|d| (d.name.as_str(), d.kind.as_str()))
            .collect();
        assert_eq!(
            got,
            [("a", "dev"), ("b", "normal"), ("b", "build"), ("b", "dev")]
        );
    }

    #[test]
    fn new_syntax_features_move_to_features2() {
        let mut f = BTreeMap::new();
        f.insert("std".to_string(), vec![]);
        f.insert("serde".to_string(), vec!["dep:serde".to_string()]);
        f.insert("weak".to_string(), vec!["serde?/std".to_string()]);
        f.insert("plain".to_string(), vec!["serde/std".to_string()]);
        let (old, new, v) = split_features(&f);
        assert_eq!(old.keys().collect::<Vec<_>>(), ["plain", "std"]);
        assert_eq!(new.unwrap().keys().collect::<Vec<_>>(), ["serde", "weak"]);
        assert_eq!(v, Some(2));
        let mut f = BTreeMap::new();
        f.insert("std".to_string(), vec![]);
        assert_eq!(split_features(&f), (f.clone(), None, None));
    }

    #[test]
    fn line_json_has_cargo_fields_and_round_trips() {
        let features = BTreeMap::new();
        let mut d = dep("json", "normal", "^1");
        d.package = Some("serde_json".into());
        d.registry = Some("https://github.com/rust-lang/crates.io-index".into());
        let line = new_line(NewLine {
            name: "Acme-Core",
            vers: "1.2.0+build.1",
            deps: vec![d],
            cksum: &"a".repeat(64),
            features: &features,
            links: Some("z".into()),
            rust_version: Some("1.74".into()),
            pubtime: "2026-03-05T10:20:30Z".into(),
        });
        let s = serde_json::to_string(&line).unwrap();
        assert_eq!(
            s,
            format!(
                r#"{{"name":"Acme-Core","vers":"1.2.0+build.1","deps":[{{"name":"json","req":"^1","features":[],"optional":false,"default_features":true,"target":null,"kind":"normal","registry":"https://github.com/rust-lang/crates.io-index","package":"serde_json"}}],"cksum":"{}","features":{{}},"yanked":false,"links":"z","rust_version":"1.74","pubtime":"2026-03-05T10:20:30Z"}}"#,
                "a".repeat(64)
            )
        );
        let back: IndexLine = serde_json::from_str(&s).unwrap();
        assert_eq!(back, line);
    }

    #[test]
    fn render_is_deterministic_and_etag_is_strong() {
        let features = BTreeMap::new();
        let mk = |v: &str| {
            new_line(NewLine {
                name: "x",
                vers: v,
                deps: vec![],
                cksum: "00",
                features: &features,
                links: None,
                rust_version: None,
                pubtime: "2026-01-01T00:00:00Z".into(),
            })
        };
        let a = render_file(&[mk("1.0.0"), mk("1.1.0")]).unwrap();
        let b = render_file(&[mk("1.0.0"), mk("1.1.0")]).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.body.lines().count(), 2);
        assert!(a.body.ends_with('\n'));
        assert!(a.etag.starts_with('"') && a.etag.ends_with('"') && a.etag.len() == 66);
        assert!(if_none_match(&a.etag, &a.etag));
        assert!(if_none_match(&format!("W/{}", a.etag), &a.etag));
        assert!(if_none_match(&format!("\"zz\", {}", a.etag), &a.etag));
        assert!(!if_none_match("\"zz\"", &a.etag));
    }

    #[test]
    fn config_has_dl_api_and_auth() {
        let c: serde_json::Value =
            serde_json::from_str(&config_json("http://127.0.0.1:8787")).unwrap();
        assert_eq!(c["api"], "http://127.0.0.1:8787");
        assert_eq!(c["auth-required"], true);
        assert_eq!(
            c["dl"],
            "http://127.0.0.1:8787/dl/{crate}/{version}/{sha256-checksum}"
        );
    }

    #[test]
    fn hex() {
        assert_eq!(to_hex(&[0, 15, 255]), "000fff");
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
