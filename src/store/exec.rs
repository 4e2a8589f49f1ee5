//! The executor seam: what the SQL store needs from a database, shaped like
//! D1 (a prepared statement with positional `?N` arguments, run for its
//! rows and its change count, and a batch of statements run as one
//! transaction). D1 implements it in the Worker (`cf::d1`), SQLite in
//! native code (`store::sqlite`), and `store::faults` wraps either to fail
//! a chosen statement or batch.

use serde::de::DeserializeOwned;

use super::{StoreError, StoreResult};

/// A value bound to a statement argument (in JSON: null, a number or a
/// string).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Int(i64::from(v))
    }
}

impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Int(i64::from(v))
    }
}

impl From<usize> for Value {
    fn from(v: usize) -> Self {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map(Into::into).unwrap_or(Value::Null)
    }
}

impl From<&Option<String>> for Value {
    fn from(v: &Option<String>) -> Self {
        v.as_deref().map(Value::from).unwrap_or(Value::Null)
    }
}

/// A statement with its arguments (`?1` is the first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stmt {
    pub sql: &'static str,
    pub args: Vec<Value>,
}

impl Stmt {
    pub fn new(sql: &'static str) -> Self {
        Stmt {
            sql,
            args: Vec::new(),
        }
    }

    /// A statement and all its arguments.
    pub fn with_args(sql: &'static str, args: Vec<Value>) -> Self {
        Stmt { sql, args }
    }

    /// Binds the next argument.
    pub fn bind(mut self, v: impl Into<Value>) -> Self {
        self.args.push(v.into());
        self
    }
}

/// A list bound as one JSON text argument (read with `json_each`), so a
/// statement takes one parameter whatever the length: D1 binds at most 100.
pub fn json_list<T: serde::Serialize>(items: &[T]) -> StoreResult<Value> {
    serde_json::to_string(items)
        .map(Value::Text)
        .map_err(|e| StoreError(format!("encoding a list argument: {e}")))
}

/// One result row: column name to value.
pub type Row = serde_json::Map<String, serde_json::Value>;

/// What running one statement gave.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Outcome {
    pub rows: Vec<Row>,
    /// Rows the statement inserted, updated or deleted.
    pub changes: usize,
}

impl Outcome {
    /// The rows as records.
    pub fn decode<T: DeserializeOwned>(self) -> StoreResult<Vec<T>> {
        self.rows
            .into_iter()
            .map(|r| {
                serde_json::from_value(serde_json::Value::Object(r))
                    .map_err(|e| StoreError(format!("decoding a row: {e}")))
            })
            .collect()
    }

    /// The first row as a record.
    pub fn first<T: DeserializeOwned>(self) -> StoreResult<Option<T>> {
        Ok(self.decode::<T>()?.into_iter().next())
    }
}

/// The statement of `sql::ALL` with this name.
pub fn statement(name: &str) -> Option<&'static str> {
    super::sql::ALL
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, sql)| *sql)
}

/// The name of a statement of `sql::ALL`.
pub fn statement_name(sql: &str) -> Option<&'static str> {
    super::sql::ALL
        .iter()
        .find(|(_, s)| *s == sql)
        .map(|(n, _)| *n)
}

/// A database that runs statements.
#[allow(async_fn_in_trait)]
pub trait Executor {
    /// Runs one statement on its own (its own transaction).
    async fn execute(&self, stmt: &Stmt) -> StoreResult<Outcome>;
    /// Runs statements in order as one transaction: all take effect, or
    /// none does and the first failure is returned.
    async fn batch(&self, stmts: &[Stmt]) -> StoreResult<Vec<Outcome>>;
}
