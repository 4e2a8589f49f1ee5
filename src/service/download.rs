//! Downloads: `.crate` bytes from the content-addressed blob store, checked
//! against the crate and version in the URL.

use super::yank::find_version;
use super::{App, Stores};
use crate::auth::{Principal, Scope};
use crate::error::AppError;
use crate::protocol::names::canonical;
use crate::protocol::version::printable;
use crate::store::{BlobStore, CrateStore as _, blob_key};

fn missing(name: &str, version: &str) -> AppError {
    AppError::NotFound(format!(
        "no download for crate `{}` version `{}`",
        printable(name),
        printable(version)
    ))
}

/// The bytes for `dl/{crate}/{version}/{cksum}`: one index-store read
/// (who may read the crate) and one blob read, no database query.
pub async fn by_checksum<S: Stores>(
    app: &App<S>,
    who: &Principal,
    name: &str,
    version: &str,
    cksum: &str,
) -> Result<Vec<u8>, AppError> {
    who.require(Scope::Read, Some(name))?;
    // A restricted crate the caller may not read has no downloads for
    // them (one index-store read).
    if !super::access::may_read_by_index(app, who, name).await? {
        return Err(missing(name, version));
    }
    if cksum.len() != 64
        || !cksum
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(missing(name, version));
    }
    let blob = app
        .store
        .blobs()
        .get_blob(&blob_key(cksum))
        .await?
        .ok_or_else(|| missing(name, version))?;
    if blob.meta.name.is_empty() {
        // A blob without its metadata (restored from a backup): the
        // database must have this exact crate, version and checksum.
        let c = app
            .store
            .db()
            .crate_by_canon(&canonical(name))
            .await?
            .ok_or_else(|| missing(name, version))?;
        let v = app.store.db().version_by_cksum(c.id, cksum).await?;
        if v.is_none_or(|v| v.num != version) {
            return Err(missing(name, version));
        }
    } else if canonical(&blob.meta.name) != canonical(name) || blob.meta.version != version {
        return Err(missing(name, version));
    }
    Ok(blob.bytes)
}

/// The bytes for the standard `/api/v1/crates/{crate}/{version}/download`.
pub async fn by_version<S: Stores>(
    app: &App<S>,
    who: &Principal,
    name: &str,
    version: &str,
) -> Result<Vec<u8>, AppError> {
    who.require(Scope::Read, Some(name))?;
    let (c, v) = find_version(app, who, name, version).await?;
    by_checksum(app, who, &c.name, &v.num, &v.cksum).await
}
