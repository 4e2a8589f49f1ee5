//! In-memory stand-ins for KV (the index cache) and R2 (crate blobs) in
//! native tests: the same traits as the Worker's, each call one operation
//! of the shared `FaultPlan`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::faults::FaultPlan;
use super::*;

fn lock<T>(m: &Mutex<T>) -> StoreResult<MutexGuard<'_, T>> {
    m.lock()
        .map_err(|_| StoreError::new("in-memory store lock poisoned"))
}

/// Index files by key.
pub struct MemoryKv {
    files: Mutex<BTreeMap<String, IndexFile>>,
    plan: Arc<FaultPlan>,
}

impl MemoryKv {
    pub fn new(plan: Arc<FaultPlan>) -> Self {
        MemoryKv {
            files: Mutex::default(),
            plan,
        }
    }

    /// Number of index files.
    pub fn len(&self) -> usize {
        lock(&self.files).map(|f| f.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Overwrites a file outside any operation (tests simulating drift).
    pub fn corrupt(&self, key: &str, body: &str) {
        if let Ok(mut f) = lock(&self.files) {
            f.insert(
                key.to_string(),
                IndexFile {
                    body: body.to_string(),
                    etag: "\"corrupt\"".into(),
                    rev: 0,
                    visibility: Default::default(),
                },
            );
        }
    }

    async fn op<T>(&self, f: impl FnOnce(&mut BTreeMap<String, IndexFile>) -> T) -> StoreResult<T> {
        let t = self.plan.begin("kv").await?;
        let out = lock(&self.files).map(|mut files| f(&mut files));
        self.plan.end(t, out)
    }
}

impl IndexStore for MemoryKv {
    async fn get_file(&self, key: &str) -> StoreResult<Option<IndexFile>> {
        self.op(|f| f.get(key).cloned()).await
    }
    async fn put_file(&self, key: &str, file: &IndexFile) -> StoreResult<()> {
        self.op(|f| {
            f.insert(key.to_string(), file.clone());
        })
        .await
    }
    async fn delete_file(&self, key: &str) -> StoreResult<()> {
        self.op(|f| {
            f.remove(key);
        })
        .await
    }
    async fn list_files(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> StoreResult<(Vec<String>, Option<String>)> {
        self.op(|f| {
            let mut keys = f
                .keys()
                .filter(|k| cursor.is_none_or(|c| k.as_str() > c))
                .cloned();
            let page: Vec<String> = keys.by_ref().take(limit).collect();
            let more = keys.next().is_some();
            let next = if more { page.last().cloned() } else { None };
            (page, next)
        })
        .await
    }
}

/// Blobs by key.
pub struct MemoryR2 {
    blobs: Mutex<BTreeMap<String, Blob>>,
    plan: Arc<FaultPlan>,
}

impl MemoryR2 {
    pub fn new(plan: Arc<FaultPlan>) -> Self {
        MemoryR2 {
            blobs: Mutex::default(),
            plan,
        }
    }

    /// Number of blobs.
    pub fn len(&self) -> usize {
        lock(&self.blobs).map(|b| b.len()).unwrap_or(0)
    }

    /// Drops a blob's metadata outside any operation, as a blob restored
    /// from a backup has none (tests of the download's database check).
    pub fn forget_meta(&self, key: &str) {
        if let Ok(mut b) = lock(&self.blobs)
            && let Some(blob) = b.get_mut(key)
        {
            blob.meta = BlobMeta {
                name: String::new(),
                version: String::new(),
            };
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl BlobStore for MemoryR2 {
    async fn put_blob(&self, key: &str, bytes: &[u8], meta: &BlobMeta) -> StoreResult<()> {
        let t = self.plan.begin("r2").await?;
        let out = lock(&self.blobs).map(|mut b| {
            b.entry(key.to_string()).or_insert_with(|| Blob {
                bytes: bytes.to_vec(),
                meta: meta.clone(),
            });
        });
        self.plan.end(t, out)
    }
    async fn get_blob(&self, key: &str) -> StoreResult<Option<Blob>> {
        let t = self.plan.begin("r2").await?;
        let out = lock(&self.blobs).map(|b| b.get(key).cloned());
        self.plan.end(t, out)
    }
}

/// One request [`FakeFetch`] received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeRequest {
    pub method: &'static str,
    pub url: String,
    /// The form body of a POST.
    pub body: String,
    pub authorization: Option<String>,
}

/// Scripted outbound HTTP: a reply per URL (the same for every method),
/// and every request made, in order. A URL without a reply fails as an
/// unreachable host does.
#[derive(Default)]
pub struct FakeFetch {
    replies: Mutex<std::collections::HashMap<String, crate::service::fetch::HttpReply>>,
    requests: Mutex<Vec<FakeRequest>>,
}

impl FakeFetch {
    /// Answers `url` with this status and body from now on.
    pub fn reply(&self, url: &str, status: u16, body: impl Into<Vec<u8>>) {
        if let Ok(mut r) = self.replies.lock() {
            r.insert(
                url.to_string(),
                crate::service::fetch::HttpReply {
                    status,
                    body: body.into(),
                },
            );
        }
    }

    /// The requests so far.
    pub fn requests(&self) -> Vec<FakeRequest> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    fn answer(&self, req: FakeRequest) -> Result<crate::service::fetch::HttpReply, String> {
        let url = req.url.clone();
        if let Ok(mut r) = self.requests.lock() {
            r.push(req);
        }
        self.replies
            .lock()
            .ok()
            .and_then(|r| r.get(&url).cloned())
            .ok_or_else(|| format!("cannot reach {url}"))
    }
}

impl crate::service::fetch::Fetch for FakeFetch {
    async fn get(
        &self,
        url: &str,
        bearer: Option<&str>,
    ) -> Result<crate::service::fetch::HttpReply, String> {
        self.answer(FakeRequest {
            method: "GET",
            url: url.to_string(),
            body: String::new(),
            authorization: bearer.map(|t| format!("Bearer {t}")),
        })
    }
    async fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> Result<crate::service::fetch::HttpReply, String> {
        self.answer(FakeRequest {
            method: "POST",
            url: url.to_string(),
            body: crate::service::fetch::form_body(form),
            authorization: basic.map(|(id, secret)| crate::service::fetch::basic_auth(id, secret)),
        })
    }
}
