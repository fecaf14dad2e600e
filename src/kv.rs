//! Key-value stores for `key_value_stores`, in one embedded SQLite database
//! that survives restarts: `$STATE_DIRECTORY/key-value.sqlite` under
//! systemd, else `.wasi-httpd/key-value.sqlite` next to the manifest. Each
//! store label is its own namespace; a component may open only the labels
//! it declares, as in Spin.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension, params};

/// The database, shared by every component and app generation.
pub struct KvDb {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl KvDb {
    /// Opens (creating if needed) the database for the app at `base_dir`.
    pub fn open(base_dir: &Path) -> Result<Arc<Self>> {
        let dir = match std::env::var_os("STATE_DIRECTORY") {
            Some(dirs) => std::env::split_paths(&dirs).next().unwrap_or_default(),
            None => base_dir.join(".wasi-httpd"),
        };
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create the key-value directory {}", dir.display()))?;
        let path = dir.join("key-value.sqlite");
        let conn = Connection::open(&path)
            .with_context(|| format!("cannot open the key-value database {}", path.display()))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA busy_timeout = 5000;
             CREATE TABLE IF NOT EXISTS kv (
                 store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
                 PRIMARY KEY (store, key)) WITHOUT ROWID;",
        )
        .with_context(|| format!("cannot set up the key-value database {}", path.display()))?;
        Ok(Arc::new(Self {
            path,
            conn: Mutex::new(conn),
        }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, String> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| "key-value database unavailable".to_owned())?;
        f(&conn).map_err(|e| format!("key-value database error: {e}"))
    }
}

/// What a component may open: its declared labels in the shared database.
#[derive(Clone, Default)]
pub struct KvAccess {
    pub db: Option<Arc<KvDb>>,
    pub labels: Arc<Vec<String>>,
}

pub enum OpenError {
    NotDeclared,
    Unavailable(String),
}

impl KvAccess {
    pub fn open(&self, label: &str) -> Result<KvStore, OpenError> {
        if !self.labels.iter().any(|l| l == label) {
            return Err(OpenError::NotDeclared);
        }
        let db = self
            .db
            .clone()
            .ok_or_else(|| OpenError::Unavailable("no key-value database".into()))?;
        Ok(KvStore {
            db,
            label: label.to_owned(),
        })
    }
}

/// One open store (the guest's `store` resource).
pub struct KvStore {
    db: Arc<KvDb>,
    label: String,
}

impl KvStore {
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        self.db.with(|c| {
            c.query_row(
                "SELECT value FROM kv WHERE store = ?1 AND key = ?2",
                params![self.label, key],
                |r| r.get(0),
            )
            .optional()
        })
    }

    pub fn set(&self, key: &str, value: &[u8]) -> Result<(), String> {
        self.db.with(|c| {
            c.execute(
                "INSERT INTO kv (store, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
                params![self.label, key, value],
            )
            .map(|_| ())
        })
    }

    pub fn delete(&self, key: &str) -> Result<(), String> {
        self.db.with(|c| {
            c.execute(
                "DELETE FROM kv WHERE store = ?1 AND key = ?2",
                params![self.label, key],
            )
            .map(|_| ())
        })
    }

    pub fn exists(&self, key: &str) -> Result<bool, String> {
        self.get(key).map(|v| v.is_some())
    }

    pub fn keys(&self) -> Result<Vec<String>, String> {
        self.db.with(|c| {
            let mut stmt = c.prepare("SELECT key FROM kv WHERE store = ?1 ORDER BY key")?;
            let keys = stmt
                .query_map(params![self.label], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(keys)
        })
    }
}
