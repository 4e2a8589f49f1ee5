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
