//! The Spin platform interfaces a component may import besides WASI and
//! wasi:http: `fermyon:spin/variables@2.0.0` and
//! `wasi:config/store@0.2.0-draft-2024-09-27` (the component's variables)
//! and `fermyon:spin/key-value@2.0.0` (stores from [`crate::kv`]), and the
//! old Spin SDK's outbound `fermyon:spin/http`, under the same
//! `allowed_outbound_hosts` policy as wasi:http.

use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker, Resource};

use crate::host::HostState;
use crate::kv::KvStore;

pub(crate) mod bindings {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "wasi-httpd:host/host",
        imports: {
            "fermyon:spin/http.send-request": async,
        },
        with: {
            "fermyon:spin/key-value.store": crate::kv::KvStore,
        },
    });
}

use bindings::fermyon::spin::{http as legacy_http, http_types as legacy};
use bindings::fermyon::spin2_0_0::{key_value, variables};
use bindings::wasi::config::store as config;

/// A component's variables, rendered at load (values may be secret: never
/// log them).
pub type ComponentVariables = Arc<BTreeMap<String, String>>;

/// Adds the platform interfaces to the linker.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> anyhow::Result<()> {
    variables::add_to_linker::<_, HasSelf<HostState>>(linker, |s| s)?;
    key_value::add_to_linker::<_, HasSelf<HostState>>(linker, |s| s)?;
    config::add_to_linker::<_, HasSelf<HostState>>(linker, |s| s)?;
    legacy_http::add_to_linker::<_, HasSelf<HostState>>(linker, |s| s)?;
    legacy::add_to_linker::<_, HasSelf<HostState>>(linker, |s| s)?;
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

impl legacy::Host for HostState {}

impl legacy_http::Host for HostState {
    async fn send_request(
        &mut self,
        req: legacy::Request,
    ) -> Result<legacy::Response, legacy::HttpError> {
        use http_body_util::BodyExt;
        use wasmtime_wasi_http::WasiHttpHooks;
        let method = match req.method {
            legacy::Method::Get => http::Method::GET,
            legacy::Method::Post => http::Method::POST,
            legacy::Method::Put => http::Method::PUT,
            legacy::Method::Delete => http::Method::DELETE,
            legacy::Method::Patch => http::Method::PATCH,
            legacy::Method::Head => http::Method::HEAD,
            legacy::Method::Options => http::Method::OPTIONS,
        };
        let mut builder = http::Request::builder().method(method).uri(&req.uri);
        for (name, value) in &req.headers {
            builder = builder.header(name, value);
        }
        let body = http_body_util::Full::new(bytes::Bytes::from(req.body.unwrap_or_default()))
            .map_err(|e| match e {})
            .boxed_unsync();
        let request = builder
            .body(body)
            .map_err(|_| legacy::HttpError::InvalidUrl)?;
        let sending = self
            .outbound
            .send_request(request, None, Box::new(async { Ok(()) }));
        let (response, io) = std::pin::Pin::from(sending).await.map_err(|e| match e {
            wasmtime_wasi_http::Error::HttpRequestDenied => {
                legacy::HttpError::DestinationNotAllowed
            }
            wasmtime_wasi_http::Error::HttpRequestUriInvalid => legacy::HttpError::InvalidUrl,
            _ => legacy::HttpError::RequestError,
        })?;
        tokio::spawn(std::pin::Pin::from(io));
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_owned())))
            .collect();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|_| legacy::HttpError::RuntimeError)?
            .to_bytes();
        Ok(legacy::Response {
            status,
            headers: Some(headers),
            body: Some(body.to_vec()),
        })
    }
}
