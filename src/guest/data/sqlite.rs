//! SQLite databases for `sqlite_databases`, as Spin serves them: the
//! `default` database is `sqlite_db.db` in the state directory (see
//! [`crate::guest::data::state_dir`]) unless the runtime configuration says
//! otherwise; any other label must be defined there
//! (`[sqlite_database.<label>]`), or the app does not load. A label the
//! component does not declare is `access-denied`.
//!
//! Each guest connection is its own SQLite connection (WAL, a busy
//! timeout, no ATTACH unless the configuration allows it). Statements run
//! on tokio's blocking pool, never on the async workers, within the
//! process's bound ([`crate::guest::data::blocking_slots`]); a statement whose
//! request is dropped is interrupted, and a result over
//! [`MAX_RESULT_BYTES`] is an error.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{Result, bail};
use rusqlite::limits::Limit;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, InterruptHandle};

use crate::guest::data::runtime_config::{RuntimeConfig, SqliteConfig};

/// The most a statement's result may take in the host (Spin's bound on
/// what the host buffers for a guest is the same).
pub const MAX_RESULT_BYTES: usize = 128 << 20;

/// A column value, as Spin's SQLite interfaces carry it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
    Null,
}

/// What a statement returned.
#[derive(Debug, Default)]
pub struct Rows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

/// Why a database cannot be opened or a statement failed.
#[derive(Debug)]
pub enum SqlError {
    NoSuchDatabase,
    AccessDenied,
    /// The guest's handle names no open connection.
    InvalidConnection,
    Io(String),
}

/// The databases of one load: each label's configuration, and the bound
/// on statements running at once. Each guest connection opens its own
/// SQLite connection, as Spin does, so transactions and temporary tables
/// stay the guest's.
pub struct Databases {
    labels: BTreeMap<String, SqliteConfig>,
}

impl Databases {
    /// The labels `config` defines, and `default` in `state_dir` unless it
    /// defines that too.
    pub fn new(config: &RuntimeConfig, state_dir: &Path) -> Arc<Self> {
        let mut labels = config.sqlite.clone();
        labels
            .entry("default".to_owned())
            .or_insert_with(|| SqliteConfig {
                path: Some(state_dir.join("sqlite_db.db")),
                allow_attach_file: false,
            });
        Arc::new(Self { labels })
    }

    /// What component `component` may open: its declared `labels`, each
    /// of which must be defined.
    pub fn access(self: &Arc<Self>, component: &str, labels: &[String]) -> Result<SqliteAccess> {
        for (i, label) in labels.iter().enumerate() {
            if !self.labels.contains_key(label) {
                bail!(
                    "`component.{component}.sqlite_databases[{i}]`: the SQLite database {label:?} \
                     is not defined: only `default` is there without configuration; define it \
                     in a runtime configuration file (--runtime-config-file) as \
                     [sqlite_database.{label}] with type = \"spin\" and a `path`, or fix the label"
                );
            }
        }
        Ok(SqliteAccess {
            databases: (!labels.is_empty()).then(|| self.clone()),
            labels: Arc::new(labels.to_vec()),
        })
    }

    /// Runs `--sqlite` statements, in order, as `spin up --sqlite` does:
    /// `STATEMENT` on `default`, `@FILE` (all its statements) on
    /// `default`, `@FILE:LABEL` on database `LABEL`.
    pub fn run_statements(&self, statements: &[String]) -> Result<()> {
        for statement in statements {
            let (sql, label, origin) = match statement.strip_prefix('@') {
                Some(spec) => {
                    let (file, label) = file_and_label(spec)?;
                    let sql = std::fs::read_to_string(file).map_err(|e| {
                        anyhow::anyhow!("--sqlite @{spec}: cannot read {file}: {e}")
                    })?;
                    (sql, label, format!("--sqlite @{spec}"))
                }
                None => (
                    statement.clone(),
                    "default",
                    format!("--sqlite {statement:?}"),
                ),
            };
            if !self.labels.contains_key(label) {
                bail!(
                    "{origin}: there is no SQLite database {label:?}; define it in the runtime \
                     configuration as [sqlite_database.{label}]"
                );
            }
            let conn = self
                .connect(label)
                .map_err(|e| anyhow::anyhow!("{origin}: {e:?}"))?;
            conn.execute_batch(&sql)
                .map_err(|e| anyhow::anyhow!("{origin}: on database {label:?}: {e}"))?;
            tracing::info!(database = %label, "ran {origin}");
        }
        Ok(())
    }

    /// Where database `label` is, for logs.
    pub fn describe(&self, label: &str) -> Option<String> {
        self.labels.get(label).map(|c| match &c.path {
            Some(path) => path.display().to_string(),
            None => "in memory".to_owned(),
        })
    }

    fn connect(&self, label: &str) -> Result<Connection, SqlError> {
        let config = self.labels.get(label).ok_or(SqlError::NoSuchDatabase)?;
        let shown = self.describe(label).unwrap_or_default();
        let io = |e: &dyn std::fmt::Display| SqlError::Io(format!("{shown}: {e}"));
        let conn = crate::guest::data::open_sqlite(config.path.as_deref()).map_err(|e| io(&e))?;
        // No ATTACH (nor VACUUM INTO, which attaches): a guest reaches its
        // database and no other file of the host, unless the operator
        // allowed it (Spin's `allow_attach_file`).
        if !config.allow_attach_file {
            conn.set_limit(Limit::SQLITE_LIMIT_ATTACHED, 0)
                .map_err(|e| io(&e))?;
        }
        Ok(conn)
    }
}

/// `FILE` or `FILE:LABEL` of `--sqlite @...`.
fn file_and_label(spec: &str) -> Result<(&str, &str)> {
    let spec = spec.trim();
    let (file, label) = match spec.split_once(':') {
        Some((file, label)) => (file.trim(), label.trim()),
        None => (spec, "default"),
    };
    if file.is_empty() || label.is_empty() {
        bail!("--sqlite @{spec}: give a file, as @FILE or @FILE:LABEL");
    }
    Ok((file, label))
}

/// What one component may open: its `sqlite_databases`.
#[derive(Clone, Default)]
pub struct SqliteAccess {
    pub databases: Option<Arc<Databases>>,
    pub labels: Arc<Vec<String>>,
}

/// A guest's open connection (clones share it).
#[derive(Clone)]
pub struct SqliteConnection {
    label: String,
    conn: Arc<Mutex<Connection>>,
    interrupt: Arc<InterruptHandle>,
    /// The instance's place for it.
    _held: Arc<tokio::sync::OwnedSemaphorePermit>,
}

impl SqliteAccess {
    /// Opens `label`, which must be declared, on the blocking pool (opening
    /// a file and setting WAL may wait for another connection's lock).
    pub async fn open(
        &self,
        label: &str,
        held: tokio::sync::OwnedSemaphorePermit,
    ) -> Result<SqliteConnection, SqlError> {
        let Some(databases) = self.databases.clone() else {
            return Err(SqlError::AccessDenied);
        };
        if !self.labels.iter().any(|l| l == label) {
            return Err(SqlError::AccessDenied);
        }
        let label = label.to_owned();
        crate::guest::data::run_blocking((), move || {
            let conn = databases.connect(&label)?;
            Ok(SqliteConnection {
                label,
                interrupt: Arc::new(conn.get_interrupt_handle()),
                conn: Arc::new(Mutex::new(conn)),
                _held: Arc::new(held),
            })
        })
        .await
        .map_err(SqlError::Io)?
    }
}

/// Interrupts the statement it guards unless disarmed: when a request is
/// dropped (its client gone, its deadline passed), so is its statement.
struct InterruptOnDrop(Option<Arc<InterruptHandle>>);

impl Drop for InterruptOnDrop {
    fn drop(&mut self) {
        if let Some(handle) = self.0.take() {
            handle.interrupt();
        }
    }
}

impl SqliteConnection {
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The connection, for the quick calls that need no blocking thread.
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Connection>, SqlError> {
        self.conn
            .lock()
            .map_err(|_| SqlError::Io("the database connection is unavailable".into()))
    }

    /// The rowid of this connection's most recent INSERT, or 0.
    pub fn last_insert_rowid(&self) -> i64 {
        self.lock().map_or(0, |c| c.last_insert_rowid())
    }

    /// Rows changed by this connection's most recent INSERT, UPDATE or DELETE.
    pub fn changes(&self) -> u64 {
        self.lock().map_or(0, |c| c.changes())
    }

    /// Runs `statement` with `parameters` on the blocking pool; a result of
    /// more than [`MAX_RESULT_BYTES`] is an error.
    pub async fn execute(
        &self,
        statement: String,
        parameters: Vec<Value>,
    ) -> Result<Rows, SqlError> {
        let conn = self.conn.clone();
        let mut guard = InterruptOnDrop(Some(self.interrupt.clone()));
        let rows = crate::guest::data::run_blocking((), move || {
            let conn = conn
                .lock()
                .map_err(|_| SqlError::Io("the database connection is unavailable".into()))?;
            run(&conn, &statement, &parameters)
        })
        .await
        .map_err(SqlError::Io)?;
        guard.0 = None;
        rows
    }
}

/// Runs one statement on the (locked) connection.
fn run(conn: &Connection, statement: &str, parameters: &[Value]) -> Result<Rows, SqlError> {
    let sql = |e: rusqlite::Error| SqlError::Io(e.to_string());
    let mut stmt = conn.prepare_cached(statement).map_err(sql)?;
    let columns: Vec<String> = stmt.column_names().into_iter().map(str::to_owned).collect();
    let params = rusqlite::params_from_iter(parameters.iter().map(|v| match v {
        Value::Integer(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
        Value::Real(f) => ToSqlOutput::Borrowed(ValueRef::Real(*f)),
        Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        Value::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
    }));
    let mut rows = stmt.query(params).map_err(sql)?;
    let (mut out, mut bytes) = (Vec::new(), 0usize);
    while let Some(row) = rows.next().map_err(sql)? {
        let mut values = Vec::with_capacity(columns.len());
        for i in 0..columns.len() {
            let value = match row.get_ref(i).map_err(sql)? {
                ValueRef::Integer(i) => Value::Integer(i),
                ValueRef::Real(f) => Value::Real(f),
                ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Value::Blob(b.to_vec()),
                ValueRef::Null => Value::Null,
            };
            bytes += match &value {
                Value::Text(t) => t.len(),
                Value::Blob(b) => b.len(),
                _ => 0,
            } + 16;
            values.push(value);
        }
        if bytes > MAX_RESULT_BYTES {
            return Err(SqlError::Io(format!(
                "the result is larger than {} MiB; select fewer rows or columns (LIMIT)",
                MAX_RESULT_BYTES >> 20
            )));
        }
        out.push(values);
    }
    Ok(Rows { columns, rows: out })
}
