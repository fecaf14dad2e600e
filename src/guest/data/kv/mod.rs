//! Key-value stores for `key_value_stores`, as Spin places them: the
//! `default` label is `key-value.sqlite` in the state directory unless the
//! runtime configuration says otherwise; any other label must be defined
//! there (`[key_value_store.<label>]`, SQLite or Redis), or the app does
//! not load. A component may open only the labels it declares.
//!
//! Every call is async and runs off the async workers: SQLite on the
//! blocking pool ([`local`]), Redis over its connection ([`redis`]).

pub mod local;
pub mod redis;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};

use crate::guest::data::runtime_config::{KvConfig, RuntimeConfig};
use local::{LocalKv, Schema};
use redis::RedisKv;

/// A key and its value, if it has one.
pub type KeyValue = (String, Option<Vec<u8>>);

/// Where a store's data is.
#[derive(Clone)]
pub enum Backend {
    Local(Arc<LocalKv>),
    Redis(Arc<RedisKv>),
}

impl Backend {
    /// For logs: the file or the server (never a password).
    pub fn describe(&self) -> String {
        match self {
            Backend::Local(db) => format!("SQLite {}", db.describe()),
            Backend::Redis(server) => format!("Redis {}", server.describe()),
        }
    }
}

/// Where a backend lives, which decides whether two labels (or two
/// generations) share it.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Place {
    Local(Option<PathBuf>, Schema),
    Redis(String),
}

/// The backends open in this process, kept across reloads while a
/// configuration still names them (so a reload keeps connections and an
/// in-memory store keeps its data).
#[derive(Default)]
pub struct Backends {
    open: HashMap<Place, Backend>,
}

impl Backends {
    /// The stores of one load: each label a component declares, resolved
    /// against `config`, opened when first used.
    pub fn resolve(&mut self, config: &RuntimeConfig, state_dir: &Path) -> Resolver<'_> {
        Resolver {
            backends: self,
            config: config.clone(),
            state_dir: state_dir.to_path_buf(),
            used: HashMap::new(),
            labels: HashMap::new(),
        }
    }
}

/// Resolves labels for one load, then keeps only the backends it used.
pub struct Resolver<'a> {
    backends: &'a mut Backends,
    config: RuntimeConfig,
    state_dir: PathBuf,
    used: HashMap<Place, Backend>,
    labels: HashMap<String, Backend>,
}

impl Resolver<'_> {
    /// What component `component` may open: its declared `labels`.
    pub fn access(&mut self, component: &str, labels: &[String]) -> Result<KvAccess> {
        let mut stores = HashMap::new();
        for (i, label) in labels.iter().enumerate() {
            let backend = self.backend(label).with_context(|| {
                format!("`component.{component}.key_value_stores[{i}]` ({label:?})")
            })?;
            stores.insert(label.clone(), backend);
        }
        Ok(KvAccess {
            stores: Arc::new(stores),
        })
    }

    fn backend(&mut self, label: &str) -> Result<Backend> {
        if let Some(backend) = self.labels.get(label) {
            return Ok(backend.clone());
        }
        let place = match self.config.key_value.get(label) {
            Some(KvConfig::Local(path)) => Place::Local(path.clone(), Schema::Spin),
            Some(KvConfig::Redis(url)) => Place::Redis(url.clone()),
            None if label == "default" => {
                Place::Local(Some(self.state_dir.join("key-value.sqlite")), Schema::Own)
            }
            None => bail!(
                "the key-value store {label:?} is not defined: only `default` is there without \
                 configuration; define it in a runtime configuration file (--runtime-config-file) \
                 as [key_value_store.{label}] with type = \"spin\" (and a `path`) or \
                 type = \"redis\" (and a `url`), or fix the label"
            ),
        };
        let backend = match self.backends.open.get(&place) {
            Some(backend) => backend.clone(),
            None => {
                let backend = match &place {
                    Place::Local(path, schema) => {
                        Backend::Local(LocalKv::open(path.as_deref(), *schema)?)
                    }
                    Place::Redis(url) => Backend::Redis(RedisKv::new(url)?),
                };
                tracing::info!(store = %label, backend = %backend.describe(), "key-value store ready");
                backend
            }
        };
        self.used.insert(place, backend.clone());
        self.labels.insert(label.to_owned(), backend.clone());
        Ok(backend)
    }

    /// Sets `pairs` in the `default` store (`--key-value`), from the
    /// loading thread.
    pub fn seed(&mut self, pairs: &[(String, String)]) -> Result<()> {
        match self.backend("default")? {
            Backend::Local(db) => db.seed("default", pairs),
            Backend::Redis(server) => server.seed(pairs),
        }
    }

    /// The load succeeded: keep the backends it uses, close the rest.
    pub fn commit(self) {
        self.backends.open = self.used;
    }
}

/// What a component may open: its declared labels and their backends.
#[derive(Clone, Default)]
pub struct KvAccess {
    stores: Arc<HashMap<String, Backend>>,
}

impl KvAccess {
    /// Opens `label`, if the component declared it.
    pub fn open(&self, label: &str) -> Option<KvStore> {
        self.stores.get(label).map(|backend| KvStore {
            backend: backend.clone(),
            label: label.into(),
        })
    }
}

/// One open store (the guest's `store` or `bucket` resource).
#[derive(Clone)]
pub struct KvStore {
    backend: Backend,
    label: Arc<str>,
}

impl KvStore {
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        match &self.backend {
            Backend::Local(db) => db.get(&self.label, key).await,
            Backend::Redis(server) => server.get(key).await,
        }
    }

    pub async fn set(&self, key: &str, value: Vec<u8>) -> Result<(), String> {
        match &self.backend {
            Backend::Local(db) => db.set(&self.label, key, value).await,
            Backend::Redis(server) => server.set(key, value).await,
        }
    }

    pub async fn delete(&self, key: &str) -> Result<(), String> {
        match &self.backend {
            Backend::Local(db) => db.delete(&self.label, key).await,
            Backend::Redis(server) => server.delete(key).await,
        }
    }

    pub async fn exists(&self, key: &str) -> Result<bool, String> {
        match &self.backend {
            Backend::Local(db) => db.get(&self.label, key).await.map(|v| v.is_some()),
            Backend::Redis(server) => server.exists(key).await,
        }
    }

    /// Every key, sorted.
    pub async fn keys(&self) -> Result<Vec<String>, String> {
        match &self.backend {
            Backend::Local(db) => db.keys(&self.label).await,
            Backend::Redis(server) => server.keys().await,
        }
    }

    /// Adds `delta` to the counter at `key` (absent counts as 0); returns
    /// the new value.
    pub async fn increment(&self, key: &str, delta: i64) -> Result<i64, String> {
        match &self.backend {
            Backend::Local(db) => db.increment(&self.label, key, delta).await,
            Backend::Redis(server) => server.increment(key, delta).await,
        }
    }

    /// Sets `key` to `value` if its value is still `expected` (`None`:
    /// absent); says whether it did.
    pub async fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<Vec<u8>>,
        value: Vec<u8>,
    ) -> Result<bool, String> {
        match &self.backend {
            Backend::Local(db) => db.compare_and_swap(&self.label, key, expected, value).await,
            Backend::Redis(server) => server.compare_and_swap(key, expected, value).await,
        }
    }

    /// The values of `keys` (absent ones as `None`), in order.
    pub async fn get_many(&self, keys: Vec<String>) -> Result<Vec<KeyValue>, String> {
        match &self.backend {
            Backend::Local(db) => db.get_many(&self.label, keys).await,
            Backend::Redis(server) => server.get_many(keys).await,
        }
    }

    /// Sets every pair, all or nothing.
    pub async fn set_many(&self, pairs: Vec<(String, Vec<u8>)>) -> Result<(), String> {
        match &self.backend {
            Backend::Local(db) => db.set_many(&self.label, pairs).await,
            Backend::Redis(server) => server.set_many(pairs).await,
        }
    }

    /// Deletes every key, all or nothing.
    pub async fn delete_many(&self, keys: Vec<String>) -> Result<(), String> {
        match &self.backend {
            Backend::Local(db) => db.delete_many(&self.label, keys).await,
            Backend::Redis(server) => server.delete_many(keys).await,
        }
    }
}

#[cfg(test)]
mod tests;
