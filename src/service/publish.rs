//! Publishing a version: framing and metadata checks, authorisation,
//! tarball checks, dependency checks, then blob, database commit and index
//! render, in that order, so a failure at any step leaves nothing that
//! refers to missing data, and retrying the same request succeeds.

use serde::Serialize;

use super::index::sync_crate;
use super::{App, RequestCtx, Stores};
use crate::auth::{Principal, Scope};
use crate::error::AppError;
use crate::protocol::index::{NewLine, new_line, sha256_hex};
use crate::protocol::names::canonical;
use crate::protocol::publish::{parse_meta, split_body};
use crate::protocol::tarball::check_tarball;
use crate::protocol::time::format_utc;
use crate::store::{BlobMeta, InsertOutcome, NewVersion, blob_key};
use crate::store::{BlobStore as _, CrateStore as _};

/// cargo's publish response.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct PublishResponse {
    pub warnings: Warnings,
}

#[derive(Debug, Serialize, PartialEq, Eq, Default)]
pub struct Warnings {
    pub invalid_categories: Vec<String>,
    pub invalid_badges: Vec<String>,
    pub other: Vec<String>,
}

fn not_owner(name: &str) -> AppError {
    AppError::Forbidden(format!(
        "crate `{name}` exists but you are not one of its owners; ask an owner to run `cargo owner --add <your login> {name}`"
    ))
}

fn already_uploaded(name: &str, existing: &str) -> AppError {
    AppError::BadRequest(format!(
        "crate version `{existing}` of `{name}` is already uploaded; versions are immutable, publish a new version number instead"
    ))
}

/// Publishes one version from a publish request body.
pub async fn publish<S: Stores>(
    app: &App<S>,
    ctx: &RequestCtx,
    who: &Principal,
    body: &[u8],
) -> Result<PublishResponse, AppError> {
    let limits = &app.config.limits;
    let store = &app.store;
    let framed = split_body(body, limits)?;
    let valid = parse_meta(framed.json, &ctx.own_index_urls())?;
    let name = valid.meta.name.clone();
    let canon = canonical(&name);
    let vers = valid.version.text.clone();

    // Authorisation first: a token that may not publish this name at all
    // is refused before any crate is looked up, so the refusal reveals
    // nothing about crates that exist.
    who.require_one_of(&[Scope::PublishNew, Scope::PublishUpdate], Some(&name))?;
    let existing = store.db().crate_by_canon(&canon).await?;
    // A restricted crate the publisher may not read: its name is taken,
    // and nothing more is said (not its spelling, not its owners).
    let hidden = match (&existing, who.viewer()) {
        (Some(_), Some(viewer)) => store
            .db()
            .readable_crate(&canon, Some(viewer))
            .await?
            .is_none(),
        _ => false,
    };
    match &existing {
        Some(c) if hidden || !who.read_filter().allows(&c.name) => {
            return Err(AppError::BadRequest(format!(
                "the crate name `{name}` is not available; choose another name"
            )));
        }
        Some(c) if c.name != name => {
            return Err(AppError::BadRequest(format!(
                "crate `{name}` conflicts with the existing crate `{}`: names that differ only in case or in `-` versus `_` are the same crate; publish it as `{}`",
                c.name, c.name
            )));
        }
        Some(c) => {
            who.require(Scope::PublishUpdate, Some(&name))?;
            if !who.is_admin && !store.db().is_owner(c.id, who.user_id).await? {
                return Err(not_owner(&name));
            }
        }
        None => who.require(Scope::PublishNew, Some(&name))?,
    }

    let cksum = sha256_hex(framed.tarball);
    if let Some(c) = &existing
        && let Some(v) = store.db().version(c.id, &valid.version.no_build).await?
    {
        return finish_existing(
            app,
            c.id,
            &name,
            &v.num,
            &v.cksum,
            &cksum,
            c.rev == c.indexed_rev,
        )
        .await;
    }

    let tar = check_tarball(framed.tarball, &name, &vers, limits)
        .map_err(|e| AppError::BadRequest(e.to_string()))?;

    if !valid.local_deps.is_empty() {
        let canons: Vec<String> = valid.local_deps.iter().map(|d| canonical(d)).collect();
        // Crates the token (or its user) may not read are answered as if
        // absent: the message reveals neither their existence nor their
        // spelling.
        let filter = who.read_filter();
        let found: Vec<_> = store
            .db()
            .readable_crates_by_canons(&canons, who.viewer())
            .await?
            .into_iter()
            .filter(|c| filter.allows(&c.name))
            .collect();
        for dep in &valid.local_deps {
            match found.iter().find(|c| c.canon == canonical(dep)) {
                Some(c) if c.name == *dep => {}
                Some(c) => {
                    return Err(AppError::BadRequest(format!(
                        "dependency `{dep}` is spelled `{}` in this registry; fix the name in Cargo.toml",
                        c.name
                    )));
                }
                None => {
                    return Err(AppError::BadRequest(format!(
                        "no known crate named `{dep}` in this registry: publish it first, or, if it comes from crates.io, declare it without `registry = ...`"
                    )));
                }
            }
        }
    }

    let rust_version = tar.manifest.rust_version.clone();
    let links = tar.manifest.links.clone().or(valid.meta.links.clone());
    let line = new_line(NewLine {
        name: &name,
        vers: &vers,
        deps: valid.deps.clone(),
        cksum: &cksum,
        features: &valid.meta.features,
        links: links.clone(),
        rust_version: rust_version.clone(),
        pubtime: format_utc(ctx.now),
    });
    let entry = serde_json::to_string(&line)
        .map_err(|e| AppError::Internal(format!("serialising index line: {e}")))?;

    store
        .blobs()
        .put_blob(
            &blob_key(&cksum),
            framed.tarball,
            &BlobMeta {
                name: name.clone(),
                version: vers.clone(),
            },
        )
        .await?;

    let meta = &valid.meta;
    let new = NewVersion {
        crate_name: name.clone(),
        canon,
        num: vers.clone(),
        num_no_build: valid.version.no_build.clone(),
        cksum: cksum.clone(),
        entry,
        size: i64::try_from(framed.tarball.len()).unwrap_or(i64::MAX),
        description: meta.description.clone(),
        license: meta.license.clone(),
        homepage: meta.homepage.clone(),
        documentation: meta.documentation.clone(),
        repository: meta.repository.clone(),
        keywords: meta.keywords.clone(),
        categories: meta.categories.clone(),
        readme: meta.readme.clone(),
        readme_html: meta
            .readme
            .as_deref()
            .filter(|r| !r.trim().is_empty())
            .map(|r| crate::protocol::readme::render(r, meta.repository.as_deref())),
        local_deps: valid
            .deps
            .iter()
            .filter(|d| d.registry.is_none())
            .map(|d| {
                (
                    canonical(d.package.as_deref().unwrap_or(&d.name)),
                    d.kind.clone(),
                )
            })
            .collect(),
        links,
        rust_version,
        publisher_id: who.user_id,
        publisher_is_admin: who.is_admin,
        now: ctx.now,
    };
    let crate_id = match store.db().insert_version(&new).await? {
        InsertOutcome::Inserted { crate_id, .. } => crate_id,
        InsertOutcome::VersionExists(v) => {
            // Lost a race against another publish of this version.
            // The winner may still be rendering: render before answering
            // so an identical retry also reads its own write.
            return finish_existing(app, v.crate_id, &name, &v.num, &v.cksum, &cksum, false).await;
        }
        InsertOutcome::NameTaken(other) => {
            return Err(AppError::BadRequest(format!(
                "crate `{name}` conflicts with the existing crate `{other}`: names that differ only in case or in `-` versus `_` are the same crate"
            )));
        }
        InsertOutcome::NotOwner => return Err(not_owner(&name)),
    };
    sync_crate(store, crate_id).await?;
    Ok(PublishResponse {
        warnings: Warnings {
            other: valid.warnings,
            ..Warnings::default()
        },
    })
}

/// The version exists already. When it holds the very same bytes, the
/// request is a retry (its reply may have been lost, or an earlier attempt
/// failed after the commit): finish the index render if it may be pending
/// and succeed, so retrying a publish is always safe. Different bytes mean
/// the version is taken.
async fn finish_existing<S: Stores>(
    app: &App<S>,
    crate_id: i64,
    name: &str,
    existing_num: &str,
    existing_cksum: &str,
    cksum: &str,
    index_current: bool,
) -> Result<PublishResponse, AppError> {
    if existing_cksum != cksum {
        return Err(already_uploaded(name, existing_num));
    }
    if !index_current {
        sync_crate(&app.store, crate_id).await?;
    }
    Ok(PublishResponse {
        warnings: Warnings {
            other: vec![format!(
                "version `{existing_num}` was already stored with these exact contents; nothing changed"
            )],
            ..Warnings::default()
        },
    })
}
