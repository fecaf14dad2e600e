//! Spin's outbound Redis interfaces over [`crate::guest::data::outbound_redis`]:
//! `fermyon:spin/redis@2.0.0` (spin-sdk 2–5; blocking for the guest, async
//! in the host) and the async `spin:redis/redis@3.0.0` (spin-sdk 6 and
//! later). A connection opens only to an address in the component's
//! `allowed_outbound_hosts`; any other is `invalid-address`, and logged.

use wasmtime::component::{Accessor, Resource};

use super::{Platform, redis_v2 as v2, redis_v3 as v3};
use crate::guest::data::outbound_redis::{Param, RedisConnection, RedisError, Reply};
use crate::guest::host::{Held, HostState};

/// The conversions between one version's generated types and
/// [`crate::guest::data::outbound_redis`]'s.
macro_rules! conversions {
    ($v:ident) => {
        impl From<RedisError> for $v::Error {
            fn from(e: RedisError) -> Self {
                match e {
                    RedisError::InvalidAddress | RedisError::Denied(_) => $v::Error::InvalidAddress,
                    RedisError::TooManyConnections => $v::Error::TooManyConnections,
                    RedisError::TypeError => $v::Error::TypeError,
                    RedisError::Other(why) => $v::Error::Other(why),
                }
            }
        }

        impl From<$v::RedisParameter> for Param {
            fn from(p: $v::RedisParameter) -> Self {
                match p {
                    $v::RedisParameter::Int64(i) => Param::Int64(i),
                    $v::RedisParameter::Binary(b) => Param::Binary(b),
                }
            }
        }

        impl From<Reply> for $v::RedisResult {
            fn from(r: Reply) -> Self {
                match r {
                    Reply::Nil => $v::RedisResult::Nil,
                    Reply::Status(s) => $v::RedisResult::Status(s),
                    Reply::Int64(i) => $v::RedisResult::Int64(i),
                    Reply::Binary(b) => $v::RedisResult::Binary(b),
                }
            }
        }
    };
}

conversions!(v2);
conversions!(v3);

impl HostState {
    /// Logs a denied address, once per instance (never its password).
    fn redis_denied(&mut self, address: &str, error: &RedisError) {
        let RedisError::Denied(why) = error else {
            return;
        };
        if self.first_warning(crate::guest::host::Warning::RedisDenied) {
            tracing::warn!(
                component = %self.outbound.component,
                request_id = %self.outbound.request_id(),
                address = %crate::guest::data::runtime_config::redacted(address),
                "Redis address not in allowed_outbound_hosts, or not reachable ({why}); \
                 denied (logged once per instance)"
            );
        }
    }

    fn redis_connection(
        &self,
        conn: &Resource<RedisConnection>,
    ) -> Result<RedisConnection, RedisError> {
        self.table
            .get(conn)
            .cloned()
            .map_err(|e| RedisError::Other(format!("bad Redis connection handle: {e}")))
    }
}

impl v2::Host for HostState {}

impl v2::HostConnection for HostState {
    async fn open(&mut self, address: String) -> Result<Resource<RedisConnection>, v2::Error> {
        let Some(held) = self.slot(Held::Redis) else {
            return Err(v2::Error::TooManyConnections);
        };
        let allowed = self.outbound.allowed.clone();
        let conn = RedisConnection::open(&address, &allowed, held)
            .await
            .inspect_err(|e| self.redis_denied(&address, e))?;
        self.table
            .push(conn)
            .map_err(|_| v2::Error::TooManyConnections)
    }

    async fn publish(
        &mut self,
        c: Resource<RedisConnection>,
        channel: String,
        payload: Vec<u8>,
    ) -> Result<(), v2::Error> {
        Ok(self
            .redis_connection(&c)?
            .publish(&channel, payload)
            .await?)
    }

    async fn get(
        &mut self,
        c: Resource<RedisConnection>,
        key: String,
    ) -> Result<Option<Vec<u8>>, v2::Error> {
        Ok(self.redis_connection(&c)?.get(&key).await?)
    }

    async fn set(
        &mut self,
        c: Resource<RedisConnection>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), v2::Error> {
        Ok(self.redis_connection(&c)?.set(&key, value).await?)
    }

    async fn incr(&mut self, c: Resource<RedisConnection>, key: String) -> Result<i64, v2::Error> {
        Ok(self.redis_connection(&c)?.incr(&key).await?)
    }

    async fn del(
        &mut self,
        c: Resource<RedisConnection>,
        keys: Vec<String>,
    ) -> Result<u32, v2::Error> {
        Ok(self.redis_connection(&c)?.del(keys).await?)
    }

    async fn sadd(
        &mut self,
        c: Resource<RedisConnection>,
        key: String,
        values: Vec<String>,
    ) -> Result<u32, v2::Error> {
        Ok(self.redis_connection(&c)?.sadd(&key, values).await?)
    }

    async fn smembers(
        &mut self,
        c: Resource<RedisConnection>,
        key: String,
    ) -> Result<Vec<String>, v2::Error> {
        Ok(self.redis_connection(&c)?.smembers(&key).await?)
    }

    async fn srem(
        &mut self,
        c: Resource<RedisConnection>,
        key: String,
        values: Vec<String>,
    ) -> Result<u32, v2::Error> {
        Ok(self.redis_connection(&c)?.srem(&key, values).await?)
    }

    async fn execute(
        &mut self,
        c: Resource<RedisConnection>,
        command: String,
        arguments: Vec<v2::RedisParameter>,
    ) -> Result<Vec<v2::RedisResult>, v2::Error> {
        let params = arguments.into_iter().map(Into::into).collect();
        let replies = self.redis_connection(&c)?.execute(&command, params).await?;
        Ok(replies.into_iter().map(Into::into).collect())
    }

    async fn drop(&mut self, c: Resource<RedisConnection>) -> wasmtime::Result<()> {
        self.table.delete(c)?;
        Ok(())
    }
}

/// The connection behind `c`, taken out of the accessor's table.
fn connection<U>(
    accessor: &Accessor<U, Platform>,
    c: &Resource<RedisConnection>,
) -> Result<RedisConnection, v3::Error> {
    Ok(accessor.with(|mut access| access.get().redis_connection(c))?)
}

impl v3::Host for HostState {}

impl v3::HostConnection for HostState {
    fn drop(&mut self, c: Resource<RedisConnection>) -> wasmtime::Result<()> {
        self.table.delete(c)?;
        Ok(())
    }
}

impl<U> v3::HostConnectionWithStore<U> for Platform {
    async fn open(
        accessor: &Accessor<U, Self>,
        address: String,
    ) -> Result<Resource<RedisConnection>, v3::Error> {
        let (allowed, held) = accessor.with(|mut access| {
            let state = access.get();
            (state.outbound.allowed.clone(), state.slot(Held::Redis))
        });
        let Some(held) = held else {
            return Err(v3::Error::TooManyConnections);
        };
        let conn = RedisConnection::open(&address, &allowed, held)
            .await
            .inspect_err(|e| accessor.with(|mut access| access.get().redis_denied(&address, e)))?;
        accessor.with(|mut access| {
            access
                .get()
                .table
                .push(conn)
                .map_err(|_| v3::Error::TooManyConnections)
        })
    }

    async fn publish(
        accessor: &Accessor<U, Self>,
        c: Resource<RedisConnection>,
        channel: String,
        payload: Vec<u8>,
    ) -> Result<(), v3::Error> {
        Ok(connection(accessor, &c)?.publish(&channel, payload).await?)
    }

    async fn get(
        accessor: &Accessor<U, Self>,
        c: Resource<RedisConnection>,
        key: String,
    ) -> Result<Option<Vec<u8>>, v3::Error> {
        Ok(connection(accessor, &c)?.get(&key).await?)
    }

    async fn set(
        accessor: &Accessor<U, Self>,
        c: Resource<RedisConnection>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), v3::Error> {
        Ok(connection(accessor, &c)?.set(&key, value).await?)
    }

    async fn incr(
        accessor: &Accessor<U, Self>,
        c: Resource<RedisConnection>,
        key: String,
    ) -> Result<i64, v3::Error> {
        Ok(connection(accessor, &c)?.incr(&key).await?)
    }

    async fn del(
        accessor: &Accessor<U, Self>,
        c: Resource<RedisConnection>,
        keys: Vec<String>,
    ) -> Result<u32, v3::Error> {
        Ok(connection(accessor, &c)?.del(keys).await?)
    }

    async fn sadd(
        accessor: &Accessor<U, Self>,
        c: Resource<RedisConnection>,
        key: String,
        values: Vec<String>,
    ) -> Result<u32, v3::Error> {
        Ok(connection(accessor, &c)?.sadd(&key, values).await?)
    }

    async fn smembers(
        accessor: &Accessor<U, Self>,
        c: Resource<RedisConnection>,
        key: String,
    ) -> Result<Vec<String>, v3::Error> {
        Ok(connection(accessor, &c)?.smembers(&key).await?)
    }

    async fn srem(
        accessor: &Accessor<U, Self>,
        c: Resource<RedisConnection>,
        key: String,
        values: Vec<String>,
    ) -> Result<u32, v3::Error> {
        Ok(connection(accessor, &c)?.srem(&key, values).await?)
    }

    async fn execute(
        accessor: &Accessor<U, Self>,
        c: Resource<RedisConnection>,
        command: String,
        arguments: Vec<v3::RedisParameter>,
    ) -> Result<Vec<v3::RedisResult>, v3::Error> {
        let params = arguments.into_iter().map(Into::into).collect();
        let replies = connection(accessor, &c)?.execute(&command, params).await?;
        Ok(replies.into_iter().map(Into::into).collect())
    }
}
