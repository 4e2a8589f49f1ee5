//! The stores native tests run the app on: the real SQL on SQLite (every
//! migration, D1's limits) and the KV and R2 fakes, all counted by one
//! `FaultPlan` so a test can bound a request's storage operations or fail
//! any one of them.

use std::sync::Arc;

use super::fake::{MemoryKv, MemoryR2};
use super::faults::{FaultPlan, Faulty};
use super::sql::SqlStore;
use super::sqlite::SqliteExec;
use super::{StoreError, StoreResult};

/// The database as native tests run it.
pub type NativeDb = SqlStore<Faulty<SqliteExec>>;

/// Every store, natively.
pub struct NativeStore {
    pub kv: MemoryKv,
    pub r2: MemoryR2,
    pub db: NativeDb,
    /// Scripted replies for outbound HTTP.
    pub http: crate::store::fake::FakeFetch,
    plan: Arc<FaultPlan>,
}

impl NativeStore {
    /// Empty stores on a fresh, migrated in-memory database.
    pub fn new() -> StoreResult<Self> {
        Self::with_plan(FaultPlan::default())
    }

    /// Stores whose every operation first yields to the executor.
    pub fn interleaving() -> StoreResult<Self> {
        Self::with_plan(FaultPlan::interleaving())
    }

    fn with_plan(plan: FaultPlan) -> StoreResult<Self> {
        let plan = Arc::new(plan);
        Ok(NativeStore {
            kv: MemoryKv::new(plan.clone()),
            r2: MemoryR2::new(plan.clone()),
            db: SqlStore::new(Faulty {
                inner: SqliteExec::in_memory()?,
                plan: plan.clone(),
            }),
            http: Default::default(),
            plan,
        })
    }

    /// Storage operations (D1 statements or batches, KV and R2 calls) so far.
    pub fn op_count(&self) -> usize {
        self.plan.op_count()
    }

    /// The storage each operation so far went to (`kv`, `r2` or `d1`).
    pub fn op_kinds(&self) -> Vec<&'static str> {
        self.plan.op_kinds()
    }

    /// Makes the `n`-th operation from now fail before it takes effect
    /// (1 = the next one); `None` turns fault injection off.
    pub fn fail_after(&self, n: Option<usize>) {
        self.plan.inject(n, false);
    }

    /// Makes the `n`-th operation from now take effect and then report a
    /// failure anyway (a lost reply); `None` turns fault injection off.
    pub fn fail_after_effect(&self, n: Option<usize>) {
        self.plan.inject(n, true);
    }

    /// The SQLite database itself, outside the fault plan (tests
    /// inspecting or damaging rows).
    pub fn sqlite(&self) -> &SqliteExec {
        &self.db.exec.inner
    }

    fn count(&self, table: &str) -> usize {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        self.sqlite()
            .with_conn(|c| c.query_row(&sql, [], |r| r.get::<_, i64>(0)))
            .map_err(|e: StoreError| e)
            .ok()
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(0)
    }

    /// Number of stored blobs (for tests proving nothing was stored).
    pub fn blob_count(&self) -> usize {
        self.r2.len()
    }

    /// Number of index files.
    pub fn index_count(&self) -> usize {
        self.kv.len()
    }

    /// Number of version rows.
    pub fn version_count(&self) -> usize {
        self.count("versions")
    }

    /// Number of crate rows.
    pub fn crate_count(&self) -> usize {
        self.count("crates")
    }

    /// Overwrites an index file directly (tests simulating drift).
    pub fn corrupt_index(&self, key: &str, body: &str) {
        self.kv.corrupt(key, body);
    }
}

impl crate::service::Stores for NativeStore {
    type Index = MemoryKv;
    type Blobs = MemoryR2;
    type Exec = Faulty<SqliteExec>;
    type Kdf = crate::auth::password::NativeKdf;
    type Jws = crate::auth::jwt::RingVerifier;
    type Fetch = crate::store::fake::FakeFetch;
    fn kdf(&self) -> &Self::Kdf {
        &crate::auth::password::NativeKdf
    }
    fn jws(&self) -> &Self::Jws {
        &crate::auth::jwt::RingVerifier
    }
    fn fetch(&self) -> &Self::Fetch {
        &self.http
    }
    fn index(&self) -> &MemoryKv {
        &self.kv
    }
    fn blobs(&self) -> &MemoryR2 {
        &self.r2
    }
    fn db(&self) -> &NativeDb {
        &self.db
    }
}
