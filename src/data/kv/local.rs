//! Key-value stores for `key_value_stores`, in one embedded SQLite database
//! that survives restarts: `key-value.sqlite` in `--state-dir`, else
//! `$STATE_DIRECTORY` under systemd, else `.wasi-httpd/` next to the
//! manifest (see [`state_dir`]). Each
//! store label is its own namespace; a component may open only the labels
//! it declares, as in Spin.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension, params};

/// The directory of the state: `flag` (`--state-dir`), else the first of
/// systemd's `$STATE_DIRECTORY`, else `.wasi-httpd/` in `base_dir`.
pub fn state_dir(flag: Option<&Path>, base_dir: &Path) -> PathBuf {
    if let Some(dir) = flag {
        return dir.to_path_buf();
    }
    match std::env::var_os("STATE_DIRECTORY") {
        Some(dirs) => std::env::split_paths(&dirs).next().unwrap_or_default(),
        None => base_dir.join(".wasi-httpd"),
    }
}

/// The database, shared by every component and app generation.
pub struct KvDb {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl KvDb {
    /// Opens (creating if needed) the database in directory `dir`.
    pub fn open(dir: &Path) -> Result<Arc<Self>> {
        std::fs::create_dir_all(dir)
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

    /// Sets `pairs` in store `label` (`--key-value`).
    pub fn seed(self: &Arc<Self>, label: &str, pairs: &[(String, String)]) -> Result<()> {
        let store = KvStore {
            db: self.clone(),
            label: label.to_owned(),
        };
        for (key, value) in pairs {
            store
                .set(key, value.as_bytes())
                .map_err(|e| anyhow::anyhow!("--key-value {key}=...: {e}"))?;
        }
        Ok(())
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, String> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| "key-value database unavailable".to_owned())?;
        f(&conn).map_err(db_error)
    }

    /// Runs `f` in one transaction (immediate, that is write-locked from
    /// the start, if it `writes`): committed if `f` succeeds.
    fn atomically<T>(
        &self,
        writes: bool,
        f: impl FnOnce(&rusqlite::Transaction) -> Result<T, String>,
    ) -> Result<T, String> {
        let mut conn = self
            .conn
            .lock()
            .map_err(|_| "key-value database unavailable".to_owned())?;
        let behavior = if writes {
            rusqlite::TransactionBehavior::Immediate
        } else {
            rusqlite::TransactionBehavior::Deferred
        };
        let tx = conn.transaction_with_behavior(behavior).map_err(db_error)?;
        let value = f(&tx)?;
        tx.commit().map_err(db_error)?;
        Ok(value)
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

/// A key and its value, if it has one.
pub type KeyValue = (String, Option<Vec<u8>>);

/// One open store (the guest's `store` or `bucket` resource).
#[derive(Clone)]
pub struct KvStore {
    db: Arc<KvDb>,
    label: String,
}

impl KvStore {
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        self.db.with(|c| get_in(c, &self.label, key))
    }

    pub fn set(&self, key: &str, value: &[u8]) -> Result<(), String> {
        self.db.with(|c| set_in(c, &self.label, key, value))
    }

    pub fn delete(&self, key: &str) -> Result<(), String> {
        self.db.with(|c| delete_in(c, &self.label, key))
    }

    pub fn exists(&self, key: &str) -> Result<bool, String> {
        self.get(key).map(|v| v.is_some())
    }

    /// Adds `delta` to the counter at `key` (absent counts as 0), stored as
    /// 8 little-endian bytes as Spin stores it; returns the new value.
    pub fn increment(&self, key: &str, delta: i64) -> Result<i64, String> {
        self.db.atomically(true, |tx| {
            let current = get_in(tx, &self.label, key).map_err(db_error)?;
            let base = match current {
                None => 0,
                Some(bytes) => i64::from_le_bytes(bytes.as_slice().try_into().map_err(|_| {
                    format!(
                        "the value at {key:?} is {} bytes, not an 8-byte little-endian counter",
                        bytes.len()
                    )
                })?),
            };
            let next = base
                .checked_add(delta)
                .ok_or_else(|| format!("incrementing {key:?} by {delta} overflows"))?;
            set_in(tx, &self.label, key, &next.to_le_bytes()).map_err(db_error)?;
            Ok(next)
        })
    }

    /// Sets `key` to `value` if its value is still `expected` (`None`:
    /// absent); says whether it did.
    pub fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        value: &[u8],
    ) -> Result<bool, String> {
        self.db.atomically(true, |tx| {
            if get_in(tx, &self.label, key).map_err(db_error)?.as_deref() != expected {
                return Ok(false);
            }
            set_in(tx, &self.label, key, value).map_err(db_error)?;
            Ok(true)
        })
    }

    /// The values of `keys` (absent ones as `None`), in order.
    pub fn get_many(&self, keys: Vec<String>) -> Result<Vec<KeyValue>, String> {
        self.db.atomically(false, |tx| {
            keys.into_iter()
                .map(|key| {
                    let value = get_in(tx, &self.label, &key).map_err(db_error)?;
                    Ok((key, value))
                })
                .collect()
        })
    }

    /// Sets every pair, all or nothing.
    pub fn set_many(&self, pairs: &[(String, Vec<u8>)]) -> Result<(), String> {
        self.db.atomically(true, |tx| {
            pairs
                .iter()
                .try_for_each(|(key, value)| set_in(tx, &self.label, key, value))
                .map_err(db_error)
        })
    }

    /// Deletes every key, all or nothing.
    pub fn delete_many(&self, keys: &[String]) -> Result<(), String> {
        self.db.atomically(true, |tx| {
            keys.iter()
                .try_for_each(|key| delete_in(tx, &self.label, key))
                .map_err(db_error)
        })
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

fn get_in(c: &Connection, label: &str, key: &str) -> rusqlite::Result<Option<Vec<u8>>> {
    c.query_row(
        "SELECT value FROM kv WHERE store = ?1 AND key = ?2",
        params![label, key],
        |r| r.get(0),
    )
    .optional()
}

fn set_in(c: &Connection, label: &str, key: &str, value: &[u8]) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO kv (store, key, value) VALUES (?1, ?2, ?3)
         ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
        params![label, key, value],
    )
    .map(|_| ())
}

fn delete_in(c: &Connection, label: &str, key: &str) -> rusqlite::Result<()> {
    c.execute(
        "DELETE FROM kv WHERE store = ?1 AND key = ?2",
        params![label, key],
    )
    .map(|_| ())
}

fn db_error(e: rusqlite::Error) -> String {
    format!("key-value database error: {e}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(label: &str) -> (tempfile::TempDir, KvStore) {
        let dir = tempfile::tempdir().unwrap();
        let access = KvAccess {
            db: Some(KvDb::open(dir.path()).unwrap()),
            labels: Arc::new(vec![label.to_owned()]),
        };
        let store = access.open(label).ok().expect("declared label opens");
        (dir, store)
    }

    #[test]
    fn counters_are_little_endian_i64_starting_at_zero() {
        let (_dir, s) = store("default");
        assert_eq!(s.increment("n", 5), Ok(5));
        assert_eq!(s.increment("n", -7), Ok(-2));
        assert_eq!(s.get("n").unwrap(), Some((-2i64).to_le_bytes().to_vec()));
        s.set("text", b"abc").unwrap();
        assert!(s.increment("text", 1).unwrap_err().contains("8-byte"));
        s.set("max", &i64::MAX.to_le_bytes()).unwrap();
        assert!(s.increment("max", 1).unwrap_err().contains("overflows"));
        assert_eq!(s.get("max").unwrap(), Some(i64::MAX.to_le_bytes().to_vec()));
    }

    #[test]
    fn compare_and_swap_needs_the_value_unchanged() {
        let (_dir, s) = store("default");
        assert_eq!(s.compare_and_swap("k", None, b"first"), Ok(true));
        assert_eq!(s.compare_and_swap("k", None, b"again"), Ok(false));
        assert_eq!(s.compare_and_swap("k", Some(b"first"), b"second"), Ok(true));
        assert_eq!(s.get("k").unwrap(), Some(b"second".to_vec()));
    }

    #[test]
    fn batches_and_labels() {
        let (dir, s) = store("a");
        s.set_many(&[("x".into(), b"1".to_vec()), ("y".into(), b"2".to_vec())])
            .unwrap();
        assert_eq!(
            s.get_many(vec!["y".into(), "z".into()]).unwrap(),
            vec![("y".into(), Some(b"2".to_vec())), ("z".into(), None)]
        );
        s.delete_many(&["x".into()]).unwrap();
        assert_eq!(s.keys().unwrap(), vec!["y".to_owned()]);
        let access = KvAccess {
            db: Some(KvDb::open(dir.path()).unwrap()),
            labels: Arc::new(vec!["a".into(), "b".into()]),
        };
        let other = access.open("b").ok().unwrap();
        assert_eq!(other.keys().unwrap(), Vec::<String>::new());
        assert!(matches!(access.open("c"), Err(OpenError::NotDeclared)));
    }
}
