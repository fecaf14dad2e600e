//! Spin's key-value interfaces over [`crate::guest::data::kv`]:
//! `fermyon:spin/key-value@2.0.0` (blocking for the guest, async in the
//! host) and the async `spin:key-value/key-value@3.0.0` (spin-sdk 6 and
//! later). Both open only the labels the component declares; any other is
//! `access-denied`.

use wasmtime::component::{Accessor, FutureReader, Resource, StreamReader};

use super::Platform;
use super::bindings::fermyon::spin2_0_0::key_value as v2;
use super::bindings::spin::key_value::key_value as v3;
use crate::guest::data::kv::KvStore;
use crate::guest::host::HostState;

impl HostState {
    /// Opens a store the component declared; an undeclared label is logged.
    pub(super) fn open_kv(&self, label: &str) -> Option<KvStore> {
        let store = self.kv.open(label);
        if store.is_none() {
            tracing::warn!(
                component = %self.outbound.component,
                request_id = %self.outbound.request_id(),
                store = %label,
                "key-value store not in key_value_stores; access denied"
            );
        }
        store
    }

    /// The open store behind a guest's handle.
    pub(super) fn kv_store(&self, store: &Resource<KvStore>) -> Result<KvStore, String> {
        self.table
            .get(store)
            .cloned()
            .map_err(|e| format!("bad key-value store handle: {e}"))
    }

    /// Opens `label` into a new handle; `denied` is the guest's error for
    /// an undeclared label, `other` for the rest.
    pub(super) fn push_kv<E>(
        &mut self,
        label: &str,
        denied: E,
        other: impl FnOnce(String) -> E,
    ) -> Result<Resource<KvStore>, E> {
        let store = self.open_kv(label).ok_or(denied)?;
        self.table.push(store).map_err(|e| other(e.to_string()))
    }
}

impl v2::Host for HostState {}

impl v2::HostStore for HostState {
    async fn open(&mut self, label: String) -> Result<Resource<KvStore>, v2::Error> {
        self.push_kv(&label, v2::Error::AccessDenied, v2::Error::Other)
    }

    async fn get(
        &mut self,
        store: Resource<KvStore>,
        key: String,
    ) -> Result<Option<Vec<u8>>, v2::Error> {
        let store = self.kv_store(&store).map_err(v2::Error::Other)?;
        store.get(&key).await.map_err(v2::Error::Other)
    }

    async fn set(
        &mut self,
        store: Resource<KvStore>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), v2::Error> {
        let store = self.kv_store(&store).map_err(v2::Error::Other)?;
        store.set(&key, value).await.map_err(v2::Error::Other)
    }

    async fn delete(&mut self, store: Resource<KvStore>, key: String) -> Result<(), v2::Error> {
        let store = self.kv_store(&store).map_err(v2::Error::Other)?;
        store.delete(&key).await.map_err(v2::Error::Other)
    }

    async fn exists(&mut self, store: Resource<KvStore>, key: String) -> Result<bool, v2::Error> {
        let store = self.kv_store(&store).map_err(v2::Error::Other)?;
        store.exists(&key).await.map_err(v2::Error::Other)
    }

    async fn get_keys(&mut self, store: Resource<KvStore>) -> Result<Vec<String>, v2::Error> {
        let store = self.kv_store(&store).map_err(v2::Error::Other)?;
        store.keys().await.map_err(v2::Error::Other)
    }

    async fn drop(&mut self, store: Resource<KvStore>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        Ok(())
    }
}

/// The store behind `store`, taken out of the accessor's table.
fn store_of<U>(
    accessor: &Accessor<U, Platform>,
    store: &Resource<KvStore>,
) -> Result<KvStore, v3::Error> {
    accessor
        .with(|mut access| access.get().kv_store(store))
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
            access
                .get()
                .push_kv(&label, v3::Error::AccessDenied, v3::Error::Other)
        })
    }

    async fn get(
        accessor: &Accessor<U, Self>,
        store: Resource<KvStore>,
        key: String,
    ) -> Result<Option<Vec<u8>>, v3::Error> {
        store_of(accessor, &store)?
            .get(&key)
            .await
            .map_err(v3::Error::Other)
    }

    async fn set(
        accessor: &Accessor<U, Self>,
        store: Resource<KvStore>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), v3::Error> {
        store_of(accessor, &store)?
            .set(&key, value)
            .await
            .map_err(v3::Error::Other)
    }

    async fn delete(
        accessor: &Accessor<U, Self>,
        store: Resource<KvStore>,
        key: String,
    ) -> Result<(), v3::Error> {
        store_of(accessor, &store)?
            .delete(&key)
            .await
            .map_err(v3::Error::Other)
    }

    async fn exists(
        accessor: &Accessor<U, Self>,
        store: Resource<KvStore>,
        key: String,
    ) -> Result<bool, v3::Error> {
        store_of(accessor, &store)?
            .exists(&key)
            .await
            .map_err(v3::Error::Other)
    }

    /// Every key on the stream, then `ok` (or the error, with no keys).
    async fn get_keys(
        accessor: &Accessor<U, Self>,
        store: Resource<KvStore>,
    ) -> wasmtime::Result<(StreamReader<String>, FutureReader<Result<(), v3::Error>>)> {
        let listed = match store_of(accessor, &store) {
            Ok(store) => store.keys().await.map_err(v3::Error::Other),
            Err(e) => Err(e),
        };
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
