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
use serde::Deserialize;

use super::publish::Limits;

/// Largest `Cargo.toml` read from a tarball.
const MAX_MANIFEST: u64 = 1024 * 1024;

/// The file cargo writes into an unpacked package and skips in archives.
const CARGO_OK: &str = ".cargo-ok";

/// What the registry takes from the packaged `Cargo.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ManifestInfo {
    pub rust_version: Option<String>,
    pub links: Option<String>,
}

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
    fn add(&mut self, rest: &str, is_dir: bool, size: u64) -> Result<(), String> {
        self.path_bytes += rest.len();
        if self.path_bytes > MAX_PATH_BYTES {
            return Err(format!(
                "the .crate's paths add up to more than {MAX_PATH_BYTES} bytes"
            ));
        }
        let key = rest.to_lowercase().replace('/', "\0");
        self.entries.push((key, is_dir, rest.to_string(), size));
        Ok(())
    }

    /// Checks every pair that could land on one file, and gives the
    /// regular files (by path).
    fn finish(mut self) -> Result<Vec<PackagedFile>, String> {
        // Stable: of two equal paths, the earlier in the archive is first.
        self.entries.sort_by(|a, b| a.0.cmp(&b.0));
        for pair in self.entries.windows(2) {
            let [a, b] = pair else { continue };
            let (shown_a, shown_b) = (
                super::version::printable(&a.2),
                super::version::printable(&b.2),
            );
            let root = &self.root;
            if a.0 == b.0 {
                return Err(match (a.1, b.1) {
                    (false, false) | (true, true) => format!(
                        "the .crate contains `{root}/{shown_a}` and `{root}/{shown_b}`, which land on the same {} (paths are compared ignoring case, as macOS and Windows do)",
                        if a.1 { "folder" } else { "file" }
                    ),
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

fn file_and_folder(root: &str, path: &str) -> String {
    format!(
        "the .crate uses `{root}/{}` both as a file and as a folder",
        super::version::printable(path)
    )
}

/// Checks a tarball against the crate name and version from the metadata.
pub fn check_tarball(
    bytes: &[u8],
    name: &str,
    version: &str,
    limits: &Limits,
) -> Result<TarballInfo, String> {
    if bytes.get(..2) != Some(&[0x1f, 0x8b][..]) {
        return Err("the uploaded .crate is not a gzip file".into());
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
    let too_big = || {
        format!(
            "the .crate unpacks to more than the limit of {} bytes",
            limits.max_unpacked_bytes
        )
    };
    let corrupt =
        |e: io::Error| format!("the .crate is not a valid gzip-compressed tar archive: {e}");

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
                return Err(format!(
                    "the .crate has more than the limit of {} entries",
                    limits.max_entries
                ));
            }
            let raw_path = entry.path_bytes().into_owned();
            let path = String::from_utf8(raw_path)
                .map_err(|_| "the .crate has a path that is not valid UTF-8".to_string())?;
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
                return Err(format!(
                    "the .crate contains {what} at `{}`; only regular files and directories are allowed",
                    super::version::printable(&path)
                ));
            }
            let rest = landing_path(&path, &root, kind.is_dir())?;
            let size = entry.size();
            if kind.is_dir() {
                if size != 0 {
                    return Err(format!(
                        "the .crate has a folder entry `{}` that carries data",
                        super::version::printable(&path)
                    ));
                }
                if !rest.is_empty() {
                    landing.add(rest, true, 0)?;
                }
                continue;
            }
            if rest.is_empty() {
                return Err(format!(
                    "the .crate's root `{root}` must be a folder, not a file"
                ));
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
                return Err(format!(
                    "the `Cargo.toml` is larger than {MAX_MANIFEST} bytes"
                ));
            }
            let mut text = String::new();
            (&mut entry)
                .take(MAX_MANIFEST)
                .read_to_string(&mut text)
                .map_err(|e| {
                    if tripped.get() {
                        too_big()
                    } else {
                        format!("the `Cargo.toml` could not be read as UTF-8 text: {e}")
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
            return Err(
                "the .crate has data after the end of its tar archive; cargo would ignore it"
                    .into(),
            );
        }
    }
    // Nothing may follow the gzip member (such as a second member, which
    // cargo would never unpack).
    let after = rest.inner.into_inner();
    if !after.is_empty() {
        let what = if after.starts_with(&[0x1f, 0x8b]) {
            "a second gzip member"
        } else {
            "data"
        };
        return Err(format!(
            "the .crate has {what} after the end of its gzip stream ({} bytes); cargo would ignore it",
            after.len()
        ));
    }

    let files = landing.finish()?;
    if let Some(rest) = misnamed {
        return Err(format!(
            "the manifest `{rest}` must be named `Cargo.toml` with that exact casing"
        ));
    }
    let text = manifest.ok_or_else(|| {
        format!("the .crate is missing a `Cargo.toml` manifest file at `{root}/Cargo.toml`")
    })?;
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
fn landing_path<'a>(path: &'a str, root: &str, is_dir: bool) -> Result<&'a str, String> {
    let shown = super::version::printable(path);
    if path.starts_with('/') {
        return Err(format!("the .crate contains an absolute path `{shown}`"));
    }
    if path.contains('\0') {
        return Err(format!(
            "the .crate contains a path with a NUL byte: `{shown}`"
        ));
    }
    if path.contains('\\') {
        return Err(format!(
            "the .crate contains a path with a backslash: `{shown}`; use `/` between names"
        ));
    }
    if path.len() > MAX_PATH {
        return Err(format!(
            "the .crate contains a path longer than {MAX_PATH} bytes: `{shown}`"
        ));
    }
    let body = match path.strip_suffix('/') {
        Some(b) if is_dir => b,
        Some(_) => {
            return Err(format!(
                "the .crate contains a file path ending in `/`: `{shown}`"
            ));
        }
        None => path,
    };
    let mut parts = body.split('/');
    if parts.next() != Some(root) {
        return Err(format!(
            "the .crate contains `{shown}`, outside its single root folder `{root}/`"
        ));
    }
    for p in parts {
        let bad = match p {
            "" => Some("an empty name (`//`)".to_string()),
            "." | ".." => Some(format!("`{p}`")),
            _ if p.eq_ignore_ascii_case(CARGO_OK) => {
                Some(format!("`{CARGO_OK}`, which cargo skips"))
            }
            _ if p.len() > MAX_NAME => Some(format!("a name longer than {MAX_NAME} bytes")),
            _ if p.contains(':') => Some("`:`".to_string()),
            _ if short_name_alias(p) => Some(
                "a `~` and digit, the form of a Windows short (8.3) name that can alias another file"
                    .to_string(),
            ),
            _ if p.ends_with('.') || p.ends_with(' ') => {
                Some("a name ending in a dot or a space (Windows drops it)".to_string())
            }
            _ => None,
        };
        if let Some(what) = bad {
            return Err(format!("the .crate contains a path with {what}: `{shown}`"));
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

fn as_str(v: &Option<toml::Value>) -> Option<&str> {
    v.as_ref().and_then(|v| v.as_str())
}

/// Checks the packaged manifest against the metadata and reads the fields
/// the index takes from it.
pub fn check_manifest(text: &str, name: &str, version: &str) -> Result<ManifestInfo, String> {
    let raw: RawManifest = toml::from_str(text).map_err(|e| {
        format!(
            "the `Cargo.toml` in the .crate does not parse: {}",
            e.message()
        )
    })?;
    let pkg = raw
        .package
        .or(raw.project)
        .ok_or("the `Cargo.toml` in the .crate has no `[package]` section")?;
    for (field, v) in [("name", &pkg.name), ("version", &pkg.version)] {
        if v.as_ref().is_some_and(|v| v.is_table()) {
            return Err(format!(
                "the `Cargo.toml` in the .crate inherits `package.{field}` from a workspace: value from workspace hasn't been set"
            ));
        }
    }
    let m_name = as_str(&pkg.name).ok_or("the `Cargo.toml` in the .crate has no package name")?;
    let m_version =
        as_str(&pkg.version).ok_or("the `Cargo.toml` in the .crate has no package version")?;
    if m_name != name {
        return Err(format!(
            "metadata name `{name}` does not match manifest name `{}`",
            super::version::printable(m_name)
        ));
    }
    let same_version = semver::Version::parse(m_version)
        .map(|v| v.to_string() == version)
        .unwrap_or(false);
    if !same_version {
        return Err(format!(
            "metadata version `{version}` does not match manifest version `{}`",
            super::version::printable(m_version)
        ));
    }
    let rust_version = match &pkg.rust_version {
        None => None,
        Some(v) => {
            let s = v
                .as_str()
                .ok_or("`package.rust-version` in the .crate must be a string")?;
            super::publish::validate_rust_version(s)?;
            Some(s.to_string())
        }
    };
    let links = match &pkg.links {
        None => None,
        Some(v) => Some(
            v.as_str()
                .ok_or("`package.links` in the .crate must be a string")?
                .to_string(),
        ),
    };
    Ok(ManifestInfo {
        rust_version,
        links,
    })
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
        check_tarball(&tarball(entries), "foo", "1.0.0", &Limits::default()).unwrap_err()
    }

    #[test]
    fn rejects_bad_entries() {
        use tar::EntryType as T;
        let m = ("foo-1.0.0/Cargo.toml", T::Regular, MANIFEST);
        type Case<'a> = (Vec<(&'a str, T, &'a [u8])>, &'a str);
        let cases: Vec<Case> = vec![
            (vec![m, ("foo-1.0.0/../evil", T::Regular, b"x")], "`..`"),
            (vec![m, ("/etc/passwd", T::Regular, b"x")], "absolute path"),
            (
                vec![m, ("other-1.0.0/x", T::Regular, b"x")],
                "outside its single root",
            ),
            (
                vec![m, ("foo-1.0.0/link", T::Symlink, b"")],
                "symbolic link",
            ),
            (vec![m, ("foo-1.0.0/hard", T::Link, b"")], "hard link"),
            (vec![m, ("foo-1.0.0/dev", T::Char, b"")], "device file"),
            (vec![m, ("foo-1.0.0/blk", T::Block, b"")], "device file"),
            (vec![m, ("foo-1.0.0/fifo", T::Fifo, b"")], "FIFO"),
            (
                vec![("foo-1.0.0/src/lib.rs", T::Regular, b"")],
                "missing a `Cargo.toml`",
            ),
            (
                vec![("foo-1.0.0/CARGO.TOML", T::Regular, MANIFEST)],
                "exact casing",
            ),
            (
                vec![m, ("foo-1.0.0/cargo.toml", T::Regular, MANIFEST)],
                "which land on the same file",
            ),
            (
                vec![(
                    "foo-1.0.0/Cargo.toml",
                    T::Regular,
                    b"[package]\nname = \"bar\"\nversion = \"1.0.0\"\n",
                )],
                "does not match manifest name",
            ),
            (
                vec![(
                    "foo-1.0.0/Cargo.toml",
                    T::Regular,
                    b"[package]\nname = \"foo\"\nversion = \"1.0.1\"\n",
                )],
                "does not match manifest version",
            ),
            (
                vec![("foo-1.0.0/Cargo.toml", T::Regular, b"[package\n")],
                "does not parse",
            ),
            (
                vec![("foo-1.0.0/Cargo.toml", T::Regular, b"[lib]\n")],
                "no `[package]`",
            ),
            (
                vec![(
                    "foo-1.0.0/Cargo.toml",
                    T::Regular,
                    b"[package]\nname = \"foo\"\nversion.workspace = true\n",
                )],
                "from a workspace",
            ),
        ];
        for (entries, msg) in cases {
            let e = err_of(&entries);
            assert!(e.contains(msg), "expected {msg:?}, got {e:?}");
        }
    }

    #[test]
    fn rejects_non_gzip_and_corrupt_gzip() {
        let e = check_tarball(b"plain tar?", "foo", "1.0.0", &Limits::default()).unwrap_err();
        assert!(e.contains("not a gzip"), "{e}");
        let mut c = ok_crate();
        let n = c.len();
        c.truncate(n - 10);
        let e = check_tarball(&c, "foo", "1.0.0", &Limits::default()).unwrap_err();
        assert!(e.contains("not a valid gzip"), "{e}");
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
        let e = check_tarball(&bomb, "foo", "1.0.0", &limits).unwrap_err();
        assert!(e.contains("unpacks to more than"), "{e}");
        let limits = Limits {
            max_entries: 2,
            ..Limits::default()
        };
        let e = check_tarball(&ok_crate(), "foo", "1.0.0", &limits).unwrap_err();
        assert!(e.contains("more than the limit of 2 entries"), "{e}");
    }

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
