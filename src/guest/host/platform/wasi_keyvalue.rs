//! `wasi:keyvalue@0.2.0-draft2` (store, atomics, batch) over [`crate::guest::data::kv`],
//! as Spin serves it: a bucket is a declared key-value store; counters are
//! 8 little-endian bytes; a compare-and-swap reads the value when it is
//! made and swaps only if the value is unchanged.

use wasmtime::component::Resource;

use super::bindings::wasi::keyvalue::{atomics, batch, store};
use crate::guest::data::kv::KvStore;
use crate::guest::host::HostState;

/// A `cas` handle: the store, the key, and the value read when it was made.
pub struct Cas {
    store: KvStore,
    key: String,
    current: Option<Vec<u8>>,
}

impl HostState {
    fn bucket(&self, bucket: &Resource<KvStore>) -> Result<KvStore, store::Error> {
        self.kv_store(bucket).map_err(store::Error::Other)
    }
}

impl store::Host for HostState {
    async fn open(&mut self, identifier: String) -> Result<Resource<KvStore>, store::Error> {
        self.push_kv(&identifier, store::Error::AccessDenied, store::Error::Other)
    }
}

impl store::HostBucket for HostState {
    async fn get(
        &mut self,
        bucket: Resource<KvStore>,
        key: String,
    ) -> Result<Option<Vec<u8>>, store::Error> {
        self.bucket(&bucket)?
            .get(&key)
            .await
            .map_err(store::Error::Other)
    }

    async fn set(
        &mut self,
        bucket: Resource<KvStore>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), store::Error> {
        self.bucket(&bucket)?
            .set(&key, value)
            .await
            .map_err(store::Error::Other)
    }

    async fn delete(&mut self, bucket: Resource<KvStore>, key: String) -> Result<(), store::Error> {
        self.bucket(&bucket)?
            .delete(&key)
            .await
            .map_err(store::Error::Other)
    }

    async fn exists(
        &mut self,
        bucket: Resource<KvStore>,
        key: String,
    ) -> Result<bool, store::Error> {
        self.bucket(&bucket)?
            .exists(&key)
            .await
            .map_err(store::Error::Other)
    }

    /// All keys in one page: a listing never returns a cursor, so a cursor
    /// passed in is not one this host made.
    async fn list_keys(
        &mut self,
        bucket: Resource<KvStore>,
        cursor: Option<String>,
    ) -> Result<store::KeyResponse, store::Error> {
        if let Some(cursor) = cursor {
            return Err(store::Error::Other(format!(
                "unknown cursor {cursor:?}: list-keys returns every key in one response, with no cursor"
            )));
        }
        let keys = self
            .bucket(&bucket)?
            .keys()
            .await
            .map_err(store::Error::Other)?;
        Ok(store::KeyResponse { keys, cursor: None })
    }

    async fn drop(&mut self, bucket: Resource<KvStore>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl atomics::Host for HostState {
    async fn increment(
        &mut self,
        bucket: Resource<KvStore>,
        key: String,
        delta: i64,
    ) -> Result<i64, store::Error> {
        self.bucket(&bucket)?
            .increment(&key, delta)
            .await
            .map_err(store::Error::Other)
    }

    async fn swap(&mut self, cas: Resource<Cas>, value: Vec<u8>) -> Result<(), atomics::CasError> {
        let other = |e: String| atomics::CasError::StoreError(store::Error::Other(e));
        let taken = self.table.delete(cas).map_err(|e| other(e.to_string()))?;
        let swapped = taken
            .store
            .compare_and_swap(&taken.key, taken.current.clone(), value)
            .await
            .map_err(other)?;
        if swapped {
            return Ok(());
        }
        // Changed since the cas was made: hand back a fresh one.
        let current = taken.store.get(&taken.key).await.map_err(other)?;
        let fresh = Cas { current, ..taken };
        let handle = self.table.push(fresh).map_err(|e| other(e.to_string()))?;
        Err(atomics::CasError::CasFailed(handle))
    }
}

impl atomics::HostCas for HostState {
    async fn new(
        &mut self,
        bucket: Resource<KvStore>,
        key: String,
    ) -> Result<Resource<Cas>, store::Error> {
        let store = self.bucket(&bucket)?;
        let current = store.get(&key).await.map_err(store::Error::Other)?;
        self.table
            .push(Cas {
                store,
                key,
                current,
            })
            .map_err(|e| store::Error::Other(e.to_string()))
    }

    async fn current(&mut self, cas: Resource<Cas>) -> Result<Option<Vec<u8>>, store::Error> {
        self.table
            .get(&cas)
            .map(|c| c.current.clone())
            .map_err(|e| store::Error::Other(e.to_string()))
    }

    async fn drop(&mut self, cas: Resource<Cas>) -> wasmtime::Result<()> {
        self.table.delete(cas)?;
        Ok(())
    }
}

impl batch::Host for HostState {
    async fn get_many(
        &mut self,
        bucket: Resource<KvStore>,
        keys: Vec<String>,
    ) -> Result<Vec<(String, Option<Vec<u8>>)>, store::Error> {
        self.bucket(&bucket)?
            .get_many(keys)
            .await
            .map_err(store::Error::Other)
    }

    async fn set_many(
        &mut self,
        bucket: Resource<KvStore>,
        key_values: Vec<(String, Vec<u8>)>,
    ) -> Result<(), store::Error> {
        self.bucket(&bucket)?
            .set_many(key_values)
            .await
            .map_err(store::Error::Other)
    }

    async fn delete_many(
        &mut self,
        bucket: Resource<KvStore>,
        keys: Vec<String>,
    ) -> Result<(), store::Error> {
        self.bucket(&bucket)?
            .delete_many(keys)
            .await
            .map_err(store::Error::Other)
    }
}
