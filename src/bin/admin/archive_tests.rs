//! Tests of the archive file: which entries a restore reads, and how.

use super::*;
use edge_registry::protocol::index::sha256_hex;

const BLOB: &[u8] = b"the bytes of demo-1.0.0.crate";
const DEP_BLOB: &[u8] = b"the bytes of demo-app-0.1.0.crate";
/// `scan` reads `database.json` without parsing it (the service does).
const DB: &[u8] = b"{\"users\": []}";

fn blobs_of(list: &[&[u8]]) -> BTreeMap<String, u64> {
    list.iter()
        .map(|b| (sha256_hex(b), b.len() as u64))
        .collect()
}

fn all_blobs() -> BTreeMap<String, u64> {
    blobs_of(&[BLOB, DEP_BLOB])
}

// --- the archive's entries

fn header(path: &[u8], kind: tar::EntryType, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    // Written as raw bytes: the tar crate's own path setter would refuse
    // the hostile names these tests need.
    let name = &mut h.as_gnu_mut().unwrap().name;
    name[..path.len()].copy_from_slice(path);
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(0o644);
    h.set_cksum();
    h
}

/// One raw entry: path, kind, data, link target.
type Raw<'a> = (&'a [u8], tar::EntryType, &'a [u8], Option<&'a str>);

/// A .tar.gz of raw entries.
fn raw_archive(entries: &[Raw]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    for (path, kind, data, link) in entries {
        let mut h = header(path, *kind, data.len() as u64);
        if let Some(l) = link {
            h.set_link_name(l).unwrap();
            h.set_cksum();
        }
        b.append(&h, *data).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}

fn good_archive(db: &[u8], blobs: &[&[u8]]) -> Vec<u8> {
    let mut w = Writer::new(Vec::new());
    w.start(db).unwrap();
    for b in blobs {
        w.blob(&sha256_hex(b), b).unwrap();
    }
    w.finish().unwrap()
}

#[test]
fn accepts_only_the_canonical_members() {
    use tar::EntryType as E;
    let ck = sha256_hex(BLOB);
    let blob_path = format!("blobs/{ck}.crate");
    assert_eq!(classify(b"./", E::Directory), Ok(Member::Root));
    assert_eq!(classify(b".", E::Directory), Ok(Member::Root));
    assert_eq!(classify(b"./blobs/", E::Directory), Ok(Member::BlobDir));
    assert_eq!(classify(b"blobs", E::Directory), Ok(Member::BlobDir));
    assert_eq!(
        classify(b"./database.json", E::Regular),
        Ok(Member::Database)
    );
    assert_eq!(
        classify(format!("./{blob_path}").as_bytes(), E::Regular),
        Ok(Member::Blob(ck.clone()))
    );
    for bad in [
        "../database.json".to_string(),
        "/etc/passwd".into(),
        "./blobs/../database.json".into(),
        format!("blobs//{ck}.crate"),
        format!("./blobs/{ck}.crate/"),
        format!("blobs/{}.crate", ck.to_uppercase()),
        "blobs/abc.crate".into(),
        "database.json/".into(),
        ".//database.json".into(),
        "restore.sql".into(),
        "blobs/sub/x.crate".into(),
    ] {
        let err = classify(bad.as_bytes(), E::Regular).unwrap_err();
        assert!(err.contains("is not part of a backup"), "{bad}: {err}");
    }
    for (kind, what) in [
        (E::Symlink, "a symbolic link"),
        (E::Link, "a hard link"),
        (E::Char, "a character device"),
        (E::Block, "a block device"),
        (E::Fifo, "a named pipe"),
        (E::GNUSparse, "a sparse file"),
        (E::XGlobalHeader, "a pax global header"),
        (E::Continuous, "a special entry"),
    ] {
        assert_eq!(
            classify(blob_path.as_bytes(), kind).unwrap_err(),
            format!(
                "the archive entry `{blob_path}` is {what}; a backup holds only regular files and directories"
            )
        );
    }
    assert!(
        classify(b"\xff.crate", E::Regular)
            .unwrap_err()
            .contains("not UTF-8")
    );
}

#[test]
fn a_symlinked_blob_is_refused_before_anything_is_read_through_it() {
    let ck = sha256_hex(BLOB);
    let db = DB.to_vec();
    let path = format!("./blobs/{ck}.crate");
    let bytes = raw_archive(&[
        (b"./", tar::EntryType::Directory, b"", None),
        (b"./database.json", tar::EntryType::Regular, &db, None),
        (b"./blobs/", tar::EntryType::Directory, b"", None),
        (
            path.as_bytes(),
            tar::EntryType::Symlink,
            b"",
            Some("/etc/passwd"),
        ),
    ]);
    assert_eq!(
        scan(bytes.as_slice()).unwrap_err(),
        format!(
            "the archive entry `{path}` is a symbolic link; a backup holds only regular files and directories"
        )
    );
    // Also when the blob pass is reached by another route.
    let dir = crate::scratch::ScratchDir::new("archive-test").unwrap();
    assert!(
        extract_blobs(bytes.as_slice(), &all_blobs(), dir.path())
            .unwrap_err()
            .contains("is a symbolic link")
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn duplicates_and_missing_database_are_refused() {
    let db = DB.to_vec();
    let twice = raw_archive(&[
        (b"database.json", tar::EntryType::Regular, &db, None),
        (b"./database.json", tar::EntryType::Regular, b"{}", None),
    ]);
    assert_eq!(
        scan(twice.as_slice()).unwrap_err(),
        "the archive holds `database.json` twice"
    );
    let none = raw_archive(&[(b"./", tar::EntryType::Directory, b"", None)]);
    assert_eq!(
        scan(none.as_slice()).unwrap_err(),
        "the archive has no `database.json`"
    );
    assert!(
        scan(&b"not gzip"[..])
            .unwrap_err()
            .starts_with("the archive is not a readable .tar.gz")
    );
}

#[test]
fn written_archives_read_back() {
    let bytes = good_archive(DB, &[BLOB, DEP_BLOB]);
    let s = scan(bytes.as_slice()).unwrap();
    assert_eq!(s.blobs, all_blobs());
    assert_eq!(s.database, DB);
    let dir = crate::scratch::ScratchDir::new("archive-test").unwrap();
    extract_blobs(bytes.as_slice(), &s.blobs, dir.path()).unwrap();
    let copied = std::fs::read(dir.join(&format!("{}.crate", sha256_hex(BLOB)))).unwrap();
    assert_eq!(copied, BLOB);
}

#[test]
fn a_blob_with_the_wrong_bytes_is_refused() {
    let ck = sha256_hex(BLOB);
    let db = DB.to_vec();
    let forged = b"other bytes, same length as BLOB!";
    let forged = &forged[..BLOB.len()];
    let path = format!("./blobs/{ck}.crate");
    let path2 = format!("./blobs/{}.crate", sha256_hex(DEP_BLOB));
    let bytes = raw_archive(&[
        (b"./database.json", tar::EntryType::Regular, &db, None),
        (path.as_bytes(), tar::EntryType::Regular, forged, None),
        (path2.as_bytes(), tar::EntryType::Regular, DEP_BLOB, None),
    ]);
    let s = scan(bytes.as_slice()).unwrap();
    assert_eq!(s.blobs, all_blobs());
    let dir = crate::scratch::ScratchDir::new("archive-test").unwrap();
    assert_eq!(
        extract_blobs(bytes.as_slice(), &all_blobs(), dir.path()).unwrap_err(),
        format!(
            "blob {ck} does not match its checksum (its bytes hash to {})",
            sha256_hex(forged)
        )
    );
    // A longer blob is cut off at its declared size and refused.
    let longer = [BLOB, b"more"].concat();
    let bytes = raw_archive(&[(path.as_bytes(), tar::EntryType::Regular, &longer, None)]);
    let dir = crate::scratch::ScratchDir::new("archive-test").unwrap();
    let one: BTreeMap<String, u64> = blobs_of(&[BLOB]);
    assert_eq!(
        extract_blobs(bytes.as_slice(), &one, dir.path()).unwrap_err(),
        format!(
            "blob {ck} is {} bytes but its version says {}",
            BLOB.len() + 1,
            BLOB.len()
        )
    );
    // A blob no version names, and one missing.
    let bytes = raw_archive(&[(path2.as_bytes(), tar::EntryType::Regular, DEP_BLOB, None)]);
    assert_eq!(
        extract_blobs(bytes.as_slice(), &one, dir.path()).unwrap_err(),
        format!(
            "blob {} is not the checksum of any version in the backup",
            sha256_hex(DEP_BLOB)
        )
    );
    let empty = raw_archive(&[]);
    assert_eq!(
        extract_blobs(empty.as_slice(), &one, dir.path()).unwrap_err(),
        format!("blob {ck} is missing from the archive")
    );
}
