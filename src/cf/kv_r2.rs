//! The KV implementation of the index store (the ETag and revision live in
//! the value's metadata, so a read needs no hashing) and the R2
//! implementation of the blob store.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use worker::{Bucket, kv::KvStore};

use crate::store::*;

/// KV metadata stored beside each index file: its ETag, revision and,
/// for a restricted crate, its readers (or that there are too many).
#[derive(Serialize, Deserialize)]
struct IndexMeta {
    etag: String,
    rev: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    r: Option<crate::auth::Readers>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    large: bool,
}

/// The index namespace.
pub struct KvIndex {
    pub kv: KvStore,
}

impl IndexStore for KvIndex {
    async fn get_file(&self, key: &str) -> StoreResult<Option<IndexFile>> {
        let (body, meta) = self
            .kv
            .get(key)
            .text_with_metadata::<IndexMeta>()
            .await
            .map_err(|e| StoreError(format!("KV get {key}: {e}")))?;
        match (body, meta) {
            (Some(body), Some(meta)) => Ok(Some(IndexFile {
                body,
                etag: meta.etag,
                rev: meta.rev,
                visibility: crate::auth::Visibility::from_stored(meta.r, meta.large),
            })),
            // A value without metadata was not written by us: re-render it.
            _ => Ok(None),
        }
    }
    async fn put_file(&self, key: &str, file: &IndexFile) -> StoreResult<()> {
        let (r, large) = file.visibility.stored();
        self.kv
            .put(key, file.body.as_str())
            .map_err(|e| StoreError(format!("KV put {key}: {e}")))?
            .metadata(IndexMeta {
                etag: file.etag.clone(),
                rev: file.rev,
                r,
                large,
            })
            .map_err(|e| StoreError(format!("KV metadata {key}: {e}")))?
            .execute()
            .await
            .map_err(|e| StoreError(format!("KV put {key}: {e}")))
    }
    async fn delete_file(&self, key: &str) -> StoreResult<()> {
        self.kv
            .delete(key)
            .await
            .map_err(|e| StoreError(format!("KV delete {key}: {e}")))
    }
    async fn list_files(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> StoreResult<(Vec<String>, Option<String>)> {
        let mut list = self
            .kv
            .list()
            .limit(u64::try_from(limit.clamp(1, 1000)).unwrap_or(1000));
        if let Some(c) = cursor {
            list = list.cursor(c.to_string());
        }
        let page = list
            .execute()
            .await
            .map_err(|e| StoreError(format!("KV list: {e}")))?;
        let keys = page.keys.into_iter().map(|k| k.name).collect();
        let next = if page.list_complete {
            None
        } else {
            page.cursor
        };
        Ok((keys, next))
    }
}

/// The crate bucket.
pub struct R2Blobs {
    pub bucket: Bucket,
}

impl BlobStore for R2Blobs {
    async fn put_blob(&self, key: &str, bytes: &[u8], meta: &BlobMeta) -> StoreResult<()> {
        let exists = self
            .bucket
            .head(key)
            .await
            .map_err(|e| StoreError(format!("R2 head {key}: {e}")))?;
        if exists.is_some() {
            return Ok(());
        }
        let mut custom = HashMap::new();
        custom.insert("name".to_string(), meta.name.clone());
        custom.insert("version".to_string(), meta.version.clone());
        self.bucket
            .put(key, bytes.to_vec())
            .custom_metadata(custom)
            .execute()
            .await
            .map_err(|e| StoreError(format!("R2 put {key}: {e}")))?;
        Ok(())
    }
    async fn get_blob(&self, key: &str) -> StoreResult<Option<Blob>> {
        let Some(obj) = self
            .bucket
            .get(key)
            .execute()
            .await
            .map_err(|e| StoreError(format!("R2 get {key}: {e}")))?
        else {
            return Ok(None);
        };
        let custom = obj
            .custom_metadata()
            .map_err(|e| StoreError(format!("R2 metadata {key}: {e}")))?;
        let Some(body) = obj.body() else {
            return Ok(None);
        };
        let bytes = body
            .bytes()
            .await
            .map_err(|e| StoreError(format!("R2 body {key}: {e}")))?;
        Ok(Some(Blob {
            bytes,
            meta: BlobMeta {
                name: custom.get("name").cloned().unwrap_or_default(),
                version: custom.get("version").cloned().unwrap_or_default(),
            },
        }))
    }
}
