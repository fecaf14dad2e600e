//! The executor for components exporting `wasi:http/incoming-handler@0.2.x`
//! (or one of its 2023 release candidates, whose `handle` has the same
//! type; their imports come from [`crate::wasi_rc`]): one fresh instance
//! per request, the response streamed while the guest keeps writing its
//! body.

use std::sync::Arc;

use anyhow::{Context, Result};
use http_body_util::BodyExt;
use wasmtime::Store;
use wasmtime::component::{ComponentExportIndex, InstancePre, Resource};
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::types::{HostIncomingRequest, HostResponseOutparam};

use super::{GuestError, RequestBody, RequestEnv};
use crate::host::HostState;
use crate::http::Body;

const EXPORT_PREFIX: &str = "wasi:http/incoming-handler@0.2.";

/// The export's `handle(incoming-request, response-outparam)`.
type Handle = (
    Resource<HostIncomingRequest>,
    Resource<HostResponseOutparam>,
);

pub struct WasiHttpExecutor {
    pre: InstancePre<HostState>,
    handle: ComponentExportIndex,
    export: String,
}

impl WasiHttpExecutor {
    /// True for the exports this executor serves: every 0.2.x release and
    /// the 2023 release candidates.
    pub fn handles(export: &str) -> bool {
        export
            .strip_prefix(EXPORT_PREFIX)
            .is_some_and(|patch| !patch.contains('-'))
            || crate::wasi_rc::INCOMING_HANDLERS.contains(&export)
    }

    pub fn new(pre: InstancePre<HostState>, export: &str) -> Result<Self> {
        let component = pre.component();
        let handle = component
            .get_export_index(None, export)
            .and_then(|interface| component.get_export_index(Some(&interface), "handle"))
            .with_context(|| format!("cannot find the `{export}` handle function"))?;
        Ok(Self {
            pre,
            handle,
            export: export.to_owned(),
        })
    }

    pub fn export(&self) -> &str {
        &self.export
    }

    pub async fn handle(
        &self,
        mut store: Store<HostState>,
        env: RequestEnv,
        request: http::Request<RequestBody>,
        component: Arc<str>,
    ) -> Result<http::Response<Body>, GuestError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let scheme = if env.https {
            Scheme::Https
        } else {
            Scheme::Http
        };
        let (req, out) = {
            let mut http = store.data_mut().http();
            let req = http
                .new_incoming_request(scheme, request)
                .map_err(|e| GuestError::Instantiate(e.into()))?;
            let out = http
                .new_response_outparam(tx)
                .map_err(|e| GuestError::Instantiate(e.into()))?;
            (req, out)
        };
        let pre = self.pre.clone();
        let handle = self.handle;
        let permit = env.permit;
        // The guest runs in its own task: it goes on writing the body after
        // the response head has been handed to hyper. It holds the request's
        // admission slot until it is done.
        let mut guest = tokio::spawn(async move {
            let _permit = permit;
            let instance = pre
                .instantiate_async(&mut store)
                .await
                .map_err(|e| GuestError::Instantiate(e.into()))?;
            let call = instance
                .get_typed_func::<Handle, ()>(&mut store, handle)
                .map_err(|e| GuestError::Instantiate(e.into()))?;
            call.call_async(&mut store, (req, out))
                .await
                .map_err(super::trap)
        });
        let request_id = env.request_id;
        match tokio::time::timeout_at(env.deadline, rx).await {
            Err(_) => {
                // Blocked in a host call (a sleep, an outbound request):
                // cancel it by dropping the guest's task.
                guest.abort();
                Err(GuestError::Timeout)
            }
            Ok(Ok(Ok(response))) => {
                tokio::spawn(async move {
                    match tokio::time::timeout_at(env.deadline, &mut guest).await {
                        Ok(Ok(Err(error))) => {
                            tracing::error!(%component, %request_id, error = %error, "guest failed after sending the response head; the body was cut");
                        }
                        Err(_) => guest.abort(),
                        _ => {}
                    }
                });
                Ok(response.map(|body| body.map_err(Into::into).boxed_unsync()))
            }
            Ok(Ok(Err(code))) => Err(GuestError::ErrorCode(format!("{code:?}"))),
            Ok(Err(_)) => match guest.await {
                Ok(Ok(())) => Err(GuestError::NoResponse),
                Ok(Err(error)) => Err(error),
                Err(join) => Err(super::task_failed(join)),
            },
        }
    }
}
