//! Why a publish is refused: the framing, the metadata and its parts
//! (features, `rust-version`), one variant per rule with the message a
//! publisher reads; 413 for the two size limits, 400 for the rest.

use super::super::names::NameError;
use super::super::version::{VersionError, printable};
use super::{MAX_DEPS, MAX_FEATURES, MAX_README, MAX_TEXT};

/// Why a publish body or its metadata is refused: 413 for the two size
/// limits (`is_too_large`), 400 for everything else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishError {
    MetadataTooLarge {
        len: u64,
        limit: u64,
    },
    CrateTooLarge {
        len: u64,
        limit: u64,
    },
    NoMetadataLength,
    MetadataCut(u64),
    NoTarballLength,
    TarballCut(u64),
    TrailingBytes(usize),
    EmptyTarball,
    /// serde's message.
    InvalidJson(String),
    Name(NameError),
    Version(VersionError),
    TooManyDeps(usize),
    Dependency(NameError),
    DependencyRename(NameError),
    DependencyReq {
        dep: String,
        req: String,
        why: String,
    },
    DependencyKind {
        dep: String,
        kind: String,
    },
    ArtifactDependency(String),
    DependencyFeatures(String),
    DependencyFeature {
        dep: String,
        why: FeatureError,
    },
    DependencyTarget(String),
    DependencyRegistry(String),
    TooManyFeatures(usize),
    Feature(FeatureError),
    FeatureValues(String),
    FeatureValue {
        feature: String,
        why: FeatureError,
    },
    Links,
    RustVersion(InvalidRustVersion),
    TextTooLong(&'static str),
    ReadmeTooLarge,
    Keywords,
    Categories,
    Authors,
}

impl PublishError {
    /// Whether this is a size limit (413) rather than a bad request (400).
    pub fn is_too_large(&self) -> bool {
        matches!(
            self,
            PublishError::MetadataTooLarge { .. } | PublishError::CrateTooLarge { .. }
        )
    }
}

impl std::fmt::Display for PublishError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use PublishError as E;
        match self {
            E::MetadataTooLarge { len, limit } => write!(
                f,
                "JSON metadata blob too large: {len} bytes, the limit is {limit}"
            ),
            E::CrateTooLarge { len, limit } => write!(
                f,
                "max upload size is: {limit} bytes; this crate is {len} bytes"
            ),
            E::NoMetadataLength => write!(
                f,
                "invalid metadata length: the body is too short to hold one"
            ),
            E::MetadataCut(len) => write!(
                f,
                "invalid metadata length: {len} bytes announced but the body ends early"
            ),
            E::NoTarballLength => write!(
                f,
                "invalid tarball length: the body ends before the tarball length"
            ),
            E::TarballCut(len) => write!(
                f,
                "invalid tarball length: {len} bytes announced but the body ends early"
            ),
            E::TrailingBytes(n) => write!(
                f,
                "invalid publish body: {n} unexpected bytes after the tarball"
            ),
            E::EmptyTarball => write!(f, "the uploaded tarball is empty"),
            E::InvalidJson(e) => write!(f, "invalid upload request: {e}"),
            E::Name(e) => e.fmt(f),
            E::Version(e) => e.fmt(f),
            E::TooManyDeps(n) => write!(f, "too many dependencies: {n}, the limit is {MAX_DEPS}"),
            E::Dependency(e) => write!(f, "invalid dependency: {e}"),
            E::DependencyRename(e) => write!(f, "invalid dependency rename: {e}"),
            E::DependencyReq { dep, req, why } => write!(
                f,
                "dependency `{dep}` has an invalid version requirement \"{}\": {why}",
                printable(req)
            ),
            E::DependencyKind { dep, kind } => write!(
                f,
                "dependency `{dep}` has an unknown kind `{}`",
                printable(kind)
            ),
            E::ArtifactDependency(dep) => write!(
                f,
                "dependency `{dep}` is an artifact dependency, which this registry does not support"
            ),
            E::DependencyFeatures(dep) => {
                write!(f, "dependency `{dep}` enables too many features")
            }
            E::DependencyFeature { dep, why } => write!(f, "dependency `{dep}`: {why}"),
            E::DependencyTarget(dep) => write!(f, "dependency `{dep}` has an invalid target"),
            E::DependencyRegistry(dep) => {
                write!(f, "dependency `{dep}` names an invalid registry")
            }
            E::TooManyFeatures(n) => {
                write!(f, "too many features: {n}, the limit is {MAX_FEATURES}")
            }
            E::Feature(e) => e.fmt(f),
            E::FeatureValues(name) => write!(f, "feature `{name}` has too many values"),
            E::FeatureValue { feature, why } => write!(f, "feature `{feature}`: {why}"),
            E::Links => write!(f, "the `links` value must be 1 to 200 characters"),
            E::RustVersion(e) => e.fmt(f),
            E::TextTooLong(field) => write!(
                f,
                "the `{field}` is too long: the limit is {MAX_TEXT} characters"
            ),
            E::ReadmeTooLarge => write!(
                f,
                "the README is too large: the limit is {MAX_README} bytes"
            ),
            E::Keywords => write!(
                f,
                "too many or too long keywords: at most 20, of at most 100 characters"
            ),
            E::Categories => write!(
                f,
                "too many or too long categories: at most 20, of at most 100 characters"
            ),
            E::Authors => write!(f, "too many or too long authors"),
        }
    }
}

/// A feature name or value that is not one cargo accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeatureError {
    Name(String),
    Value(String),
}

impl std::fmt::Display for FeatureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FeatureError::Name(n) => write!(f, "invalid feature name `{}`", printable(n)),
            FeatureError::Value(v) => write!(f, "invalid feature value `{}`", printable(v)),
        }
    }
}

/// A `rust-version` that is not a bare version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidRustVersion(pub String);

impl std::fmt::Display for InvalidRustVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "invalid `rust-version` \"{}\": use a bare version such as 1.74",
            printable(&self.0)
        )
    }
}
