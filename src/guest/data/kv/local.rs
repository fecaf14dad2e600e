//! Key-value stores in an embedded SQLite database: a file that survives
//! restarts, or one kept in memory for the life of the process. Each
//! store label is its own namespace (a `store` column). Work runs on
//! tokio's blocking pool, never on the async workers: each database keeps a
//! few connections (SQLite's WAL lets readers run beside a writer), and the
//! process bounds how many database calls run at once
//! ([`crate::guest::data::blocking_slots`]).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::Semaphore;

use super::KeyValue;

/// How a database's table is named: wasi-httpd's own default file, or
/// the layout Spin's `type = "spin"` stores use (so a Spin app's existing
/// file can be served as it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Schema {
    /// `key-value.sqlite` in the state directory: table `kv`.
    Own,
    /// A runtime-configured store: Spin's table `spin_key_value`.
    Spin,
}

impl Schema {
    fn table(self) -> &'static str {
        match self {
            Schema::Own => "kv",
            Schema::Spin => "spin_key_value",
        }
    }
}

/// Connections one file database keeps (one for a database in memory,
/// which exists only as long as its one connection).
const FILE_CONNECTIONS: usize = 4;

/// One SQLite key-value database.
pub struct LocalKv {
    path: Option<PathBuf>,
    table: &'static str,
    idle: Mutex<Vec<Connection>>,
    /// Connections in use at once.
    connections: Arc<Semaphore>,
}

impl LocalKv {
    /// Opens (creating if needed) the database at `path`, or one in memory.
    pub fn open(path: Option<&Path>, schema: Schema) -> Result<Arc<Self>> {
        let conn = crate::guest::data::open_sqlite(path).map_err(|e| {
            anyhow::anyhow!("cannot open the key-value database {}: {e}", describe(path))
        })?;
        let table = schema.table();
        conn.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS {table} (
                 store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
                 PRIMARY KEY (store, key));"
        ))
        .with_context(|| format!("cannot set up the key-value database {}", describe(path)))?;
        let connections = if path.is_some() { FILE_CONNECTIONS } else { 1 };
        Ok(Arc::new(Self {
            path: path.map(Path::to_path_buf),
            table,
            idle: Mutex::new(vec![conn]),
            connections: Arc::new(Semaphore::new(connections)),
        }))
    }

    /// The file, or "in memory", for logs.
    pub fn describe(&self) -> String {
        describe(self.path.as_deref())
    }

    /// Runs `f` on a connection, on the blocking pool.
    async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut Connection, &'static str) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, String> {
        let connection = self
            .connections
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| "the key-value database is shutting down".to_owned())?;
        let this = self.clone();
        crate::guest::data::run_blocking(connection, move || {
            let mut conn = this.take()?;
            let result = f(&mut conn, this.table).map_err(db_error);
            this.give_back(conn);
            result
        })
        .await?
    }

    /// An idle connection, or a new one (never for memory: its one
    /// connection is always idle when a slot is free).
    fn take(&self) -> Result<Connection, String> {
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        if let Some(conn) = idle {
            return Ok(conn);
        }
        let path = self
            .path
            .as_deref()
            .ok_or_else(|| "the in-memory key-value database is gone".to_owned())?;
        crate::guest::data::open_sqlite(Some(path))
    }

    fn give_back(&self, conn: Connection) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(conn);
        }
    }

    /// Sets `pairs` in `label` at once, from the loading thread
    /// (`--key-value`).
    pub fn seed(&self, label: &str, pairs: &[(String, String)]) -> Result<()> {
        let mut conn = self.take().map_err(anyhow::Error::msg)?;
        let tx = conn.transaction()?;
        for (key, value) in pairs {
            set_in(&tx, self.table, label, key, value.as_bytes())
                .with_context(|| format!("--key-value {key}=..."))?;
        }
        tx.commit()?;
        self.give_back(conn);
        Ok(())
    }

    pub async fn get(self: &Arc<Self>, label: &str, key: &str) -> Result<Option<Vec<u8>>, String> {
        let (label, key) = (label.to_owned(), key.to_owned());
        self.run(move |c, t| get_in(c, t, &label, &key)).await
    }

    pub async fn set(
        self: &Arc<Self>,
        label: &str,
        key: &str,
        value: Vec<u8>,
    ) -> Result<(), String> {
        let (label, key) = (label.to_owned(), key.to_owned());
        self.run(move |c, t| set_in(c, t, &label, &key, &value))
            .await
    }

    pub async fn delete(self: &Arc<Self>, label: &str, key: &str) -> Result<(), String> {
        let (label, key) = (label.to_owned(), key.to_owned());
        self.run(move |c, t| delete_in(c, t, &label, &key)).await
    }

    pub async fn keys(self: &Arc<Self>, label: &str) -> Result<Vec<String>, String> {
        let label = label.to_owned();
        self.run(move |c, t| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT key FROM {t} WHERE store = ?1 ORDER BY key"
            ))?;
            stmt.query_map(params![label], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()
        })
        .await
    }

    /// Adds `delta` to the counter at `key` (absent counts as 0), stored as
    /// 8 little-endian bytes as Spin's SQLite store keeps it.
    pub async fn increment(
        self: &Arc<Self>,
        label: &str,
        key: &str,
        delta: i64,
    ) -> Result<i64, String> {
        let (label, key) = (label.to_owned(), key.to_owned());
        self.run(move |c, t| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let next = match get_in(&tx, t, &label, &key)? {
                None => Ok(delta),
                Some(bytes) => match <[u8; 8]>::try_from(bytes.as_slice()) {
                    Ok(bytes) => i64::from_le_bytes(bytes)
                        .checked_add(delta)
                        .ok_or_else(|| format!("incrementing {key:?} by {delta} overflows")),
                    Err(_) => Err(format!(
                        "the value at {key:?} is {} bytes, not an 8-byte little-endian counter",
                        bytes.len()
                    )),
                },
            };
            if let Ok(next) = next {
                set_in(&tx, t, &label, &key, &next.to_le_bytes())?;
                tx.commit()?;
            }
            Ok(next)
        })
        .await?
    }

    /// Sets `key` to `value` if its value is still `expected` (`None`:
    /// absent); says whether it did.
    pub async fn compare_and_swap(
        self: &Arc<Self>,
        label: &str,
        key: &str,
        expected: Option<Vec<u8>>,
        value: Vec<u8>,
    ) -> Result<bool, String> {
        let (label, key) = (label.to_owned(), key.to_owned());
        self.run(move |c, t| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            if get_in(&tx, t, &label, &key)? != expected {
                return Ok(false);
            }
            set_in(&tx, t, &label, &key, &value)?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    /// The values of `keys` (absent ones as `None`), in order, as of one
    /// moment.
    pub async fn get_many(
        self: &Arc<Self>,
        label: &str,
        keys: Vec<String>,
    ) -> Result<Vec<KeyValue>, String> {
        let label = label.to_owned();
        self.run(move |c, t| {
            let tx = c.transaction()?;
            let values = keys
                .into_iter()
                .map(|key| get_in(&tx, t, &label, &key).map(|v| (key, v)))
                .collect::<rusqlite::Result<Vec<_>>>()?;
            tx.commit()?;
            Ok(values)
        })
        .await
    }

    /// Sets every pair, all or nothing.
    pub async fn set_many(
        self: &Arc<Self>,
        label: &str,
        pairs: Vec<(String, Vec<u8>)>,
    ) -> Result<(), String> {
        let label = label.to_owned();
        self.run(move |c, t| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            for (key, value) in &pairs {
                set_in(&tx, t, &label, key, value)?;
            }
            tx.commit()
        })
        .await
    }

    /// Deletes every key, all or nothing.
    pub async fn delete_many(
        self: &Arc<Self>,
        label: &str,
        keys: Vec<String>,
    ) -> Result<(), String> {
        let label = label.to_owned();
        self.run(move |c, t| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            for key in &keys {
                delete_in(&tx, t, &label, key)?;
            }
            tx.commit()
        })
        .await
    }
}

fn describe(path: Option<&Path>) -> String {
    path.map_or_else(|| "in memory".to_owned(), |p| p.display().to_string())
}

fn get_in(
    c: &Connection,
    table: &str,
    label: &str,
    key: &str,
) -> rusqlite::Result<Option<Vec<u8>>> {
    c.prepare_cached(&format!(
        "SELECT value FROM {table} WHERE store = ?1 AND key = ?2"
    ))?
    .query_row(params![label, key], |r| r.get(0))
    .optional()
}

fn set_in(
    c: &Connection,
    table: &str,
    label: &str,
    key: &str,
    value: &[u8],
) -> rusqlite::Result<()> {
    c.prepare_cached(&format!(
        "INSERT INTO {table} (store, key, value) VALUES (?1, ?2, ?3)
         ON CONFLICT (store, key) DO UPDATE SET value = excluded.value"
    ))?
    .execute(params![label, key, value])
    .map(|_| ())
}

fn delete_in(c: &Connection, table: &str, label: &str, key: &str) -> rusqlite::Result<()> {
    c.prepare_cached(&format!(
        "DELETE FROM {table} WHERE store = ?1 AND key = ?2"
    ))?
    .execute(params![label, key])
    .map(|_| ())
}

fn db_error(e: rusqlite::Error) -> String {
    format!("key-value database error: {e}")
}
