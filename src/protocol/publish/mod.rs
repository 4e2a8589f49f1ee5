//! The publish request: the length-prefixed body framing, the JSON metadata
//! cargo sends (`NewCrate`), and its validation into the parts the index and
//! the database need.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

mod error;

pub use error::{FeatureError, InvalidRustVersion, PublishError};

use super::index::IndexDep;
use super::names;
use super::version::{self, Version};

/// Size limits for a publish; configurable per deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest `.crate` accepted, in bytes.
    pub max_crate_bytes: u64,
    /// Largest JSON metadata accepted, in bytes.
    pub max_json_bytes: u64,
    /// Largest total unpacked size of the tarball, in bytes.
    pub max_unpacked_bytes: u64,
    /// Most entries in the tarball.
    pub max_entries: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_crate_bytes: 10 * 1024 * 1024,
            max_json_bytes: 1024 * 1024,
            max_unpacked_bytes: 256 * 1024 * 1024,
            max_entries: 50_000,
        }
    }
}

impl Limits {
    /// The largest whole publish body these limits allow.
    pub fn max_body_bytes(&self) -> u64 {
        8 + self.max_json_bytes + self.max_crate_bytes
    }
}

/// The two parts of a publish body.
#[derive(Debug)]
pub struct Framed<'a> {
    pub json: &'a [u8],
    pub tarball: &'a [u8],
}

fn read_u32(body: &[u8], at: usize) -> Option<u64> {
    let b = body.get(at..at.checked_add(4)?)?;
    let arr: [u8; 4] = b.try_into().ok()?;
    Some(u64::from(u32::from_le_bytes(arr)))
}

/// Splits a publish body into its JSON and tarball parts, checking every
/// length against the body and the limits before anything is parsed.
pub fn split_body<'a>(body: &'a [u8], limits: &Limits) -> Result<Framed<'a>, PublishError> {
    let json_len = read_u32(body, 0).ok_or(PublishError::NoMetadataLength)?;
    if json_len > limits.max_json_bytes {
        return Err(PublishError::MetadataTooLarge {
            len: json_len,
            limit: limits.max_json_bytes,
        });
    }
    let json_end = 4 + json_len as usize;
    let json = body
        .get(4..json_end)
        .ok_or(PublishError::MetadataCut(json_len))?;
    let crate_len = read_u32(body, json_end).ok_or(PublishError::NoTarballLength)?;
    if crate_len > limits.max_crate_bytes {
        return Err(PublishError::CrateTooLarge {
            len: crate_len,
            limit: limits.max_crate_bytes,
        });
    }
    let start = json_end + 4;
    let end = start + crate_len as usize;
    let tarball = body
        .get(start..end)
        .ok_or(PublishError::TarballCut(crate_len))?;
    if body.len() != end {
        return Err(PublishError::TrailingBytes(body.len() - end));
    }
    if crate_len == 0 {
        return Err(PublishError::EmptyTarball);
    }
    Ok(Framed { json, tarball })
}

fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn default_true() -> bool {
    true
}

fn null_true<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(true))
}

/// The JSON metadata of a publish (cargo's `NewCrate`). Unknown fields are
/// ignored and missing or null fields take their empty value.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct PublishMeta {
    pub name: String,
    pub vers: String,
    #[serde(default, deserialize_with = "null_default")]
    pub deps: Vec<PublishDep>,
    #[serde(default, deserialize_with = "null_default")]
    pub features: BTreeMap<String, Vec<String>>,
    #[serde(default, deserialize_with = "null_default")]
    pub authors: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub documentation: Option<String>,
    #[serde(default)]
    pub homepage: Option<String>,
    #[serde(default)]
    pub repository: Option<String>,
    #[serde(default)]
    pub license: Option<String>,
    #[serde(default)]
    pub license_file: Option<String>,
    #[serde(default)]
    pub readme: Option<String>,
    #[serde(default)]
    pub readme_file: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub keywords: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub categories: Vec<String>,
    #[serde(default)]
    pub links: Option<String>,
    #[serde(default)]
    pub rust_version: Option<String>,
}

/// One dependency as cargo sends it (`NewCrateDependency`).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PublishDep {
    /// The real package name.
    pub name: String,
    pub version_req: String,
    #[serde(default, deserialize_with = "null_default")]
    pub features: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub optional: bool,
    #[serde(default = "default_true", deserialize_with = "null_true")]
    pub default_features: bool,
    #[serde(default)]
    pub target: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub registry: Option<String>,
    #[serde(default)]
    pub explicit_name_in_toml: Option<String>,
    #[serde(default)]
    pub artifact: Option<serde_json::Value>,
    #[serde(default)]
    pub bindep_target: Option<String>,
}

/// Most dependencies one version may declare.
pub const MAX_DEPS: usize = 500;
/// Most features one version may declare, and most values per feature.
/// crates.io's default is 300 but it raises it for crates such as `web-sys`
/// (over 1,700) and `windows`; the metadata size limit bounds the total.
pub const MAX_FEATURES: usize = 5000;
/// Longest free-text field kept (description, URLs, license).
pub const MAX_TEXT: usize = 1000;
/// Longest README kept, in bytes.
pub const MAX_README: usize = 512 * 1024;

/// The index URL cargo writes for dependencies on crates.io.
pub const CRATES_IO_INDEX: &str = "https://github.com/rust-lang/crates.io-index";

/// The publish metadata after validation.
#[derive(Debug, Clone)]
pub struct ValidPublish {
    pub meta: PublishMeta,
    pub version: Version,
    /// Dependencies in index form, sorted as crates.io sorts them.
    pub deps: Vec<IndexDep>,
    /// Real names of same-registry normal and build dependencies, which
    /// must exist in this registry.
    pub local_deps: Vec<String>,
    /// Non-fatal notes shown by cargo after publishing.
    pub warnings: Vec<String>,
}

/// Parses the JSON metadata. `own_index_urls` are the spellings of this
/// registry's index URL, treated like an omitted `registry`.
pub fn parse_meta(json: &[u8], own_index_urls: &[String]) -> Result<ValidPublish, PublishError> {
    use PublishError as E;
    let mut meta: PublishMeta =
        serde_json::from_slice(json).map_err(|e| E::InvalidJson(e.to_string()))?;
    names::validate_crate_name(&meta.name).map_err(E::Name)?;
    let version = version::parse_version(&meta.vers).map_err(E::Version)?;
    let mut warnings = Vec::new();

    if meta.deps.len() > MAX_DEPS {
        return Err(E::TooManyDeps(meta.deps.len()));
    }
    let mut deps = Vec::with_capacity(meta.deps.len());
    let mut local_deps = Vec::new();
    for d in &meta.deps {
        names::validate_dependency_name(&d.name).map_err(E::Dependency)?;
        if let Some(rename) = &d.explicit_name_in_toml {
            names::validate_rename(rename).map_err(E::DependencyRename)?;
        }
        semver::VersionReq::parse(&d.version_req).map_err(|e| E::DependencyReq {
            dep: d.name.clone(),
            req: d.version_req.clone(),
            why: e.to_string(),
        })?;
        let kind = match d.kind.as_deref() {
            None | Some("normal") => "normal",
            Some("dev") => "dev",
            Some("build") => "build",
            Some(other) => {
                return Err(E::DependencyKind {
                    dep: d.name.clone(),
                    kind: other.to_string(),
                });
            }
        };
        if d.artifact.is_some() || d.bindep_target.is_some() {
            return Err(E::ArtifactDependency(d.name.clone()));
        }
        if d.features.len() > MAX_FEATURES {
            return Err(E::DependencyFeatures(d.name.clone()));
        }
        for f in &d.features {
            validate_feature_value(f).map_err(|why| E::DependencyFeature {
                dep: d.name.clone(),
                why,
            })?;
        }
        if let Some(t) = &d.target
            && (t.is_empty() || t.len() > 500)
        {
            return Err(E::DependencyTarget(d.name.clone()));
        }
        let registry = match &d.registry {
            Some(r) if own_index_urls.iter().any(|own| same_url(own, r)) => None,
            Some(r) if r.is_empty() || r.len() > 500 => {
                return Err(E::DependencyRegistry(d.name.clone()));
            }
            Some(r) => Some(r.clone()),
            None => None,
        };
        if registry.is_none() && kind != "dev" && !local_deps.contains(&d.name) {
            local_deps.push(d.name.clone());
        }
        let (name, package) = match &d.explicit_name_in_toml {
            Some(rename) => (rename.clone(), Some(d.name.clone())),
            None => (d.name.clone(), None),
        };
        deps.push(IndexDep {
            name,
            req: d.version_req.clone(),
            features: d.features.clone(),
            optional: d.optional,
            default_features: d.default_features,
            target: d.target.clone(),
            kind: kind.to_string(),
            registry,
            package,
        });
    }
    super::index::sort_deps(&mut deps);

    if meta.features.len() > MAX_FEATURES {
        return Err(E::TooManyFeatures(meta.features.len()));
    }
    for (name, values) in &meta.features {
        validate_feature_name(name).map_err(E::Feature)?;
        if values.len() > MAX_FEATURES {
            return Err(E::FeatureValues(name.clone()));
        }
        for v in values {
            validate_feature_value(v).map_err(|why| E::FeatureValue {
                feature: name.clone(),
                why,
            })?;
        }
    }

    if let Some(links) = &meta.links
        && (links.is_empty() || links.len() > 200)
    {
        return Err(E::Links);
    }
    if let Some(rv) = &meta.rust_version {
        validate_rust_version(rv).map_err(E::RustVersion)?;
    }
    for (field, value) in [
        ("description", &mut meta.description),
        ("license", &mut meta.license),
        ("license-file", &mut meta.license_file),
        ("readme-file", &mut meta.readme_file),
    ] {
        if value.as_ref().is_some_and(|v| v.chars().count() > MAX_TEXT) {
            return Err(E::TextTooLong(field));
        }
    }
    for (field, value) in [
        ("homepage", &mut meta.homepage),
        ("documentation", &mut meta.documentation),
        ("repository", &mut meta.repository),
    ] {
        if let Some(v) = value.as_ref()
            && (!(v.starts_with("http://") || v.starts_with("https://")) || v.len() > MAX_TEXT)
        {
            warnings.push(format!(
                    "the `{field}` URL was dropped: it must be an http(s) URL of at most {MAX_TEXT} characters"
                ));
            *value = None;
        }
    }
    if meta.readme.as_ref().is_some_and(|r| r.len() > MAX_README) {
        return Err(E::ReadmeTooLarge);
    }
    if meta.keywords.len() > 20 || meta.keywords.iter().any(|k| k.len() > 100) {
        return Err(E::Keywords);
    }
    if meta.categories.len() > 20 || meta.categories.iter().any(|k| k.len() > 100) {
        return Err(E::Categories);
    }
    if meta.authors.len() > 100 || meta.authors.iter().any(|a| a.len() > MAX_TEXT) {
        return Err(E::Authors);
    }

    Ok(ValidPublish {
        meta,
        version,
        deps,
        local_deps,
        warnings,
    })
}

/// Whether two registry URLs name the same index, ignoring a `sparse+`
/// prefix and a trailing slash.
fn same_url(a: &str, b: &str) -> bool {
    fn norm(s: &str) -> &str {
        let s = s.strip_prefix("sparse+").unwrap_or(s);
        s.strip_suffix('/').unwrap_or(s)
    }
    norm(a).eq_ignore_ascii_case(norm(b))
}

/// Feature names: first character alphanumeric or `_`, then alphanumeric,
/// `_`, `-`, `+` or `.` (cargo's rules, restricted to ASCII-or-Unicode
/// alphanumerics).
pub fn validate_feature_name(name: &str) -> Result<(), FeatureError> {
    let mut chars = name.chars();
    let ok_first = chars
        .next()
        .is_some_and(|c| c.is_alphanumeric() || c == '_');
    let ok_rest = chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '+' | '.'));
    if ok_first && ok_rest && name.len() <= 100 {
        Ok(())
    } else {
        Err(FeatureError::Name(name.to_string()))
    }
}

/// Feature values: `feat`, `dep:name`, `name/feat` or `name?/feat`.
pub fn validate_feature_value(value: &str) -> Result<(), FeatureError> {
    let fail = || FeatureError::Value(value.to_string());
    if let Some(dep) = value.strip_prefix("dep:") {
        return names::validate_rename(dep).map_err(|_| fail());
    }
    if let Some((dep, feat)) = value.split_once('/') {
        let dep = dep.strip_suffix('?').unwrap_or(dep);
        names::validate_rename(dep).map_err(|_| fail())?;
        return validate_feature_name(feat).map_err(|_| fail());
    }
    validate_feature_name(value).map_err(|_| fail())
}

/// `rust-version`: digits and dots only, at most three parts.
pub fn validate_rust_version(rv: &str) -> Result<(), InvalidRustVersion> {
    let parts: Vec<&str> = rv.split('.').collect();
    let ok = !rv.is_empty()
        && parts.len() <= 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 9 && p.bytes().all(|b| b.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err(InvalidRustVersion(rv.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: &[u8], tar: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&(json.len() as u32).to_le_bytes());
        b.extend_from_slice(json);
        b.extend_from_slice(&(tar.len() as u32).to_le_bytes());
        b.extend_from_slice(tar);
        b
    }

    #[test]
    fn splits_a_well_formed_body() {
        let b = body(b"{}", b"tarball");
        let f = split_body(&b, &Limits::default()).unwrap();
        assert_eq!(f.json, b"{}");
        assert_eq!(f.tarball, b"tarball");
    }

    #[test]
    fn rejects_bad_framing() {
        use PublishError as E;
        let l = Limits::default();
        let err = |b: &[u8]| split_body(b, &l).unwrap_err();
        assert_eq!(err(b""), E::NoMetadataLength);
        assert_eq!(err(b"\x01\x00"), E::NoMetadataLength);
        assert_eq!(
            E::NoMetadataLength.to_string(),
            "invalid metadata length: the body is too short to hold one"
        );
        assert_eq!(err(b"\x05\x00\x00\x00{}"), E::MetadataCut(5));
        assert_eq!(
            E::MetadataCut(5).to_string(),
            "invalid metadata length: 5 bytes announced but the body ends early"
        );
        let mut b = body(b"{}", b"x");
        b.truncate(b.len() - 1);
        assert_eq!(err(&b), E::TarballCut(1));
        assert_eq!(
            E::TarballCut(1).to_string(),
            "invalid tarball length: 1 bytes announced but the body ends early"
        );
        let mut b = body(b"{}", b"x");
        b.push(0);
        assert_eq!(err(&b), E::TrailingBytes(1));
        assert_eq!(
            E::TrailingBytes(1).to_string(),
            "invalid publish body: 1 unexpected bytes after the tarball"
        );
        let b = body(b"{}", b"");
        assert_eq!(err(&b), E::EmptyTarball);
        assert_eq!(E::EmptyTarball.to_string(), "the uploaded tarball is empty");
        assert_eq!(err(&b[..6]), E::NoTarballLength);
        assert_eq!(
            E::NoTarballLength.to_string(),
            "invalid tarball length: the body ends before the tarball length"
        );
        for e in [E::NoMetadataLength, E::TarballCut(1), E::EmptyTarball] {
            assert!(!e.is_too_large());
        }
    }

    #[test]
    fn rejects_oversized_parts_with_413() {
        let l = Limits::default();
        let mut b = u32::MAX.to_le_bytes().to_vec();
        b.extend_from_slice(b"{}");
        let e = split_body(&b, &l).unwrap_err();
        assert!(e.is_too_large());
        assert_eq!(
            e.to_string(),
            "JSON metadata blob too large: 4294967295 bytes, the limit is 1048576"
        );
        let mut b = 2u32.to_le_bytes().to_vec();
        b.extend_from_slice(b"{}");
        b.extend_from_slice(&u32::MAX.to_le_bytes());
        let e = split_body(&b, &l).unwrap_err();
        assert!(e.is_too_large());
        assert_eq!(
            e.to_string(),
            "max upload size is: 10485760 bytes; this crate is 4294967295 bytes"
        );
    }

    fn meta_json(extra: &str) -> Vec<u8> {
        format!(r#"{{"name":"foo","vers":"1.0.0","deps":[],"features":{{}},"authors":[],"description":null,"documentation":null,"homepage":null,"readme":null,"readme_file":null,"keywords":[],"categories":[],"license":null,"license_file":null,"repository":null,"badges":{{}},"links":null,"rust_version":null{extra}}}"#).into_bytes()
    }

    #[test]
    fn parses_cargo_shaped_metadata() {
        let v = parse_meta(&meta_json(""), &[]).unwrap();
        assert_eq!(v.meta.name, "foo");
        assert_eq!(v.version.text, "1.0.0");
        assert!(v.deps.is_empty());
    }

    #[test]
    fn maps_renames_and_registries() {
        let json = br#"{"name":"foo","vers":"1.0.0","deps":[
            {"name":"serde_json","version_req":"^1","features":[],"optional":false,"default_features":true,"target":null,"kind":"normal","registry":"https://github.com/rust-lang/crates.io-index","explicit_name_in_toml":"json"},
            {"name":"bar","version_req":"^0.3","features":["x"],"optional":true,"default_features":false,"target":"cfg(unix)","kind":"build"},
            {"name":"own","version_req":"^1","features":[],"optional":false,"default_features":true,"target":null,"kind":"normal","registry":"sparse+http://127.0.0.1:8787/index/"},
            {"name":"tester","version_req":"^1","features":[],"optional":false,"default_features":true,"target":null,"kind":"dev"}
        ],"features":{}}"#;
        let v = parse_meta(json, &["sparse+http://127.0.0.1:8787/index/".into()]).unwrap();
        let names: Vec<_> = v.deps.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["bar", "json", "own", "tester"]);
        let json_dep = &v.deps[1];
        assert_eq!(json_dep.package.as_deref(), Some("serde_json"));
        assert_eq!(json_dep.registry.as_deref(), Some(CRATES_IO_INDEX));
        assert_eq!(v.deps[0].kind, "build");
        assert_eq!(v.deps[0].target.as_deref(), Some("cfg(unix)"));
        assert!(v.deps[0].optional && !v.deps[0].default_features);
        assert_eq!(v.deps[2].registry, None);
        assert_eq!(v.local_deps, ["bar", "own"]);
    }

    #[test]
    fn rejects_invalid_metadata() {
        let cases: &[(&[u8], &str)] = &[
            (b"not json", "invalid upload request: expected ident at line 1 column 2"),
            (br#"{"vers":"1.0.0"}"#, "invalid upload request: missing field `name` at line 1 column 16"),
            (br#"{"name":"1x","vers":"1.0.0"}"#, "invalid crate name `1x`: the name cannot start with a digit"),
            (br#"{"name":"std","vers":"1.0.0"}"#, "cannot upload a crate with a reserved name: `std` is reserved (toolchain or Windows device name)"),
            (br#"{"name":"foo","vers":"1.0"}"#, "\"1.0\" is an invalid semver version: unexpected end of input while parsing minor version number"),
            (br#"{"name":"foo","vers":"1.0.0","deps":[{"name":"x y","version_req":"1"}]}"#, "invalid dependency: invalid crate name `x y`: invalid character ` `; only ASCII letters, digits, `-` and `_` are allowed"),
            (br#"{"name":"foo","vers":"1.0.0","deps":[{"name":"x","version_req":"=>1"}]}"#, "dependency `x` has an invalid version requirement \"=>1\": unexpected character '>' while parsing major version number"),
            (br#"{"name":"foo","vers":"1.0.0","deps":[{"name":"x","version_req":"1","kind":"weird"}]}"#, "dependency `x` has an unknown kind `weird`"),
            (br#"{"name":"foo","vers":"1.0.0","deps":[{"name":"x","version_req":"1","artifact":["bin"]}]}"#, "dependency `x` is an artifact dependency, which this registry does not support"),
            (br#"{"name":"foo","vers":"1.0.0","features":{"a b":[]}}"#, "invalid feature name `a b`"),
            (br#"{"name":"foo","vers":"1.0.0","features":{"a":["dep:"]}}"#, "feature `a`: invalid feature value `dep:`"),
            (br#"{"name":"foo","vers":"1.0.0","rust_version":">=1.70"}"#, "invalid `rust-version` \">=1.70\": use a bare version such as 1.74"),
            (br#"{"name":"foo","vers":"1.0.0","links":""}"#, "the `links` value must be 1 to 200 characters"),
        ];
        for (json, msg) in cases {
            let err = parse_meta(json, &[]).unwrap_err();
            assert!(!err.is_too_large());
            assert_eq!(err.to_string(), *msg, "{}", String::from_utf8_lossy(json));
        }
    }

    #[test]
    fn drops_non_http_urls_with_a_warning() {
        let v = parse_meta(br#"{"name":"foo","vers":"1.0.0","homepage":"javascript:alert(1)","repository":"https://example.com/r"}"#, &[]).unwrap();
        assert_eq!(v.meta.homepage, None);
        assert_eq!(v.meta.repository.as_deref(), Some("https://example.com/r"));
        assert_eq!(v.warnings.len(), 1);
    }

    #[test]
    fn feature_values() {
        for ok in [
            "std",
            "dep:serde",
            "serde/std",
            "serde?/std",
            "_priv",
            "a+b",
            "1.0",
        ] {
            assert!(validate_feature_value(ok).is_ok(), "{ok}");
        }
        for bad in ["", "dep:", "a/b/c", "x?/", "?/a", "a b"] {
            assert!(validate_feature_value(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rust_versions() {
        assert!(validate_rust_version("1.74").is_ok());
        assert!(validate_rust_version("1.74.1").is_ok());
        assert!(validate_rust_version("1").is_ok());
        for bad in ["", "1.", "1.74.0.1", "v1.74", "1.74-beta"] {
            assert!(validate_rust_version(bad).is_err(), "{bad}");
        }
    }
}
