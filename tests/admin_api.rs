//! The admin store API (`/_admin/v1/`) through the router: closed (404)
//! without the `ADMIN_TOKEN` secret, 401 without the right token, only the
//! statements of `sql::ALL`, and every refusal changes nothing.

mod common;

use common::*;
use edge_registry::service::Config;
use edge_registry::store::native::NativeStore;
use futures::executor::block_on;
use serde_json::json;

const TOKEN: &str = "0123456789abcdef0123456789abcdef-admin";

fn harness() -> Harness {
    Harness::with(
        NativeStore::new().unwrap(),
        Config {
            admin_token_hash: edge_registry::web::admin_api::token_hash(Some(TOKEN)),
            ..Config::default()
        },
    )
}

fn call(
    h: &Harness,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: serde_json::Value,
) -> Resp {
    let auth = auth.map(|t| format!("Bearer {t}"));
    block_on(h.send_async(
        method,
        path,
        auth.as_deref(),
        &[("content-type", "application/json")],
        serde_json::to_vec(&body).unwrap(),
    ))
}

#[test]
fn without_the_secret_the_routes_do_not_exist() {
    let h = Harness::new();
    let r = call(
        &h,
        "POST",
        "/_admin/v1/d1",
        Some(TOKEN),
        json!({"statements": []}),
    );
    assert_eq!(r.status, 404);
    assert_eq!(r.detail(), "no route at /_admin/v1/");
    // A secret shorter than 32 characters leaves them closed too.
    assert_eq!(
        edge_registry::web::admin_api::token_hash(Some("short")),
        None
    );
}

#[test]
fn only_the_admin_token_opens_them_and_refusals_change_nothing() {
    let h = harness();
    let t = h.token("alice");
    h.publish_ok(&t, "kept", "1.0.0");
    let before = h.snapshot();
    let users = |h: &Harness| {
        let r = call(
            h,
            "POST",
            "/_admin/v1/d1",
            Some(TOKEN),
            json!({"statements": [{"name": "LIST_USERS"}]}),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["results"][0]["rows"].as_array().unwrap().len()
    };
    let n = users(&h);
    let make_admin = json!({"batch": true, "statements": [
        {"name": "CREATE_USER", "args": ["mallory", 1, NOW]}]});
    let needs = "this route needs the registry's admin token (the ADMIN_TOKEN secret) as `Authorization: Bearer <token>`";
    for auth in [
        None,
        Some("wrong"),
        Some(&t[..]),
        Some(&TOKEN[..TOKEN.len() - 1]),
    ] {
        let r = call(&h, "POST", "/_admin/v1/d1", auth, make_admin.clone());
        assert_eq!(r.status, 401, "{auth:?}");
        assert_eq!(r.detail(), needs);
        let r = call(&h, "PUT", "/_admin/v1/r2/crates/x.crate", auth, json!({}));
        assert_eq!(r.status, 401);
    }
    // Raw SQL is not a statement name.
    let r = call(
        &h,
        "POST",
        "/_admin/v1/d1",
        Some(TOKEN),
        json!({"statements": [{"name": "DELETE FROM crates", "args": []}]}),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.detail(), "no statement named `DELETE FROM crates`");
    // A batch whose second statement fails leaves nothing of the first.
    let r = call(
        &h,
        "POST",
        "/_admin/v1/d1",
        Some(TOKEN),
        json!({"batch": true, "statements": [
            {"name": "CREATE_USER", "args": ["mallory", 1, NOW]},
            {"name": "SET_ADMIN", "args": [1]}]}),
    );
    assert_eq!(r.status, 500);
    assert_eq!(users(&h), n);
    assert_eq!(h.snapshot(), before);
    // The right token runs it.
    let r = call(&h, "POST", "/_admin/v1/d1", Some(TOKEN), make_admin);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["results"][0]["rows"][0]["login"], "mallory");
    assert_eq!(users(&h), n + 1);
}

#[test]
fn the_index_and_blob_calls_reach_the_stores() {
    let h = harness();
    let t = h.token("alice");
    h.publish_ok(&t, "seen", "1.0.0");
    let kv = |body: serde_json::Value| {
        let r = call(&h, "POST", "/_admin/v1/kv", Some(TOKEN), body);
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()
    };
    let got = kv(json!({"op": "get", "key": "se/en/seen"}));
    assert_eq!(got["file"]["body"].as_str().unwrap().lines().count(), 1);
    assert_eq!(
        kv(json!({"op": "list", "cursor": null, "limit": 10}))["keys"],
        json!(["se/en/seen"])
    );
    kv(
        json!({"op": "put", "key": "se/en/seen", "file": {"body": "x\n", "etag": "\"e\"", "rev": 9}}),
    );
    assert_eq!(
        kv(json!({"op": "get", "key": "se/en/seen"}))["file"]["rev"],
        9
    );
    kv(json!({"op": "delete", "key": "se/en/seen"}));
    assert!(kv(json!({"op": "get", "key": "se/en/seen"}))["file"].is_null());
    let r = block_on(h.send_async(
        "PUT",
        "/_admin/v1/r2/crates/abc.crate",
        Some(&format!("Bearer {TOKEN}")),
        &[("x-blob-name", "seen"), ("x-blob-version", "9.9.9")],
        b"bytes".to_vec(),
    ));
    assert_eq!(r.status, 200, "{}", r.text());
    let r = h.get(
        "/_admin/v1/r2/crates/abc.crate",
        Some(&format!("Bearer {TOKEN}")),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"bytes");
    assert_eq!(r.header("x-blob-version").as_deref(), Some("9.9.9"));
    let r = h.get(
        "/_admin/v1/r2/crates/none.crate",
        Some(&format!("Bearer {TOKEN}")),
    );
    assert_eq!(r.status, 404);
    assert_eq!(r.detail(), "no blob `crates/none.crate`");
}
