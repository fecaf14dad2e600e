//! The executor for components exporting `wasi:http/incoming-handler@0.2.x`
//! (or one of its 2023 release candidates, whose `handle` has the same
//! type; their imports come from [`crate::guest::wasi_rc`]): one fresh instance
//! per request, the response streamed while the guest keeps writing its
//! body.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::{Context as _, Result};
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::BodyExt;
use wasmtime::Store;
use wasmtime::component::{ComponentExportIndex, InstancePre, Resource};
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::types::{HostIncomingRequest, HostResponseOutparam};

use super::stores::StoreMaker;
use super::task::{DeadlinePassed, GuestTask};
use super::{Answer, Execute, GuestError, RequestBody, RequestEnv};
use crate::base::body::{Body, BoxError};
use crate::guest::host::HostState;

const EXPORT_PREFIX: &str = "wasi:http/incoming-handler@0.2.";

/// The export's `handle(incoming-request, response-outparam)`.
type Handle = (
    Resource<HostIncomingRequest>,
    Resource<HostResponseOutparam>,
);

pub struct P2Executor {
    pre: InstancePre<HostState>,
    handle: ComponentExportIndex,
    export: String,
}

impl Execute for P2Executor {
    fn export(&self) -> &str {
        &self.export
    }

    fn handle<'a>(
        &'a self,
        stores: &'a StoreMaker,
        env: RequestEnv,
        request: http::Request<RequestBody>,
    ) -> Answer<'a> {
        Box::pin(async move {
            let store = stores.store(&env, None)?;
            self.serve(store, env, request, stores.id().clone()).await
        })
    }
}

impl P2Executor {
    /// True for the exports this executor serves: every 0.2.x release and
    /// the 2023 release candidates.
    pub fn handles(export: &str) -> bool {
        export
            .strip_prefix(EXPORT_PREFIX)
            .is_some_and(|patch| !patch.contains('-'))
            || crate::guest::wasi_rc::INCOMING_HANDLERS.contains(&export)
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

    async fn serve(
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
        // admission slot until it is done, and ends at the deadline.
        let mut guest = GuestTask::spawn(env.context.deadline, async move {
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
        // The head comes, or the outparam is dropped unset: by the guest, or
        // with its store when the guest ends, traps or reaches the deadline.
        match rx.await {
            Ok(Ok(response)) => {
                let (parts, body) = response.into_parts();
                let body = GuestBody {
                    inner: body.map_err(|e| Box::new(e) as BoxError).boxed_unsync(),
                    guest: Some(guest),
                    ended: false,
                    component,
                    request_id: env.context.request_id.clone(),
                };
                Ok(http::Response::from_parts(parts, body.boxed_unsync()))
            }
            Ok(Err(code)) => Err(GuestError::ErrorCode(format!("{code:?}"))),
            Err(_) => match tokio::time::timeout(REASON_GRACE, &mut guest).await {
                Ok(ended) => Err(match ended {
                    Ok(Ok(Ok(()))) => GuestError::NoResponse,
                    Ok(Ok(Err(error))) => error,
                    Ok(Err(DeadlinePassed)) => GuestError::Timeout,
                    Err(join) => super::task_failed(join),
                }),
                // The guest dropped the outparam and runs on: nothing it does
                // can reach the client now; it ends at its deadline.
                Err(_) => {
                    let (component, request_id) =
                        (component.clone(), env.context.request_id.clone());
                    guest.settle(false, move |ended| {
                        if let Ok(Err(DeadlinePassed)) = ended {
                            tracing::warn!(%component, %request_id, "guest ran on after dropping its response handle unset; stopped at the request deadline");
                        }
                    });
                    Err(GuestError::NoResponse)
                }
            },
        }
    }
}

/// How long to wait, once the outparam is gone, for the guest's own end
/// (a trap drops the outparam with the store), so the log says why.
const REASON_GRACE: Duration = Duration::from_millis(100);

/// The response body a guest is still writing, tied to the guest's task:
/// when hyper drops it before its end (the client went away, the deadline
/// cut it), the guest is stopped; after its end the guest may finish (up to
/// its deadline). Either way a failure is logged.
struct GuestBody {
    inner: Body,
    guest: Option<GuestTask<Result<(), GuestError>>>,
    ended: bool,
    component: Arc<str>,
    request_id: Arc<str>,
}

impl HttpBody for GuestBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) {
            self.ended = true;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for GuestBody {
    fn drop(&mut self) {
        let Some(guest) = self.guest.take() else {
            return;
        };
        let (component, request_id) = (self.component.clone(), self.request_id.clone());
        guest.settle(!self.ended, move |ended| match ended {
            Ok(Ok(Err(error))) => {
                tracing::error!(%component, %request_id, error = %error, "guest failed after sending the response head; the body was cut");
            }
            Ok(Err(DeadlinePassed)) => {
                tracing::warn!(%component, %request_id, "guest still running at the request deadline after its response; stopped");
            }
            _ => {}
        });
    }
}
