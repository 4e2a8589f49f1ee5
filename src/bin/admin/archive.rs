//! The backup archive file (`scripts/admin backup` / `restore`): a
//! gzip-compressed tar holding `database.json` (every backed-up table's
//! rows, `store::sql::backup`) and `blobs/<sha256>.crate`. What a restore
//! checks of the rows is the service's (`service::backup::check`); this
//! module reads and writes the file, treating it as hostile input: it is
//! read in-process, never unpacked by `tar`, and only regular files and
//! directories at exactly those canonical paths are accepted, so a link,
//! device or stray path is refused instead of being followed; every blob
//! is copied at most at its versions' size and must hash to its name.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::Path;

use edge_registry::protocol::index::to_hex;
use edge_registry::protocol::version::printable;
use edge_registry::service::backup::{DATABASE, is_cksum};
use sha2::{Digest, Sha256};

/// Largest `database.json` a restore reads.
pub const MAX_DATABASE_BYTES: u64 = 1 << 30;

// ---------------------------------------------------------------------------
// Reading the archive.

/// What an accepted archive entry is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Member {
    /// The top directory (`./`).
    Root,
    /// `blobs/`.
    BlobDir,
    /// `database.json`.
    Database,
    /// `blobs/<sha256>.crate`, by checksum.
    Blob(String),
}

fn kind_name(kind: tar::EntryType) -> &'static str {
    use tar::EntryType as E;
    match kind {
        E::Symlink => "a symbolic link",
        E::Link => "a hard link",
        E::Char => "a character device",
        E::Block => "a block device",
        E::Fifo => "a named pipe",
        E::GNUSparse => "a sparse file",
        E::XGlobalHeader => "a pax global header",
        _ => "a special entry",
    }
}

/// Accepts an entry only if it is a regular file or a directory at one of
/// a backup's canonical paths (an optional leading `./`, nothing else: no
/// `..`, no absolute path, no doubled or trailing `/` on files).
pub fn classify(path: &[u8], kind: tar::EntryType) -> Result<Member, String> {
    let shown = printable(&String::from_utf8_lossy(path));
    let text = std::str::from_utf8(path)
        .map_err(|_| format!("the archive entry `{shown}` has a name that is not UTF-8"))?;
    let rel = text.strip_prefix("./").unwrap_or(text);
    let member = match kind {
        tar::EntryType::Directory => match rel.strip_suffix('/').unwrap_or(rel) {
            "" | "." => Some(Member::Root),
            "blobs" => Some(Member::BlobDir),
            _ => None,
        },
        tar::EntryType::Regular => {
            if rel == DATABASE {
                Some(Member::Database)
            } else {
                rel.strip_prefix("blobs/")
                    .and_then(|n| n.strip_suffix(".crate"))
                    .filter(|ck| is_cksum(ck))
                    .map(|ck| Member::Blob(ck.to_string()))
            }
        }
        other => {
            return Err(format!(
                "the archive entry `{shown}` is {}; a backup holds only regular files and directories",
                kind_name(other)
            ));
        }
    };
    member.ok_or_else(|| {
        format!(
            "the archive entry `{shown}` is not part of a backup (only `{DATABASE}`, `blobs/` and `blobs/<sha256>.crate`)"
        )
    })
}

fn unreadable(e: std::io::Error) -> String {
    format!("the archive is not a readable .tar.gz ({e})")
}

/// The first pass over an archive: `database.json` and the size of each
/// blob, with every entry checked.
#[derive(Debug)]
pub struct Scan {
    pub database: Vec<u8>,
    pub blobs: BTreeMap<String, u64>,
}

/// Reads an archive without unpacking it.
pub fn scan(reader: impl Read) -> Result<Scan, String> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(reader));
    let mut database: Option<Vec<u8>> = None;
    let mut blobs = BTreeMap::new();
    let mut dirs = BTreeSet::new();
    for entry in archive.entries().map_err(unreadable)? {
        let entry = entry.map_err(unreadable)?;
        let member = classify(&entry.path_bytes(), entry.header().entry_type())?;
        let size = entry.size();
        match member {
            Member::Root | Member::BlobDir => {
                if !dirs.insert(member.clone()) {
                    return Err(format!("the archive holds {member:?} twice"));
                }
            }
            Member::Database => {
                if database.is_some() {
                    return Err(format!("the archive holds `{DATABASE}` twice"));
                }
                if size > MAX_DATABASE_BYTES {
                    return Err(format!(
                        "`{DATABASE}` is larger than {MAX_DATABASE_BYTES} bytes"
                    ));
                }
                let mut bytes = Vec::new();
                entry
                    .take(MAX_DATABASE_BYTES + 1)
                    .read_to_end(&mut bytes)
                    .map_err(unreadable)?;
                database = Some(bytes);
            }
            Member::Blob(ck) => {
                if blobs.insert(ck.clone(), size).is_some() {
                    return Err(format!("the archive holds blob {ck} twice"));
                }
            }
        }
    }
    let database = database.ok_or_else(|| format!("the archive has no `{DATABASE}`"))?;
    Ok(Scan { database, blobs })
}

/// The second pass: copies each blob into `dir` (as `<sha256>.crate`,
/// files this process creates), reading at most the size its versions
/// state and checking that its bytes hash to its name. The archive is read
/// again, so nothing from the first pass is trusted here: every entry is
/// checked again and every blob must be one of `expected`.
pub fn extract_blobs(
    reader: impl Read,
    expected: &BTreeMap<String, u64>,
    dir: &Path,
) -> Result<(), String> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(reader));
    let mut done = BTreeSet::new();
    for entry in archive.entries().map_err(unreadable)? {
        let entry = entry.map_err(unreadable)?;
        let Member::Blob(ck) = classify(&entry.path_bytes(), entry.header().entry_type())? else {
            continue;
        };
        let Some(&size) = expected.get(&ck) else {
            return Err(format!(
                "blob {ck} is not the checksum of any version in the backup"
            ));
        };
        if !done.insert(ck.clone()) {
            return Err(format!("the archive holds blob {ck} twice"));
        }
        let path = dir.join(format!("{ck}.crate"));
        let mut out = crate::scratch::create_private(&path)?;
        let mut hasher = Sha256::new();
        let mut total: u64 = 0;
        let mut limited = entry.take(size.saturating_add(1));
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = limited.read(&mut buf).map_err(unreadable)?;
            if n == 0 {
                break;
            }
            let chunk = buf.get(..n).unwrap_or_default();
            hasher.update(chunk);
            out.write_all(chunk)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            total += n as u64;
        }
        if total != size {
            return Err(format!(
                "blob {ck} is {total} bytes but its version says {size}"
            ));
        }
        let actual = to_hex(&hasher.finalize());
        if actual != ck {
            return Err(format!(
                "blob {ck} does not match its checksum (its bytes hash to {actual})"
            ));
        }
    }
    if let Some(missing) = expected.keys().find(|ck| !done.contains(*ck)) {
        return Err(format!("blob {missing} is missing from the archive"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Writing an archive.

/// Writes a backup archive: `database.json`, then each blob, all as
/// regular files with mode 0600 under `./`.
pub struct Writer<W: Write> {
    tar: tar::Builder<flate2::write::GzEncoder<W>>,
}

impl<W: Write> Writer<W> {
    pub fn new(out: W) -> Writer<W> {
        let gz = flate2::write::GzEncoder::new(out, flate2::Compression::default());
        let mut tar = tar::Builder::new(gz);
        tar.mode(tar::HeaderMode::Deterministic);
        Writer { tar }
    }

    fn entry(&mut self, path: &str, kind: tar::EntryType, data: &[u8]) -> Result<(), String> {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(data.len() as u64);
        h.set_mode(if kind == tar::EntryType::Directory {
            0o700
        } else {
            0o600
        });
        h.set_mtime(0);
        self.tar
            .append_data(&mut h, path, data)
            .map_err(|e| format!("writing the archive: {e}"))
    }

    pub fn start(&mut self, database: &[u8]) -> Result<(), String> {
        self.entry("./", tar::EntryType::Directory, &[])?;
        self.entry(&format!("./{DATABASE}"), tar::EntryType::Regular, database)?;
        self.entry("./blobs/", tar::EntryType::Directory, &[])
    }

    pub fn blob(&mut self, cksum: &str, bytes: &[u8]) -> Result<(), String> {
        self.entry(
            &format!("./blobs/{cksum}.crate"),
            tar::EntryType::Regular,
            bytes,
        )
    }

    pub fn finish(self) -> Result<W, String> {
        let gz = self
            .tar
            .into_inner()
            .map_err(|e| format!("writing the archive: {e}"))?;
        gz.finish().map_err(|e| format!("writing the archive: {e}"))
    }
}

#[cfg(test)]
#[path = "archive_tests.rs"]
mod tests;
