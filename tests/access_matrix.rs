//! The access matrix for restricted crates, over the real SQL: who may
//! read a crate restricted to its owners (users and teams) and granted
//! readers (users and teams), and that everyone else is answered exactly
//! as for a crate that does not exist. Visibility and grants are written
//! directly here; the routes that change them are tested apart.

mod common;

use common::*;
use edge_registry::auth::Scopes;
use edge_registry::service::index;
use edge_registry::service::teams::{self, Actor};
use futures::executor::block_on;

struct World {
    h: Harness,
    /// Tokens by who holds them.
    alice: String,
    tim: String,
    rita: String,
    gus: String,
    olga: String,
    root: String,
    narrow: String,
    dan: String,
}

fn sql(h: &Harness, s: &str) {
    h.app
        .store
        .sqlite()
        .with_conn(|c| c.execute_batch(s))
        .unwrap();
}

/// `secret` is restricted: owned by alice and team `core` (tim), granted
/// to rita and to team `readers` (gus). `open` is visible to every user.
/// olga is nobody in particular, root an administrator, `narrow` alice's
/// token limited to `open`, dan a disabled member of `core`.
fn world() -> World {
    let h = Harness::new();
    let alice = h.token("alice");
    h.publish_ok(&alice, "open", "1.0.0");
    // `secret` depends on `open`: it is one of open's dependents.
    let spec = CrateSpec::new("secret", "1.0.0").dep(dep("open", "^1", "normal"));
    assert_eq!(h.publish(&alice, spec.body()).status, 200);
    let tim = h.token("tim");
    let rita = h.token("rita");
    let gus = h.token("gus");
    let olga = h.token("olga");
    let root = h.token_with("root", true, Scopes::all(), "", None);
    let narrow = h.token_with("alice", false, Scopes::all(), "open", None);
    let dan = h.token("dan");
    for t in ["core", "readers"] {
        block_on(teams::create(&h.app, Actor::Operator, t, h.now)).unwrap();
    }
    for (t, u) in [("core", "tim"), ("core", "dan"), ("readers", "gus")] {
        block_on(teams::add_member(
            &h.app,
            Actor::Operator,
            t,
            u,
            false,
            h.now,
        ))
        .unwrap();
    }
    sql(
        &h,
        "UPDATE crates SET visibility = 'restricted' WHERE name = 'secret';
         INSERT INTO team_owners (crate_id, team_id, added_at)
           SELECT c.id, t.id, 0 FROM crates c, teams t WHERE c.name = 'secret' AND t.name = 'core';
         INSERT INTO crate_readers (crate_id, user_id, added_at)
           SELECT c.id, u.id, 0 FROM crates c, users u WHERE c.name = 'secret' AND u.login = 'rita';
         INSERT INTO crate_readers (crate_id, team_id, added_at)
           SELECT c.id, t.id, 0 FROM crates c, teams t WHERE c.name = 'secret' AND t.name = 'readers';
         UPDATE users SET disabled = 1 WHERE login = 'dan';",
    );
    block_on(index::reindex(&h.app.store, Some("secret"))).unwrap();
    World {
        h,
        alice,
        tim,
        rita,
        gus,
        olga,
        root,
        narrow,
        dan,
    }
}

/// Status and body, the whole of what a caller learns.
fn seen(h: &Harness, path: &str, token: &str) -> (u16, String) {
    let r = h.get(path, Some(token));
    (r.status, r.text())
}

#[test]
fn a_restricted_index_file_is_served_to_its_readers_and_to_nobody_else() {
    let w = world();
    let h = &w.h;
    let secret = "/index/se/cr/secret";
    let file = h.get(secret, Some(&w.alice));
    assert_eq!(file.status, 200);
    assert!(file.text().contains("\"name\":\"secret\""));
    for (who, t) in [
        ("owner", &w.alice),
        ("owning team's member", &w.tim),
        ("granted reader", &w.rita),
        ("granted team's member", &w.gus),
        ("administrator", &w.root),
    ] {
        assert_eq!(seen(h, secret, t), (200, file.text()), "{who}");
    }
    // Everyone else learns exactly what a crate that does not exist says.
    let nothing = seen(h, "/index/no/pe/nope", &w.olga);
    assert_eq!(
        nothing,
        (
            404,
            r#"{"errors":[{"detail":"no such crate in this registry"}]}"#.into()
        )
    );
    assert_eq!(seen(h, secret, &w.olga), nothing, "another user");
    // A token limited to other crates is refused the same way for both
    // (naming the crate asked for).
    let (status, body) = seen(h, secret, &w.narrow);
    assert_eq!(
        (status, body.replace("`secret`", "`nope`")),
        seen(h, "/index/no/pe/nope", &w.narrow)
    );
    assert_eq!(status, 403);
    // A disabled member's token does not work at all.
    assert_eq!(seen(h, secret, &w.dan).0, 401);
    // A registry-visible crate is readable by every user.
    assert_eq!(seen(h, "/index/op/en/open", &w.olga).0, 200);
}

#[test]
fn membership_changes_reach_cached_tokens_within_the_cache_bound() {
    let mut w = world();
    let secret = "/index/se/cr/secret";
    assert_eq!(seen(&w.h, secret, &w.tim).0, 200);
    assert_eq!(seen(&w.h, secret, &w.olga).0, 404);
    block_on(teams::remove_member(
        &w.h.app,
        Actor::Operator,
        "core",
        "tim",
        w.h.now,
    ))
    .unwrap();
    block_on(teams::add_member(
        &w.h.app,
        Actor::Operator,
        "readers",
        "olga",
        false,
        w.h.now,
    ))
    .unwrap();
    // Within the bound the cached principals keep their teams...
    w.h.now += w.h.app.config.token_cache_secs - 1;
    assert_eq!(seen(&w.h, secret, &w.tim).0, 200);
    assert_eq!(seen(&w.h, secret, &w.olga).0, 404);
    // ...and after it, the new ones count.
    w.h.now += 2;
    assert_eq!(seen(&w.h, secret, &w.tim).0, 404);
    assert_eq!(seen(&w.h, secret, &w.olga).0, 200);
}

#[test]
fn a_crate_with_more_readers_than_its_index_file_holds_asks_the_database() {
    let w = world();
    let h = &w.h;
    // 90 more granted users: over what the metadata keeps.
    for i in 0..90 {
        h.token(&format!("extra{i}"));
    }
    sql(
        h,
        "INSERT INTO crate_readers (crate_id, user_id, added_at)
           SELECT c.id, u.id, 0 FROM crates c, users u WHERE c.name = 'secret' AND u.login LIKE 'extra%';",
    );
    block_on(index::reindex(&h.app.store, Some("secret"))).unwrap();
    let stored = block_on(async {
        use edge_registry::store::IndexStore;
        h.app
            .store
            .kv
            .get_file("se/cr/secret")
            .await
            .unwrap()
            .unwrap()
    });
    assert_eq!(
        stored.visibility,
        edge_registry::auth::Visibility::RestrictedLarge
    );
    let extra = h.token("extra42");
    for (who, t) in [("granted", &extra), ("team", &w.gus), ("owner", &w.alice)] {
        assert_eq!(seen(h, "/index/se/cr/secret", t).0, 200, "{who}");
    }
    assert_eq!(seen(h, "/index/se/cr/secret", &w.olga).0, 404);
}

#[test]
fn a_stale_index_file_that_misses_a_restriction_is_repaired_and_reported() {
    let w = world();
    let h = &w.h;
    // The file from before the restriction, as if its write was lost.
    let mut stale = block_on(async {
        use edge_registry::store::IndexStore;
        h.app
            .store
            .kv
            .get_file("se/cr/secret")
            .await
            .unwrap()
            .unwrap()
    });
    stale.visibility = Default::default();
    block_on(async {
        use edge_registry::store::IndexStore;
        h.app
            .store
            .kv
            .put_file("se/cr/secret", &stale)
            .await
            .unwrap()
    });
    let (_, drift) = block_on(edge_registry::service::verify::verify(&h.app.store, false)).unwrap();
    let shown: Vec<String> = drift.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        ["`secret` (se/cr/secret) names other readers than the database (visibility)"]
    );
    let c = block_on(async {
        use edge_registry::store::CrateStore;
        h.app
            .store
            .db
            .crate_by_canon("secret")
            .await
            .unwrap()
            .unwrap()
    });
    assert!(
        block_on(edge_registry::service::repair::check_crate(
            &h.app.store,
            c.id
        ))
        .unwrap()
    );
    assert_eq!(seen(h, "/index/se/cr/secret", &w.olga).0, 404);
}

#[test]
fn downloads_owners_and_yanks_of_a_restricted_crate_exist_only_for_its_readers() {
    let w = world();
    let h = &w.h;
    let ck = {
        let f = h.get("/index/se/cr/secret", Some(&w.alice)).text();
        let line: serde_json::Value = serde_json::from_str(f.lines().next().unwrap()).unwrap();
        line["cksum"].as_str().unwrap().to_string()
    };
    let dl = format!("/dl/secret/1.0.0/{ck}");
    let api_dl = "/api/v1/crates/secret/1.0.0/download";
    for (who, t) in [
        ("owner", &w.alice),
        ("team", &w.tim),
        ("reader", &w.rita),
        ("reader team", &w.gus),
        ("admin", &w.root),
    ] {
        assert_eq!(h.get(&dl, Some(t)).status, 200, "{who}");
        assert_eq!(h.get(api_dl, Some(t)).status, 200, "{who}");
        assert_eq!(
            h.get("/api/v1/crates/secret/owners", Some(t)).status,
            200,
            "{who}"
        );
    }
    // olga: the answers for a crate that does not exist, word for word.
    let as_nope = |s: (u16, String)| (s.0, s.1.replace("secret", "nope"));
    let nope_dl = format!("/dl/nope/1.0.0/{ck}");
    assert_eq!(as_nope(seen(h, &dl, &w.olga)), seen(h, &nope_dl, &w.olga));
    assert_eq!(
        as_nope(seen(h, api_dl, &w.olga)),
        seen(h, "/api/v1/crates/nope/1.0.0/download", &w.olga)
    );
    assert_eq!(
        seen(h, api_dl, &w.olga),
        (
            404,
            r#"{"errors":[{"detail":"crate `secret` does not exist"}]}"#.into()
        )
    );
    assert_eq!(
        as_nope(seen(h, "/api/v1/crates/secret/owners", &w.olga)),
        seen(h, "/api/v1/crates/nope/owners", &w.olga)
    );
    let send = |method: &str, path: &str, t: &str, body: &[u8]| {
        let r = h.send(method, path, Some(t), body.to_vec());
        (r.status, r.text())
    };
    let before = h.snapshot();
    for (method, path, body) in [
        ("DELETE", "/api/v1/crates/{}/1.0.0/yank", &b""[..]),
        ("PUT", "/api/v1/crates/{}/1.0.0/unyank", &b""[..]),
        (
            "PUT",
            "/api/v1/crates/{}/owners",
            &br#"{"users":["olga"]}"#[..],
        ),
        (
            "DELETE",
            "/api/v1/crates/{}/owners",
            &br#"{"users":["alice"]}"#[..],
        ),
    ] {
        let on = |name: &str| path.replace("{}", name);
        assert_eq!(
            as_nope(send(method, &on("secret"), &w.olga, body)),
            send(method, &on("nope"), &w.olga, body),
            "{method} {path}"
        );
    }
    assert_eq!(h.snapshot(), before, "nothing changed");
    // A reader who is not an owner may know the crate exists.
    assert_eq!(
        send("DELETE", "/api/v1/crates/secret/1.0.0/yank", &w.rita, b""),
        (
            403,
            r#"{"errors":[{"detail":"you are not an owner of crate `secret`; only its owners can do this"}]}"#
                .into()
        )
    );
}

/// A web session's GET, status and body.
fn page(h: &Harness, session: &(String, String), path: &str) -> (u16, String) {
    let r = block_on(h.send_async(
        "GET",
        path,
        None,
        &[("cookie", session.0.as_str())],
        Vec::new(),
    ));
    (r.status, r.text())
}

fn names(body: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    v["crates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn searches_lists_pages_and_dependents_show_a_restricted_crate_to_its_readers_only() {
    let w = world();
    let h = &w.h;
    // cargo search: hits and the total, filtered before counting.
    let search = |t: &str| {
        let v = h.get("/api/v1/crates?q=e", Some(t)).json();
        let hits: Vec<String> = v["crates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect();
        (hits, v["meta"]["total"].as_u64().unwrap())
    };
    let both = (vec!["open".to_string(), "secret".to_string()], 2);
    for (who, t) in [
        ("owner", &w.alice),
        ("team", &w.tim),
        ("reader", &w.rita),
        ("reader team", &w.gus),
        ("admin", &w.root),
    ] {
        assert_eq!(search(t), both, "{who}");
    }
    assert_eq!(search(&w.olga), (vec!["open".to_string()], 1));
    assert_eq!(
        h.get("/api/v1/crates?q=secret", Some(&w.olga)).json()["meta"]["total"],
        0
    );
    // The web app: list, search, crate page, version page, dependents.
    let olga = web_session(h, "olga", false);
    let gus = web_session(h, "gus", false);
    for (who, s, visible) in [("olga", &olga, false), ("gus", &gus, true)] {
        let list = page(h, s, "/web/api/crates?sort=name");
        assert_eq!(list.0, 200);
        let expect: Vec<&str> = if visible {
            vec!["open", "secret"]
        } else {
            vec!["open"]
        };
        assert_eq!(names(&list.1), expect, "{who} list");
        let v: serde_json::Value = serde_json::from_str(&list.1).unwrap();
        assert_eq!(v["meta"]["total"], expect.len(), "{who} count");
        assert_eq!(
            names(&page(h, s, "/web/api/crates?q=secr").1).len(),
            usize::from(visible),
            "{who} search"
        );
        let deps = page(h, s, "/web/api/crates/open/dependents");
        let expect: Vec<&str> = if visible { vec!["secret"] } else { vec![] };
        assert_eq!(names(&deps.1), expect, "{who} dependents");
        let v: serde_json::Value = serde_json::from_str(&deps.1).unwrap();
        assert_eq!(v["meta"]["total"], expect.len(), "{who} dependents count");
        let open_page: serde_json::Value =
            serde_json::from_str(&page(h, s, "/web/api/crates/open").1).unwrap();
        assert_eq!(
            open_page["dependents"]["meta"]["total"],
            expect.len(),
            "{who} page"
        );
        for path in [
            "/web/api/crates/{}",
            "/web/api/crates/{}/versions",
            "/web/api/crates/{}/dependents",
            "/web/api/crates/{}/versions/1.0.0",
        ] {
            let (status, body) = page(h, s, &path.replace("{}", "secret"));
            if visible {
                assert_eq!(status, 200, "{who} {path}");
            } else {
                assert_eq!(
                    (status, body.replace("secret", "nope")),
                    page(h, s, &path.replace("{}", "nope")),
                    "{who} {path}"
                );
            }
        }
    }
}

#[test]
fn publishing_next_to_a_restricted_crate_reveals_nothing_about_it() {
    let w = world();
    let h = &w.h;
    let before = h.snapshot();
    // Its name is taken, and that is all olga learns: not its spelling.
    let r = h.publish(&w.olga, CrateSpec::new("secret", "2.0.0").body());
    assert_eq!(
        (r.status, r.text()),
        (
            400,
            r#"{"errors":[{"detail":"the crate name `secret` is not available; choose another name"}]}"#
                .into()
        )
    );
    let r = h.publish(&w.olga, CrateSpec::new("SECRET", "2.0.0").body());
    assert_eq!(
        r.text(),
        r#"{"errors":[{"detail":"the crate name `SECRET` is not available; choose another name"}]}"#
    );
    // A dependency on it is answered as for a crate that does not exist.
    let uses = |dep_name: &str| {
        CrateSpec::new("consumer", "1.0.0")
            .dep(dep(dep_name, "^1", "normal"))
            .body()
    };
    let hidden = h.publish(&w.olga, uses("secret"));
    let absent = h.publish(&w.olga, uses("nope"));
    assert_eq!(hidden.status, 400);
    assert_eq!(hidden.text().replace("secret", "nope"), absent.text());
    assert_eq!(h.snapshot(), before, "nothing stored");
    // Someone who can read both publishes it.
    assert_eq!(h.publish(&w.gus, uses("secret")).status, 200);
}

/// Audit rows about access: (actor, action, detail).
fn access_audit(h: &Harness) -> Vec<(Option<i64>, String, String)> {
    h.app
        .store
        .sqlite()
        .with_conn(|c| {
            let mut st = c.prepare(
                "SELECT actor, action, detail FROM audit WHERE action IN ('visibility', 'reader-grant', 'reader-revoke') ORDER BY id",
            )?;
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect()
        })
        .unwrap()
}

#[test]
fn owners_and_administrators_restrict_crates_and_grant_readers() {
    use edge_registry::service::access;
    use edge_registry::store::UserStore as _;
    let h = Harness::new();
    let alice_t = h.token("alice");
    h.publish_ok(&alice_t, "vault", "1.0.0");
    let olga_t = h.token("olga");
    let gus_t = h.token("gus");
    block_on(teams::create(&h.app, Actor::Operator, "readers", h.now)).unwrap();
    block_on(teams::add_member(
        &h.app,
        Actor::Operator,
        "readers",
        "gus",
        false,
        h.now,
    ))
    .unwrap();
    let user = |l: &str| block_on(h.app.store.db.user_by_login(l)).unwrap().unwrap();
    let (alice, olga) = (user("alice"), user("olga"));
    let index = "/index/va/ul/vault";
    assert_eq!(h.get(index, Some(&olga_t)).status, 200);
    // Not an owner: refused, and nothing changes.
    let e = block_on(access::set_visibility(
        &h.app,
        Actor::User(&olga),
        "vault",
        true,
        h.now,
    ))
    .unwrap_err();
    assert_eq!(
        (e.status(), e.detail()),
        (
            403,
            "only owners of crate `vault` and administrators can change who may read it".into()
        )
    );
    assert!(access_audit(&h).is_empty());
    // The owner restricts it: at once, olga's index read is a 404.
    assert!(
        block_on(access::set_visibility(
            &h.app,
            Actor::User(&alice),
            "vault",
            true,
            h.now
        ))
        .unwrap()
    );
    assert!(
        !block_on(access::set_visibility(
            &h.app,
            Actor::User(&alice),
            "vault",
            true,
            h.now
        ))
        .unwrap()
    );
    assert_eq!(h.get(index, Some(&olga_t)).status, 404);
    assert_eq!(h.get(index, Some(&alice_t)).status, 200);
    // Now olga cannot even see it to ask.
    let e = block_on(access::set_visibility(
        &h.app,
        Actor::User(&olga),
        "vault",
        false,
        h.now,
    ))
    .unwrap_err();
    assert_eq!(
        (e.status(), e.detail()),
        (404, "crate `vault` does not exist".into())
    );
    // Grants: a team and a user.
    assert!(
        block_on(access::set_reader(
            &h.app,
            Actor::User(&alice),
            "vault",
            "team:readers",
            true,
            h.now
        ))
        .unwrap()
    );
    assert_eq!(h.get(index, Some(&gus_t)).status, 200);
    assert!(
        block_on(access::set_reader(
            &h.app,
            Actor::Operator,
            "vault",
            "olga",
            true,
            h.now
        ))
        .unwrap()
    );
    assert_eq!(h.get(index, Some(&olga_t)).status, 200);
    assert!(
        block_on(access::set_reader(
            &h.app,
            Actor::Operator,
            "vault",
            "olga",
            false,
            h.now
        ))
        .unwrap()
    );
    assert_eq!(h.get(index, Some(&olga_t)).status, 404);
    for (grantee, msg) in [
        (
            "team:nope",
            "team `nope` does not exist; an administrator can create it",
        ),
        ("nobody", "could not find a user with login `nobody`"),
    ] {
        let e = block_on(access::set_reader(
            &h.app,
            Actor::Operator,
            "vault",
            grantee,
            true,
            h.now,
        ))
        .unwrap_err();
        assert_eq!((e.status(), e.detail()), (404, msg.into()));
    }
    // A new owner reads it as soon as they are added.
    let r = h.send(
        "PUT",
        "/api/v1/crates/vault/owners",
        Some(&alice_t),
        br#"{"users":["olga"]}"#.to_vec(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(h.get(index, Some(&olga_t)).status, 200);
    // Back to every user.
    assert!(
        block_on(access::set_visibility(
            &h.app,
            Actor::Operator,
            "vault",
            false,
            h.now
        ))
        .unwrap()
    );
    assert_eq!(
        access_audit(&h),
        vec![
            (
                Some(alice.id),
                "visibility".into(),
                r#"{"visibility":"restricted"}"#.into()
            ),
            (
                Some(alice.id),
                "reader-grant".into(),
                r#"{"user":null,"team":"readers"}"#.into()
            ),
            (
                None,
                "reader-grant".into(),
                r#"{"user":"olga","team":null}"#.into()
            ),
            (
                None,
                "reader-revoke".into(),
                r#"{"user":"olga","team":null}"#.into()
            ),
            (
                None,
                "visibility".into(),
                r#"{"visibility":"registry"}"#.into()
            ),
        ]
    );
    // Every change left the index file in step with the database.
    let (_, drift) = block_on(edge_registry::service::verify::verify(&h.app.store, false)).unwrap();
    assert!(drift.is_empty(), "{drift:?}");
}
