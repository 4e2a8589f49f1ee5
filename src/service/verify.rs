//! `scripts/admin verify`: compares every crate's index file with a fresh
//! render from the database, and every index key with the crates, without
//! changing anything. The cron repair (`repair`) fixes what this reports,
//! a bounded part per run; `index::reindex` fixes the crates' files at once.

use std::collections::HashSet;

use super::Stores;
use super::index::render_versions;
use crate::error::AppError;
use crate::protocol::names::index_path;
use crate::store::{CrateStore, IndexStore};

/// What is wrong with one index file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Problem {
    Missing,
    /// A value the registry did not write (no ETag and revision metadata).
    NoMetadata,
    Stale {
        etag: String,
        expected: String,
    },
    /// Right ETag, other bytes (`--deep` only).
    Bytes,
    /// Who may read it is not what the database says (a restriction not
    /// yet written beside the file).
    Readers,
    /// A key in the index store that no crate has.
    Orphan,
}

/// One drifted index file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Drift {
    /// The crate, unless the key is an orphan.
    pub crate_name: Option<String>,
    pub key: String,
    pub problem: Problem,
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (name, key) = (self.crate_name.as_deref().unwrap_or(""), &self.key);
        match &self.problem {
            Problem::Missing => write!(f, "`{name}` ({key}) missing from the index store"),
            Problem::NoMetadata => write!(
                f,
                "`{name}` ({key}) has no ETag metadata (not written by the registry)"
            ),
            Problem::Stale { etag, expected } => write!(
                f,
                "`{name}` ({key}) is stale (ETag {etag}, expected {expected})"
            ),
            Problem::Bytes => write!(f, "`{name}` ({key}) has the right ETag but different bytes"),
            Problem::Readers => write!(
                f,
                "`{name}` ({key}) names other readers than the database (visibility)"
            ),
            Problem::Orphan => write!(f, "{key} is in the index store but no crate has that path"),
        }
    }
}

/// A crate's visibility as its index file should hold it.
pub async fn stored_visibility<S: Stores>(
    store: &S,
    crate_id: i64,
) -> Result<crate::auth::Visibility, AppError> {
    use crate::store::TeamStore as _;
    Ok(store
        .db()
        .crate_visibility(crate_id)
        .await?
        .unwrap_or(crate::auth::Visibility::RestrictedLarge)
        .capped())
}

/// Every key of the index store.
async fn all_keys<S: Stores>(store: &S) -> Result<Vec<String>, AppError> {
    let mut keys = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let (page, next) = store.index().list_files(cursor.as_deref(), 1000).await?;
        keys.extend(page);
        match next {
            Some(c) => cursor = Some(c),
            None => return Ok(keys),
        }
    }
}

/// One look: how many crates were checked, and what drifted. `deep` also
/// compares the bytes of files whose ETag is right.
pub async fn verify<S: Stores>(store: &S, deep: bool) -> Result<(usize, Vec<Drift>), AppError> {
    let keys = all_keys(store).await?;
    let present: HashSet<&str> = keys.iter().map(String::as_str).collect();
    let crates = store.db().all_crates().await?;
    let mut expected = HashSet::new();
    let mut drift = Vec::new();
    for c in &crates {
        let Some((c, versions)) = store.db().crate_versions(c.id).await? else {
            continue;
        };
        let key = index_path(&c.name)
            .ok_or_else(|| AppError::Internal(format!("crate {} has no index path", c.id)))?;
        let (rendered, _) = render_versions(&versions)?;
        let visibility = stored_visibility(store, c.id).await?;
        let problem = match store.index().get_file(&key).await? {
            None if present.contains(key.as_str()) => Some(Problem::NoMetadata),
            None => Some(Problem::Missing),
            Some(f) if f.etag != rendered.etag => Some(Problem::Stale {
                etag: f.etag,
                expected: rendered.etag,
            }),
            Some(f) if f.visibility != visibility => Some(Problem::Readers),
            Some(f) if deep && f.body != rendered.body => Some(Problem::Bytes),
            Some(_) => None,
        };
        if let Some(problem) = problem {
            drift.push(Drift {
                crate_name: Some(c.name.clone()),
                key: key.clone(),
                problem,
            });
        }
        expected.insert(key);
    }
    for k in keys {
        if !expected.contains(&k) {
            drift.push(Drift {
                crate_name: None,
                key: k,
                problem: Problem::Orphan,
            });
        }
    }
    Ok((crates.len(), drift))
}
