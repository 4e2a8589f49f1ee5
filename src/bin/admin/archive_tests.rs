//! Tests of the backup archive: what a restore accepts and refuses.

use super::*;
use edge_registry::protocol::index::{IndexDep, sha256_hex};
use serde_json::json;

const BLOB: &[u8] = b"the bytes of demo-1.0.0.crate";
const DEP_BLOB: &[u8] = b"the bytes of demo-app-0.1.0.crate";

fn line(name: &str, vers: &str, cksum: &str, deps: Vec<IndexDep>) -> String {
    serde_json::to_string(&IndexLine {
        name: name.into(),
        vers: vers.into(),
        deps,
        cksum: cksum.into(),
        features: BTreeMap::new(),
        features2: None,
        yanked: false,
        links: None,
        rust_version: None,
        pubtime: Some("2026-01-01T00:00:00Z".into()),
        v: None,
    })
    .unwrap()
}

fn local_dep(name: &str) -> IndexDep {
    IndexDep {
        name: name.into(),
        req: "^1".into(),
        features: vec![],
        optional: false,
        default_features: true,
        target: None,
        kind: "normal".into(),
        registry: None,
        package: None,
    }
}

/// A consistent backup: two users, a token, two crates (one depending on
/// the other), their owners, audit rows.
fn good() -> Value {
    let ck = sha256_hex(BLOB);
    let ck2 = sha256_hex(DEP_BLOB);
    json!({
        "users": [
            {"id": 1, "login": "carol", "name": null, "is_admin": 0, "disabled": 0, "created_at": 10,
             "password_hash": format!("pbkdf2-sha256$100000${}${}", "ab".repeat(16), "cd".repeat(32))},
            {"id": 2, "login": "dave", "name": "Dave", "is_admin": 1, "disabled": 0, "created_at": 11, "password_hash": null}
        ],
        "tokens": [
            {"id": 1, "user_id": 1, "name": "cli", "hash": "0".repeat(64), "hint": "cfreg_ab…", "scopes": "read,publish-new",
             "patterns": "", "created_at": 12, "last_used_at": null, "expires_at": null, "revoked_at": null}
        ],
        "crates": [
            {"id": 1, "name": "demo", "canon": "demo", "created_at": 20, "updated_at": 21, "rev": 2, "indexed_rev": 2,
             "max_version": "1.0.0", "description": "d", "keywords": "[]", "changed_at": 21},
            {"id": 2, "name": "demo-app", "canon": "demo_app", "created_at": 22, "updated_at": 22, "rev": 1, "indexed_rev": 1,
             "max_version": "0.1.0", "description": null, "keywords": "[]", "changed_at": 22}
        ],
        "versions": [
            {"id": 1, "crate_id": 1, "num": "1.0.0", "num_no_build": "1.0.0", "cksum": ck, "yanked": 0, "pubtime": 20,
             "entry": line("demo", "1.0.0", &ck, vec![]), "size": BLOB.len(), "description": "d", "license": "MIT",
             "homepage": null, "documentation": null, "repository": "https://github.com/o/demo", "keywords": "[]",
             "categories": "[]", "readme": "# Demo\n\nSee [the guide](docs/guide.md).", "links": null, "rust_version": null,
             "published_by": 1, "readme_html": "<h1>Demo</h1>"},
            {"id": 2, "crate_id": 2, "num": "0.1.0", "num_no_build": "0.1.0", "cksum": ck2, "yanked": 1, "pubtime": 22,
             "entry": line("demo-app", "0.1.0", &ck2, vec![local_dep("demo")]), "size": DEP_BLOB.len(),
             "description": null, "license": null, "homepage": null, "documentation": null, "repository": null,
             "keywords": "[\"x\"]", "categories": "[]", "readme": null, "links": null, "rust_version": null,
             "published_by": 2, "readme_html": null}
        ],
        "owners": [
            {"crate_id": 1, "user_id": 1, "added_at": 20, "added_by": 1},
            {"crate_id": 2, "user_id": 2, "added_at": 22, "added_by": 2}
        ],
        "dependencies": [
            {"version_id": 2, "crate_id": 2, "dep_canon": "demo", "kind": "normal"}
        ],
        "audit": [
            {"id": 1, "at": 20, "actor": 1, "action": "publish", "crate_id": 1, "detail": "1.0.0"},
            {"id": 2, "at": 22, "actor": 2, "action": "publish", "crate_id": 2, "detail": "0.1.0"}
        ]
    })
}

fn blobs_of(list: &[&[u8]]) -> BTreeMap<String, u64> {
    list.iter()
        .map(|b| (sha256_hex(b), b.len() as u64))
        .collect()
}

fn all_blobs() -> BTreeMap<String, u64> {
    blobs_of(&[BLOB, DEP_BLOB])
}

fn checked(db: &Value) -> Result<Plan, String> {
    let parsed = parse_database(&serde_json::to_vec(db).unwrap())?;
    check(parsed, &all_blobs())
}

fn refused(db: &Value) -> String {
    checked(db).expect_err("the backup must be refused")
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

fn good_archive(db: &Value, blobs: &[&[u8]]) -> Vec<u8> {
    let mut w = Writer::new(Vec::new());
    w.start(&serde_json::to_vec(db).unwrap()).unwrap();
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
    let db = serde_json::to_vec(&good()).unwrap();
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
    let db = serde_json::to_vec(&good()).unwrap();
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
    let bytes = good_archive(&good(), &[BLOB, DEP_BLOB]);
    let s = scan(bytes.as_slice()).unwrap();
    assert_eq!(s.blobs, all_blobs());
    let plan = check(parse_database(&s.database).unwrap(), &s.blobs).unwrap();
    let dir = crate::scratch::ScratchDir::new("archive-test").unwrap();
    extract_blobs(bytes.as_slice(), &plan.blobs, dir.path()).unwrap();
    let copied = std::fs::read(dir.join(&format!("{}.crate", sha256_hex(BLOB)))).unwrap();
    assert_eq!(copied, BLOB);
}

#[test]
fn a_blob_with_the_wrong_bytes_is_refused() {
    let ck = sha256_hex(BLOB);
    let db = serde_json::to_vec(&good()).unwrap();
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
    let plan = check(parse_database(&s.database).unwrap(), &s.blobs).unwrap();
    let dir = crate::scratch::ScratchDir::new("archive-test").unwrap();
    assert_eq!(
        extract_blobs(bytes.as_slice(), &plan.blobs, dir.path()).unwrap_err(),
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

// --- tables and columns

#[test]
fn unknown_tables_and_columns_are_refused() {
    let mut db = good();
    db["sessions"] = json!([]);
    assert_eq!(refused(&db), "the backup has an unknown table `sessions`");

    // The reported attack: a key that is SQL.
    let mut db = good();
    let key = "is_admin) VALUES (1); UPDATE users SET is_admin = 1 WHERE id = 2; --";
    db["users"][0]
        .as_object_mut()
        .unwrap()
        .insert(key.into(), json!(1));
    assert_eq!(
        refused(&db),
        format!(
            "table `users` row 1 has an unknown column `{}`",
            printable(key)
        )
    );
    let mut db = good();
    db["audit"][1]
        .as_object_mut()
        .unwrap()
        .insert("id\"".into(), json!(1));
    assert_eq!(
        refused(&db),
        "table `audit` row 2 has an unknown column `id\"`"
    );
}

#[test]
fn values_must_have_their_columns_types() {
    let mut db = good();
    db["users"][1]["is_admin"] = json!(true);
    assert!(refused(&db).starts_with("table `users` row 2: invalid type: boolean"));
    let mut db = good();
    db["users"][1]["is_admin"] = json!(2);
    assert_eq!(
        refused(&db),
        "table `users` row 2: is_admin must be 0 or 1, not 2"
    );
    let mut db = good();
    db["versions"][0]["size"] = json!("12");
    assert!(refused(&db).starts_with("table `versions` row 1: invalid type: string"));
    let mut db = good();
    db["users"][0]["login"] = json!("car'ol");
    assert!(refused(&db).starts_with("table `users` row 1: invalid login"));
    let mut db = good();
    db["users"][0]["name"] = json!("a\u{0}b");
    assert_eq!(
        refused(&db),
        "table `users` row 1 column `name` contains a NUL character"
    );
    let mut db = good();
    db["users"][0]["password_hash"] = json!("plain");
    assert_eq!(
        refused(&db),
        "table `users` row 1: password_hash is not a pbkdf2-sha256 hash"
    );
    let mut db = good();
    db["tokens"][0]["scopes"] = json!("read,root");
    assert_eq!(refused(&db), "table `tokens` row 1: unknown scope `root`");
    let mut db = good();
    db["crates"][0]["canon"] = json!("other");
    assert_eq!(
        refused(&db),
        "table `crates` row 1: canon `other` is not the canonical form of `demo`"
    );
    let mut db = good();
    db["users"] = json!({});
    assert_eq!(refused(&db), "table `users` is not a list of rows");
    let mut db = good();
    db.as_object_mut().unwrap().remove("owners");
    assert_eq!(refused(&db), "the backup has no table `owners`");
}

#[test]
fn index_lines_must_be_exactly_their_rows() {
    let ck = sha256_hex(BLOB);
    let msg = "table `versions` row 1: the index line of demo@1.0.0 does not match its row (name, version, checksum, unyanked, canonical form)";
    // Another checksum than the row's (and the blob's).
    let mut db = good();
    db["versions"][0]["entry"] = json!(line("demo", "1.0.0", &"f".repeat(64), vec![]));
    assert_eq!(refused(&db), msg);
    // Another crate's name.
    let mut db = good();
    db["versions"][0]["entry"] = json!(line("demo-app", "1.0.0", &ck, vec![]));
    assert_eq!(refused(&db), msg);
    // Extra fields smuggled beside the real ones.
    let mut db = good();
    let mut e: Value = serde_json::from_str(&line("demo", "1.0.0", &ck, vec![])).unwrap();
    e["evil"] = json!("x");
    db["versions"][0]["entry"] = json!(e.to_string());
    assert_eq!(refused(&db), msg);
    let mut db = good();
    db["versions"][0]["num"] = json!("01.0.0");
    assert!(refused(&db).starts_with("table `versions` row 1: \"01.0.0\" is an invalid semver"));
    let mut db = good();
    db["versions"][0]["num_no_build"] = json!("1.0.1");
    assert_eq!(
        refused(&db),
        "table `versions` row 1: `1.0.0`/`1.0.1` is not a canonical version and its form without build metadata"
    );
}

// --- references

#[test]
fn every_reference_must_resolve_inside_the_backup() {
    let cases: Vec<(&str, usize, &str, Value, String)> = vec![
        ("tokens", 0, "user_id", json!(9), "table `tokens` row 1: user_id 9 is not a user in the backup".into()),
        ("versions", 0, "crate_id", json!(9), "table `versions` row 1: crate_id 9 is not a crate in the backup".into()),
        ("versions", 0, "published_by", json!(9), "table `versions` row 1: published_by 9 is not a user in the backup".into()),
        ("owners", 0, "crate_id", json!(9), "table `owners` row 1: crate_id 9 is not a crate in the backup".into()),
        ("owners", 1, "user_id", json!(999), "table `owners` row 2: user_id 999 is not a user in the backup".into()),
        ("owners", 0, "added_by", json!(9), "table `owners` row 1: added_by 9 is not a user in the backup".into()),
        ("dependencies", 0, "version_id", json!(9), "table `dependencies` row 1: version_id 9 is not a version in the backup".into()),
        ("dependencies", 0, "crate_id", json!(1), "table `dependencies` row 1: crate_id 1 is not the crate of version demo-app@0.1.0".into()),
        ("dependencies", 0, "dep_canon", json!("serde"), "table `dependencies` row 1: version demo-app@0.1.0 has no same-registry dependency `serde` (normal) in its index line".into()),
        ("audit", 0, "actor", json!(9), "table `audit` row 1: actor 9 is not a user in the backup".into()),
        ("audit", 1, "crate_id", json!(9), "table `audit` row 2: crate_id 9 is not a crate in the backup".into()),
    ];
    for (table, row, col, value, msg) in cases {
        let mut db = good();
        db[table][row][col] = value;
        assert_eq!(refused(&db), msg, "{table}.{col}");
    }
    // Crates without a version or an owner, as no publish leaves them.
    let mut db = good();
    db["owners"].as_array_mut().unwrap().remove(1);
    assert_eq!(refused(&db), "crate `demo-app` has no owner in the backup");
}

#[test]
fn unique_keys_must_be_unique() {
    let mut db = good();
    db["users"][1]["login"] = json!("CAROL");
    assert_eq!(
        refused(&db),
        "table `users` row 2: login `CAROL` appears twice"
    );
    let mut db = good();
    db["crates"][1]["name"] = json!("Demo");
    db["crates"][1]["canon"] = json!("demo");
    assert!(refused(&db).contains("is the same crate as another row"));
    let mut db = good();
    let dup = db["owners"][0].clone();
    db["owners"].as_array_mut().unwrap().push(dup);
    assert_eq!(
        refused(&db),
        "table `owners` row 3: the same owner appears twice"
    );
}

#[test]
fn blobs_and_versions_must_match() {
    let ck = sha256_hex(BLOB);
    let parsed = parse_database(&serde_json::to_vec(&good()).unwrap()).unwrap();
    assert_eq!(
        check(parsed.clone(), &blobs_of(&[DEP_BLOB])).unwrap_err(),
        format!("version demo@1.0.0 has no blob (blobs/{ck}.crate is not in the archive)")
    );
    let mut extra = all_blobs();
    extra.insert("a".repeat(64), 3);
    assert_eq!(
        check(parsed.clone(), &extra).unwrap_err(),
        format!(
            "blob {} is not the checksum of any version in the backup",
            "a".repeat(64)
        )
    );
    let mut sizes = all_blobs();
    sizes.insert(ck.clone(), 1);
    assert_eq!(
        check(parsed, &sizes).unwrap_err(),
        format!(
            "blob {ck} is 1 bytes but version demo@1.0.0 says {}",
            BLOB.len()
        )
    );
}

// --- derived data

#[test]
fn readme_html_is_rendered_again_never_taken_from_the_archive() {
    let mut db = good();
    let hostile = "<meta http-equiv=\"refresh\" content=\"0;url=https://evil.example/\"><script>alert(1)</script>";
    db["versions"][0]["readme_html"] = json!(hostile);
    db["versions"][1]["readme_html"] = json!(hostile);
    let plan = checked(&db).unwrap();
    let v = &plan.db.versions;
    let expected = readme::render(
        "# Demo\n\nSee [the guide](docs/guide.md).",
        Some("https://github.com/o/demo"),
    );
    assert_eq!(v[0].readme_html.as_deref(), Some(expected.as_str()));
    assert!(expected.contains("https://github.com/o/demo/blob/HEAD/docs/guide.md"));
    // No README text: no HTML at all, whatever the archive said.
    assert_eq!(v[1].readme_html, None);
    let sql = restore_sql(&plan, 99, "note");
    assert!(!sql.contains("http-equiv") && !sql.contains("evil.example"));
}

#[test]
fn derived_columns_and_dependency_rows_are_recomputed() {
    let mut db = good();
    db["crates"][0]["max_version"] = json!("9.9.9");
    db["crates"][0]["indexed_rev"] = json!(7);
    // A backup from before the dependencies table: the rows are derived.
    db["dependencies"] = json!([]);
    let plan = checked(&db).unwrap();
    assert_eq!(plan.db.crates[0].max_version.as_deref(), Some("1.0.0"));
    assert_eq!(plan.db.crates[0].indexed_rev, 0);
    assert_eq!(
        plan.dependencies,
        vec![DependencyRow {
            version_id: 2,
            crate_id: 2,
            dep_canon: "demo".into(),
            kind: "normal".into()
        }]
    );
}

// --- the SQL

#[test]
fn restore_sql_uses_only_fixed_columns_and_bound_values() {
    let mut db = good();
    db["users"][1]["name"] = json!("x'); UPDATE users SET is_admin = 1; --");
    db["versions"][0]["readme"] = json!("BEGIN TRANSACTION; COMMIT; text");
    let plan = checked(&db).unwrap();
    let sql = restore_sql(&plan, 99, "note");
    for stmt in sql.lines() {
        let allowed = [
            "INSERT INTO users (id, login, name, is_admin, disabled, created_at, password_hash) VALUES (",
            "INSERT INTO tokens (id, user_id, name, hash, hint, scopes, patterns, created_at, last_used_at, expires_at, revoked_at) VALUES (",
            "INSERT INTO crates (id, name, canon, created_at, updated_at, rev, indexed_rev, changed_at) VALUES (",
            "INSERT INTO versions (id, crate_id, num, num_no_build, cksum, yanked, pubtime, entry, size, description, license, homepage, documentation, repository, keywords, categories, readme, links, rust_version, published_by, readme_html) VALUES (",
            "DELETE FROM audit WHERE id = (SELECT MAX(id) FROM audit) AND action = 'publish' AND crate_id = ",
            "UPDATE crates SET rev = ",
            "INSERT INTO owners (crate_id, user_id, added_at, added_by) VALUES (",
            "INSERT INTO dependencies (version_id, crate_id, dep_canon, kind) VALUES (",
            "INSERT INTO audit (at, actor, action, crate_id, detail) VALUES (",
        ];
        assert!(allowed.iter().any(|a| stmt.starts_with(a)), "{stmt}");
    }
    assert!(sql.contains("'x''); UPDATE users SET is_admin = 1; --'"));
    // Text wrangler's SQL reader would edit goes as hex.
    assert!(!sql.contains("BEGIN TRANSACTION") && !sql.contains("COMMIT;"));
    assert!(sql.contains(&format!(
        "CAST(X'{}' AS TEXT)",
        to_hex(b"BEGIN TRANSACTION; COMMIT; text")
    )));
}

#[test]
fn restore_sql_appends_to_the_audit_log_and_never_clears_it() {
    let plan = checked(&good()).unwrap();
    let sql = restore_sql(&plan, 99, "backup sha256 abc");
    // Nothing deletes audit rows but the trigger's own, one at a time.
    for stmt in sql.lines().filter(|s| s.contains("DELETE")) {
        assert!(
            stmt.starts_with("DELETE FROM audit WHERE id = (SELECT MAX(id) FROM audit) AND action = 'publish' AND crate_id = "),
            "{stmt}"
        );
    }
    assert_eq!(sql.matches("DELETE").count(), plan.db.versions.len());
    // The backup's rows are appended without their ids, then the restore.
    assert!(sql.contains("INSERT INTO audit (at, actor, action, crate_id, detail) VALUES (20, 1, 'publish', 1, '1.0.0');"));
    assert!(sql.ends_with(
        "INSERT INTO audit (at, actor, action, crate_id, detail) VALUES (99, NULL, 'restore', NULL, 'backup sha256 abc');\n"
    ));
}

#[test]
fn collisions_with_the_registry_are_refused() {
    let plan = checked(&good()).unwrap();
    assert_eq!(check_against(&plan, &Existing::default()), Ok(()));
    let mut have = Existing::default();
    have.logins.insert("carol".into());
    assert_eq!(
        check_against(&plan, &have).unwrap_err(),
        "user `carol` (id 1) is already in this registry"
    );
    let mut have = Existing::default();
    have.canons.insert("demo_app".into());
    assert_eq!(
        check_against(&plan, &have).unwrap_err(),
        "crate `demo-app` (id 2) is already in this registry"
    );
    let mut have = Existing::default();
    have.token_hashes.insert("0".repeat(64));
    assert_eq!(
        check_against(&plan, &have).unwrap_err(),
        "token 1 (`cli`) is already in this registry"
    );
    let have = Existing::from_rows(&[vec![], vec![], vec![], vec![json!({"id": 2})]]);
    assert_eq!(
        check_against(&plan, &have).unwrap_err(),
        "version id 2 is already in this registry"
    );
}

#[test]
fn the_column_lists_are_the_row_structs() {
    let db = parse_database(&serde_json::to_vec(&good()).unwrap()).unwrap();
    fn keys<T: Serialize>(row: &T) -> Vec<String> {
        match serde_json::to_value(row).unwrap() {
            Value::Object(o) => o.keys().cloned().collect(),
            _ => vec![],
        }
    }
    let sorted = |cols: &[&str]| {
        let mut v: Vec<String> = cols.iter().map(|c| c.to_string()).collect();
        v.sort();
        v
    };
    assert_eq!(keys(&db.users[0]), sorted(USER_COLS));
    assert_eq!(keys(&db.tokens[0]), sorted(TOKEN_COLS));
    assert_eq!(keys(&db.crates[0]), sorted(CRATE_COLS));
    assert_eq!(keys(&db.versions[0]), sorted(VERSION_COLS));
    assert_eq!(keys(&db.owners[0]), sorted(OWNER_COLS));
    assert_eq!(keys(&db.dependencies[0]), sorted(DEPENDENCY_COLS));
    assert_eq!(keys(&db.audit[0]), sorted(AUDIT_COLS));
}
