//! Spin's key-value interfaces over [`crate::kv`]: the synchronous
//! `fermyon:spin/key-value@2.0.0` and the async
//! `spin:key-value/key-value@3.0.0` (spin-sdk 6 and later). Both open only
//! the labels the component declares; any other is `access-denied`.

use wasmtime::component::{Accessor, FutureReader, Resource, StreamReader};

use super::Platform;
use super::bindings::fermyon::spin2_0_0::key_value as v2;
use super::bindings::spin::key_value::key_value as v3;
use crate::host::HostState;
use crate::kv::{KvStore, OpenError};

impl HostState {
    /// Opens a store the component declared; an undeclared label is logged.
    pub(super) fn open_kv(&self, label: &str) -> Result<KvStore, OpenError> {
        self.kv.open(label).inspect_err(|e| {
            if let OpenError::NotDeclared = e {
                tracing::warn!(
                    component = %self.outbound.component,
                    request_id = %self.outbound.request_id(),
                    store = %label,
                    "key-value store not in key_value_stores; access denied"
                );
            }
        })
    }

    /// The open store behind a guest's handle.
    pub(super) fn kv_store(&self, store: &Resource<KvStore>) -> Result<KvStore, String> {
        self.table
            .get(store)
            .cloned()
            .map_err(|e| format!("bad key-value store handle: {e}"))
    }
}

impl v2::Host for HostState {}

impl v2::HostStore for HostState {
    fn open(&mut self, label: String) -> Result<Resource<KvStore>, v2::Error> {
        let store = self.open_kv(&label).map_err(|e| match e {
            OpenError::NotDeclared => v2::Error::AccessDenied,
            OpenError::Unavailable(why) => v2::Error::Other(why),
        })?;
        self.table
            .push(store)
            .map_err(|e| v2::Error::Other(e.to_string()))
    }

    fn get(&mut self, store: Resource<KvStore>, key: String) -> Result<Option<Vec<u8>>, v2::Error> {
        self.kv_store(&store)
            .and_then(|s| s.get(&key))
            .map_err(v2::Error::Other)
    }

    fn set(
        &mut self,
        store: Resource<KvStore>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), v2::Error> {
        self.kv_store(&store)
            .and_then(|s| s.set(&key, &value))
            .map_err(v2::Error::Other)
    }

    fn delete(&mut self, store: Resource<KvStore>, key: String) -> Result<(), v2::Error> {
        self.kv_store(&store)
            .and_then(|s| s.delete(&key))
            .map_err(v2::Error::Other)
    }

    fn exists(&mut self, store: Resource<KvStore>, key: String) -> Result<bool, v2::Error> {
        self.kv_store(&store)
            .and_then(|s| s.exists(&key))
            .map_err(v2::Error::Other)
    }

    fn get_keys(&mut self, store: Resource<KvStore>) -> Result<Vec<String>, v2::Error> {
        self.kv_store(&store)
            .and_then(|s| s.keys())
            .map_err(v2::Error::Other)
    }

    fn drop(&mut self, store: Resource<KvStore>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        Ok(())
    }
}

/// Runs `op` on the store behind `store` (SQLite calls are short and local).
fn with_store<U, T>(
    accessor: &Accessor<U, Platform>,
    store: &Resource<KvStore>,
    op: impl FnOnce(&KvStore) -> Result<T, String>,
) -> Result<T, v3::Error> {
    accessor
        .with(|mut access| access.get().kv_store(store))
        .and_then(|s| op(&s))
        .map_err(v3::Error::Other)
}

impl v3::Host for HostState {}

impl v3::HostStore for HostState {
    fn drop(&mut self, store: Resource<KvStore>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        Ok(())
    }
}

impl<U> v3::HostStoreWithStore<U> for Platform {
    async fn open(
        accessor: &Accessor<U, Self>,
        label: String,
    ) -> Result<Resource<KvStore>, v3::Error> {
        accessor.with(|mut access| {
            let state = access.get();
            let store = state.open_kv(&label).map_err(|e| match e {
                OpenError::NotDeclared => v3::Error::AccessDenied,
                OpenError::Unavailable(why) => v3::Error::Other(why),
            })?;
            state
                .table
                .push(store)
                .map_err(|e| v3::Error::Other(e.to_string()))
        })
    }

    async fn get(
        accessor: &Accessor<U, Self>,
        store: Resource<KvStore>,
        key: String,
    ) -> Result<Option<Vec<u8>>, v3::Error> {
        with_store(accessor, &store, |s| s.get(&key))
    }

    async fn set(
        accessor: &Accessor<U, Self>,
        store: Resource<KvStore>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), v3::Error> {
        with_store(accessor, &store, |s| s.set(&key, &value))
    }

    async fn delete(
        accessor: &Accessor<U, Self>,
        store: Resource<KvStore>,
        key: String,
    ) -> Result<(), v3::Error> {
        with_store(accessor, &store, |s| s.delete(&key))
    }

    async fn exists(
        accessor: &Accessor<U, Self>,
        store: Resource<KvStore>,
        key: String,
    ) -> Result<bool, v3::Error> {
        with_store(accessor, &store, |s| s.exists(&key))
    }

    /// Every key on the stream, then `ok` (or the error, with no keys).
    async fn get_keys(
        accessor: &Accessor<U, Self>,
        store: Resource<KvStore>,
    ) -> wasmtime::Result<(StreamReader<String>, FutureReader<Result<(), v3::Error>>)> {
        let listed = with_store(accessor, &store, |s| s.keys());
        accessor.with(|mut access| {
            let (keys, outcome) = match listed {
                Ok(keys) => (keys, Ok(())),
                Err(e) => (Vec::new(), Err(e)),
            };
            let stream = StreamReader::new(&mut access, keys)?;
            let future =
                FutureReader::new(&mut access, async move { wasmtime::error::Ok(outcome) })?;
            Ok((stream, future))
        })
    }
}
