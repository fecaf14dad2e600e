//! The Spin platform interfaces a component may import besides WASI and
//! wasi:http, bound from `wit/`:
//!
//! - variables: `fermyon:spin/variables@2.0.0`, `spin:variables@3.0.0`
//!   (async) and `wasi:config/store@0.2.0-draft-2024-09-27` (here);
//! - key-value: `fermyon:spin/key-value@2.0.0`, `spin:key-value@3.0.0`
//!   ([`key_value`]) and `wasi:keyvalue@0.2.0-draft2` ([`wasi_keyvalue`]);
//! - SQLite: `fermyon:spin/sqlite@2.0.0` and `spin:sqlite@3.1.0` ([`sqlite`],
//!   over [`crate::guest::data::sqlite`]);
//! - outbound Redis: `fermyon:spin/redis@2.0.0` and `spin:redis@3.0.0`
//!   ([`redis`], over [`crate::guest::data::outbound_redis`]);
//! - outbound PostgreSQL: `fermyon:spin/postgres@2.0.0` and
//!   `spin:postgres@3.0.0` ([`postgres`]), `spin:postgres@4.x`
//!   ([`postgres4`]), over [`crate::guest::data::outbound_pg`];
//! - the old Spin SDK's outbound `fermyon:spin/http` ([`legacy_http`]).

mod key_value;
mod legacy_http;
mod postgres;
mod postgres4;
mod redis;
mod sqlite;
mod wasi_keyvalue;

use wasmtime::component::{Accessor, HasData, HasSelf, Linker};

use crate::guest::host::HostState;

pub(crate) mod bindings {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "wasi-httpd:host/host",
        imports: {
            "fermyon:spin/http.send-request": async,
            // Statements run on the blocking pool, awaited.
            "fermyon:spin/sqlite.[method]connection.execute": async,
            "fermyon:spin/sqlite.[static]connection.open": async,
            "spin:sqlite/sqlite.[static]connection.open": async,
            "spin:sqlite/sqlite.[method]connection.execute": async,
            // Making the stream and future may fail (a full table): a trap.
            "spin:sqlite/sqlite.[method]connection.execute-async": trappable,
            // Making the stream and future may fail (a full table): a trap.
            "spin:key-value/key-value.[method]store.get-keys": trappable,
            // Key-value calls wait for SQLite's blocking pool or Redis.
            "fermyon:spin/key-value": async,
            "wasi:keyvalue/store": async,
            "wasi:keyvalue/atomics": async,
            "wasi:keyvalue/batch": async,
            // Outbound Redis waits for the server.
            "fermyon:spin/redis": async,
            // So does PostgreSQL (both versions of spin:postgres).
            "fermyon:spin/postgres": async,
            "spin:postgres/postgres": async,
            // A builder is a table entry, which may not fit: a trap.
            "spin:postgres/postgres.[constructor]connection-builder": async | trappable,
            // Making the stream and future may fail (a full table): a trap.
            "spin:postgres/postgres.[method]connection.query-async": trappable,
        },
        with: {
            "fermyon:spin/key-value.store": crate::guest::data::kv::KvStore,
            "fermyon:spin/sqlite.connection": crate::guest::data::sqlite::SqliteConnection,
            "spin:sqlite/sqlite.connection": crate::guest::data::sqlite::SqliteConnection,
            "fermyon:spin/redis.connection": crate::guest::data::outbound_redis::RedisConnection,
            "spin:redis/redis.connection": crate::guest::data::outbound_redis::RedisConnection,
            "fermyon:spin/postgres.connection": crate::guest::data::outbound_pg::PgConnection,
            "spin:postgres/postgres.connection": crate::guest::data::outbound_pg::PgConnection,
            "spin:postgres/postgres.connection-builder": super::postgres4::Builder,
            "spin:key-value/key-value.store": crate::guest::data::kv::KvStore,
            "wasi:keyvalue/store.bucket": crate::guest::data::kv::KvStore,
            "wasi:keyvalue/atomics.cas": super::wasi_keyvalue::Cas,
        },
    });
}

use bindings::fermyon::spin::{http as legacy_http_if, http_types as legacy_types};
use bindings::fermyon::spin2_0_0::{
    key_value as key_value_v2, postgres as postgres_v2, rdbms_types, redis as redis_v2,
    sqlite as sqlite_v2, variables,
};
use bindings::spin::key_value::key_value as key_value_v3;
use bindings::spin::postgres3_0_0::postgres as postgres_v3;
use bindings::spin::postgres4_2_0::postgres as postgres_v4;
use bindings::spin::redis::redis as redis_v3;
use bindings::spin::sqlite::sqlite as sqlite_v3;
use bindings::spin::variables::variables as variables_v3;
use bindings::wasi::config::store as config;
use bindings::wasi::keyvalue::{atomics as wasi_atomics, batch as wasi_batch, store as wasi_store};

/// The store data the async (`async func`) platform interfaces reach
/// through an [`Accessor`].
pub struct Platform;

impl HasData for Platform {
    type Data<'a> = &'a mut HostState;
}

/// Adds the platform interfaces to the linker.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> anyhow::Result<()> {
    type Sync = HasSelf<HostState>;
    variables::add_to_linker::<_, Sync>(linker, |s| s)?;
    config::add_to_linker::<_, Sync>(linker, |s| s)?;
    key_value_v2::add_to_linker::<_, Sync>(linker, |s| s)?;
    sqlite_v2::add_to_linker::<_, Sync>(linker, |s| s)?;
    redis_v2::add_to_linker::<_, Sync>(linker, |s| s)?;
    rdbms_types::add_to_linker::<_, Sync>(linker, |s| s)?;
    postgres_v2::add_to_linker::<_, Sync>(linker, |s| s)?;
    postgres_v3::add_to_linker::<_, Sync>(linker, |s| s)?;
    wasi_store::add_to_linker::<_, Sync>(linker, |s| s)?;
    wasi_atomics::add_to_linker::<_, Sync>(linker, |s| s)?;
    wasi_batch::add_to_linker::<_, Sync>(linker, |s| s)?;
    legacy_http_if::add_to_linker::<_, Sync>(linker, |s| s)?;
    legacy_types::add_to_linker::<_, Sync>(linker, |s| s)?;
    variables_v3::add_to_linker::<_, Platform>(linker, |s| s)?;
    key_value_v3::add_to_linker::<_, Platform>(linker, |s| s)?;
    sqlite_v3::add_to_linker::<_, Platform>(linker, |s| s)?;
    redis_v3::add_to_linker::<_, Platform>(linker, |s| s)?;
    postgres_v4::add_to_linker::<_, Platform>(linker, |s| s)?;
    Ok(())
}

impl HostState {
    /// The value of variable `name`, as Spin's variables interfaces answer.
    fn variable(&self, name: String) -> Result<String, variables::Error> {
        if let Err(why) = crate::model::manifest::check_variable_name(&name) {
            return Err(variables::Error::InvalidName(format!(
                "{name:?}: {why}; {}",
                crate::model::manifest::VARIABLE_HINT
            )));
        }
        self.variables
            .get(&name)
            .cloned()
            .ok_or_else(|| variables::Error::Undefined(format!("no variable for {name:?}")))
    }
}

impl config::Host for HostState {
    fn get(&mut self, key: String) -> Result<Option<String>, config::Error> {
        Ok(self.variables.get(&key).cloned())
    }

    fn get_all(&mut self) -> Result<Vec<(String, String)>, config::Error> {
        Ok(self
            .variables
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}

impl variables::Host for HostState {
    fn get(&mut self, name: String) -> Result<String, variables::Error> {
        self.variable(name)
    }
}

impl variables_v3::Host for HostState {}

impl<U> variables_v3::HostWithStore<U> for Platform {
    async fn get(
        accessor: &Accessor<U, Self>,
        name: String,
    ) -> Result<String, variables_v3::Error> {
        use variables::Error as V2;
        use variables_v3::Error as V3;
        accessor
            .with(|mut access| access.get().variable(name))
            .map_err(|e| match e {
                V2::InvalidName(m) => V3::InvalidName(m),
                V2::Undefined(m) => V3::Undefined(m),
                V2::Provider(m) => V3::Provider(m),
                V2::Other(m) => V3::Other(m),
            })
    }
}
