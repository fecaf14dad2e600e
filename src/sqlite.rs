//! SQLite databases for `sqlite_databases`, as Spin serves them without a
//! runtime configuration: the `default` database is `sqlite_db.db` in the
//! state directory (see [`crate::kv::state_dir`]); any other label is
//! `no-such-database`, and a label the component does not declare is
//! `access-denied`.
//!
//! Statements run on tokio's blocking pool, never on the async workers,
//! at most [`MAX_RUNNING`] at a time across the process, each database
//! behind its own connection with a busy timeout: a slow query holds up
//! only the requests that wait for the same database.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;
use rusqlite::types::{ToSqlOutput, ValueRef};
use tokio::sync::Semaphore;

/// Statements running at once, process-wide (each holds a blocking thread).
pub const MAX_RUNNING: usize = 16;

/// How long a statement waits for another connection's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

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
    Io(String),
}

/// The process's databases, opened on first use and shared by every
/// component and app generation.
pub struct Databases {
    dir: PathBuf,
    open: Mutex<HashMap<String, Arc<Mutex<Connection>>>>,
    running: Semaphore,
}

impl Databases {
    /// Databases in the state directory `dir` (created when first needed).
    pub fn new(dir: &Path) -> Arc<Self> {
        Arc::new(Self {
            dir: dir.to_path_buf(),
            open: Mutex::new(HashMap::new()),
            running: Semaphore::new(MAX_RUNNING),
        })
    }

    /// The file of database `label`, if there is one.
    pub fn path(&self, label: &str) -> Option<PathBuf> {
        (label == "default").then(|| self.dir.join("sqlite_db.db"))
    }

    fn connection(&self, label: &str) -> Result<Arc<Mutex<Connection>>, SqlError> {
        let path = self.path(label).ok_or(SqlError::NoSuchDatabase)?;
        let mut open = self
            .open
            .lock()
            .map_err(|_| SqlError::Io("the database registry is unavailable".into()))?;
        if let Some(conn) = open.get(label) {
            return Ok(conn.clone());
        }
        let io = |e: &dyn std::fmt::Display| SqlError::Io(format!("{}: {e}", path.display()));
        std::fs::create_dir_all(&self.dir).map_err(|e| io(&e))?;
        let conn = Connection::open(&path).map_err(|e| io(&e))?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| io(&e))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| io(&e))?;
        tracing::info!(database = %label, path = %path.display(), "SQLite database open");
        let conn = Arc::new(Mutex::new(conn));
        open.insert(label.to_owned(), conn.clone());
        Ok(conn)
    }
}

/// What one component may open: its `sqlite_databases`.
#[derive(Clone, Default)]
pub struct SqliteAccess {
    pub databases: Option<Arc<Databases>>,
    pub labels: Arc<Vec<String>>,
}

/// An open database, behind a guest's connection handle.
#[derive(Clone)]
pub struct SqliteConnection {
    label: String,
    conn: Arc<Mutex<Connection>>,
    databases: Arc<Databases>,
    /// What this handle's own statements did (the connection is shared).
    stats: Arc<Mutex<Stats>>,
}

/// `last-insert-rowid` and `changes` as one handle sees them.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    /// The rowid of this handle's most recent INSERT, or 0.
    pub last_insert_rowid: i64,
    /// Rows changed by this handle's most recent INSERT, UPDATE or DELETE.
    pub changes: u64,
}

impl SqliteAccess {
    /// Opens `label`: it must be declared, then exist.
    pub fn open(&self, label: &str) -> Result<SqliteConnection, SqlError> {
        let Some(databases) = &self.databases else {
            return Err(SqlError::AccessDenied);
        };
        if !self.labels.iter().any(|l| l == label) {
            return Err(SqlError::AccessDenied);
        }
        Ok(SqliteConnection {
            label: label.to_owned(),
            conn: databases.connection(label)?,
            databases: databases.clone(),
            stats: Arc::default(),
        })
    }
}

impl SqliteConnection {
    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn stats(&self) -> Stats {
        self.stats.lock().map(|s| *s).unwrap_or_default()
    }

    /// Runs `statement` with `parameters` off the async workers.
    pub async fn execute(
        &self,
        statement: String,
        parameters: Vec<Value>,
    ) -> Result<Rows, SqlError> {
        let _permit = self
            .databases
            .running
            .acquire()
            .await
            .map_err(|_| SqlError::Io("the database is shutting down".into()))?;
        let (conn, stats) = (self.conn.clone(), self.stats.clone());
        tokio::task::spawn_blocking(move || {
            let conn = conn
                .lock()
                .map_err(|_| SqlError::Io("the database connection is unavailable".into()))?;
            let (rows, write) =
                run(&conn, &statement, &parameters).map_err(|e| SqlError::Io(e.to_string()))?;
            if let (Some(write), Ok(mut stats)) = (write, stats.lock()) {
                stats.changes = write.changes;
                if let Some(rowid) = write.inserted {
                    stats.last_insert_rowid = rowid;
                }
            }
            Ok(rows)
        })
        .await
        .map_err(|e| SqlError::Io(format!("the statement did not finish: {e}")))?
    }
}

/// What a writing statement did.
struct Write {
    changes: u64,
    /// The new rowid, if it inserted a row.
    inserted: Option<i64>,
}

/// Runs one statement on the (locked) connection: its rows, and what it
/// wrote if it is not read-only.
fn run(
    conn: &Connection,
    statement: &str,
    parameters: &[Value],
) -> rusqlite::Result<(Rows, Option<Write>)> {
    let rowid_before = conn.last_insert_rowid();
    let mut stmt = conn.prepare_cached(statement)?;
    let writes = !stmt.readonly();
    let columns: Vec<String> = stmt.column_names().into_iter().map(str::to_owned).collect();
    let params = rusqlite::params_from_iter(parameters.iter().map(|v| match v {
        Value::Integer(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
        Value::Real(f) => ToSqlOutput::Borrowed(ValueRef::Real(*f)),
        Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        Value::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
    }));
    let width = columns.len();
    let rows = stmt
        .query_map(params, |row| {
            (0..width)
                .map(|i| {
                    Ok(match row.get_ref(i)? {
                        ValueRef::Integer(i) => Value::Integer(i),
                        ValueRef::Real(f) => Value::Real(f),
                        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
                        ValueRef::Null => Value::Null,
                    })
                })
                .collect()
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    drop(stmt);
    let write = writes.then(|| {
        let rowid = conn.last_insert_rowid();
        Write {
            changes: conn.changes(),
            inserted: (rowid != rowid_before).then_some(rowid),
        }
    });
    Ok((Rows { columns, rows }, write))
}
