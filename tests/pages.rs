//! The crate browser's JSON API on the in-memory store: listing, search
//! ranking, crate and version pages, dependents, yanking from the page,
//! sanitised READMEs, and a bounded number of storage operations per call
//! whatever the number of crates or versions.

mod common;

use common::web_session as session;
use common::*;
use futures::executor::block_on;
use serde_json::{Value, json};

fn get(h: &Harness, s: &(String, String), path: &str) -> Resp {
    block_on(h.send_async("GET", path, None, &[("cookie", &s.0)], vec![]))
}

fn post(h: &Harness, s: &(String, String), path: &str, body: Value) -> Resp {
    let hs = [
        ("cookie", s.0.as_str()),
        ("x-csrf-token", s.1.as_str()),
        ("content-type", "application/json"),
    ];
    block_on(h.send_async("POST", path, None, &hs, serde_json::to_vec(&body).unwrap()))
}

fn names(v: &Value) -> Vec<String> {
    v["crates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn pages_need_a_session() {
    let h = Harness::new();
    for p in [
        "/web/api/crates",
        "/web/api/crates/x",
        "/web/api/crates/x/versions/1.0.0",
    ] {
        assert_eq!(h.get(p, None).status, 401, "{p}");
    }
    let r = h.get("/crates/anything", None);
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location").unwrap(),
        "/login?next=%2Fcrates%2Fanything"
    );
    let s = session(&h, "alice", false);
    let r = get(&h, &s, "/crates/anything/1.0.0");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/public/crate.html")).unwrap(),
        "every crate URL serves the one crate page"
    );
}

#[test]
fn list_sorts_paginates_and_searches_by_name_keywords_and_description() {
    let mut h = Harness::new();
    let t = h.token("alice");
    for (i, (name, kw, desc)) in [
        ("serde", "[\"serialization\"]", "A framework"),
        ("serde-json", "[]", "JSON support"),
        ("my-serde-helper", "[]", "helpers"),
        ("tokio", "[\"async\",\"io\"]", "An async runtime"),
        ("zebra", "[]", "Unrelated, mentions serde in passing"),
    ]
    .iter()
    .enumerate()
    {
        h.now = NOW + i as i64 * 60;
        let spec = CrateSpec::new(name, "1.0.0")
            .meta("keywords", serde_json::from_str(kw).unwrap())
            .meta("description", json!(desc));
        assert_eq!(h.publish(&t, spec.body()).status, 200);
    }
    let s = session(&h, "alice", false);
    let all = get(&h, &s, "/web/api/crates?per_page=2").json();
    assert_eq!(all["meta"]["total"], 5);
    assert_eq!(names(&all), ["zebra", "tokio"], "newest-updated first");
    assert_eq!(all["crates"][0]["max_version"], "1.0.0");
    assert!(
        all["crates"][0]["updated_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    let p3 = get(&h, &s, "/web/api/crates?per_page=2&page=3").json();
    assert_eq!(names(&p3), ["serde"]);
    let by_name = get(&h, &s, "/web/api/crates?sort=name&per_page=10").json();
    assert_eq!(
        names(&by_name),
        ["my-serde-helper", "serde", "serde-json", "tokio", "zebra"]
    );
    // Exact, then prefix, then contains (name, keywords, description).
    let found = get(&h, &s, "/web/api/crates?q=serde").json();
    assert_eq!(
        names(&found),
        ["serde", "serde-json", "my-serde-helper", "zebra"]
    );
    assert_eq!(
        names(&get(&h, &s, "/web/api/crates?q=async").json()),
        ["tokio"]
    );
    // cargo search ranks the same way.
    let cargo = h.get("/api/v1/crates?q=serde&per_page=10", Some(&t)).json();
    assert_eq!(names(&cargo), names(&found));
}

#[test]
fn crate_and_version_pages_show_everything_with_links_for_local_dependencies() {
    let h = Harness::new();
    let t = h.token("alice");
    h.publish_ok(&t, "base", "1.0.0");
    let mut crates_io = dep("serde", "^1", "normal");
    crates_io["registry"] = json!("https://github.com/rust-lang/crates.io-index");
    crates_io["optional"] = json!(true);
    let mut renamed = dep("base", "^1", "normal");
    renamed["explicit_name_in_toml"] = json!("b");
    let spec = CrateSpec::new("app", "0.2.0")
        .dep(renamed)
        .dep(crates_io)
        .dep(dep("base", "^1", "build"))
        .dep(dep("tester", "^1", "dev"))
        .manifest("rust-version = \"1.74\"\nlinks = \"app\"\n")
        .meta("features", json!({"default": ["std"], "std": [], "json": ["dep:serde"]}))
        .meta("readme", json!("# App\n\nSee [the guide](docs/guide.md).\n\n<script>alert(1)</script>\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"))
        .meta("repository", json!("https://github.com/acme/app"))
        .meta("homepage", json!("https://acme.example"))
        .meta("keywords", json!(["cli"]));
    assert_eq!(h.publish(&t, spec.body()).status, 200);
    h.publish_ok(&t, "app", "0.1.0");
    let s = session(&h, "alice", false);
    let page = get(&h, &s, "/web/api/crates/app").json();
    assert_eq!(page["crate"]["name"], "app");
    assert_eq!(page["crate"]["max_version"], "0.2.0");
    assert_eq!(page["owners"][0]["login"], "alice");
    assert_eq!(page["can_yank"], true);
    let versions: Vec<_> = page["versions"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["num"].clone())
        .collect();
    assert_eq!(
        versions,
        [json!("0.1.0"), json!("0.2.0")],
        "newest published first"
    );
    assert_eq!(page["versions"]["versions"][1]["rust_version"], "1.74");

    let v = get(&h, &s, "/web/api/crates/app/versions/0.2.0").json();
    assert_eq!(v["license"], "MIT");
    assert_eq!(v["links"], "app");
    assert_eq!(v["rust_version"], "1.74");
    assert_eq!(v["repository"], "https://github.com/acme/app");
    assert_eq!(v["keywords"], json!(["cli"]));
    assert_eq!(v["features"]["json"], json!(["dep:serde"]));
    let normal = v["dependencies"]["normal"].as_array().unwrap();
    let b = normal.iter().find(|d| d["rename"] == "b").unwrap();
    assert_eq!(b["name"], "base");
    assert_eq!(b["local"], true);
    let serde = normal.iter().find(|d| d["name"] == "serde").unwrap();
    assert_eq!(serde["local"], false);
    assert_eq!(serde["optional"], true);
    assert_eq!(v["dependencies"]["build"][0]["name"], "base");
    assert_eq!(v["dependencies"]["dev"][0]["name"], "tester");
    let readme = v["readme_html"].as_str().unwrap();
    assert!(
        readme.contains("<h1>App</h1>") && readme.contains("<table>"),
        "{readme}"
    );
    assert!(
        readme.contains("https://github.com/acme/app/blob/HEAD/docs/guide.md"),
        "{readme}"
    );
    assert!(!readme.contains("<script"), "{readme}");

    // base is used by app (as normal and build dependency: listed once).
    let deps = get(&h, &s, "/web/api/crates/base").json();
    assert_eq!(names(&deps["dependents"]), ["app"]);
    assert_eq!(deps["dependents"]["meta"]["total"], 1);

    assert_eq!(get(&h, &s, "/web/api/crates/nope").status, 404);
    let missing = get(&h, &s, "/web/api/crates/app/versions/9.9.9");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.detail(), "crate `app` has no version `9.9.9`");
}

#[test]
fn owners_yank_from_the_page_and_others_are_refused() {
    let h = Harness::new();
    let t = h.token("alice");
    h.publish_ok(&t, "yanky", "1.0.0");
    let owner = session(&h, "alice", false);
    let other = session(&h, "mallory", false);
    assert_eq!(
        get(&h, &other, "/web/api/crates/yanky").json()["can_yank"],
        false
    );
    let before = h.snapshot();
    let r = post(
        &h,
        &other,
        "/web/api/crates/yanky/versions/1.0.0/yank",
        json!({"value": true}),
    );
    assert_eq!(r.status, 403);
    assert_eq!(
        r.detail(),
        "you are not an owner of crate `yanky`; only its owners can do this"
    );
    assert_eq!(h.index_lines(&t, "yanky")[0]["yanked"], false);
    assert_eq!(h.snapshot(), before);
    // CSRF is required.
    let r = block_on(h.send_async(
        "POST",
        "/web/api/crates/yanky/versions/1.0.0/yank",
        None,
        &[("cookie", &owner.0), ("content-type", "application/json")],
        b"{\"value\":true}".to_vec(),
    ));
    assert_eq!(r.status, 403);
    let r = post(
        &h,
        &owner,
        "/web/api/crates/yanky/versions/1.0.0/yank",
        json!({"value": true}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(h.index_lines(&t, "yanky")[0]["yanked"], true);
    assert_eq!(
        get(&h, &owner, "/web/api/crates/yanky/versions/1.0.0").json()["yanked"],
        true
    );
    post(
        &h,
        &owner,
        "/web/api/crates/yanky/versions/1.0.0/yank",
        json!({"value": false}),
    );
    assert_eq!(h.index_lines(&t, "yanky")[0]["yanked"], false);
}

#[test]
fn page_calls_make_a_bounded_number_of_storage_operations() {
    let h = Harness::new();
    let t = h.token("alice");
    h.publish_ok(&t, "small", "1.0.0");
    h.publish_ok(&t, "big", "0.0.0");
    for i in 1..120 {
        h.publish_ok(&t, "big", &format!("0.0.{i}"));
        h.publish_ok(&t, &format!("user-{i}"), "1.0.0");
    }
    let s = session(&h, "alice", false);
    let ops = |path: &str| {
        let before = h.app.store.op_count();
        let r = get(&h, &s, path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        h.app.store.op_count() - before
    };
    let small = ops("/web/api/crates/small");
    let big = ops("/web/api/crates/big");
    assert_eq!(
        small, big,
        "a crate page costs the same for 1 and 120 versions"
    );
    assert!(big <= 6, "crate page: {big} operations");
    assert_eq!(
        ops("/web/api/crates/big/versions?page=3"),
        ops("/web/api/crates/small/versions")
    );
    assert!(ops("/web/api/crates?per_page=100") <= 4);
    assert!(ops("/web/api/crates/big/versions/0.0.77") <= 4);
    let page = get(&h, &s, "/web/api/crates/big/versions?page=2&per_page=50").json();
    assert_eq!(page["meta"]["total"], 120);
    assert_eq!(page["versions"].as_array().unwrap().len(), 50);
    assert_eq!(page["versions"][0]["num"], "0.0.69");
}
