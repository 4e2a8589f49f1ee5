//! The SQLite executor (native only): the real `migrations/` applied in
//! order, foreign keys on, and SQLite's limits lowered to D1's (100 bound
//! parameters, 100 KB statements, 50-byte LIKE patterns, 2 MB strings and
//! rows), so a statement D1 would refuse fails here first. An argument
//! count that differs from the statement's parameters is refused, as D1
//! refuses it. Every statement text run is recorded (`executed`), so the
//! native suite can show it runs every statement the Worker runs.

use std::collections::BTreeSet;
use std::sync::Mutex;

use rusqlite::limits::Limit;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, ToSql};

use super::exec::{Executor, Outcome, Row, Stmt, Value};
use super::{StoreError, StoreResult};

/// The migrations, in order (`build.rs` lists `migrations/`).
pub const MIGRATIONS: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// D1's limits.
pub const MAX_PARAMS: i32 = 100;
pub const MAX_SQL_BYTES: i32 = 100_000;
pub const MAX_LIKE_BYTES: i32 = 50;
pub const MAX_VALUE_BYTES: i32 = 2_000_000;

/// Statement texts any SQLite executor of this process has run.
static EXECUTED: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());

/// The statement texts run so far in this process.
pub fn executed() -> BTreeSet<&'static str> {
    EXECUTED.lock().map(|s| s.clone()).unwrap_or_default()
}

/// Where each test process appends the names of the `sql::ALL`
/// statements it runs, one per line, when set (`scripts/test`; checked by
/// `tests/sql_coverage.rs`).
pub const COVERAGE_DIR_VAR: &str = "SQL_COVERAGE_DIR";

/// Records a statement's first run in this process.
fn record(sql: &'static str) {
    let first = EXECUTED.lock().is_ok_and(|mut seen| seen.insert(sql));
    if !first {
        return;
    }
    let Some(dir) = std::env::var_os(COVERAGE_DIR_VAR) else {
        return;
    };
    let Some(name) = super::exec::statement_name(sql) else {
        return;
    };
    let path = std::path::Path::new(&dir).join(std::process::id().to_string());
    let line = format!("{name}\n");
    let _ = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, line.as_bytes()));
}

/// A SQLite database behind the executor seam.
pub struct SqliteExec {
    conn: Mutex<Connection>,
}

fn sql_err(context: &str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |e| StoreError(format!("SQLite {context}: {e}"))
}

impl SqliteExec {
    /// A new in-memory database with every migration applied.
    pub fn in_memory() -> StoreResult<Self> {
        Ok(SqliteExec {
            conn: Mutex::new(memory_connection()?),
        })
    }

    /// An existing database file, with D1's limits (migrations are not
    /// applied).
    pub fn open(path: &std::path::Path) -> StoreResult<Self> {
        let conn = Connection::open(path).map_err(sql_err("open"))?;
        Ok(SqliteExec {
            conn: Mutex::new(limited(conn)?),
        })
    }

    fn lock(&self) -> StoreResult<std::sync::MutexGuard<'_, Connection>> {
        self.conn
            .lock()
            .map_err(|_| StoreError::new("SQLite connection lock poisoned"))
    }

    /// Runs `f` on the connection (tests inspecting or damaging rows).
    pub fn with_conn<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> StoreResult<T> {
        f(&*self.lock()?).map_err(sql_err("direct"))
    }
}

/// A connection set up as D1 is: its limits and foreign keys.
fn limited(conn: Connection) -> StoreResult<Connection> {
    for (limit, value) in [
        (Limit::SQLITE_LIMIT_VARIABLE_NUMBER, MAX_PARAMS),
        (Limit::SQLITE_LIMIT_SQL_LENGTH, MAX_SQL_BYTES),
        (Limit::SQLITE_LIMIT_LIKE_PATTERN_LENGTH, MAX_LIKE_BYTES),
        (Limit::SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES),
    ] {
        conn.set_limit(limit, value).map_err(sql_err("limit"))?;
    }
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(sql_err("foreign keys"))?;
    Ok(conn)
}

/// A new in-memory connection set up as D1 is, every migration applied in
/// order (the executor's, and for tests that need SQLite itself).
pub fn memory_connection() -> StoreResult<Connection> {
    let conn = limited(Connection::open_in_memory().map_err(sql_err("open"))?)?;
    for (name, sql) in MIGRATIONS {
        conn.execute_batch(sql).map_err(sql_err(name))?;
    }
    Ok(conn)
}

fn json(v: ValueRef<'_>) -> serde_json::Value {
    match v {
        ValueRef::Null => serde_json::Value::Null,
        ValueRef::Integer(i) => i.into(),
        ValueRef::Real(f) => f.into(),
        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned().into(),
        ValueRef::Blob(b) => b.to_vec().into(),
    }
}

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef as R};
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(R::Null),
            Value::Int(i) => ToSqlOutput::Borrowed(R::Integer(*i)),
            Value::Text(t) => ToSqlOutput::Borrowed(R::Text(t.as_bytes())),
        })
    }
}

fn run_one(conn: &Connection, stmt: &Stmt) -> StoreResult<Outcome> {
    record(stmt.sql);
    let err = |e: rusqlite::Error| StoreError(format!("SQLite `{}`: {e}", stmt.sql));
    let mut st = conn.prepare_cached(stmt.sql).map_err(err)?;
    if st.parameter_count() != stmt.args.len() {
        return Err(StoreError(format!(
            "SQLite `{}`: {} arguments for {} parameters",
            stmt.sql,
            stmt.args.len(),
            st.parameter_count()
        )));
    }
    for (i, a) in stmt.args.iter().enumerate() {
        st.raw_bind_parameter(i + 1, a).map_err(err)?;
    }
    let names: Vec<String> = st.column_names().map(str::to_string).collect();
    let readonly = st.readonly();
    let mut rows = Vec::new();
    let mut q = st.raw_query();
    while let Some(r) = q.next().map_err(err)? {
        let mut row = Row::new();
        for (i, n) in names.iter().enumerate() {
            row.insert(n.clone(), json(r.get_ref(i).map_err(err)?));
        }
        rows.push(row);
    }
    drop(q);
    let changes = if readonly {
        0
    } else {
        usize::try_from(conn.changes()).unwrap_or(usize::MAX)
    };
    Ok(Outcome { rows, changes })
}

impl Executor for SqliteExec {
    async fn execute(&self, stmt: &Stmt) -> StoreResult<Outcome> {
        run_one(&*self.lock()?, stmt)
    }

    async fn batch(&self, stmts: &[Stmt]) -> StoreResult<Vec<Outcome>> {
        let mut conn = self.lock()?;
        let tx = conn.transaction().map_err(sql_err("begin"))?;
        let mut out = Vec::with_capacity(stmts.len());
        for s in stmts {
            // Dropping `tx` on the error path rolls the batch back.
            out.push(run_one(&tx, s)?);
        }
        tx.commit().map_err(sql_err("commit"))?;
        Ok(out)
    }
}
