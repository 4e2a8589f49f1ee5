//! Teams over the real SQL: administrators create them, administrators
//! and maintainers change their members, names compare without case, and
//! every change writes its audit row (and a refused one writes nothing).

mod common;

use common::*;
use edge_registry::error::AppError;
use edge_registry::service::teams::{self, Actor};
use edge_registry::store::{MemberSource, TeamStore as _, UserStore as _};
use futures::executor::block_on;
use serde_json::{Value, json};

fn user(h: &Harness, login: &str, admin: bool) -> edge_registry::store::User {
    h.token_with(login, admin, edge_registry::auth::Scopes::all(), "", None);
    block_on(h.app.store.db.user_by_login(login))
        .unwrap()
        .unwrap()
}

/// The audit rows about teams: (actor, action, detail as JSON).
fn audit(h: &Harness) -> Vec<(Option<i64>, String, Value)> {
    h.app
        .store
        .sqlite()
        .with_conn(|c| {
            let mut st = c.prepare(
                "SELECT actor, action, detail FROM audit WHERE action LIKE 'team-%' ORDER BY id",
            )?;
            st.query_map([], |r| {
                let d: String = r.get(2)?;
                Ok((r.get(0)?, r.get(1)?, serde_json::from_str(&d).unwrap()))
            })?
            .collect()
        })
        .unwrap()
}

fn refused(r: Result<impl std::fmt::Debug, AppError>) -> (u16, String) {
    let e = r.expect_err("refused");
    (e.status(), e.detail())
}

#[test]
fn administrators_create_teams_with_unique_names() {
    let h = Harness::new();
    let root = user(&h, "root", true);
    let carol = user(&h, "carol", false);
    let t = block_on(teams::create(&h.app, Actor::User(&root), "core", h.now)).unwrap();
    assert_eq!(t.name, "core");
    assert_eq!(
        refused(block_on(teams::create(
            &h.app,
            Actor::User(&root),
            "CORE",
            h.now
        ))),
        (409, "team `CORE` already exists".into())
    );
    assert_eq!(
        refused(block_on(teams::create(
            &h.app,
            Actor::User(&carol),
            "mine",
            h.now
        ))),
        (403, "only administrators can create teams".into())
    );
    assert_eq!(
        refused(block_on(teams::create(
            &h.app,
            Actor::Operator,
            "-x",
            h.now
        ))),
        (
            400,
            "invalid team name `-x`: use 1 to 39 letters, digits, `-` or `_`".into()
        )
    );
    assert_eq!(
        refused(block_on(teams::create(
            &h.app,
            Actor::Operator,
            "a:b",
            h.now
        ))),
        (
            400,
            "invalid team name `a:b`: use 1 to 39 letters, digits, `-` or `_`".into()
        )
    );
    let ops = block_on(teams::create(&h.app, Actor::Operator, "ops", h.now)).unwrap();
    let names: Vec<String> = block_on(teams::list(&h.app))
        .unwrap()
        .into_iter()
        .map(|(t, n)| format!("{} {n}", t.name))
        .collect();
    assert_eq!(names, ["core 0", "ops 0"]);
    assert_eq!(
        audit(&h),
        vec![
            (Some(root.id), "team-create".into(), json!({"team": "core"})),
            (None, "team-create".into(), json!({"team": "ops"})),
        ],
        "one row per team made, none for the refusals"
    );
    assert_eq!(
        block_on(h.app.store.db.team_by_name("OPS")).unwrap(),
        Some(ops)
    );
}

#[test]
fn maintainers_and_administrators_change_members_and_nobody_else() {
    let h = Harness::new();
    let root = user(&h, "root", true);
    let (mia, max, eve) = (
        user(&h, "mia", false),
        user(&h, "max", false),
        user(&h, "eve", false),
    );
    block_on(teams::create(&h.app, Actor::Operator, "core", h.now)).unwrap();
    block_on(teams::add_member(
        &h.app,
        Actor::User(&root),
        "core",
        "mia",
        true,
        h.now,
    ))
    .unwrap();
    // mia maintains core: she adds max.
    block_on(teams::add_member(
        &h.app,
        Actor::User(&mia),
        "Core",
        "max",
        false,
        h.now,
    ))
    .unwrap();
    // max is a member, not a maintainer; eve is neither.
    let msg = "only administrators and maintainers of team `core` can change its members";
    for who in [&max, &eve] {
        assert_eq!(
            refused(block_on(teams::add_member(
                &h.app,
                Actor::User(who),
                "core",
                "eve",
                false,
                h.now
            ))),
            (403, msg.into())
        );
        assert_eq!(
            refused(block_on(teams::remove_member(
                &h.app,
                Actor::User(who),
                "core",
                "mia",
                h.now
            ))),
            (403, msg.into())
        );
    }
    assert_eq!(
        refused(block_on(teams::add_member(
            &h.app,
            Actor::User(&mia),
            "core",
            "nobody",
            false,
            h.now
        ))),
        (404, "could not find a user with login `nobody`".into())
    );
    assert_eq!(
        refused(block_on(teams::add_member(
            &h.app,
            Actor::Operator,
            "nope",
            "mia",
            false,
            h.now
        ))),
        (
            404,
            "team `nope` does not exist; an administrator can create it".into()
        )
    );
    let members = block_on(teams::members(&h.app, "core")).unwrap();
    let shown: Vec<(String, bool, MemberSource)> = members
        .iter()
        .map(|m| (m.user.login.clone(), m.maintainer, m.source))
        .collect();
    assert_eq!(
        shown,
        [
            ("max".to_string(), false, MemberSource::Manual),
            ("mia".to_string(), true, MemberSource::Manual)
        ]
    );
    let core = block_on(h.app.store.db.team_by_name("core"))
        .unwrap()
        .unwrap();
    assert_eq!(
        block_on(h.app.store.db.user_team_ids(max.id)).unwrap(),
        [core.id]
    );
    assert!(
        block_on(h.app.store.db.user_team_ids(eve.id))
            .unwrap()
            .is_empty()
    );
    // Making max a maintainer is a change; doing it twice is not.
    for _ in 0..2 {
        block_on(teams::add_member(
            &h.app,
            Actor::Operator,
            "core",
            "max",
            true,
            h.now,
        ))
        .unwrap();
    }
    block_on(teams::remove_member(
        &h.app,
        Actor::User(&max),
        "core",
        "mia",
        h.now,
    ))
    .unwrap();
    assert_eq!(
        refused(block_on(teams::remove_member(
            &h.app,
            Actor::Operator,
            "core",
            "mia",
            h.now
        ))),
        (404, "`mia` is not a member of team `core`".into())
    );
    assert_eq!(
        audit(&h),
        vec![
            (None, "team-create".into(), json!({"team": "core"})),
            (
                Some(root.id),
                "team-member-add".into(),
                json!({"team": "core", "user": "mia", "maintainer": 1, "source": "manual"})
            ),
            (
                Some(mia.id),
                "team-member-add".into(),
                json!({"team": "core", "user": "max", "maintainer": 0, "source": "manual"})
            ),
            (
                None,
                "team-member-change".into(),
                json!({"team": "core", "user": "max", "maintainer": 1, "source": "manual"})
            ),
            (
                Some(max.id),
                "team-member-remove".into(),
                json!({"team": "core", "user": "mia"})
            ),
        ]
    );
    let (team, n) = block_on(teams::list(&h.app)).unwrap().remove(0);
    assert_eq!((team.name.as_str(), n), ("core", 1));
}
