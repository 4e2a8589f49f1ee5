//! The rules the copies of the storage layer used to disagree on, settled
//! once in SQL and checked here on the rows themselves: audit rows carry
//! the actor and the request's time and exist exactly when the change
//! does; owner changes are atomic; a publisher becomes the first owner
//! only of the crate its publish creates.

mod common;

use common::*;
use edge_registry::store::{CrateStore, InsertOutcome, NewVersion, RemoveOutcome, UserStore};
use futures::executor::block_on;

/// An audit row: (at, actor, action, crate id, detail).
type AuditRow = (i64, Option<i64>, String, Option<i64>, Option<String>);

/// Every audit row, in order.
fn audit(h: &Harness) -> Vec<AuditRow> {
    h.app
        .store
        .sqlite()
        .with_conn(|c| {
            let mut st =
                c.prepare("SELECT at, actor, action, crate_id, detail FROM audit ORDER BY id")?;
            st.query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect()
        })
        .unwrap()
}

fn user_id(h: &Harness, login: &str) -> i64 {
    block_on(h.app.store.db.user_by_login(login))
        .unwrap()
        .unwrap()
        .id
}

#[test]
fn yank_and_unyank_write_one_audit_row_each_with_the_actor_and_time() {
    let h = Harness::new();
    let t = h.token("alice");
    h.publish_ok(&t, "yanky", "1.0.0");
    let alice = user_id(&h, "alice");
    let db = &h.app.store.db;
    let c = block_on(db.crate_by_canon("yanky")).unwrap().unwrap();
    let v = block_on(db.version(c.id, "1.0.0")).unwrap().unwrap();
    let before = audit(&h).len();
    assert!(block_on(db.set_yanked(v.id, true, alice, NOW + 5)).unwrap());
    assert!(!block_on(db.set_yanked(v.id, true, alice, NOW + 6)).unwrap());
    assert!(block_on(db.set_yanked(v.id, false, alice, NOW + 7)).unwrap());
    let rows = audit(&h);
    assert_eq!(
        rows[before..],
        [
            (
                NOW + 5,
                Some(alice),
                "yank".into(),
                Some(c.id),
                Some("1.0.0".into())
            ),
            (
                NOW + 7,
                Some(alice),
                "unyank".into(),
                Some(c.id),
                Some("1.0.0".into())
            ),
        ],
        "no row for the yank that changed nothing"
    );
    let changed_at: i64 = h
        .app
        .store
        .sqlite()
        .with_conn(|c2| {
            c2.query_row("SELECT changed_at FROM crates WHERE id = ?1", [c.id], |r| {
                r.get(0)
            })
        })
        .unwrap();
    assert_eq!(
        changed_at,
        NOW + 7,
        "the request's time, not the database clock"
    );
}

#[test]
fn owner_changes_write_a_row_per_owner_actually_changed_and_never_orphan() {
    let h = Harness::new();
    let t = h.token("alice");
    h.token("bob");
    h.token("carol");
    h.publish_ok(&t, "owned", "1.0.0");
    let (alice, bob, carol) = (
        user_id(&h, "alice"),
        user_id(&h, "bob"),
        user_id(&h, "carol"),
    );
    let db = &h.app.store.db;
    let c = block_on(db.crate_by_canon("owned")).unwrap().unwrap();
    let start = audit(&h).len();
    // alice is an owner already; bob is listed twice.
    let added = block_on(db.add_owners(c.id, &[alice, bob, bob], alice, NOW + 1)).unwrap();
    assert_eq!(added, 1);
    assert_eq!(
        audit(&h)[start..],
        [(
            NOW + 1,
            Some(alice),
            "owner-add".into(),
            Some(c.id),
            Some(bob.to_string())
        )]
    );
    // Removing everyone is refused as one step: nothing removed, no row.
    let all = [alice, bob];
    let out = block_on(db.remove_owners(c.id, &all, alice, NOW + 2)).unwrap();
    assert_eq!(out, RemoveOutcome::WouldOrphan);
    assert_eq!(block_on(db.owners(c.id)).unwrap().len(), 2);
    assert_eq!(audit(&h).len(), start + 1);
    // Removing bob and carol (not an owner): one removal, one row.
    let out = block_on(db.remove_owners(c.id, &[bob, carol], alice, NOW + 3)).unwrap();
    assert_eq!(out, RemoveOutcome::Removed(1));
    assert_eq!(
        audit(&h)[start + 1..],
        [(
            NOW + 3,
            Some(alice),
            "owner-remove".into(),
            Some(c.id),
            Some(bob.to_string())
        )]
    );
    let owners: Vec<i64> = block_on(db.owners(c.id))
        .unwrap()
        .iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(owners, [alice]);
}

#[test]
fn a_publisher_becomes_first_owner_only_of_the_crate_its_publish_creates() {
    let h = Harness::new();
    let t = h.token("alice");
    h.token("mallory");
    h.publish_ok(&t, "orphan", "1.0.0");
    let (alice, mallory) = (user_id(&h, "alice"), user_id(&h, "mallory"));
    let db = &h.app.store.db;
    let c = block_on(db.crate_by_canon("orphan")).unwrap().unwrap();
    // A crate left without owners (as a partial restore can leave one).
    h.app
        .store
        .sqlite()
        .with_conn(|conn| conn.execute("DELETE FROM owners WHERE crate_id = ?1", [c.id]))
        .unwrap();
    let v = |num: &str, who: i64| NewVersion {
        crate_name: "orphan".into(),
        canon: "orphan".into(),
        num: num.into(),
        num_no_build: num.into(),
        cksum: format!("{:0>64}", num.replace('.', "")),
        entry: "{}".into(),
        size: 1,
        description: None,
        license: None,
        homepage: None,
        documentation: None,
        repository: None,
        keywords: vec![],
        categories: vec![],
        readme: None,
        readme_html: None,
        local_deps: vec![],
        links: None,
        rust_version: None,
        publisher_id: who,
        publisher_is_admin: false,
        now: NOW + 1,
    };
    let before = h.snapshot();
    let out = block_on(db.insert_version(&v("1.1.0", mallory))).unwrap();
    assert_eq!(out, InsertOutcome::NotOwner);
    assert!(
        block_on(db.owners(c.id)).unwrap().is_empty(),
        "mallory did not claim it"
    );
    assert_eq!(h.snapshot(), before);
    // A new crate's publisher is its owner.
    let mut fresh = v("0.1.0", alice);
    fresh.crate_name = "fresh".into();
    fresh.canon = "fresh".into();
    let out = block_on(db.insert_version(&fresh)).unwrap();
    let InsertOutcome::Inserted {
        crate_id,
        new_crate,
    } = out
    else {
        panic!("{out:?}");
    };
    assert!(new_crate);
    let owners: Vec<i64> = block_on(db.owners(crate_id))
        .unwrap()
        .iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(owners, [alice]);
}
