//! Fault injection and interleaving for native tests: one `FaultPlan`
//! counts every storage operation (a D1 statement or batch, a KV or R2
//! call) in order, can fail the Nth before or after it takes effect, and
//! can yield to the executor before each so concurrent requests interleave
//! as they do against real storage. `Faulty` wraps a SQL executor with it;
//! the KV and R2 fakes (`store::fake`) call it directly.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

use super::exec::{Executor, Outcome, Stmt};
use super::{StoreError, StoreResult};

/// Where the operations go, and which one fails.
#[derive(Default)]
pub struct FaultPlan {
    /// Yield before every operation.
    yields: bool,
    ops: AtomicUsize,
    /// The operation number (1-based) that fails; 0 = none.
    fail_at: AtomicUsize,
    /// Whether the failing operation takes effect before it fails.
    after_effect: AtomicBool,
    /// The storage each operation went to (`kv`, `r2`, `d1`), in order.
    kinds: Mutex<Vec<&'static str>>,
}

/// Whether the operation just started is the one to fail.
#[must_use]
pub struct Ticket {
    n: usize,
    fail_after: bool,
}

/// A future that is pending once, then ready.
struct YieldNow(bool);

impl std::future::Future for YieldNow {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            std::task::Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }
}

impl FaultPlan {
    /// A plan whose every operation first yields to the executor.
    pub fn interleaving() -> Self {
        FaultPlan {
            yields: true,
            ..Self::default()
        }
    }

    /// Operations started so far.
    pub fn op_count(&self) -> usize {
        self.ops.load(Relaxed)
    }

    /// The storage each operation so far went to.
    pub fn op_kinds(&self) -> Vec<&'static str> {
        self.kinds.lock().map(|k| k.clone()).unwrap_or_default()
    }

    /// Makes the `n`-th operation from now (1 = the next) fail, before it
    /// takes effect or after (a lost reply); `None` turns injection off.
    pub fn inject(&self, n: Option<usize>, after_effect: bool) {
        let at = n.map(|n| self.ops.load(Relaxed) + n).unwrap_or(0);
        self.fail_at.store(at, Relaxed);
        self.after_effect.store(after_effect, Relaxed);
    }

    /// Starts one operation: counts it, yields when interleaving, and
    /// fails it now when it is the one to fail before its effect.
    pub async fn begin(&self, kind: &'static str) -> StoreResult<Ticket> {
        let n = self.ops.fetch_add(1, Relaxed) + 1;
        if let Ok(mut kinds) = self.kinds.lock() {
            kinds.push(kind);
        }
        if self.yields {
            YieldNow(false).await;
        }
        let faulty = n == self.fail_at.load(Relaxed);
        let after = self.after_effect.load(Relaxed);
        if faulty && !after {
            return Err(StoreError(format!("injected fault at operation {n}")));
        }
        Ok(Ticket {
            n,
            fail_after: faulty,
        })
    }

    /// Ends an operation that took effect: fails it when it is the one to
    /// fail after its effect.
    pub fn end<T>(&self, ticket: Ticket, out: StoreResult<T>) -> StoreResult<T> {
        let out = out?;
        if ticket.fail_after {
            return Err(StoreError(format!(
                "injected fault after operation {} took effect",
                ticket.n
            )));
        }
        Ok(out)
    }
}

/// A SQL executor whose statements and batches are operations of a plan.
pub struct Faulty<E> {
    pub inner: E,
    pub plan: std::sync::Arc<FaultPlan>,
}

impl<E: Executor> Executor for Faulty<E> {
    async fn execute(&self, stmt: &Stmt) -> StoreResult<Outcome> {
        let t = self.plan.begin("d1").await?;
        let out = self.inner.execute(stmt).await;
        self.plan.end(t, out)
    }

    async fn batch(&self, stmts: &[Stmt]) -> StoreResult<Vec<Outcome>> {
        let t = self.plan.begin("d1").await?;
        let out = self.inner.batch(stmts).await;
        self.plan.end(t, out)
    }
}
