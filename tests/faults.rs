//! Fault injection: every state-changing flow is run twice per storage
//! operation it makes, with that operation failing before it takes effect
//! and, separately, failing after it took effect (a lost reply). After each
//! failure the
//! invariants hold (every index line has its version row and a blob with
//! that checksum; no owner change half-done), and retrying the same request
//! succeeds.

mod common;

use common::*;
use edge_registry::protocol::names::index_path;
use edge_registry::store::{BlobStore, CrateStore, IndexStore, blob_key};
use futures::executor::block_on;

/// Checks the storage invariants for one crate.
fn invariants(h: &Harness, name: &str) {
    block_on(async {
        let s = &h.app.store;
        let Some(c) =
            s.db.crate_by_canon(&edge_registry::protocol::names::canonical(name))
                .await
                .unwrap()
        else {
            // No crate: there must be no index file either.
            assert!(
                s.kv.get_file(&index_path(name).unwrap())
                    .await
                    .unwrap()
                    .is_none(),
                "index file without crate {name}"
            );
            return;
        };
        let (_, versions) = s.db.crate_versions(c.id).await.unwrap().unwrap();
        for v in &versions {
            let blob =
                s.r2.get_blob(&blob_key(&v.cksum))
                    .await
                    .unwrap()
                    .expect("version row without blob");
            assert_eq!(
                sha256_hex(&blob.bytes),
                v.cksum,
                "blob bytes hash to the cksum"
            );
        }
        if let Some(f) = s.kv.get_file(&index_path(&c.name).unwrap()).await.unwrap() {
            for line in f.body.lines() {
                let l: serde_json::Value = serde_json::from_str(line).unwrap();
                let v = versions
                    .iter()
                    .find(|v| v.num == l["vers"])
                    .expect("index line without version row");
                assert_eq!(l["cksum"], v.cksum.as_str());
            }
        }
        assert!(
            !s.db.owners(c.id).await.unwrap().is_empty(),
            "a crate never loses its last owner"
        );
    });
}

thread_local! {
    /// Whether the fault being checked took effect before failing.
    static AFTER_EFFECT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// How many storage operations a request makes when nothing fails.
fn ops_of(setup: &dyn Fn(&Harness) -> String, run: &dyn Fn(&Harness, &str) -> Resp) -> usize {
    let h = Harness::new();
    let t = setup(&h);
    let before = h.app.store.op_count();
    let r = run(&h, &t);
    assert_eq!(r.status, 200, "clean run: {}", r.text());
    h.app.store.op_count() - before
}

/// Runs `run` with each of its operations failing in turn; checks the
/// invariants, then that a retry succeeds and `done` holds.
fn every_fault(
    flow: &str,
    name: &str,
    setup: &dyn Fn(&Harness) -> String,
    run: &dyn Fn(&Harness, &str) -> Resp,
    done: &dyn Fn(&Harness, &str),
) -> usize {
    let n = ops_of(setup, run);
    assert!(n > 0);
    let mut failed = 0;
    let mut recovered = 0;
    for (k, after_effect) in (1..=n).flat_map(|k| [(k, false), (k, true)]) {
        let when = if after_effect {
            "after its effect"
        } else {
            "before its effect"
        };
        AFTER_EFFECT.set(after_effect);
        let h = Harness::new();
        let t = setup(&h);
        if after_effect {
            h.app.store.fail_after_effect(Some(k));
        } else {
            h.app.store.fail_after(Some(k));
        }
        let r = run(&h, &t);
        h.app.store.fail_after(None);
        assert!(
            r.status == 500 || r.status == 200,
            "{flow}, fault {k}/{n} {when}: {} {}",
            r.status,
            r.text()
        );
        if r.status == 500 {
            failed += 1;
            assert_eq!(
                r.detail(),
                "internal error in the registry; nothing was changed by this request if it failed, please retry",
                "internal details never leak"
            );
        } else {
            // A lost reply the store recovered from by reading back what
            // the operation did: only possible after its effect, and the
            // request must then be completely done.
            assert!(
                after_effect,
                "{flow}, fault {k}/{n} {when}: a fault before the effect answered 200"
            );
            invariants(&h, name);
            done(&h, &t);
            recovered += 1;
        }
        invariants(&h, name);
        // The token cache may have been filled before the fault; a retry
        // must work either way.
        let again = run(&h, &t);
        assert_eq!(
            again.status,
            200,
            "{flow}, retry after fault {k}/{n} {when}: {}",
            again.text()
        );
        invariants(&h, name);
        done(&h, &t);
    }
    assert_eq!(
        failed + recovered,
        2 * n,
        "{flow}: every injected fault surfaces as a 500 or is recovered"
    );
    assert!(failed >= n, "{flow}: every fault before an effect is a 500");
    println!(
        "{flow}: {n} operations, {} faults injected ({failed} answered 500, {recovered} recovered in the request)",
        2 * n
    );
    n
}

#[test]
fn publish_survives_a_fault_at_every_operation() {
    let spec = CrateSpec::new("faulty", "1.1.0");
    let n = every_fault(
        "publish new version",
        "faulty",
        &|h| {
            let t = h.token("alice");
            h.publish_ok(&t, "faulty", "1.0.0");
            t
        },
        &|h, t| h.publish(t, spec.body()),
        &|h, t| {
            let lines = h.index_lines(t, "faulty");
            assert_eq!(lines.len(), 2);
            assert_eq!(lines[1]["vers"], "1.1.0");
        },
    );
    assert!(n >= 6, "publish makes {n} operations");
    every_fault(
        "publish new crate",
        "fresh",
        &|h| h.token("alice"),
        &|h, t| h.publish(t, CrateSpec::new("fresh", "0.1.0").body()),
        &|h, t| assert_eq!(h.index_lines(t, "fresh").len(), 1),
    );
}

#[test]
fn yank_and_unyank_survive_a_fault_at_every_operation() {
    let setup = |h: &Harness| {
        let t = h.token("alice");
        h.publish_ok(&t, "yanky", "1.0.0");
        t
    };
    every_fault(
        "yank",
        "yanky",
        &setup,
        &|h, t| h.send("DELETE", "/api/v1/crates/yanky/1.0.0/yank", Some(t), vec![]),
        &|h, t| assert_eq!(h.index_lines(t, "yanky")[0]["yanked"], true),
    );
    every_fault(
        "unyank",
        "yanky",
        &|h| {
            let t = setup(h);
            assert_eq!(
                h.send(
                    "DELETE",
                    "/api/v1/crates/yanky/1.0.0/yank",
                    Some(&t),
                    vec![]
                )
                .status,
                200
            );
            t
        },
        &|h, t| h.send("PUT", "/api/v1/crates/yanky/1.0.0/unyank", Some(t), vec![]),
        &|h, t| assert_eq!(h.index_lines(t, "yanky")[0]["yanked"], false),
    );
}

#[test]
fn owner_changes_survive_a_fault_at_every_operation() {
    let setup = |h: &Harness| {
        let t = h.token("alice");
        h.token("bob");
        h.publish_ok(&t, "owned", "1.0.0");
        t
    };
    let owners = |h: &Harness, t: &str| -> Vec<String> {
        let v = h.get("/api/v1/crates/owned/owners", Some(t)).json();
        v["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["login"].as_str().unwrap().to_string())
            .collect()
    };
    every_fault(
        "owner add",
        "owned",
        &setup,
        &|h, t| {
            h.send(
                "PUT",
                "/api/v1/crates/owned/owners",
                Some(t),
                br#"{"users":["bob"]}"#.to_vec(),
            )
        },
        &|h, t| assert_eq!(owners(h, t), ["alice", "bob"]),
    );
    every_fault(
        "owner remove",
        "owned",
        &|h| {
            let t = setup(h);
            assert_eq!(
                h.send(
                    "PUT",
                    "/api/v1/crates/owned/owners",
                    Some(&t),
                    br#"{"users":["bob"]}"#.to_vec()
                )
                .status,
                200
            );
            t
        },
        &|h, t| {
            h.send(
                "DELETE",
                "/api/v1/crates/owned/owners",
                Some(t),
                br#"{"users":["bob"]}"#.to_vec(),
            )
        },
        &|h, t| assert_eq!(owners(h, t), ["alice"]),
    );
}

/// `s` is "cookie|csrf" or "cookie|csrf|id".
fn web(h: &Harness, s: &str, method: &str, path: &str, body: &str) -> Resp {
    let mut parts = s.split('|');
    let (cookie, csrf) = (parts.next().unwrap(), parts.next().unwrap());
    let hs = [
        ("cookie", cookie),
        ("x-csrf-token", csrf),
        ("content-type", "application/json"),
    ];
    block_on(h.send_async(method, path, None, &hs, body.as_bytes().to_vec()))
}

fn tokens_of(h: &Harness, s: &str) -> Vec<serde_json::Value> {
    web(h, s, "GET", "/web/api/tokens", "").json()["tokens"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn token_and_user_changes_survive_a_fault_at_every_operation() {
    let session = |h: &Harness| {
        let (c, t) = web_session(h, "root", true);
        format!("{c}|{t}")
    };
    every_fault(
        "token create",
        "none",
        &session,
        &|h, s| {
            let r = web(
                h,
                s,
                "POST",
                "/web/api/tokens",
                r#"{"name":"ci","scopes":["read"]}"#,
            );
            // 201 is this route's success; report it as 200 to the harness.
            Resp {
                status: if r.status == 201 { 200 } else { r.status },
                ..r
            }
        },
        &|h, s| {
            let tokens = tokens_of(h, s);
            if AFTER_EFFECT.get() && tokens.len() == 2 {
                // The first create took effect but its reply (the only
                // copy of the secret) was lost: that token was never used.
                assert!(tokens.iter().all(|t| t["status"] == "active"));
                assert!(
                    tokens
                        .iter()
                        .all(|t| t.get("last_used_at") == Some(&serde_json::Value::Null)),
                    "{tokens:?}"
                );
            } else {
                assert_eq!(tokens.len(), 1, "a failed create leaves no token");
            }
        },
    );
    every_fault(
        "token revoke",
        "none",
        &|h| {
            let s = session(h);
            assert_eq!(
                web(
                    h,
                    &s,
                    "POST",
                    "/web/api/tokens",
                    r#"{"name":"ci","scopes":["read"]}"#
                )
                .status,
                201
            );
            format!("{s}|{}", tokens_of(h, &s)[0]["id"])
        },
        &|h, s| {
            let id = s.rsplit('|').next().unwrap();
            web(h, s, "DELETE", &format!("/web/api/tokens/{id}"), "")
        },
        &|h, s| assert_eq!(tokens_of(h, s)[0]["status"], "revoked"),
    );
    every_fault(
        "disable user",
        "none",
        &|h| {
            let s = session(h);
            web_session(h, "bob", false);
            let users = web(h, &s, "GET", "/web/api/users", "").json();
            let bob = users["users"]
                .as_array()
                .unwrap()
                .iter()
                .find(|u| u["login"] == "bob")
                .unwrap()["id"]
                .as_i64()
                .unwrap();
            format!("{s}|{bob}")
        },
        &|h, s| {
            let bob = s.rsplit('|').next().unwrap();
            web(
                h,
                s,
                "POST",
                &format!("/web/api/users/{bob}/disabled"),
                r#"{"value":true}"#,
            )
        },
        &|h, s| {
            let users = web(h, s, "GET", "/web/api/users", "").json();
            let bob = users["users"]
                .as_array()
                .unwrap()
                .iter()
                .find(|u| u["login"] == "bob")
                .unwrap()
                .clone();
            assert_eq!(bob["disabled"], true);
        },
    );
}
