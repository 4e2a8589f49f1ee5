//! The packaged `Cargo.toml` of an uploaded `.crate`: checked against the
//! publish metadata (name and version, as cargo compares them), and what
//! the index takes from it (`rust-version`, `links`).

use serde::Deserialize;

use super::publish::InvalidRustVersion;
use super::version::printable;

/// What the registry takes from the packaged `Cargo.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ManifestInfo {
    pub rust_version: Option<String>,
    pub links: Option<String>,
}

#[derive(Deserialize)]
struct RawManifest {
    package: Option<RawPackage>,
    project: Option<RawPackage>,
}

#[derive(Deserialize)]
struct RawPackage {
    name: Option<toml::Value>,
    version: Option<toml::Value>,
    #[serde(rename = "rust-version")]
    rust_version: Option<toml::Value>,
    links: Option<toml::Value>,
}

/// Why a packaged manifest is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestError {
    /// TOML's own message.
    Parse(String),
    NoPackage,
    /// `package.<field>` is `{ workspace = true }`.
    Inherited(&'static str),
    NoName,
    NoVersion,
    NameMismatch {
        meta: String,
        manifest: String,
    },
    VersionMismatch {
        meta: String,
        manifest: String,
    },
    RustVersionNotText,
    RustVersion(InvalidRustVersion),
    LinksNotText,
}

impl std::fmt::Display for ManifestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use ManifestError as E;
        const IN: &str = "the `Cargo.toml` in the .crate";
        match self {
            E::Parse(e) => write!(f, "{IN} does not parse: {e}"),
            E::NoPackage => write!(f, "{IN} has no `[package]` section"),
            E::Inherited(field) => write!(
                f,
                "{IN} inherits `package.{field}` from a workspace: value from workspace hasn't been set"
            ),
            E::NoName => write!(f, "{IN} has no package name"),
            E::NoVersion => write!(f, "{IN} has no package version"),
            E::NameMismatch { meta, manifest } => write!(
                f,
                "metadata name `{meta}` does not match manifest name `{}`",
                printable(manifest)
            ),
            E::VersionMismatch { meta, manifest } => write!(
                f,
                "metadata version `{meta}` does not match manifest version `{}`",
                printable(manifest)
            ),
            E::RustVersionNotText => {
                write!(f, "`package.rust-version` in the .crate must be a string")
            }
            E::RustVersion(e) => e.fmt(f),
            E::LinksNotText => write!(f, "`package.links` in the .crate must be a string"),
        }
    }
}

fn as_str(v: &Option<toml::Value>) -> Option<&str> {
    v.as_ref().and_then(|v| v.as_str())
}

/// Checks the packaged manifest against the metadata and reads the fields
/// the index takes from it.
pub fn check_manifest(
    text: &str,
    name: &str,
    version: &str,
) -> Result<ManifestInfo, ManifestError> {
    use ManifestError as E;
    let raw: RawManifest = toml::from_str(text).map_err(|e| E::Parse(e.message().to_string()))?;
    let pkg = raw.package.or(raw.project).ok_or(E::NoPackage)?;
    for (field, v) in [("name", &pkg.name), ("version", &pkg.version)] {
        if v.as_ref().is_some_and(|v| v.is_table()) {
            return Err(E::Inherited(field));
        }
    }
    let m_name = as_str(&pkg.name).ok_or(E::NoName)?;
    let m_version = as_str(&pkg.version).ok_or(E::NoVersion)?;
    if m_name != name {
        return Err(E::NameMismatch {
            meta: name.to_string(),
            manifest: m_name.to_string(),
        });
    }
    let same_version = semver::Version::parse(m_version)
        .map(|v| v.to_string() == version)
        .unwrap_or(false);
    if !same_version {
        return Err(E::VersionMismatch {
            meta: version.to_string(),
            manifest: m_version.to_string(),
        });
    }
    let rust_version = match &pkg.rust_version {
        None => None,
        Some(v) => {
            let s = v.as_str().ok_or(E::RustVersionNotText)?;
            super::publish::validate_rust_version(s).map_err(E::RustVersion)?;
            Some(s.to_string())
        }
    };
    let links = match &pkg.links {
        None => None,
        Some(v) => Some(v.as_str().ok_or(E::LinksNotText)?.to_string()),
    };
    Ok(ManifestInfo {
        rust_version,
        links,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_version_compares_canonically() {
        assert!(
            check_manifest(
                "[package]\nname=\"foo\"\nversion=\"1.0.0+b\"\n",
                "foo",
                "1.0.0+b"
            )
            .is_ok()
        );
        assert!(
            check_manifest(
                "[project]\nname=\"foo\"\nversion=\"1.0.0\"\n",
                "foo",
                "1.0.0"
            )
            .is_ok()
        );
        assert!(
            check_manifest(
                "[package]\nname=\"foo\"\nversion=\"1.0.0\"\nrust-version=\"x\"\n",
                "foo",
                "1.0.0"
            )
            .is_err()
        );
    }
}
