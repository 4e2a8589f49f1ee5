//! The index: serving a crate's file (from the index store, falling back to
//! the database when missing), and rendering it whole from the database
//! after every change, so the index store is only ever a derived cache.

use super::Stores;
use crate::error::AppError;
use crate::protocol::index::{IndexLine, Rendered, render_file};
use crate::protocol::names::{canonical, index_path};
use crate::store::{CrateStore, IndexFile, IndexStore, StoreError, VersionRecord};

/// How many times a render is retried when the crate changed meanwhile.
const MAX_RENDERS: usize = 4;

/// Renders a crate's index file from its versions (in publish order), and
/// picks its `max_version`: the highest non-yanked version, else the highest.
pub fn render_versions(versions: &[VersionRecord]) -> Result<(Rendered, Option<String>), AppError> {
    let mut lines = Vec::with_capacity(versions.len());
    let mut max: Option<(bool, semver::Version, String)> = None;
    for v in versions {
        let mut line: IndexLine = serde_json::from_str(&v.entry).map_err(|e| {
            AppError::Internal(format!(
                "stored index entry of version {} is damaged: {e}",
                v.id
            ))
        })?;
        line.yanked = v.yanked;
        lines.push(line);
        if let Ok(parsed) = semver::Version::parse(&v.num) {
            let key = (!v.yanked, parsed);
            if max.as_ref().is_none_or(|(y, p, _)| key > (*y, p.clone())) {
                max = Some((key.0, key.1, v.num.clone()));
            }
        }
    }
    let rendered =
        render_file(&lines).map_err(|e| AppError::Internal(format!("rendering index: {e}")))?;
    Ok((rendered, max.map(|(_, _, s)| s)))
}

/// Renders the crate's index file from the database and stores it; when
/// the crate changed while rendering, renders again so the last writer
/// always leaves the newest state. Returns the file, or `None` when the
/// crate does not exist.
pub async fn sync_crate<S: Stores>(
    store: &S,
    crate_id: i64,
) -> Result<Option<IndexFile>, AppError> {
    let mut last = None;
    for _ in 0..MAX_RENDERS {
        let Some((c, versions)) = store.db().crate_versions(crate_id).await? else {
            return Ok(None);
        };
        let (rendered, max_version) = render_versions(&versions)?;
        let key = index_path(&c.name)
            .ok_or_else(|| AppError::Internal(format!("crate {} has no index path", c.id)))?;
        let visibility = super::verify::stored_visibility(store, crate_id).await?;
        let file = IndexFile {
            body: rendered.body,
            etag: rendered.etag,
            rev: c.rev,
            visibility,
        };
        store.index().put_file(&key, &file).await?;
        let now_rev = store.db().crate_rev(crate_id).await?;
        last = Some(file);
        if now_rev == Some(c.rev) {
            store
                .db()
                .mark_indexed(crate_id, c.rev, max_version.as_deref())
                .await?;
            return Ok(last);
        }
    }
    Ok(last)
}

/// The index file for a lowercase crate name as requested by cargo. Reads
/// the index store; on a miss, looks the crate up in the database and
/// renders it (repairing a lost write), so a missing file never hides a
/// published crate.
pub async fn read_file<S: Stores>(
    store: &S,
    lower_name: &str,
) -> Result<Option<IndexFile>, AppError> {
    let Some(key) = index_path(lower_name) else {
        return Ok(None);
    };
    if let Some(f) = store.index().get_file(&key).await? {
        return Ok(Some(f));
    }
    let Some(c) = store.db().crate_by_canon(&canonical(lower_name)).await? else {
        return Ok(None);
    };
    // Only the exact lowercase spelling has an index file: `foo_bar` is not
    // served at `foo-bar`'s path.
    if c.name.to_ascii_lowercase() != lower_name {
        return Ok(None);
    }
    sync_crate(store, c.id).await
}

/// Re-renders the index files of every crate (or one), returning how many.
pub async fn reindex<S: Stores>(store: &S, only: Option<&str>) -> Result<usize, AppError> {
    let crates = match only {
        Some(name) => store
            .db()
            .crate_by_canon(&canonical(name))
            .await?
            .into_iter()
            .collect(),
        None => store.db().all_crates().await?,
    };
    let mut n = 0;
    for c in crates {
        if sync_crate(store, c.id).await?.is_some() {
            n += 1;
        }
    }
    Ok(n)
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError(e.to_string())
    }
}
