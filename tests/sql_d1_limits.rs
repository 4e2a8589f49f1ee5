//! The shared SQL (`store::sql`) run natively on SQLite with the real
//! `migrations/` applied in order and SQLite's limits lowered to D1's (100
//! bound parameters, 100 KB statements, 50-byte LIKE patterns, 2 MB
//! values), so a statement D1 would refuse fails here first: the limits
//! themselves, search with its read filter, the attempt counter against
//! its rule, the one-live-link trigger and the conditional session insert.

use edge_registry::auth::{CratePattern, ReadFilter};
use edge_registry::store::exec::Value;
use edge_registry::store::sql;
use edge_registry::store::{AttemptRule, Failures};
use rusqlite::{Connection, params_from_iter};

/// A database as the native executor opens it.
fn db() -> Connection {
    let c = edge_registry::store::sqlite::memory_connection().unwrap();
    let n: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(n >= 3, "migrations applied");
    c
}

fn add(c: &Connection, name: &str, description: &str, keywords: &str) {
    c.execute(
        "INSERT INTO crates (name, canon, created_at, updated_at, description, keywords) VALUES (?1, ?2, 1, 1, ?3, ?4)",
        (
            name,
            edge_registry::protocol::names::canonical(name),
            description,
            keywords,
        ),
    )
    .unwrap();
}

/// Runs `SEARCH` and `SEARCH_COUNT` as the D1 store binds them.
fn search(c: &Connection, q: &str, filter: &ReadFilter) -> (Vec<String>, i64) {
    let args: Vec<Value> = sql::search_args(q, filter, None, 100, 0).unwrap();
    let mut stmt = c.prepare(sql::SEARCH).unwrap();
    let names = stmt
        .query_map(params_from_iter(args.iter()), |r| r.get::<_, String>(1))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let total = c
        .query_row(sql::SEARCH_COUNT, params_from_iter(&args[..6]), |r| {
            r.get(0)
        })
        .unwrap();
    (names, total)
}

#[test]
fn the_executor_refuses_what_d1_refuses() {
    // Without this, the tests below could pass on SQL that fails on D1.
    let c = db();
    let long = "x".repeat(51);
    let e = c
        .query_row("SELECT 'a' LIKE ?1", [&long], |r| r.get::<_, bool>(0))
        .unwrap_err();
    assert!(
        e.to_string().contains("LIKE or GLOB pattern too complex"),
        "{e}"
    );
    let many = vec![0i64; 101];
    let sql = format!("SELECT {}", vec!["?"; 101].join(", "));
    assert!(c.prepare(&sql).is_err() || c.execute(&sql, params_from_iter(&many)).is_err());
}

#[test]
fn search_takes_every_accepted_length_and_matches_wildcards_literally() {
    let c = db();
    let long = format!("a{}", "b".repeat(63));
    let unders = format!("u{}v", "_".repeat(25));
    add(&c, &long, "a long name", "[]");
    add(&c, &unders, "underscores", "[]");
    add(&c, "plain", "100% safe, no_wildcards", "[\"tag\"]");
    add(&c, "other", "nothing to see", "[]");

    // The longest crate name, exact: first and alone.
    assert_eq!(search(&c, &long, &ReadFilter::All), (vec![long.clone()], 1));
    // 25 underscores are 25 literal underscores, not 25 wildcards.
    assert_eq!(
        search(&c, &"_".repeat(25), &ReadFilter::All),
        (vec![unders.clone()], 1)
    );
    assert_eq!(
        search(&c, "%", &ReadFilter::All),
        (vec!["plain".to_string()], 1)
    );
    assert_eq!(
        search(&c, "no_w", &ReadFilter::All),
        (vec!["plain".to_string()], 1)
    );
    // The longest query the API accepts (200 characters) runs.
    assert_eq!(search(&c, &"q".repeat(200), &ReadFilter::All), (vec![], 0));
    // Keywords, and the ranking: exact, prefix, then contained.
    add(&c, "tag", "", "[]");
    add(&c, "tagged", "", "[]");
    assert_eq!(
        search(&c, "TAG", &ReadFilter::All),
        (
            vec!["tag".to_string(), "tagged".to_string(), "plain".to_string()],
            3
        )
    );
    // Empty: everything.
    assert_eq!(search(&c, "", &ReadFilter::All).1, 6);
}

#[test]
fn search_counts_only_what_the_filter_admits() {
    let c = db();
    for n in [
        "acme-core",
        "acme-extra",
        "secret-internal",
        "foo",
        "foobar",
    ] {
        add(&c, n, &format!("the {n} crate: secret sauce"), "[]");
    }
    let filter = ReadFilter::Patterns(
        vec![
            CratePattern::parse("acme-*").unwrap(),
            CratePattern::parse("foo").unwrap(),
        ]
        .into(),
    );
    assert_eq!(
        search(&c, "secret", &filter),
        (
            vec![
                "acme-core".to_string(),
                "acme-extra".to_string(),
                "foo".to_string()
            ],
            3
        )
    );
    assert_eq!(search(&c, "secret-internal", &filter), (vec![], 0));
    assert_eq!(search(&c, "", &filter).1, 3);
    let everything = ReadFilter::Patterns(vec![CratePattern::parse("*").unwrap()].into());
    assert_eq!(search(&c, "secret", &everything).1, 5);
    assert_eq!(search(&c, "secret", &ReadFilter::All).1, 5);
}

fn count_attempt(c: &Connection, key: &str, now: i64, rule: &AttemptRule) -> Failures {
    let args: Vec<Value> = sql::count_attempt_args(key, now, rule);
    c.query_row(sql::COUNT_ATTEMPT, params_from_iter(&args), |r| {
        Ok(Failures {
            count: r.get(0)?,
            first_at: r.get(1)?,
            locked_until: r.get(2)?,
        })
    })
    .unwrap()
}

#[test]
fn the_attempt_counter_sql_is_the_rule() {
    // Every attempt, in both implementations, over random gaps that cross
    // windows and locks: the atomic upsert D1 runs must give exactly
    // `AttemptRule::next`.
    let c = db();
    let rule = AttemptRule {
        max: 3,
        window: 100,
        lockout: 250,
    };
    let mut model: std::collections::HashMap<&str, Failures> = Default::default();
    let mut now = 1_000;
    let mut seed = 0x9e37_79b9_u64;
    let mut locks = 0;
    for _ in 0..2000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        now += (seed % 60) as i64;
        let key = ["login:a", "login:b", "client:1"][(seed >> 20) as usize % 3];
        let want = rule.next(model.get(key).copied(), now);
        model.insert(key, want);
        let got = count_attempt(&c, key, now, &rule);
        assert_eq!(got, want, "{key} at {now}");
        locks += usize::from(got.locked_until.is_some_and(|u| u > now));
    }
    assert!(locks > 100, "the sequence must reach locks ({locks})");
    // A refund takes one back, never below zero.
    c.execute(sql::REFUND_ATTEMPT, ["login:a"]).unwrap();
    let after: i64 = c
        .query_row(
            "SELECT failures FROM sign_in_failures WHERE login = 'login:a'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(after, (model["login:a"].count - 1).max(0));
    // Pruning removes exactly the counters whose next attempt would start
    // afresh, at most the limit at a time.
    let ended = model
        .values()
        .filter(|f| match f.locked_until {
            Some(u) => u <= now + 400,
            None => now + 400 - f.first_at >= rule.window,
        })
        .count();
    let pruned = c
        .prepare(sql::PRUNE_ATTEMPTS)
        .unwrap()
        .query_map((now + 400, rule.window, 1000), |_| Ok(()))
        .unwrap()
        .count();
    assert_eq!(pruned, ended);
    assert_eq!(pruned, 3, "all three ended 400 s after the last attempt");
}

#[test]
fn a_new_link_supersedes_every_unused_link_of_the_user() {
    // The `user_links_one_live` trigger, for every writer of `INSERT_LINK`
    // (the Worker and `scripts/admin`).
    let c = db();
    for (id, login) in [(1, "alice"), (2, "bob")] {
        c.execute(
            "INSERT INTO users (id, login, created_at) VALUES (?1, ?2, 1)",
            (id, login),
        )
        .unwrap();
    }
    let link = |hash: &str, user: i64, purpose: &str, at: i64| {
        c.execute(
            sql::INSERT_LINK,
            (hash, user, purpose, None::<i64>, at, at + 100),
        )
        .unwrap();
    };
    link("a1", 1, "invite", 10);
    link("b1", 2, "password", 11);
    link("a2", 1, "password", 12);
    link("a3", 1, "password", 13);
    let mut stmt = c
        .prepare("SELECT hash, used_at FROM user_links ORDER BY hash")
        .unwrap();
    let rows: Vec<(String, Option<i64>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        rows,
        vec![
            ("a1".to_string(), Some(12)),
            ("a2".to_string(), Some(13)),
            ("a3".to_string(), None),
            ("b1".to_string(), None),
        ]
    );
}

#[test]
fn a_session_opens_only_while_the_checked_password_is_current() {
    let c = db();
    c.execute(
        "INSERT INTO users (id, login, created_at, password_hash) VALUES (1, 'alice', 1, 'h1')",
        [],
    )
    .unwrap();
    let open = |id: &str, hash: &str| {
        c.execute(sql::CREATE_SESSION, (id, 1, "csrf", 10, 20, hash))
            .unwrap()
    };
    assert_eq!(open("s1", "h1"), 1);
    c.execute("UPDATE users SET password_hash = 'h2' WHERE id = 1", [])
        .unwrap();
    assert_eq!(
        open("s2", "h1"),
        0,
        "checked against a password no longer current"
    );
    assert_eq!(open("s3", "h2"), 1);
    c.execute("UPDATE users SET disabled = 1 WHERE id = 1", [])
        .unwrap();
    assert_eq!(open("s4", "h2"), 0, "disabled");
    let n: i64 = c
        .query_row("SELECT COUNT(*) FROM sessions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 2);
}
