//! The cron repair (`service::repair`) on the in-memory store: it finds and
//! fixes corrupted, deleted, regressed and orphaned index files, writes
//! nothing when all is well, stays bounded per run, and survives its own
//! storage faults.

mod common;

use common::*;
use edge_registry::protocol::names::index_path;
use edge_registry::service::repair::{self, RepairReport, SWEEP_BATCH};
use edge_registry::store::{IndexFile, IndexStore};
use futures::executor::block_on;

fn run(h: &Harness) -> RepairReport {
    block_on(repair::run(&h.app.store, h.now)).expect("repair run")
}

fn file(h: &Harness, name: &str) -> Option<IndexFile> {
    block_on(h.app.store.kv.get_file(&index_path(name).unwrap())).unwrap()
}

fn put(h: &Harness, key: &str, f: &IndexFile) {
    block_on(h.app.store.kv.put_file(key, f)).unwrap();
}

#[test]
fn repair_fixes_corrupt_missing_and_orphan_files_and_leaves_good_ones() {
    let mut h = Harness::new();
    let t = h.token("alice");
    for n in ["keep", "mangled", "gone"] {
        h.publish_ok(&t, n, "1.0.0");
    }
    let good: Vec<String> = ["keep", "mangled", "gone"]
        .iter()
        .map(|n| file(&h, n).unwrap().body)
        .collect();
    // All is well: the first run checks every crate and writes nothing.
    h.now += 600;
    let r = run(&h);
    assert_eq!(r.checked, 3);
    assert!(r.repaired.is_empty(), "{r:?}");
    assert!(r.orphans_removed.is_empty(), "{r:?}");

    // Damage: edited bytes that keep valid-looking metadata (the Worker
    // would serve them), a deleted file, an orphan that would be served,
    // and a key that is not an index path (never served; left alone).
    let mut forged = file(&h, "mangled").unwrap();
    forged.body = forged.body.replace("1.0.0", "6.6.6");
    put(&h, &index_path("mangled").unwrap(), &forged);
    block_on(h.app.store.kv.delete_file(&index_path("gone").unwrap())).unwrap();
    let orphan = IndexFile {
        body: "{}\n".into(),
        etag: "\"x\"".into(),
        rev: 1,
        visibility: Default::default(),
    };
    put(&h, &index_path("phantom").unwrap(), &orphan);
    put(&h, "notes/readme", &orphan);
    assert_eq!(h.get("/index/ph/an/phantom", Some(&t)).status, 200);
    let before = h.app.store.index_count();

    h.now += 600;
    let r = run(&h);
    assert_eq!(r.repaired, ["mangled", "gone"], "{r:?}");
    assert_eq!(r.orphans_removed, [index_path("phantom").unwrap()]);
    // `gone` is back and `phantom` is gone.
    assert_eq!(h.app.store.index_count(), before);
    for (n, body) in ["keep", "mangled", "gone"].iter().zip(&good) {
        assert_eq!(&file(&h, n).unwrap().body, body, "{n}");
        assert_eq!(
            &h.get(&format!("/index/{}", index_path(n).unwrap()), Some(&t))
                .text(),
            body
        );
    }
    let r = h.get("/index/ph/an/phantom", Some(&t));
    assert_eq!(r.status, 404, "the orphan is no longer served");
    assert!(
        block_on(h.app.store.kv.get_file("notes/readme"))
            .unwrap()
            .is_some(),
        "keys that are not index paths are left alone"
    );
    // And then there is nothing left to do.
    h.now += 600;
    let r = run(&h);
    assert!(
        r.repaired.is_empty() && r.orphans_removed.is_empty(),
        "{r:?}"
    );
}

#[test]
fn a_regressed_file_of_a_recently_changed_crate_is_fixed_in_the_next_run() {
    let mut h = Harness::new();
    let t = h.token("alice");
    // More crates than one sweep batch, so the sweep alone would not reach
    // the last one in the next run.
    for i in 0..(SWEEP_BATCH + 20) {
        h.publish_ok(&t, &format!("c{i:03}"), "1.0.0");
    }
    h.now += 600;
    let first = run(&h);
    assert!(first.checked <= 2 * SWEEP_BATCH, "bounded: {first:?}");
    assert!(!first.sweep_completed);
    h.now += 600;
    let second = run(&h);
    assert!(second.sweep_completed, "{second:?}");
    assert!(second.repaired.is_empty());

    // The last crate is yanked, but a reordered KV write puts the file from
    // before the yank back (its old bytes, ETag and revision).
    let last = format!("c{:03}", SWEEP_BATCH + 19);
    let old = file(&h, &last).unwrap();
    h.now += 600;
    let r = h.send(
        "DELETE",
        &format!("/api/v1/crates/{last}/1.0.0/yank"),
        Some(&t),
        vec![],
    );
    assert_eq!(r.status, 200);
    put(&h, &index_path(&last).unwrap(), &old);
    assert_eq!(h.index_lines(&t, &last)[0]["yanked"], false);

    h.now += 600;
    let r = run(&h);
    assert_eq!(r.repaired, std::slice::from_ref(&last), "{r:?}");
    assert!(r.checked <= 2 * SWEEP_BATCH);
    assert_eq!(h.index_lines(&t, &last)[0]["yanked"], true);
}

#[test]
fn the_sweep_reaches_every_crate_within_its_bound() {
    let mut h = Harness::new();
    let t = h.token("alice");
    let n = 2 * SWEEP_BATCH + 30;
    for i in 0..n {
        h.publish_ok(&t, &format!("s{i:03}"), "1.0.0");
    }
    h.now += 600;
    while !run(&h).sweep_completed {
        h.now += 600;
    }
    // Damage one file of a crate nobody changes, then count runs.
    let victim = format!("s{:03}", n - 5);
    block_on(h.app.store.kv.delete_file(&index_path(&victim).unwrap())).unwrap();
    let mut runs = 0;
    loop {
        h.now += 600;
        runs += 1;
        let r = run(&h);
        assert!(r.checked <= 2 * SWEEP_BATCH, "bounded: {}", r.checked);
        if r.repaired.contains(&victim) {
            break;
        }
        assert!(runs <= n.div_ceil(SWEEP_BATCH), "not found in {runs} runs");
    }
    assert!(file(&h, &victim).is_some());
}

#[test]
fn repair_survives_a_fault_at_every_operation() {
    let setup = || {
        let mut h = Harness::new();
        let t = h.token("alice");
        for n in ["one", "two"] {
            h.publish_ok(&t, n, "1.0.0");
        }
        block_on(h.app.store.kv.delete_file(&index_path("one").unwrap())).unwrap();
        put(
            &h,
            &index_path("ghost").unwrap(),
            &IndexFile {
                body: "{}\n".into(),
                etag: "\"g\"".into(),
                rev: 1,
                visibility: Default::default(),
            },
        );
        h.now += 600;
        (h, t)
    };
    let ops = {
        let (h, _) = setup();
        let before = h.app.store.op_count();
        run(&h);
        h.app.store.op_count() - before
    };
    assert!(ops >= 6, "a run makes {ops} operations");
    println!(
        "repair run: {ops} operations, {} faults injected and recovered",
        2 * ops
    );
    for k in 1..=ops {
        for after_effect in [false, true] {
            let (mut h, t) = setup();
            if after_effect {
                h.app.store.fail_after_effect(Some(k));
            } else {
                h.app.store.fail_after(Some(k));
            }
            let failed = block_on(repair::run(&h.app.store, h.now));
            h.app.store.fail_after(None);
            assert!(failed.is_err(), "fault {k} surfaces");
            // The next run finishes the job.
            h.now += 600;
            run(&h);
            assert!(file(&h, "one").is_some(), "fault {k}: file restored");
            assert!(file(&h, "ghost").is_none(), "fault {k}: orphan removed");
            assert_eq!(h.index_lines(&t, "two").len(), 1);
        }
    }
}
