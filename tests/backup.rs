//! Backup and restore over the real SQL: a registry backed up and restored
//! into another serves the same index files, downloads, tokens and owners;
//! the audit log is only appended to; a failed restore leaves nothing; the
//! backup's columns are the tables' columns.

mod common;

use std::collections::BTreeMap;

use common::*;
use edge_registry::service::backup::{self, Plan};
use edge_registry::service::index;
use edge_registry::service::sso;
use edge_registry::service::teams::{self, Actor};
use edge_registry::store::UserStore as _;
use edge_registry::store::sql::BACKUP_TABLES;
use edge_registry::store::sql::backup::Database;
use futures::executor::block_on;
use serde_json::{Value, json};

/// An audit row without its id: (at, actor, action, crate id, detail).
type Audit = (i64, Option<i64>, String, Option<i64>, Option<String>);

fn audit(h: &Harness) -> Vec<Audit> {
    block_on(h.app.store.db.backup_rows())
        .unwrap()
        .db
        .audit
        .into_iter()
        .map(|a| (a.at, a.actor, a.action, a.crate_id, a.detail))
        .collect()
}

/// A registry with two crates (one depending on the other), a yanked
/// version, a second owner and tokens; its token for `alice`.
fn source() -> (Harness, String) {
    let h = Harness::new();
    let alice = h.token("alice");
    let _bob = h.token("bob");
    h.publish_ok(&alice, "demo", "1.0.0");
    h.publish_ok(&alice, "demo", "1.1.0");
    let app = CrateSpec::new("demo-app", "0.1.0").dep(dep("demo", "^1", "normal"));
    assert_eq!(h.publish(&alice, app.body()).status, 200);
    let r = h.send(
        "DELETE",
        "/api/v1/crates/demo/1.1.0/yank",
        Some(&alice),
        vec![],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = h.send(
        "PUT",
        "/api/v1/crates/demo/owners",
        Some(&alice),
        br#"{"users":["bob"]}"#.to_vec(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    // bob signs in with single sign-on.
    let bob = block_on(h.app.store.db.user_by_login("bob"))
        .unwrap()
        .unwrap();
    block_on(sso::link(&h.app, &bob, IDP, "bob-at-the-idp", NOW)).unwrap();
    // A team with a maintainer and a member, owning `demo-app`, which is
    // restricted and granted to bob (rows written directly: the routes
    // that make them are not part of this test).
    block_on(teams::create(&h.app, Actor::Operator, "core", NOW)).unwrap();
    block_on(teams::add_member(
        &h.app,
        Actor::Operator,
        "core",
        "alice",
        true,
        NOW,
    ))
    .unwrap();
    block_on(teams::add_member(
        &h.app,
        Actor::Operator,
        "core",
        "bob",
        false,
        NOW,
    ))
    .unwrap();
    h.app
        .store
        .sqlite()
        .with_conn(|c| {
            c.execute_batch(
                "INSERT INTO team_owners (crate_id, team_id, added_at, added_by) \
                   SELECT c.id, t.id, 5, 1 FROM crates c, teams t WHERE c.name = 'demo-app'; \
                 UPDATE crates SET visibility = 'restricted' WHERE name = 'demo-app'; \
                 INSERT INTO crate_readers (crate_id, user_id, team_id, added_at, added_by) \
                   SELECT id, 2, NULL, 6, 1 FROM crates WHERE name = 'demo-app'; \
                 INSERT INTO crate_readers (crate_id, user_id, team_id, added_at, added_by) \
                   SELECT c.id, NULL, t.id, 7, 1 FROM crates c, teams t WHERE c.name = 'demo-app';",
            )
        })
        .unwrap();
    (h, alice)
}

const IDP: &str = "https://idp.example.com";

/// What a backup of `h` holds: `database.json` and the blobs.
fn back_up(h: &Harness) -> (Vec<u8>, BTreeMap<String, Vec<u8>>) {
    let snap = block_on(backup::snapshot(&h.app.store)).unwrap();
    let blobs = snap
        .cksums
        .iter()
        .map(|ck| {
            let bytes = block_on(backup::blob(&h.app.store, ck)).unwrap();
            (ck.clone(), bytes)
        })
        .collect();
    (serde_json::to_vec(&snap.db).unwrap(), blobs)
}

fn plan_of(database: &[u8], blobs: &BTreeMap<String, Vec<u8>>) -> Plan {
    let sizes = blobs
        .iter()
        .map(|(ck, b)| (ck.clone(), b.len() as u64))
        .collect();
    backup::check(backup::parse_database(database).unwrap(), &sizes).unwrap()
}

/// Restores as `scripts/admin restore` does: checks, blobs, rows, reindex.
fn restore(h: &Harness, plan: &Plan, blobs: &BTreeMap<String, Vec<u8>>) -> Result<(), String> {
    let s = &h.app.store;
    let taken = block_on(backup::taken(s)).map_err(|e| e.to_string())?;
    backup::check_against(plan, &taken).map_err(|e| backup::Error::Refused(e).to_string())?;
    for (ck, bytes) in blobs {
        block_on(backup::put_blob(s, plan, ck, bytes)).map_err(|e| e.to_string())?;
    }
    block_on(backup::restore(s, plan, NOW + 100, "backup sha256 abc"))
        .map_err(|e| e.to_string())?;
    block_on(index::reindex(s, None)).map_err(|e| e.detail())?;
    Ok(())
}

fn rows(h: &Harness) -> Database {
    block_on(h.app.store.db.backup_rows()).unwrap().db
}

#[test]
fn a_restored_registry_serves_what_the_backed_up_one_served() {
    let (h, alice) = source();
    let (database, blobs) = back_up(&h);
    assert_eq!(blobs.len(), 3);
    let plan = plan_of(&database, &blobs);

    let to = Harness::new();
    assert!(block_on(backup::is_empty(&to.app.store)).unwrap());
    restore(&to, &plan, &blobs).unwrap();
    assert!(!block_on(backup::is_empty(&to.app.store)).unwrap());

    // The same token works, and sees the same index files and downloads.
    for name in ["demo", "demo-app"] {
        let path = format!(
            "/index/{}",
            edge_registry::protocol::names::index_path(name).unwrap()
        );
        let (a, b) = (h.get(&path, Some(&alice)), to.get(&path, Some(&alice)));
        assert_eq!((a.status, b.status), (200, 200));
        assert_eq!(a.body, b.body, "index file of {name}");
        assert_eq!(a.header("etag"), b.header("etag"));
    }
    for (name, vers) in [("demo", "1.0.0"), ("demo", "1.1.0"), ("demo-app", "0.1.0")] {
        let path = format!("/api/v1/crates/{name}/{vers}/download");
        let (a, b) = (h.get(&path, Some(&alice)), to.get(&path, Some(&alice)));
        assert_eq!(a.status, b.status, "{path}");
        assert_eq!(a.body, b.body, "{path}");
    }
    let owners = "/api/v1/crates/demo/owners";
    assert_eq!(
        h.get(owners, Some(&alice)).json(),
        to.get(owners, Some(&alice)).json()
    );
    let (from, into) = (rows(&h), rows(&to));
    assert_eq!(from.users, into.users);
    assert_eq!(from.identities.len(), 1);
    assert_eq!(from.identities, into.identities);
    assert_eq!(from.tokens, into.tokens);
    assert_eq!(from.crates, into.crates);
    assert_eq!(from.versions, into.versions);
    assert_eq!(from.owners, into.owners);
    assert_eq!((from.teams.len(), from.team_members.len()), (1, 2));
    assert_eq!((from.team_owners.len(), from.crate_readers.len()), (1, 2));
    assert_eq!(from.teams, into.teams);
    assert_eq!(from.team_members, into.team_members);
    assert_eq!(from.team_owners, into.team_owners);
    assert_eq!(from.crate_readers, into.crate_readers);
    assert_eq!(from.dependencies, into.dependencies);
    // The audit log: the backup's rows in order, then the restore's own.
    let mut expected = audit(&h);
    expected.push((
        NOW + 100,
        None,
        "restore".into(),
        None,
        Some("backup sha256 abc".into()),
    ));
    assert_eq!(audit(&to), expected);
}

/// The backup with every id moved up by 100, so none is taken in a
/// small registry.
fn moved(database: &[u8]) -> Vec<u8> {
    let mut moved: Value = serde_json::from_slice(database).unwrap();
    let remap = |v: &mut Value, col: &str| {
        if let Some(n) = v[col].as_i64() {
            v[col] = json!(n + 100);
        }
    };
    for (table, cols) in [
        ("users", &["id"][..]),
        ("identities", &["user_id"]),
        ("tokens", &["id", "user_id"]),
        ("crates", &["id"]),
        ("versions", &["id", "crate_id", "published_by"]),
        ("owners", &["crate_id", "user_id", "added_by"]),
        ("teams", &["id", "created_by"]),
        ("team_members", &["team_id", "user_id", "added_by"]),
        ("team_owners", &["crate_id", "team_id", "added_by"]),
        (
            "crate_readers",
            &["crate_id", "user_id", "team_id", "added_by"],
        ),
        ("dependencies", &["version_id", "crate_id"]),
        ("audit", &["actor", "crate_id"]),
    ] {
        for row in moved[table].as_array_mut().unwrap() {
            for c in cols {
                remap(row, c);
            }
        }
    }
    serde_json::to_vec(&moved).unwrap()
}

#[test]
fn a_forced_restore_only_appends_and_refuses_what_is_taken() {
    let (h, _) = source();
    let (database, blobs) = back_up(&h);
    let plan = plan_of(&database, &blobs);

    // Into a registry with its own users, crates and audit rows: the
    // backup's ids are taken there.
    let to = Harness::new();
    let carol = to.token("carol");
    to.publish_ok(&carol, "other", "1.0.0");
    let before = rows(&to);
    let before_audit = audit(&to);
    assert_eq!(
        restore(&to, &plan, &blobs).unwrap_err(),
        "refusing to restore: user `alice` (id 1) is already in this registry; nothing was changed"
    );
    assert_eq!(rows(&to), before);
    assert_eq!(audit(&to), before_audit);

    // Into itself: every key is taken.
    assert_eq!(
        restore(&h, &plan, &blobs).unwrap_err(),
        "refusing to restore: user `alice` (id 1) is already in this registry; nothing was changed"
    );

    // With other ids it is merged in, and the registry keeps its own rows
    // and log.
    let moved = moved(&database);
    let moved_plan = plan_of(&moved, &blobs);
    restore(&to, &moved_plan, &blobs).unwrap();
    let after = rows(&to);
    assert_eq!(after.users[..before.users.len()], before.users[..]);
    assert_eq!(after.tokens[..before.tokens.len()], before.tokens[..]);
    assert_eq!(after.users.len(), before.users.len() + 2);
    assert_eq!(after.crates[0], before.crates[0]);
    let after_audit = audit(&to);
    assert_eq!(after_audit[..before_audit.len()], before_audit[..]);
    assert_eq!(
        after_audit.len(),
        before_audit.len() + audit(&h).len() + 1,
        "the backup's rows and the restore's are appended, nothing removed"
    );
}

#[test]
fn an_identity_linked_here_already_is_not_restored_onto_another_account() {
    let (h, _) = source();
    let (database, blobs) = back_up(&h);
    let plan = plan_of(&moved(&database), &blobs);
    // Another registry where the same provider subject signed in already.
    let to = Harness::new();
    to.token("zed");
    let zed = block_on(to.app.store.db.user_by_login("zed"))
        .unwrap()
        .unwrap();
    block_on(sso::link(&to.app, &zed, IDP, "bob-at-the-idp", NOW)).unwrap();
    let before = rows(&to);
    assert_eq!(
        restore(&to, &plan, &blobs).unwrap_err(),
        "refusing to restore: the identity `bob-at-the-idp` at `https://idp.example.com` is already linked to an account in this registry; nothing was changed"
    );
    assert_eq!(rows(&to), before);
}

#[test]
fn text_that_looks_like_sql_is_restored_exactly() {
    let (h, _) = source();
    let (database, blobs) = back_up(&h);
    let mut db: Value = serde_json::from_slice(&database).unwrap();
    let name = "x'); UPDATE users SET is_admin = 1; --";
    let detail = "BEGIN TRANSACTION; COMMIT; text";
    db["users"][0]["name"] = json!(name);
    db["audit"][0]["detail"] = json!(detail);
    let plan = plan_of(&serde_json::to_vec(&db).unwrap(), &blobs);
    let to = Harness::new();
    restore(&to, &plan, &blobs).unwrap();
    let into = rows(&to);
    assert_eq!(into.users[0].name.as_deref(), Some(name));
    assert!(into.users.iter().all(|u| u.is_admin == 0));
    assert_eq!(into.audit[0].detail.as_deref(), Some(detail));
}

#[test]
fn a_restore_that_fails_part_way_leaves_no_row() {
    let (h, _) = source();
    let (database, blobs) = back_up(&h);
    let plan = plan_of(&database, &blobs);
    let to = Harness::new();
    let empty = rows(&to);
    // The rows batch itself fails, before and after taking effect.
    for after_effect in [false, true] {
        if after_effect {
            to.app.store.fail_after_effect(Some(1));
        } else {
            to.app.store.fail_after(Some(1));
        }
        let r = block_on(backup::restore(&to.app.store, &plan, NOW, "note"));
        to.app.store.fail_after(None);
        assert!(r.is_err());
        if !after_effect {
            assert_eq!(rows(&to), empty, "a refused batch writes nothing");
        } else {
            // A lost reply: the batch took effect as a whole.
            assert_eq!(rows(&to).versions.len(), plan.db.versions.len());
        }
    }
}

#[test]
fn the_backup_holds_every_column_of_its_tables() {
    let h = Harness::new();
    for (table, cols) in BACKUP_TABLES {
        let mut actual: Vec<String> = h
            .app
            .store
            .sqlite()
            .with_conn(|c| {
                let mut st = c.prepare("SELECT name FROM pragma_table_info(?1)")?;
                st.query_map([table], |r| r.get(0))?.collect()
            })
            .unwrap();
        let mut listed: Vec<String> = cols.split(", ").map(str::to_string).collect();
        actual.sort();
        listed.sort();
        assert_eq!(actual, listed, "columns of `{table}`");
    }
}
