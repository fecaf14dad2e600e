//! Spin's outbound Redis: a guest opens a connection to a server its
//! `allowed_outbound_hosts` names (`redis://host:port`, `rediss://` for
//! TLS) and runs commands on it, as Spin's outbound Redis does: the same
//! operations, the same error cases, `execute`'s replies flattened into
//! Spin's result values.
//!
//! Each open connection is a multiplexed connection of its own, with
//! connect and response timeouts, and takes one of the process's
//! [`MAX_CONNECTIONS`] slots until the guest drops it (or its instance
//! goes); a reply larger than [`MAX_RESULT_BYTES`] is an error.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncCommands, ConnectionAddr, IntoConnectionInfo, Value};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::guest::data::runtime_config::redacted;
use crate::model::outbound_hosts::AllowedHosts;

/// Outbound Redis connections open at once, process-wide.
pub const MAX_CONNECTIONS: usize = 256;

/// The most a reply may take in the host (Spin's bound too).
pub const MAX_RESULT_BYTES: usize = crate::guest::data::sqlite::MAX_RESULT_BYTES;

/// How long connecting, or waiting for one reply, may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Why an operation failed, as Spin's interfaces report it.
#[derive(Debug)]
pub enum RedisError {
    /// Not a Redis URL.
    InvalidAddress,
    /// `allowed_outbound_hosts` does not let the guest reach the address
    /// (`invalid-address` to the guest, logged by the caller).
    Denied(String),
    TooManyConnections,
    TypeError,
    Other(String),
}

/// An argument of `execute`.
pub enum Param {
    Int64(i64),
    Binary(Vec<u8>),
}

/// One value of `execute`'s reply.
#[derive(Debug, PartialEq)]
pub enum Reply {
    Nil,
    Status(String),
    Int64(i64),
    Binary(Vec<u8>),
}

/// A guest's open connection (clones share it and its slot).
#[derive(Clone)]
pub struct RedisConnection {
    conn: MultiplexedConnection,
    /// The process's place for it, and the instance's.
    _slots: Arc<(OwnedSemaphorePermit, OwnedSemaphorePermit)>,
}

fn slots() -> Arc<Semaphore> {
    static SLOTS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    crate::guest::data::process_slots(&SLOTS, MAX_CONNECTIONS)
}

/// An error as Spin reports it: `other` with the text.
fn other(e: redis::RedisError) -> RedisError {
    RedisError::Other(e.to_string())
}

/// `sadd`'s errors: a reply of the wrong type is `type-error` there (and
/// only there), as in Spin.
fn typed(e: redis::RedisError) -> RedisError {
    if e.kind() == redis::ErrorKind::UnexpectedReturnType {
        return RedisError::TypeError;
    }
    other(e)
}

/// The scheme, host and port of `address` if it is a Redis URL an entry
/// of `allowed` names.
pub fn allowed_target(address: &str, allowed: &AllowedHosts) -> Option<(String, String, u16)> {
    let uri = address.parse::<http::Uri>().ok()?;
    match (uri.scheme_str(), uri.host()) {
        (Some(scheme @ ("redis" | "rediss")), Some(host)) => {
            let port = uri.port_u16().unwrap_or(6379);
            allowed
                .allows_parts(scheme, host, Some(port))
                .then(|| (scheme.to_owned(), host.to_owned(), port))
        }
        _ => None,
    }
}

impl RedisConnection {
    /// Connects to `address`, which `allowed` must allow.
    pub async fn open(
        address: &str,
        allowed: &AllowedHosts,
        held: OwnedSemaphorePermit,
    ) -> Result<Self, RedisError> {
        let (scheme, host, port) = allowed_target(address, allowed)
            .ok_or_else(|| RedisError::Denied("not a redis:// URL that an entry allows".into()))?;
        // Where the name leads must be reachable too (no link-local, and
        // loopback or private only when an entry names it).
        let checked = crate::guest::data::check_addresses(allowed, &scheme, &host, port)
            .await
            .map_err(RedisError::Denied)?;
        let slot = slots()
            .try_acquire_owned()
            .map_err(|_| RedisError::TooManyConnections)?;
        let info = address
            .into_connection_info()
            .map_err(|_| RedisError::InvalidAddress)?;
        // Plain TCP goes to the addresses just checked, not to a second
        // lookup's (which DNS could point elsewhere); TLS names the host,
        // whose certificate then proves where it leads.
        let targets: Vec<redis::ConnectionInfo> = match info.addr() {
            ConnectionAddr::Tcp(..) => checked
                .iter()
                .map(|a| {
                    info.clone()
                        .set_addr(ConnectionAddr::Tcp(a.ip().to_string(), port))
                })
                .collect(),
            _ => vec![info],
        };
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT));
        let mut failure = None;
        for target in targets {
            let client = redis::Client::open(target).map_err(|_| RedisError::InvalidAddress)?;
            match client
                .get_multiplexed_async_connection_with_config(&config)
                .await
            {
                Ok(conn) => {
                    return Ok(Self {
                        conn,
                        _slots: Arc::new((slot, held)),
                    });
                }
                Err(e) => failure = Some(e),
            }
        }
        let why = failure.map_or_else(|| "no address".to_owned(), |e| e.to_string());
        Err(RedisError::Other(format!(
            "Redis at {}: {why}",
            redacted(address)
        )))
    }

    fn conn(&self) -> MultiplexedConnection {
        self.conn.clone()
    }

    pub async fn publish(&self, channel: &str, payload: Vec<u8>) -> Result<(), RedisError> {
        self.conn().publish(channel, payload).await.map_err(other)
    }

    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, RedisError> {
        let value: Option<Vec<u8>> = self.conn().get(key).await.map_err(other)?;
        if value.as_ref().is_some_and(|v| v.len() > MAX_RESULT_BYTES) {
            return Err(too_large());
        }
        Ok(value)
    }

    pub async fn set(&self, key: &str, value: Vec<u8>) -> Result<(), RedisError> {
        self.conn().set(key, value).await.map_err(other)
    }

    pub async fn incr(&self, key: &str) -> Result<i64, RedisError> {
        self.conn().incr(key, 1).await.map_err(other)
    }

    pub async fn del(&self, keys: Vec<String>) -> Result<u32, RedisError> {
        self.conn().del(keys).await.map_err(other)
    }

    pub async fn sadd(&self, key: &str, values: Vec<String>) -> Result<u32, RedisError> {
        self.conn().sadd(key, values).await.map_err(typed)
    }

    pub async fn smembers(&self, key: &str) -> Result<Vec<String>, RedisError> {
        self.conn().smembers(key).await.map_err(other)
    }

    pub async fn srem(&self, key: &str, values: Vec<String>) -> Result<u32, RedisError> {
        self.conn().srem(key, values).await.map_err(other)
    }

    /// Runs any command; its reply flattened (arrays and sets into their
    /// items) into Spin's result values.
    pub async fn execute(
        &self,
        command: &str,
        params: Vec<Param>,
    ) -> Result<Vec<Reply>, RedisError> {
        let mut cmd = redis::cmd(command);
        for param in params {
            match param {
                Param::Int64(i) => cmd.arg(i),
                Param::Binary(b) => cmd.arg(b),
            };
        }
        let value: Value = cmd.query_async(&mut self.conn()).await.map_err(other)?;
        let mut replies = Vec::new();
        let mut bytes = 0;
        flatten(value, &mut replies, &mut bytes)?;
        Ok(replies)
    }
}

fn too_large() -> RedisError {
    RedisError::Other(format!(
        "the reply is larger than {} MiB",
        MAX_RESULT_BYTES >> 20
    ))
}

/// Appends `value` to `out` as Spin converts a reply.
fn flatten(value: Value, out: &mut Vec<Reply>, bytes: &mut usize) -> Result<(), RedisError> {
    let unsupported = |what: &str| {
        Err(RedisError::Other(format!(
            "Redis {what} replies are not supported"
        )))
    };
    let reply = match value {
        Value::Nil => Reply::Nil,
        Value::Int(i) => Reply::Int64(i),
        Value::BulkString(b) => Reply::Binary(b),
        Value::SimpleString(s) => Reply::Status(s),
        Value::Okay => Reply::Status("OK".to_owned()),
        Value::Double(d) => Reply::Binary(d.to_string().into_bytes()),
        Value::Boolean(b) => Reply::Int64(i64::from(b)),
        Value::BigNumber(n) => Reply::Binary(n),
        Value::Array(items) | Value::Set(items) => {
            return items.into_iter().try_for_each(|v| flatten(v, out, bytes));
        }
        Value::Map(_) => return unsupported("map"),
        Value::Attribute { .. } => return unsupported("attribute"),
        Value::VerbatimString { .. } => return unsupported("verbatim string"),
        Value::Push { .. } => return unsupported("push (pub/sub)"),
        Value::ServerError(e) => return Err(RedisError::Other(format!("Redis: {e:?}"))),
        _ => return unsupported("such"),
    };
    *bytes += 32
        + match &reply {
            Reply::Binary(b) => b.len(),
            Reply::Status(s) => s.len(),
            _ => 0,
        };
    if *bytes > MAX_RESULT_BYTES {
        return Err(too_large());
    }
    out.push(reply);
    Ok(())
}
