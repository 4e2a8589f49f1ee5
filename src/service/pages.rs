//! The crate browser's data: the crate list and search, a crate's page
//! (owners, versions, dependents), one version's details (README,
//! dependencies by kind, features, links), and yanking from the page.
//! Every call makes a bounded number of queries, whatever the crate count
//! or version count; lists are paginated.

use serde_json::{Value, json};

use super::yank::set_yanked;
use super::{App, Stores};
use crate::auth::{Principal, ReadFilter};
use crate::error::AppError;
use crate::protocol::index::IndexLine;
use crate::protocol::time::format_utc;
use crate::protocol::version::printable;
use crate::store::{CrateRecord, CrateSort, CrateStore as _, User};

/// Default and largest page sizes.
pub const PER_PAGE: u32 = 20;
pub const MAX_PER_PAGE: u32 = 100;

/// A page request, 1-based.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub page: u32,
    pub per_page: u32,
}

impl Page {
    pub fn new(page: Option<u32>, per_page: Option<u32>) -> Page {
        Page {
            page: page.unwrap_or(1).clamp(1, 100_000),
            per_page: per_page.unwrap_or(PER_PAGE).clamp(1, MAX_PER_PAGE),
        }
    }
    fn offset(&self) -> u32 {
        (self.page - 1).saturating_mul(self.per_page)
    }
    fn meta(&self, total: u32) -> Value {
        json!({"total": total, "page": self.page, "per_page": self.per_page})
    }
}

fn crate_summary(c: &CrateRecord) -> Value {
    json!({
        "name": c.name,
        "max_version": c.max_version,
        "description": c.description,
        "updated_at": format_utc(c.updated_at),
    })
}

/// Whose reads a list is filtered by: `None` for an administrator.
fn viewer(who: &User) -> Option<i64> {
    (!who.is_admin).then_some(who.id)
}

/// All crates the viewer may read (sorted) or a search among them (ranked
/// like `cargo search`).
pub async fn list<S: Stores>(
    app: &App<S>,
    who: &User,
    q: &str,
    sort: CrateSort,
    page: Page,
) -> Result<Value, AppError> {
    let q = q.trim();
    if q.len() > 200 {
        return Err(AppError::BadRequest(
            "search query too long: at most 200 characters".into(),
        ));
    }
    let db = app.store.db();
    let (crates, total) = if q.is_empty() {
        db.list_crates(sort, viewer(who), page.per_page, page.offset())
            .await?
    } else {
        // A signed-in web session has no crate patterns.
        db.search(
            q,
            &ReadFilter::All,
            viewer(who),
            page.per_page,
            page.offset(),
        )
        .await?
    };
    Ok(
        json!({"crates": crates.iter().map(crate_summary).collect::<Vec<_>>(), "meta": page.meta(total)}),
    )
}

/// The crate, when the viewer may read it (else as if it did not exist).
async fn find<S: Stores>(app: &App<S>, who: &User, name: &str) -> Result<CrateRecord, AppError> {
    super::access::readable_crate(app, &Principal::session(who), name).await
}

/// A crate's page: summary, owners, the first page of versions and of
/// dependents, and whether the viewer may yank. Four queries.
pub async fn crate_page<S: Stores>(
    app: &App<S>,
    who: &User,
    name: &str,
) -> Result<Value, AppError> {
    let c = find(app, who, name).await?;
    let db = app.store.db();
    let owners = db.owners(c.id).await?;
    let first = Page::new(None, None);
    let versions = versions_json(app, &c, first).await?;
    let dependents = dependents_json(app, who, &c, first).await?;
    let can_yank = who.is_admin || owners.iter().any(|o| o.id == who.id);
    Ok(json!({
        "crate": {
            "name": c.name,
            "max_version": c.max_version,
            "description": c.description,
            "created_at": format_utc(c.created_at),
            "updated_at": format_utc(c.updated_at),
        },
        "owners": owners.iter().map(|o| json!({"login": o.login, "name": o.name})).collect::<Vec<_>>(),
        "can_yank": can_yank,
        "versions": versions,
        "dependents": dependents,
    }))
}

async fn versions_json<S: Stores>(
    app: &App<S>,
    c: &CrateRecord,
    page: Page,
) -> Result<Value, AppError> {
    let (vs, total) = app
        .store
        .db()
        .versions_page(c.id, page.per_page, page.offset())
        .await?;
    let list: Vec<Value> = vs
        .iter()
        .map(|v| json!({"num": v.num, "pubtime": format_utc(v.pubtime), "yanked": v.yanked, "rust_version": v.rust_version}))
        .collect();
    Ok(json!({"versions": list, "meta": page.meta(total)}))
}

/// The crates that depend on `c`, among those the viewer may read.
async fn dependents_json<S: Stores>(
    app: &App<S>,
    who: &User,
    c: &CrateRecord,
    page: Page,
) -> Result<Value, AppError> {
    let (cs, total) = app
        .store
        .db()
        .dependents(&c.canon, viewer(who), page.per_page, page.offset())
        .await?;
    Ok(
        json!({"crates": cs.iter().map(crate_summary).collect::<Vec<_>>(), "meta": page.meta(total)}),
    )
}

pub async fn versions<S: Stores>(
    app: &App<S>,
    who: &User,
    name: &str,
    page: Page,
) -> Result<Value, AppError> {
    let c = find(app, who, name).await?;
    versions_json(app, &c, page).await
}

pub async fn dependents<S: Stores>(
    app: &App<S>,
    who: &User,
    name: &str,
    page: Page,
) -> Result<Value, AppError> {
    let c = find(app, who, name).await?;
    dependents_json(app, who, &c, page).await
}

/// One version: README, dependencies grouped by kind (same-registry ones
/// marked `local` so the page can link them), features, metadata. Two
/// queries.
pub async fn version<S: Stores>(
    app: &App<S>,
    who: &User,
    name: &str,
    num: &str,
) -> Result<Value, AppError> {
    let c = find(app, who, name).await?;
    let d = app
        .store
        .db()
        .version_detail(c.id, num)
        .await?
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "crate `{}` has no version `{}`",
                c.name,
                printable(num)
            ))
        })?;
    let line: IndexLine = serde_json::from_str(&d.entry).map_err(|e| {
        AppError::Internal(format!(
            "stored entry of {}@{} is damaged: {e}",
            c.name, d.num
        ))
    })?;
    let mut groups = serde_json::Map::new();
    for kind in ["normal", "build", "dev"] {
        let deps: Vec<Value> = line
            .deps
            .iter()
            .filter(|dep| dep.kind == kind)
            .map(|dep| {
                json!({
                    "name": dep.package.clone().unwrap_or_else(|| dep.name.clone()),
                    "rename": dep.package.as_ref().map(|_| dep.name.clone()),
                    "req": dep.req,
                    "optional": dep.optional,
                    "default_features": dep.default_features,
                    "features": dep.features,
                    "target": dep.target,
                    "local": dep.registry.is_none(),
                    "registry": dep.registry,
                })
            })
            .collect();
        groups.insert(kind.to_string(), Value::Array(deps));
    }
    let mut features = line.features.clone();
    if let Some(f2) = &line.features2 {
        features.extend(f2.clone());
    }
    Ok(json!({
        "name": c.name,
        "num": d.num,
        "pubtime": format_utc(d.pubtime),
        "yanked": d.yanked,
        "cksum": d.cksum,
        "size": d.size,
        "description": d.description,
        "license": d.license,
        "homepage": d.homepage,
        "documentation": d.documentation,
        "repository": d.repository,
        "keywords": d.keywords,
        "categories": d.categories,
        "links": line.links,
        "rust_version": line.rust_version,
        "readme_html": d.readme_html,
        "dependencies": groups,
        "features": features,
    }))
}

/// Yanks or unyanks from the page: the same rules as the API (owners and
/// administrators only).
pub async fn yank<S: Stores>(
    app: &App<S>,
    who: &User,
    name: &str,
    num: &str,
    yanked: bool,
    now: i64,
) -> Result<(), AppError> {
    set_yanked(app, &Principal::session(who), name, num, yanked, now).await
}
