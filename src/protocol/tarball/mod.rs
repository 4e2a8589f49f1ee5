//! Checks on an uploaded `.crate`: one gzip member and nothing after it, a
//! tar archive with nothing but zero padding after its end, one
//! `<name>-<version>/` root, only regular files and directories, every path
//! in the one canonical form that lands where it reads (as cargo's
//! extraction, the `tar` crate's `unpack_in`, would place it, on every
//! platform), no two entries on the same file, bounded unpacked size and
//! entry count, and exactly one `Cargo.toml` whose name and version match
//! the metadata. Reads what the index takes from the manifest.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

use flate2::bufread::GzDecoder;

mod error;

pub use error::{BadName, TarballError};

use super::manifest::{ManifestInfo, check_manifest};
use super::publish::Limits;

/// Largest `Cargo.toml` read from a tarball.
const MAX_MANIFEST: u64 = 1024 * 1024;

/// The file cargo writes into an unpacked package and skips in archives.
const CARGO_OK: &str = ".cargo-ok";

/// A regular file of the archive, where extraction places it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackagedFile {
    /// Relative to the root folder, `/`-separated, canonical.
    pub path: String,
    pub size: u64,
}

/// Figures about a checked tarball, and what was validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarballInfo {
    pub manifest: ManifestInfo,
    /// The `Cargo.toml` text that was checked (what lands on disk).
    pub manifest_text: String,
    /// Every regular file, ordered by path ignoring case.
    pub files: Vec<PackagedFile>,
    pub unpacked_bytes: u64,
    pub entries: u64,
}

/// A reader that fails once more than `limit` bytes came through it and
/// records that it did, so a gzip bomb is told apart from corruption.
struct Bounded<R> {
    inner: R,
    left: u64,
    total: Rc<Cell<u64>>,
    tripped: Rc<Cell<bool>>,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let n64 = n as u64;
        if n64 > self.left {
            self.tripped.set(true);
            return Err(io::Error::other("unpacked size limit exceeded"));
        }
        self.left -= n64;
        self.total.set(self.total.get() + n64);
        Ok(n)
    }
}

/// Longest entry path, longest name within it, and the most path bytes of
/// all entries together: bounds on the memory the same-file check needs.
const MAX_PATH: usize = 4096;
const MAX_NAME: usize = 255;
const MAX_PATH_BYTES: usize = 8 * 1024 * 1024;

/// The entries seen so far, for the same-file checks made once all are
/// read: paths are compared ignoring case (macOS and Windows file systems
/// do), so two entries never land on one file on any platform, and no
/// path is used both as a file and as a folder. Memory is linear in the
/// path bytes (one sort, no per-folder keys).
struct Landing {
    /// The root folder, for messages.
    root: String,
    /// (lowercased path with `/` as NUL, so a folder's contents sort right
    /// after it; is a folder; path as written; size).
    entries: Vec<(String, bool, String, u64)>,
    path_bytes: usize,
}

impl Landing {
    fn add(&mut self, rest: &str, is_dir: bool, size: u64) -> Result<(), TarballError> {
        self.path_bytes += rest.len();
        if self.path_bytes > MAX_PATH_BYTES {
            return Err(TarballError::PathBytes);
        }
        let key = rest.to_lowercase().replace('/', "\0");
        self.entries.push((key, is_dir, rest.to_string(), size));
        Ok(())
    }

    /// Checks every pair that could land on one file, and gives the
    /// regular files (by path).
    fn finish(mut self) -> Result<Vec<PackagedFile>, TarballError> {
        // Stable: of two equal paths, the earlier in the archive is first.
        self.entries.sort_by(|a, b| a.0.cmp(&b.0));
        for pair in self.entries.windows(2) {
            let [a, b] = pair else { continue };
            let root = &self.root;
            if a.0 == b.0 {
                return Err(match (a.1, b.1) {
                    (false, false) | (true, true) => TarballError::SameLanding {
                        root: root.clone(),
                        a: a.2.clone(),
                        b: b.2.clone(),
                        folder: a.1,
                    },
                    (false, true) => file_and_folder(root, &a.2),
                    (true, false) => file_and_folder(root, &b.2),
                });
            }
            // A file with anything inside it: the next entry in this order
            // is inside `a` if anything is.
            if !a.1
                && b.0
                    .strip_prefix(a.0.as_str())
                    .is_some_and(|r| r.starts_with('\0'))
            {
                return Err(file_and_folder(root, &a.2));
            }
        }
        Ok(self
            .entries
            .into_iter()
            .filter(|e| !e.1)
            .map(|(_, _, path, size)| PackagedFile { path, size })
            .collect())
    }
}

fn file_and_folder(root: &str, path: &str) -> TarballError {
    TarballError::FileAndFolder {
        root: root.to_string(),
        path: path.to_string(),
    }
}

/// Checks a tarball against the crate name and version from the metadata.
pub fn check_tarball(
    bytes: &[u8],
    name: &str,
    version: &str,
    limits: &Limits,
) -> Result<TarballInfo, TarballError> {
    if bytes.get(..2) != Some(&[0x1f, 0x8b][..]) {
        return Err(TarballError::NotGzip);
    }
    let total = Rc::new(Cell::new(0u64));
    let tripped = Rc::new(Cell::new(false));
    // The `bufread` decoder consumes exactly one gzip member from the slice,
    // so whatever follows it is left over and can be refused.
    let reader = Bounded {
        inner: GzDecoder::new(bytes),
        left: limits.max_unpacked_bytes,
        total: total.clone(),
        tripped: tripped.clone(),
    };
    let too_big = || TarballError::TooBig {
        limit: limits.max_unpacked_bytes,
    };
    let corrupt = |e: io::Error| TarballError::Corrupt(e.to_string());

    let root = format!("{name}-{version}");
    let mut archive = tar::Archive::new(reader);
    let mut entries = 0u64;
    let mut manifest: Option<String> = None;
    let mut landing = Landing {
        root: root.clone(),
        entries: Vec::new(),
        path_bytes: 0,
    };
    // A manifest named with other casing; refused unless the archive is
    // refused for something more specific first.
    let mut misnamed: Option<String> = None;
    {
        let iter = archive
            .entries()
            .map_err(|e| if tripped.get() { too_big() } else { corrupt(e) })?;
        for entry in iter {
            let mut entry =
                entry.map_err(|e| if tripped.get() { too_big() } else { corrupt(e) })?;
            let kind = entry.header().entry_type();
            entries += 1;
            if entries > limits.max_entries {
                return Err(TarballError::TooManyEntries {
                    limit: limits.max_entries,
                });
            }
            let raw_path = entry.path_bytes().into_owned();
            let path = String::from_utf8(raw_path).map_err(|_| TarballError::PathNotUtf8)?;
            let is_file = kind.is_file() || kind.is_contiguous();
            if !(is_file || kind.is_dir()) {
                let what = if kind.is_symlink() {
                    "a symbolic link"
                } else if kind.is_hard_link() {
                    "a hard link"
                } else if kind.is_character_special() || kind.is_block_special() {
                    "a device file"
                } else if kind.is_fifo() {
                    "a FIFO"
                } else {
                    "an entry of an unsupported type"
                };
                return Err(TarballError::Special { what, path });
            }
            let rest = landing_path(&path, &root, kind.is_dir())?;
            let size = entry.size();
            if kind.is_dir() {
                if size != 0 {
                    return Err(TarballError::FolderWithData(path));
                }
                if !rest.is_empty() {
                    landing.add(rest, true, 0)?;
                }
                continue;
            }
            if rest.is_empty() {
                return Err(TarballError::RootIsFile(root));
            }
            landing.add(rest, false, size)?;
            if !rest.eq_ignore_ascii_case("Cargo.toml") {
                continue;
            }
            if rest != "Cargo.toml" {
                misnamed.get_or_insert_with(|| rest.to_string());
                continue;
            }
            if size > MAX_MANIFEST {
                return Err(TarballError::ManifestTooLarge);
            }
            let mut text = String::new();
            (&mut entry)
                .take(MAX_MANIFEST)
                .read_to_string(&mut text)
                .map_err(|e| {
                    if tripped.get() {
                        too_big()
                    } else {
                        TarballError::ManifestNotUtf8(e.to_string())
                    }
                })?;
            manifest = Some(text);
        }
    }
    // After the end-of-archive block only zero padding may follow: cargo
    // stops at that block, so anything else would be stored but unseen.
    let mut rest = archive.into_inner();
    let mut buf = [0u8; 8192];
    loop {
        let n = rest
            .read(&mut buf)
            .map_err(|e| if tripped.get() { too_big() } else { corrupt(e) })?;
        if n == 0 {
            break;
        }
        if buf.get(..n).is_some_and(|r| r.iter().any(|b| *b != 0)) {
            return Err(TarballError::DataAfterTar);
        }
    }
    // Nothing may follow the gzip member (such as a second member, which
    // cargo would never unpack).
    let after = rest.inner.into_inner();
    if !after.is_empty() {
        return Err(TarballError::DataAfterGzip {
            second_member: after.starts_with(&[0x1f, 0x8b]),
            bytes: after.len(),
        });
    }

    let files = landing.finish()?;
    if let Some(rest) = misnamed {
        return Err(TarballError::MisnamedManifest(rest));
    }
    let text = manifest.ok_or_else(|| TarballError::NoManifest(root.clone()))?;
    let info = check_manifest(&text, name, version)?;
    Ok(TarballInfo {
        manifest: info,
        manifest_text: text,
        files,
        unpacked_bytes: total.get(),
        entries,
    })
}

/// Where an entry lands relative to the root folder (`""` for the root
/// itself), when its path is in the one canonical form: the root folder,
/// then `/`-separated names, with a trailing `/` only on folders. Every
/// form that extraction would rewrite or skip (empty components, `.`,
/// `..`, leading `/`), or that some platform resolves elsewhere
/// (backslashes, `:`, names ending in a dot or a space), is refused, as is
/// `.cargo-ok`, which cargo skips.
fn landing_path<'a>(path: &'a str, root: &str, is_dir: bool) -> Result<&'a str, TarballError> {
    let owned = || path.to_string();
    if path.starts_with('/') {
        return Err(TarballError::AbsolutePath(owned()));
    }
    if path.contains('\0') {
        return Err(TarballError::NulInPath(owned()));
    }
    if path.contains('\\') {
        return Err(TarballError::Backslash(owned()));
    }
    if path.len() > MAX_PATH {
        return Err(TarballError::PathTooLong(owned()));
    }
    let body = match path.strip_suffix('/') {
        Some(b) if is_dir => b,
        Some(_) => return Err(TarballError::FileEndsInSlash(owned())),
        None => path,
    };
    let mut parts = body.split('/');
    if parts.next() != Some(root) {
        return Err(TarballError::OutsideRoot {
            path: owned(),
            root: root.to_string(),
        });
    }
    for p in parts {
        let bad = match p {
            "" => Some(BadName::Empty),
            "." | ".." => Some(BadName::Dots(p.to_string())),
            _ if p.eq_ignore_ascii_case(CARGO_OK) => Some(BadName::CargoOk),
            _ if p.len() > MAX_NAME => Some(BadName::TooLong),
            _ if p.contains(':') => Some(BadName::Colon),
            _ if short_name_alias(p) => Some(BadName::ShortName),
            _ if p.ends_with('.') || p.ends_with(' ') => Some(BadName::TrailingDotOrSpace),
            _ => None,
        };
        if let Some(what) = bad {
            return Err(TarballError::BadPath {
                what,
                path: owned(),
            });
        }
    }
    Ok(body.get(root.len() + 1..).unwrap_or(""))
}

/// Whether a name has the `~<digit>` of a Windows 8.3 short name (such as
/// `LONGFO~1`), which on volumes with short names lands on another file.
fn short_name_alias(name: &str) -> bool {
    name.as_bytes()
        .windows(2)
        .any(|w| w.first() == Some(&b'~') && w.get(1).is_some_and(u8::is_ascii_digit))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write;

    /// Builds a gzip tarball with raw headers, so tests can make any entry.
    pub fn tarball(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (path, kind, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(*kind);
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            if kind.is_symlink() || kind.is_hard_link() {
                h.set_link_name("target").unwrap();
            }
            // Write the name bytes directly so `..` and absolute paths survive.
            let name = &mut h.as_gnu_mut().unwrap().name;
            name.fill(0);
            name[..path.len()].copy_from_slice(path.as_bytes());
            h.set_cksum();
            b.append(&h, *data).unwrap();
        }
        let tar = b.into_inner().unwrap();
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(&tar).unwrap();
        gz.finish().unwrap()
    }

    const MANIFEST: &[u8] =
        b"[package]\nname = \"foo\"\nversion = \"1.0.0\"\nrust-version = \"1.74\"\nlinks = \"z\"\n";

    fn ok_crate() -> Vec<u8> {
        tarball(&[
            ("foo-1.0.0/Cargo.toml", tar::EntryType::Regular, MANIFEST),
            ("foo-1.0.0/src/", tar::EntryType::Directory, b""),
            (
                "foo-1.0.0/src/lib.rs",
                tar::EntryType::Regular,
                b"pub fn f() {}",
            ),
        ])
    }

    #[test]
    fn accepts_a_normal_crate() {
        let info = check_tarball(&ok_crate(), "foo", "1.0.0", &Limits::default()).unwrap();
        assert_eq!(info.manifest.rust_version.as_deref(), Some("1.74"));
        assert_eq!(info.manifest.links.as_deref(), Some("z"));
        assert_eq!(info.entries, 3);
    }

    fn err_of(entries: &[(&str, tar::EntryType, &[u8])]) -> String {
        check_tarball(&tarball(entries), "foo", "1.0.0", &Limits::default())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn rejects_bad_entries() {
        use tar::EntryType as T;
        let m = ("foo-1.0.0/Cargo.toml", T::Regular, MANIFEST);
        type Case<'a> = (Vec<(&'a str, T, &'a [u8])>, &'a str);
        let cases: Vec<Case> = vec![
            (
                vec![m, ("foo-1.0.0/../evil", T::Regular, b"x")],
                "the .crate contains a path with `..`: `foo-1.0.0/../evil`",
            ),
            (
                vec![m, ("/etc/passwd", T::Regular, b"x")],
                "the .crate contains an absolute path `/etc/passwd`",
            ),
            (
                vec![m, ("other-1.0.0/x", T::Regular, b"x")],
                "the .crate contains `other-1.0.0/x`, outside its single root folder `foo-1.0.0/`",
            ),
            (
                vec![m, ("foo-1.0.0/link", T::Symlink, b"")],
                "the .crate contains a symbolic link at `foo-1.0.0/link`; only regular files and directories are allowed",
            ),
            (
                vec![m, ("foo-1.0.0/hard", T::Link, b"")],
                "the .crate contains a hard link at `foo-1.0.0/hard`; only regular files and directories are allowed",
            ),
            (
                vec![m, ("foo-1.0.0/dev", T::Char, b"")],
                "the .crate contains a device file at `foo-1.0.0/dev`; only regular files and directories are allowed",
            ),
            (
                vec![m, ("foo-1.0.0/blk", T::Block, b"")],
                "the .crate contains a device file at `foo-1.0.0/blk`; only regular files and directories are allowed",
            ),
            (
                vec![m, ("foo-1.0.0/fifo", T::Fifo, b"")],
                "the .crate contains a FIFO at `foo-1.0.0/fifo`; only regular files and directories are allowed",
            ),
            (
                vec![("foo-1.0.0/src/lib.rs", T::Regular, b"")],
                "the .crate is missing a `Cargo.toml` manifest file at `foo-1.0.0/Cargo.toml`",
            ),
            (
                vec![("foo-1.0.0/CARGO.TOML", T::Regular, MANIFEST)],
                "the manifest `CARGO.TOML` must be named `Cargo.toml` with that exact casing",
            ),
            (
                vec![m, ("foo-1.0.0/cargo.toml", T::Regular, MANIFEST)],
                "the .crate contains `foo-1.0.0/Cargo.toml` and `foo-1.0.0/cargo.toml`, which land on the same file (paths are compared ignoring case, as macOS and Windows do)",
            ),
            (
                vec![(
                    "foo-1.0.0/Cargo.toml",
                    T::Regular,
                    b"[package]\nname = \"bar\"\nversion = \"1.0.0\"\n",
                )],
                "metadata name `foo` does not match manifest name `bar`",
            ),
            (
                vec![(
                    "foo-1.0.0/Cargo.toml",
                    T::Regular,
                    b"[package]\nname = \"foo\"\nversion = \"1.0.1\"\n",
                )],
                "metadata version `1.0.0` does not match manifest version `1.0.1`",
            ),
            (
                vec![("foo-1.0.0/Cargo.toml", T::Regular, b"[package\n")],
                "the `Cargo.toml` in the .crate does not parse: unclosed table, expected `]`",
            ),
            (
                vec![("foo-1.0.0/Cargo.toml", T::Regular, b"[lib]\n")],
                "the `Cargo.toml` in the .crate has no `[package]` section",
            ),
            (
                vec![(
                    "foo-1.0.0/Cargo.toml",
                    T::Regular,
                    b"[package]\nname = \"foo\"\nversion.workspace = true\n",
                )],
                "the `Cargo.toml` in the .crate inherits `package.version` from a workspace: value from workspace hasn't been set",
            ),
        ];
        for (entries, msg) in cases {
            let e = err_of(&entries);
            assert_eq!(e, msg);
        }
    }

    #[test]
    fn rejects_non_gzip_and_corrupt_gzip() {
        let e = check_tarball(b"plain tar?", "foo", "1.0.0", &Limits::default())
            .unwrap_err()
            .to_string();
        assert_eq!(e, "the uploaded .crate is not a gzip file");
        let mut c = ok_crate();
        let n = c.len();
        c.truncate(n - 10);
        let e = check_tarball(&c, "foo", "1.0.0", &Limits::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("the .crate is not a valid gzip-compressed tar archive: "),
            "{e}"
        );
        let mut c = ok_crate();
        let mid = c.len() / 2;
        c[mid] ^= 0xff;
        assert!(check_tarball(&c, "foo", "1.0.0", &Limits::default()).is_err());
    }

    #[test]
    fn bounds_unpacked_size_and_entries() {
        let zeros = vec![0u8; 4 * 1024 * 1024];
        let bomb = tarball(&[
            ("foo-1.0.0/Cargo.toml", tar::EntryType::Regular, MANIFEST),
            ("foo-1.0.0/zeros", tar::EntryType::Regular, &zeros),
        ]);
        assert!(bomb.len() < 64 * 1024);
        let limits = Limits {
            max_unpacked_bytes: 1024 * 1024,
            ..Limits::default()
        };
        let e = check_tarball(&bomb, "foo", "1.0.0", &limits)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "the .crate unpacks to more than the limit of 1048576 bytes"
        );
        let limits = Limits {
            max_entries: 2,
            ..Limits::default()
        };
        let e = check_tarball(&ok_crate(), "foo", "1.0.0", &limits)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "the .crate has more than the limit of 2 entries");
    }
}
