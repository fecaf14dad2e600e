//! The Spin platform interfaces a component may import besides WASI and
//! wasi:http: `fermyon:spin/variables@2.0.0` and
//! `wasi:config/store@0.2.0-draft-2024-09-27` (the component's variables)
//! and `fermyon:spin/key-value@2.0.0` (stores from [`crate::kv`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker, Resource};

use crate::host::HostState;
use crate::kv::KvStore;

mod bindings {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "wasi-httpd:host/host",
        with: {
            "fermyon:spin/key-value.store": crate::kv::KvStore,
        },
    });
}

use bindings::fermyon::spin::{key_value, variables};
use bindings::wasi::config::store as config;

/// A component's variables, rendered at load (values may be secret: never
/// log them).
pub type ComponentVariables = Arc<BTreeMap<String, String>>;

/// Adds the platform interfaces to the linker.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> anyhow::Result<()> {
    variables::add_to_linker::<_, HasSelf<HostState>>(linker, |s| s)?;
    key_value::add_to_linker::<_, HasSelf<HostState>>(linker, |s| s)?;
    config::add_to_linker::<_, HasSelf<HostState>>(linker, |s| s)?;
    Ok(())
}

impl variables::Host for HostState {
    fn get(&mut self, name: String) -> Result<String, variables::Error> {
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(variables::Error::InvalidName(format!(
                "{name:?}: variable names are lower-case letters, digits and underscores"
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

impl key_value::Host for HostState {}

impl key_value::HostStore for HostState {
    fn open(&mut self, label: String) -> Result<Resource<KvStore>, key_value::Error> {
        let store = self.kv.open(&label).map_err(|e| match e {
            crate::kv::OpenError::NotDeclared => {
                tracing::warn!(component = %self.outbound.component, store = %label, "key-value store not in key_value_stores; access denied");
                key_value::Error::AccessDenied
            }
            crate::kv::OpenError::Unavailable(why) => key_value::Error::Other(why),
        })?;
        self.table
            .push(store)
            .map_err(|e| key_value::Error::Other(e.to_string()))
    }

    fn get(
        &mut self,
        store: Resource<KvStore>,
        key: String,
    ) -> Result<Option<Vec<u8>>, key_value::Error> {
        self.kv_store(&store)?
            .get(&key)
            .map_err(key_value::Error::Other)
    }

    fn set(
        &mut self,
        store: Resource<KvStore>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), key_value::Error> {
        self.kv_store(&store)?
            .set(&key, &value)
            .map_err(key_value::Error::Other)
    }

    fn delete(&mut self, store: Resource<KvStore>, key: String) -> Result<(), key_value::Error> {
        self.kv_store(&store)?
            .delete(&key)
            .map_err(key_value::Error::Other)
    }

    fn exists(&mut self, store: Resource<KvStore>, key: String) -> Result<bool, key_value::Error> {
        self.kv_store(&store)?
            .exists(&key)
            .map_err(key_value::Error::Other)
    }

    fn get_keys(&mut self, store: Resource<KvStore>) -> Result<Vec<String>, key_value::Error> {
        self.kv_store(&store)?
            .keys()
            .map_err(key_value::Error::Other)
    }

    fn drop(&mut self, store: Resource<KvStore>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        Ok(())
    }
}

impl HostState {
    fn kv_store(&self, store: &Resource<KvStore>) -> Result<&KvStore, key_value::Error> {
        self.table
            .get(store)
            .map_err(|e| key_value::Error::Other(e.to_string()))
    }
}
