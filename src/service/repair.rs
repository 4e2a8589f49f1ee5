//! Automatic repair, run by the cron trigger: brings the index store (a
//! derived cache) back in line with the database. Each run, bounded in
//! work whatever the registry's size:
//! 1. checks every crate whose render is unfinished or whose index file
//!    changed since the previous run (a lost or reordered KV write);
//! 2. checks the next [`SWEEP_BATCH`] crates of a rolling sweep over all
//!    crates, so damage to a file nobody changed (an edited or deleted KV
//!    entry) is found within `crates / SWEEP_BATCH` runs;
//! 3. lists the next page of index keys and deletes the files of crates the
//!    database does not have (they would otherwise be served).
//!
//! "Checks" means: render the file from the database and compare bytes,
//! ETag and revision with what the index store holds; only a difference
//! causes a write, through the same render path publishes use.

use std::collections::HashSet;

use super::Stores;
use super::index::{render_versions, sync_crate};
use crate::error::AppError;
use crate::protocol::names::{canonical, index_path};
use crate::store::{CrateStore, IndexStore, RepairState};

/// Crates checked by the rolling sweep per run.
pub const SWEEP_BATCH: usize = 100;
/// Index keys examined for orphans per run (one KV list call).
pub const KEY_PAGE: usize = 1000;
/// Changes this long before the previous run's start are looked at again,
/// covering clock differences between the Worker and the database.
pub const CHANGED_MARGIN_SECS: i64 = 300;

/// What one run found and did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RepairReport {
    /// Crates compared against their render.
    pub checked: usize,
    /// Crates whose index file was re-rendered (it differed or was missing).
    pub repaired: Vec<String>,
    /// Index keys deleted because no such crate exists.
    pub orphans_removed: Vec<String>,
    /// Whether the rolling sweep finished a full pass in this run.
    pub sweep_completed: bool,
}

/// Runs one repair pass and records its progress for the next one.
pub async fn run<S: Stores>(store: &S, now: i64) -> Result<RepairReport, AppError> {
    let state = store.db().repair_state().await?.unwrap_or_default();
    let since = state.last_run.saturating_sub(CHANGED_MARGIN_SECS);
    let candidates = store
        .db()
        .repair_candidates(since, state.crate_cursor, SWEEP_BATCH)
        .await?;
    let mut report = RepairReport::default();
    let mut seen = HashSet::new();
    for c in candidates.changed.iter().chain(candidates.sweep.iter()) {
        if !seen.insert(c.id) {
            continue;
        }
        report.checked += 1;
        if check_crate(store, c.id).await? {
            report.repaired.push(c.name.clone());
        }
    }
    let crate_cursor = match candidates.sweep.last() {
        Some(last) if candidates.sweep.len() >= SWEEP_BATCH => last.id,
        _ => {
            report.sweep_completed = true;
            0
        }
    };
    let (keys, kv_cursor) = store
        .index()
        .list_files(state.kv_cursor.as_deref(), KEY_PAGE)
        .await?;
    report.orphans_removed = remove_orphans(store, &keys).await?;
    store
        .db()
        .put_repair_state(&RepairState {
            last_run: now,
            crate_cursor,
            kv_cursor,
        })
        .await?;
    Ok(report)
}

/// Compares a crate's stored index file with a fresh render from the
/// database and re-renders it when they differ (or its render is
/// unfinished). Returns whether it wrote.
pub async fn check_crate<S: Stores>(store: &S, crate_id: i64) -> Result<bool, AppError> {
    let Some((c, versions)) = store.db().crate_versions(crate_id).await? else {
        return Ok(false);
    };
    let (rendered, _) = render_versions(&versions)?;
    let key = index_path(&c.name)
        .ok_or_else(|| AppError::Internal(format!("crate {} has no index path", c.id)))?;
    let stored = store.index().get_file(&key).await?;
    let visibility = super::verify::stored_visibility(store, crate_id).await?;
    let intact = c.rev == c.indexed_rev
        && stored.is_some_and(|f| {
            f.rev == c.rev
                && f.etag == rendered.etag
                && f.body == rendered.body
                && f.visibility == visibility
        });
    if intact {
        return Ok(false);
    }
    sync_crate(store, crate_id).await?;
    Ok(true)
}

/// The crate name an index key would be served for, when the key has the
/// exact shape of an index path (other keys are never served).
fn served_name(key: &str) -> Option<&str> {
    let name = key.rsplit('/').next()?;
    (index_path(name).as_deref() == Some(key)).then_some(name)
}

/// Deletes the index files among `keys` whose crate does not exist (with
/// this exact lowercase spelling). A crate's database row is committed
/// before its first index write, so a file without a row is never a
/// publish in flight.
async fn remove_orphans<S: Stores>(store: &S, keys: &[String]) -> Result<Vec<String>, AppError> {
    let served: Vec<(&String, &str)> = keys
        .iter()
        .filter_map(|k| served_name(k).map(|n| (k, n)))
        .collect();
    if served.is_empty() {
        return Ok(Vec::new());
    }
    let canons: Vec<String> = served.iter().map(|(_, n)| canonical(n)).collect();
    let existing: HashSet<String> = store
        .db()
        .crates_by_canons(&canons)
        .await?
        .into_iter()
        .map(|c| c.name.to_ascii_lowercase())
        .collect();
    let mut removed = Vec::new();
    for (key, name) in served {
        if !existing.contains(name) {
            store.index().delete_file(key).await?;
            removed.push(key.clone());
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::served_name;

    #[test]
    fn only_index_shaped_keys_are_served_names() {
        assert_eq!(served_name("3/s/syn"), Some("syn"));
        assert_eq!(served_name("se/rd/serde"), Some("serde"));
        assert_eq!(served_name("1/a"), Some("a"));
        assert_eq!(served_name("2/ab"), Some("ab"));
        assert_eq!(served_name("se/rd/other"), None);
        assert_eq!(served_name("Se/rd/Serde"), None);
        assert_eq!(served_name("config.json"), None);
        assert_eq!(served_name(""), None);
    }
}
