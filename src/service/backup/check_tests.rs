//! Tests of what a restore accepts and refuses in a backup's rows.

use super::*;
use crate::protocol::index::{IndexDep, sha256_hex};
use crate::store::sql::backup::{Restore, Taken, restore_statements};
use serde::Serialize;
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
        "identities": [
            {"issuer": "https://idp.example.com", "subject": "248289761001", "user_id": 2, "email": "dave@example.com",
             "created_at": 11, "last_sign_in_at": 30, "suspended": 0}
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
        "teams": [
            {"id": 1, "name": "core", "created_at": 13, "created_by": 2}
        ],
        "team_members": [
            {"team_id": 1, "user_id": 1, "maintainer": 1, "source": "manual", "added_at": 14, "added_by": 2}
        ],
        "team_owners": [
            {"crate_id": 2, "team_id": 1, "added_at": 23, "added_by": 2}
        ],
        "crate_readers": [
            {"crate_id": 2, "user_id": 1, "team_id": null, "added_at": 24, "added_by": 2},
            {"crate_id": 2, "user_id": null, "team_id": 1, "added_at": 24, "added_by": 2}
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
    // Nor does anything the restore writes carry it.
    let stmts = restore_statements(&Restore {
        db: &plan.db,
        dependencies: &plan.dependencies,
        now: 99,
        note: "note",
    });
    let written =
        serde_json::to_string(&stmts.iter().map(|s| &s.args).collect::<Vec<_>>()).unwrap();
    assert!(!written.contains("http-equiv") && !written.contains("evil.example"));
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

#[test]
fn collisions_with_the_registry_are_refused() {
    let plan = checked(&good()).unwrap();
    assert_eq!(check_against(&plan, &Taken::default()), Ok(()));
    let mut have = Taken::default();
    have.logins.insert("carol".into());
    assert_eq!(
        check_against(&plan, &have).unwrap_err(),
        "user `carol` (id 1) is already in this registry"
    );
    let mut have = Taken::default();
    have.canons.insert("demo_app".into());
    assert_eq!(
        check_against(&plan, &have).unwrap_err(),
        "crate `demo-app` (id 2) is already in this registry"
    );
    let mut have = Taken::default();
    have.identities
        .insert(("https://idp.example.com".into(), "248289761001".into()));
    assert_eq!(
        check_against(&plan, &have).unwrap_err(),
        "the identity `248289761001` at `https://idp.example.com` is already linked to an account in this registry"
    );
    let mut have = Taken::default();
    have.token_hashes.insert("0".repeat(64));
    assert_eq!(
        check_against(&plan, &have).unwrap_err(),
        "token 1 (`cli`) is already in this registry"
    );
    let mut have = Taken::default();
    have.version_ids.insert(2);
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
    let cols = |table: &str| {
        let (_, cols) = BACKUP_TABLES.iter().find(|(t, _)| *t == table).unwrap();
        let mut v: Vec<String> = cols.split(", ").map(str::to_string).collect();
        v.sort();
        v
    };
    assert_eq!(keys(&db.users[0]), cols("users"));
    assert_eq!(keys(&db.identities[0]), cols("identities"));
    assert_eq!(keys(&db.tokens[0]), cols("tokens"));
    assert_eq!(keys(&db.crates[0]), cols("crates"));
    assert_eq!(keys(&db.versions[0]), cols("versions"));
    assert_eq!(keys(&db.owners[0]), cols("owners"));
    assert_eq!(keys(&db.teams[0]), cols("teams"));
    assert_eq!(keys(&db.team_members[0]), cols("team_members"));
    assert_eq!(keys(&db.team_owners[0]), cols("team_owners"));
    assert_eq!(keys(&db.crate_readers[0]), cols("crate_readers"));
    assert_eq!(keys(&db.dependencies[0]), cols("dependencies"));
    assert_eq!(keys(&db.audit[0]), cols("audit"));
}

#[test]
fn identity_links_are_checked_like_sign_in_makes_them() {
    let plan = checked(&good()).unwrap();
    assert_eq!(plan.db.identities.len(), 1);
    // An archive from before single sign-on has none.
    let mut db = good();
    db.as_object_mut().unwrap().remove("identities");
    assert_eq!(checked(&db).unwrap().db.identities, vec![]);
    type Change = fn(&mut Value);
    let cases: Vec<(Change, &str)> = vec![
        (
            |db| db["identities"][0]["user_id"] = json!(9),
            "table `identities` row 1: user_id 9 is not a user in the backup",
        ),
        (
            |db| db["identities"][0]["issuer"] = json!("http://idp.example.com"),
            "table `identities` row 1: issuer is not an https:// URL (http:// only on loopback)",
        ),
        (
            |db| db["identities"][0]["issuer"] = json!("javascript:alert(1)"),
            "table `identities` row 1: issuer is not an https:// URL (http:// only on loopback)",
        ),
        (
            |db| db["identities"][0]["subject"] = json!(""),
            "table `identities` row 1: subject must be 1 to 255 bytes",
        ),
        (
            |db| db["identities"][0]["subject"] = json!("s".repeat(256)),
            "table `identities` row 1: subject must be 1 to 255 bytes",
        ),
        (
            |db| db["identities"][0]["suspended"] = json!(2),
            "table `identities` row 1: suspended must be 0 or 1, not 2",
        ),
        (
            |db| db["identities"][0]["email"] = json!(format!("{}@x.com", "a".repeat(320))),
            "table `identities` row 1: email is too long",
        ),
        (
            |db| {
                let mut again = db["identities"][0].clone();
                again["user_id"] = json!(1);
                db["identities"].as_array_mut().unwrap().push(again);
            },
            "table `identities` row 2: the identity `248289761001` at `https://idp.example.com` appears twice",
        ),
        (
            |db| {
                let mut second = db["identities"][0].clone();
                second["subject"] = json!("another");
                db["identities"].as_array_mut().unwrap().push(second);
            },
            "table `identities` row 2: user 2 has two identities at `https://idp.example.com`",
        ),
        (
            |db| {
                db["identities"][0]
                    .as_object_mut()
                    .unwrap()
                    .insert("password".into(), json!("x"));
            },
            "table `identities` row 1 has an unknown column `password`",
        ),
    ];
    for (change, msg) in cases {
        let mut db = good();
        change(&mut db);
        assert_eq!(refused(&db), msg);
    }
}

#[test]
fn teams_owners_and_readers_are_checked() {
    let plan = checked(&good()).unwrap();
    assert_eq!(plan.db.crates[0].visibility, "registry", "the default");
    // An archive from before teams has none, and every crate is visible.
    let mut db = good();
    for t in ["teams", "team_members", "team_owners", "crate_readers"] {
        db.as_object_mut().unwrap().remove(t);
    }
    let plan = checked(&db).unwrap();
    assert!(plan.db.teams.is_empty() && plan.db.crate_readers.is_empty());
    type Change = fn(&mut Value);
    let cases: Vec<(Change, &str)> = vec![
        (
            |db| db["crates"][0]["visibility"] = json!("secret"),
            "table `crates` row 1: visibility must be `registry` or `restricted`",
        ),
        (
            |db| db["teams"][0]["name"] = json!("team:x"),
            "table `teams` row 1: invalid team name `team:x`: use 1 to 39 letters, digits, `-` or `_`",
        ),
        (
            |db| {
                let mut t = db["teams"][0].clone();
                t["id"] = json!(2);
                t["name"] = json!("CORE");
                db["teams"].as_array_mut().unwrap().push(t);
            },
            "table `teams` row 2: team `CORE` appears twice",
        ),
        (
            |db| db["team_members"][0]["team_id"] = json!(9),
            "table `team_members` row 1: team_id 9 is not a team in the backup",
        ),
        (
            |db| db["team_members"][0]["source"] = json!("ldap"),
            "table `team_members` row 1: source must be `manual` or `sso`",
        ),
        (
            |db| db["team_members"][0]["maintainer"] = json!(3),
            "table `team_members` row 1: maintainer must be 0 or 1, not 3",
        ),
        (
            |db| db["team_owners"][0]["crate_id"] = json!(7),
            "table `team_owners` row 1: crate_id 7 is not a crate in the backup",
        ),
        (
            |db| db["crate_readers"][0]["team_id"] = json!(1),
            "table `crate_readers` row 1: a reader is a user or a team, not both or neither",
        ),
        (
            |db| db["crate_readers"][1]["team_id"] = json!(null),
            "table `crate_readers` row 2: a reader is a user or a team, not both or neither",
        ),
        (
            |db| {
                let again = db["crate_readers"][0].clone();
                db["crate_readers"].as_array_mut().unwrap().push(again);
            },
            "table `crate_readers` row 3: the same reader appears twice",
        ),
    ];
    for (change, msg) in cases {
        let mut db = good();
        change(&mut db);
        assert_eq!(refused(&db), msg);
    }
    let plan = checked(&good()).unwrap();
    let mut have = Taken::default();
    have.team_names.insert("core".into());
    assert_eq!(
        check_against(&plan, &have).unwrap_err(),
        "team `core` (id 1) is already in this registry"
    );
}
