//! The D1 executor: statements of `store::sql` prepared, bound and run on
//! the D1 binding; a batch is D1's batch (one transaction).

use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, D1Result};

use crate::store::exec::{Executor, Outcome, Row, Stmt, Value};
use crate::store::{StoreError, StoreResult};

/// The D1 database.
pub struct D1Exec {
    pub db: D1Database,
}

fn js(v: &Value) -> JsValue {
    match v {
        Value::Null => JsValue::NULL,
        // D1 numbers are JS doubles; every id and time here fits 53 bits.
        Value::Int(i) => JsValue::from_f64(*i as f64),
        Value::Text(t) => JsValue::from_str(t),
    }
}

impl D1Exec {
    fn prepare(&self, s: &Stmt) -> StoreResult<D1PreparedStatement> {
        let args: Vec<JsValue> = s.args.iter().map(js).collect();
        self.db
            .prepare(s.sql)
            .bind(&args)
            .map_err(|e| StoreError(format!("D1 bind `{}`: {e}", s.sql)))
    }
}

fn outcome(r: &D1Result, sql: &str) -> StoreResult<Outcome> {
    let rows = r
        .results::<Row>()
        .map_err(|e| StoreError(format!("D1 rows of `{sql}`: {e}")))?;
    let changes = r.meta().ok().flatten().and_then(|m| m.changes).unwrap_or(0);
    Ok(Outcome { rows, changes })
}

impl Executor for D1Exec {
    async fn execute(&self, stmt: &Stmt) -> StoreResult<Outcome> {
        let r = self
            .prepare(stmt)?
            .all()
            .await
            .map_err(|e| StoreError(format!("D1 `{}`: {e}", stmt.sql)))?;
        outcome(&r, stmt.sql)
    }

    async fn batch(&self, stmts: &[Stmt]) -> StoreResult<Vec<Outcome>> {
        let prepared = stmts
            .iter()
            .map(|s| self.prepare(s))
            .collect::<StoreResult<Vec<_>>>()?;
        let results = self
            .db
            .batch(prepared)
            .await
            .map_err(|e| StoreError(format!("D1 batch: {e}")))?;
        results
            .iter()
            .zip(stmts)
            .map(|(r, s)| outcome(r, s.sql))
            .collect()
    }
}
