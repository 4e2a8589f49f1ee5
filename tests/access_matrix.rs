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
    h.publish_ok(&alice, "secret", "1.0.0");
    h.publish_ok(&alice, "open", "1.0.0");
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
