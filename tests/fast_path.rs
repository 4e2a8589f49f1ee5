//! The authenticated index read's fast path, counted on the native
//! stores: in steady state (token check cached in the isolate, file in the
//! index store) a GET, a HEAD and a 304 revalidation each make exactly one
//! storage operation, a KV read, and never touch D1; `config.json` makes
//! none. The ETag comes from the stored metadata, not from re-hashing.

mod common;

use common::*;

#[test]
fn a_steady_state_index_read_is_one_kv_read_and_no_d1() {
    let h = Harness::new();
    let t = h.token("alice");
    h.publish_ok(&t, "fast", "1.0.0");
    // Warm: the first read fills the token cache.
    let first = h.get("/index/fa/st/fast", Some(&t));
    assert_eq!(first.status, 200);
    let etag = first.header("etag").unwrap();

    let store = &h.app.store;
    let ops = |f: &dyn Fn() -> Resp| -> (Resp, Vec<&'static str>) {
        let before = store.op_kinds().len();
        let r = f();
        (r, store.op_kinds()[before..].to_vec())
    };
    let (r, kinds) = ops(&|| h.get("/index/fa/st/fast", Some(&t)));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("etag"), Some(etag.clone()));
    assert_eq!(kinds, ["kv"], "GET");

    let (r, kinds) = ops(&|| {
        futures::executor::block_on(h.send_async(
            "HEAD",
            "/index/fa/st/fast",
            Some(&t),
            &[],
            vec![],
        ))
    });
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty(), "HEAD has no body");
    assert_eq!(r.header("etag"), Some(etag.clone()));
    assert_eq!(kinds, ["kv"], "HEAD");

    let (r, kinds) = ops(&|| {
        futures::executor::block_on(h.send_async(
            "GET",
            "/index/fa/st/fast",
            Some(&t),
            &[("if-none-match", &etag)],
            vec![],
        ))
    });
    assert_eq!(r.status, 304);
    assert_eq!(kinds, ["kv"], "304");

    let (r, kinds) = ops(&|| h.get("/index/config.json", Some(&t)));
    assert_eq!(r.status, 200);
    assert!(kinds.is_empty(), "config.json: {kinds:?}");

    // The served ETag is the stored one: a stored file with a different
    // (valid) ETag in its metadata is answered with that ETag, unhashed.
    let mut f = futures::executor::block_on(async {
        use edge_registry::store::IndexStore;
        store.kv.get_file("fa/st/fast").await.unwrap().unwrap()
    });
    f.etag = "\"from-metadata\"".into();
    futures::executor::block_on(async {
        use edge_registry::store::IndexStore;
        store.kv.put_file("fa/st/fast", &f).await.unwrap()
    });
    let r = h.get("/index/fa/st/fast", Some(&t));
    assert_eq!(r.header("etag").as_deref(), Some("\"from-metadata\""));
}

#[test]
fn a_steady_state_read_of_a_restricted_crate_is_one_kv_read_and_no_d1() {
    use edge_registry::service::teams::{self, Actor};
    let h = Harness::new();
    let owner = h.token("alice");
    h.publish_ok(&owner, "hidden", "1.0.0");
    let member = h.token("tim");
    let other = h.token("olga");
    futures::executor::block_on(async {
        teams::create(&h.app, Actor::Operator, "core", h.now)
            .await
            .unwrap();
        teams::add_member(&h.app, Actor::Operator, "core", "tim", false, h.now)
            .await
            .unwrap();
    });
    h.app
        .store
        .sqlite()
        .with_conn(|c| {
            c.execute_batch(
                "UPDATE crates SET visibility = 'restricted' WHERE name = 'hidden';
                 INSERT INTO team_owners (crate_id, team_id, added_at)
                   SELECT c.id, t.id, 0 FROM crates c, teams t WHERE c.name = 'hidden';",
            )
        })
        .unwrap();
    futures::executor::block_on(edge_registry::service::index::reindex(
        &h.app.store,
        Some("hidden"),
    ))
    .unwrap();
    // Warm both tokens (the team member's teams are cached with it).
    assert_eq!(h.get("/index/hi/dd/hidden", Some(&member)).status, 200);
    assert_eq!(h.get("/index/hi/dd/hidden", Some(&other)).status, 404);
    let store = &h.app.store;
    for (who, t, status) in [("member", &member, 200), ("other", &other, 404)] {
        let before = store.op_kinds().len();
        let r = h.get("/index/hi/dd/hidden", Some(t));
        assert_eq!(r.status, status, "{who}");
        assert_eq!(store.op_kinds()[before..], ["kv"], "{who}");
    }
}
