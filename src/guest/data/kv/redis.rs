//! Key-value stores in Redis (`type = "redis"` in the runtime
//! configuration), laid out as Spin lays them out, so that Spin and
//! wasi-httpd hosts can share one server: keys are the guest's keys as
//! they are (every label on one server shares its keyspace), values are
//! the bytes, and counters are Redis integers (`INCRBY`).
//!
//! One multiplexed connection per server URL, made at the first call and
//! remade after a failure, with connect and response timeouts; a request
//! past its deadline drops its call.

use std::sync::Arc;
use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;

use super::KeyValue;
use crate::guest::data::runtime_config::redacted;

/// How long making a connection, or waiting for one answer, may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// The most bytes a listing of keys may take in the host.
const MAX_KEYS_BYTES: usize = crate::guest::data::sqlite::MAX_RESULT_BYTES;

/// Sets a key only if its value is what the guest read: `ARGV[1]` is `1`
/// when there was a value (`ARGV[2]`), `0` when the key was absent.
const COMPARE_AND_SWAP: &str = r"
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if current ~= ARGV[2] then return 0 end
elseif current then
  return 0
end
redis.call('SET', KEYS[1], ARGV[3])
return 1
";

/// One Redis server.
pub struct RedisKv {
    client: redis::Client,
    /// The URL with its password hidden, for logs and errors.
    shown: String,
    connection: OnceCell<ConnectionManager>,
    swap: redis::Script,
}

impl RedisKv {
    /// A server at `url` (checked by the runtime configuration); nothing
    /// connects until the first call.
    pub fn new(url: &str) -> anyhow::Result<Arc<Self>> {
        let shown = redacted(url);
        let client = redis::Client::open(url)
            .map_err(|e| anyhow::anyhow!("Redis at {shown}: {}", e.category()))?;
        Ok(Arc::new(Self {
            client,
            shown,
            connection: OnceCell::new(),
            swap: redis::Script::new(COMPARE_AND_SWAP),
        }))
    }

    pub fn describe(&self) -> &str {
        &self.shown
    }

    /// The connection, made if this is the first call (or the first to
    /// succeed).
    async fn connection(&self) -> Result<ConnectionManager, String> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(2);
        self.connection
            .get_or_try_init(|| ConnectionManager::new_with_config(self.client.clone(), config))
            .await
            .cloned()
            .map_err(|e| self.error(e))
    }

    /// A Redis error as the guest sees it (and the log): never the URL's
    /// password.
    fn error(&self, e: redis::RedisError) -> String {
        format!("Redis at {}: {e}", self.shown)
    }

    /// Sets `pairs` from the loading thread (`--key-value`), on a
    /// connection of its own (the shared one belongs to the guests'
    /// runtime).
    pub fn seed(&self, pairs: &[(String, String)]) -> anyhow::Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime
            .block_on(async {
                let mut c =
                    tokio::time::timeout(TIMEOUT, self.client.get_multiplexed_async_connection())
                        .await
                        .map_err(|_| {
                            format!("Redis at {}: no connection in {TIMEOUT:?}", self.shown)
                        })?
                        .map_err(|e| self.error(e))?;
                let pairs: Vec<(&str, &[u8])> = pairs
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_bytes()))
                    .collect();
                c.mset::<_, _, ()>(&pairs).await.map_err(|e| self.error(e))
            })
            .map_err(|e| anyhow::anyhow!("--key-value: {e}"))
    }

    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        let mut c = self.connection().await?;
        c.get(key).await.map_err(|e| self.error(e))
    }

    pub async fn set(&self, key: &str, value: Vec<u8>) -> Result<(), String> {
        let mut c = self.connection().await?;
        c.set(key, value).await.map_err(|e| self.error(e))
    }

    pub async fn delete(&self, key: &str) -> Result<(), String> {
        let mut c = self.connection().await?;
        c.del(key).await.map_err(|e| self.error(e))
    }

    pub async fn exists(&self, key: &str) -> Result<bool, String> {
        let mut c = self.connection().await?;
        c.exists(key).await.map_err(|e| self.error(e))
    }

    /// Every key, by `SCAN` (which does not block the server as `KEYS`
    /// does), sorted, up to [`MAX_KEYS_BYTES`].
    pub async fn keys(&self) -> Result<Vec<String>, String> {
        let mut c = self.connection().await?;
        let mut keys = Vec::new();
        let mut bytes = 0usize;
        let mut cursor = 0u64;
        loop {
            let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut c)
                .await
                .map_err(|e| self.error(e))?;
            for key in batch {
                bytes += key.len() + 24;
                if bytes > MAX_KEYS_BYTES {
                    return Err(format!(
                        "the keys take more than {} MiB; list fewer",
                        MAX_KEYS_BYTES >> 20
                    ));
                }
                keys.push(key);
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
        keys.sort_unstable();
        keys.dedup();
        Ok(keys)
    }

    pub async fn increment(&self, key: &str, delta: i64) -> Result<i64, String> {
        let mut c = self.connection().await?;
        c.incr(key, delta).await.map_err(|e| self.error(e))
    }

    pub async fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<Vec<u8>>,
        value: Vec<u8>,
    ) -> Result<bool, String> {
        let mut c = self.connection().await?;
        let had = if expected.is_some() { "1" } else { "0" };
        let swapped: i64 = self
            .swap
            .key(key)
            .arg(had)
            .arg(expected.unwrap_or_default())
            .arg(value)
            .invoke_async(&mut c)
            .await
            .map_err(|e| self.error(e))?;
        Ok(swapped == 1)
    }

    pub async fn get_many(&self, keys: Vec<String>) -> Result<Vec<KeyValue>, String> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut c = self.connection().await?;
        let values: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
            .arg(&keys)
            .query_async(&mut c)
            .await
            .map_err(|e| self.error(e))?;
        Ok(keys.into_iter().zip(values).collect())
    }

    pub async fn set_many(&self, pairs: Vec<(String, Vec<u8>)>) -> Result<(), String> {
        if pairs.is_empty() {
            return Ok(());
        }
        let mut c = self.connection().await?;
        c.mset(&pairs).await.map_err(|e| self.error(e))
    }

    pub async fn delete_many(&self, keys: Vec<String>) -> Result<(), String> {
        if keys.is_empty() {
            return Ok(());
        }
        let mut c = self.connection().await?;
        c.del(keys).await.map_err(|e| self.error(e))
    }
}
