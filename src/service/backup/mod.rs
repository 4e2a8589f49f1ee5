//! Backup and restore (`scripts/admin backup` / `restore`) over any
//! stores: what a backup reads, the checks a restore makes (`check`), and
//! the order a restore writes in. The archive file itself (a .tar.gz) is
//! the admin tool's; this module sees only rows and blobs.

pub mod check;

pub use check::{DATABASE, Plan, check, check_against, is_cksum, parse_database};

use super::Stores;
use crate::protocol::index::sha256_hex;
use crate::store::sql::backup::{Restore, Snapshot, Taken};
use crate::store::{BlobMeta, BlobStore, StoreError, blob_key};

/// Why a backup or restore stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The archive or the registry's data is not what it must be; nothing
    /// was changed.
    Refused(String),
    /// The stores failed.
    Store(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Refused(why) => write!(f, "refusing to restore: {why}; nothing was changed"),
            Error::Store(why) => f.write_str(why),
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::Store(e.0)
    }
}

/// Every backed-up row and the checksums of the blobs they need, as one
/// consistent state; a malformed checksum stops the backup.
pub async fn snapshot<S: Stores>(stores: &S) -> Result<Snapshot, Error> {
    let snap = stores.db().backup_rows().await?;
    if let Some(bad) = snap.cksums.iter().find(|ck| !is_cksum(ck)) {
        return Err(Error::Store(format!(
            "a version has the malformed checksum `{bad}`; backup aborted"
        )));
    }
    Ok(snap)
}

/// A blob for the backup, checked against its checksum.
pub async fn blob<S: Stores>(stores: &S, cksum: &str) -> Result<Vec<u8>, Error> {
    let Some(blob) = stores.blobs().get_blob(&blob_key(cksum)).await? else {
        return Err(Error::Store(format!(
            "blob {cksum} is missing from the blob store; backup aborted"
        )));
    };
    if sha256_hex(&blob.bytes) != cksum {
        return Err(Error::Store(format!(
            "blob {cksum} does not match its checksum; backup aborted"
        )));
    }
    Ok(blob.bytes)
}

/// Whether the registry has no users and no crates.
pub async fn is_empty<S: Stores>(stores: &S) -> Result<bool, Error> {
    Ok(stores.db().restore_row_count().await? == 0)
}

/// The keys a restore must not reuse.
pub async fn taken<S: Stores>(stores: &S) -> Result<Taken, Error> {
    Ok(stores.db().taken_keys().await?)
}

/// Stores one checked blob of a plan (content-addressed, as a publish
/// stores it, so storing it twice changes nothing), named after the first
/// version that has it.
pub async fn put_blob<S: Stores>(
    stores: &S,
    plan: &Plan,
    cksum: &str,
    bytes: &[u8],
) -> Result<(), Error> {
    if sha256_hex(bytes) != cksum || !plan.blobs.contains_key(cksum) {
        return Err(Error::Refused(format!(
            "blob {cksum} is not a checked blob of this backup"
        )));
    }
    let meta = plan
        .db
        .versions
        .iter()
        .find(|v| v.cksum == cksum)
        .and_then(|v| {
            let name = plan.db.crates.iter().find(|c| c.id == v.crate_id)?;
            Some(BlobMeta {
                name: name.name.clone(),
                version: v.num.clone(),
            })
        })
        .unwrap_or(BlobMeta {
            name: String::new(),
            version: String::new(),
        });
    Ok(stores
        .blobs()
        .put_blob(&blob_key(cksum), bytes, &meta)
        .await?)
}

/// Writes a checked plan's rows in one batch (after its blobs, as a
/// publish stores its blob before its rows). The index files are the
/// reindex's to write (`index::reindex`).
pub async fn restore<S: Stores>(
    stores: &S,
    plan: &Plan,
    now: i64,
    note: &str,
) -> Result<(), Error> {
    let r = Restore {
        db: &plan.db,
        dependencies: &plan.dependencies,
        now,
        note,
    };
    Ok(stores.db().restore(&r).await?)
}
