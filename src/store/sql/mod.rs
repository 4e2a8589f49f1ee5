//! The database's rules, written once in SQL (`statements`) and run through
//! the executor seam (`store::exec`): D1 in the Worker, SQLite natively.
//! `SqlStore` implements every database trait over any executor; the row
//! types decode what the statements return.

mod accounts;
pub mod backup;
mod crates;
pub mod rows;
mod sso;
pub mod statements;
mod teams;
mod users;

use serde::de::DeserializeOwned;

pub use statements::*;

use super::exec::{Executor, Outcome, Stmt, Value};
use super::{AttemptRule, StoreError, StoreResult};
use rows::CountRow;

/// The database traits over one executor.
pub struct SqlStore<E> {
    pub exec: E,
}

impl<E: Executor> SqlStore<E> {
    pub fn new(exec: E) -> Self {
        SqlStore { exec }
    }

    async fn all<T: DeserializeOwned>(&self, s: Stmt) -> StoreResult<Vec<T>> {
        self.exec.execute(&s).await?.decode()
    }

    async fn first<T: DeserializeOwned>(&self, s: Stmt) -> StoreResult<Option<T>> {
        self.exec.execute(&s).await?.first()
    }

    /// Runs a change; how many rows it changed.
    async fn run(&self, s: Stmt) -> StoreResult<usize> {
        Ok(self.exec.execute(&s).await?.changes)
    }

    /// Runs statements as one transaction; exactly one outcome each.
    async fn batch(&self, stmts: Vec<Stmt>) -> StoreResult<Vec<Outcome>> {
        let n = stmts.len();
        let out = self.exec.batch(&stmts).await?;
        if out.len() != n {
            return Err(StoreError(format!(
                "batch of {n} statements gave {} results",
                out.len()
            )));
        }
        Ok(out)
    }

    /// A page of rows and the total count, read together.
    async fn page<T: DeserializeOwned>(
        &self,
        rows: Stmt,
        count: Stmt,
    ) -> StoreResult<(Vec<T>, u32)> {
        let mut out = self.batch(vec![rows, count]).await?.into_iter();
        let rows = take(&mut out)?.decode()?;
        let total = count_of(take(&mut out)?)?;
        Ok((rows, total))
    }
}

/// The next outcome of a batch.
fn take(out: &mut impl Iterator<Item = Outcome>) -> StoreResult<Outcome> {
    out.next()
        .ok_or_else(|| StoreError::new("short batch result"))
}

/// The `n` of a `COUNT(*) AS n` row.
fn count_of(o: Outcome) -> StoreResult<u32> {
    let n = o.first::<CountRow>()?.map(|r| r.n).unwrap_or(0);
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// The arguments of `SEARCH` (all eight) for a query, filter, viewer and
/// page; `SEARCH_COUNT` takes the first six. Lowercasing is ASCII only, as
/// SQLite's `lower()` is.
pub fn search_args(
    q: &str,
    filter: &crate::auth::ReadFilter,
    viewer: Option<i64>,
    limit: u32,
    offset: u32,
) -> StoreResult<Vec<Value>> {
    let (exact, prefixes) = filter.exact_and_prefixes();
    Ok(vec![
        Value::Text(crate::protocol::names::canonical(q)),
        Value::Text(q.to_ascii_lowercase()),
        Value::from(matches!(filter, crate::auth::ReadFilter::All)),
        super::exec::json_list(&exact)?,
        super::exec::json_list(&prefixes)?,
        Value::from(viewer),
        Value::from(limit),
        Value::from(offset),
    ])
}

/// The arguments of `COUNT_ATTEMPT`.
pub fn count_attempt_args(key: &str, now: i64, rule: &AttemptRule) -> Vec<Value> {
    vec![
        Value::from(key),
        Value::Int(now),
        Value::Int(rule.max),
        Value::Int(rule.window),
        Value::Int(rule.lockout),
    ]
}
