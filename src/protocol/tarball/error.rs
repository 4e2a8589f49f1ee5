//! Why an uploaded `.crate` is refused: one variant per rule of
//! `check_tarball`, each with the message a publisher reads. Paths are
//! kept as the archive wrote them and shortened for display here.

use super::super::manifest::ManifestError;
use super::super::version::printable;
use super::{CARGO_OK, MAX_MANIFEST, MAX_NAME, MAX_PATH, MAX_PATH_BYTES};

/// What is wrong with one name inside an entry's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadName {
    /// `//`.
    Empty,
    /// `.` or `..`.
    Dots(String),
    CargoOk,
    TooLong,
    Colon,
    /// `~` and a digit: a Windows 8.3 short name.
    ShortName,
    /// Ends in a dot or a space.
    TrailingDotOrSpace,
}

impl std::fmt::Display for BadName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BadName::Empty => write!(f, "an empty name (`//`)"),
            BadName::Dots(p) => write!(f, "`{p}`"),
            BadName::CargoOk => write!(f, "`{CARGO_OK}`, which cargo skips"),
            BadName::TooLong => write!(f, "a name longer than {MAX_NAME} bytes"),
            BadName::Colon => write!(f, "`:`"),
            BadName::ShortName => write!(
                f,
                "a `~` and digit, the form of a Windows short (8.3) name that can alias another file"
            ),
            BadName::TrailingDotOrSpace => {
                write!(f, "a name ending in a dot or a space (Windows drops it)")
            }
        }
    }
}

/// Why a `.crate` is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TarballError {
    NotGzip,
    /// The gzip or tar reader's message.
    Corrupt(String),
    TooBig {
        limit: u64,
    },
    TooManyEntries {
        limit: u64,
    },
    PathBytes,
    PathNotUtf8,
    /// A link, device, FIFO or other entry that is not a file or folder.
    Special {
        what: &'static str,
        path: String,
    },
    AbsolutePath(String),
    NulInPath(String),
    Backslash(String),
    PathTooLong(String),
    FileEndsInSlash(String),
    OutsideRoot {
        path: String,
        root: String,
    },
    BadPath {
        what: BadName,
        path: String,
    },
    FolderWithData(String),
    RootIsFile(String),
    /// Two entries on one file or folder (`folder` says which).
    SameLanding {
        root: String,
        a: String,
        b: String,
        folder: bool,
    },
    FileAndFolder {
        root: String,
        path: String,
    },
    ManifestTooLarge,
    ManifestNotUtf8(String),
    DataAfterTar,
    DataAfterGzip {
        second_member: bool,
        bytes: usize,
    },
    MisnamedManifest(String),
    NoManifest(String),
    Manifest(ManifestError),
}

impl From<ManifestError> for TarballError {
    fn from(e: ManifestError) -> Self {
        TarballError::Manifest(e)
    }
}

impl std::fmt::Display for TarballError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use TarballError as E;
        let p = |s: &str| printable(s);
        match self {
            E::NotGzip => write!(f, "the uploaded .crate is not a gzip file"),
            E::Corrupt(e) => write!(
                f,
                "the .crate is not a valid gzip-compressed tar archive: {e}"
            ),
            E::TooBig { limit } => write!(
                f,
                "the .crate unpacks to more than the limit of {limit} bytes"
            ),
            E::TooManyEntries { limit } => {
                write!(f, "the .crate has more than the limit of {limit} entries")
            }
            E::PathBytes => write!(
                f,
                "the .crate's paths add up to more than {MAX_PATH_BYTES} bytes"
            ),
            E::PathNotUtf8 => write!(f, "the .crate has a path that is not valid UTF-8"),
            E::Special { what, path } => write!(
                f,
                "the .crate contains {what} at `{}`; only regular files and directories are allowed",
                p(path)
            ),
            E::AbsolutePath(path) => {
                write!(f, "the .crate contains an absolute path `{}`", p(path))
            }
            E::NulInPath(path) => write!(
                f,
                "the .crate contains a path with a NUL byte: `{}`",
                p(path)
            ),
            E::Backslash(path) => write!(
                f,
                "the .crate contains a path with a backslash: `{}`; use `/` between names",
                p(path)
            ),
            E::PathTooLong(path) => write!(
                f,
                "the .crate contains a path longer than {MAX_PATH} bytes: `{}`",
                p(path)
            ),
            E::FileEndsInSlash(path) => write!(
                f,
                "the .crate contains a file path ending in `/`: `{}`",
                p(path)
            ),
            E::OutsideRoot { path, root } => write!(
                f,
                "the .crate contains `{}`, outside its single root folder `{root}/`",
                p(path)
            ),
            E::BadPath { what, path } => {
                write!(f, "the .crate contains a path with {what}: `{}`", p(path))
            }
            E::FolderWithData(path) => write!(
                f,
                "the .crate has a folder entry `{}` that carries data",
                p(path)
            ),
            E::RootIsFile(root) => {
                write!(f, "the .crate's root `{root}` must be a folder, not a file")
            }
            E::SameLanding { root, a, b, folder } => write!(
                f,
                "the .crate contains `{root}/{}` and `{root}/{}`, which land on the same {} (paths are compared ignoring case, as macOS and Windows do)",
                p(a),
                p(b),
                if *folder { "folder" } else { "file" }
            ),
            E::FileAndFolder { root, path } => write!(
                f,
                "the .crate uses `{root}/{}` both as a file and as a folder",
                p(path)
            ),
            E::ManifestTooLarge => {
                write!(f, "the `Cargo.toml` is larger than {MAX_MANIFEST} bytes")
            }
            E::ManifestNotUtf8(e) => {
                write!(f, "the `Cargo.toml` could not be read as UTF-8 text: {e}")
            }
            E::DataAfterTar => write!(
                f,
                "the .crate has data after the end of its tar archive; cargo would ignore it"
            ),
            E::DataAfterGzip {
                second_member,
                bytes,
            } => write!(
                f,
                "the .crate has {} after the end of its gzip stream ({bytes} bytes); cargo would ignore it",
                if *second_member {
                    "a second gzip member"
                } else {
                    "data"
                }
            ),
            E::MisnamedManifest(path) => write!(
                f,
                "the manifest `{path}` must be named `Cargo.toml` with that exact casing"
            ),
            E::NoManifest(root) => write!(
                f,
                "the .crate is missing a `Cargo.toml` manifest file at `{root}/Cargo.toml`"
            ),
            E::Manifest(e) => e.fmt(f),
        }
    }
}
