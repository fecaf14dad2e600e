//! Outgoing requests to a relative URL (a path, no scheme or authority, as
//! spin-sdk's `Request::get("/hello")` sends) are requests to the app
//! itself, as in Spin: allowed by an `http://self` (or `https://self`, or
//! any-host) entry in `allowed_outbound_hosts`, routed in process, and
//! `HTTP-request-denied` otherwise.
//!
//! wasmtime builds the request's URI before the host's policy sees it, and
//! a URI with a scheme and no authority does not build (the guest would get
//! `HTTP-request-uri-invalid`). So the `send` functions of wasi:http 0.2
//! (`outgoing-handler.handle`, also under the 2023-11-10 release candidate;
//! the 2023-10-18 adapter calls [`handle`]) and 0.3 (`client.send`) are
//! wrapped: a request without authority is given [`SELF_HOST`] first,
//! which the policy ([`crate::guest::host::OutboundPolicy`]) already takes for a
//! self request.

use wasmtime::StoreContextMut;
use wasmtime::component::{Accessor, HasData, Linker, Resource};
use wasmtime_wasi::TrappableError;
use wasmtime_wasi_http::p2::bindings::http::outgoing_handler;
use wasmtime_wasi_http::p2::bindings::http::types::RequestOptions;
use wasmtime_wasi_http::p2::types::{HostFutureIncomingResponse, HostOutgoingRequest};
use wasmtime_wasi_http::p3::bindings::http::client;
use wasmtime_wasi_http::p3::bindings::http::types::{ErrorCode, Request, Response};
use wasmtime_wasi_http::{WasiHttp, WasiHttpCtxView, WasiHttpView};

use crate::guest::host::HostState;
use crate::model::outbound_hosts::SELF_HOST;

/// The wasi:http 0.2 release the host links (wasmtime 48's).
const P2_VERSION: &str = "0.2.12";

/// wasi:http 0.2's `handle`, a relative URL sent to the app itself.
pub fn handle(
    http: &mut WasiHttpCtxView<'_>,
    request: Resource<HostOutgoingRequest>,
    options: Option<Resource<RequestOptions>>,
) -> wasmtime_wasi_http::p2::HttpResult<Resource<HostFutureIncomingResponse>> {
    let outgoing = http.table.get_mut(&request)?;
    if outgoing.authority.as_deref().is_none_or(str::is_empty) {
        outgoing.authority = Some(SELF_HOST.to_owned());
    }
    outgoing_handler::Host::handle(http, request, options)
}

/// What the wrapped 0.3 `send` is linked with: wasmtime's own view, so that
/// wasmtime's `send` can be handed the same accessor.
pub struct SelfAware;

impl HasData for SelfAware {
    type Data<'a> = WasiHttpCtxView<'a>;
}

impl<T> client::HostWithStore<T> for SelfAware {
    async fn send(
        store: &Accessor<T, Self>,
        request: Resource<Request>,
    ) -> Result<Resource<Response>, TrappableError<ErrorCode>> {
        store
            .with(|mut access| -> wasmtime::Result<()> {
                let outgoing = access.get().table.get_mut(&request)?;
                if outgoing.authority.is_none() {
                    outgoing.authority = Some(http::uri::Authority::from_static(SELF_HOST));
                }
                Ok(())
            })
            .map_err(TrappableError::trap)?;
        let inner = store.with_getter::<WasiHttp>(store.getter());
        <WasiHttp as client::HostWithStore<T>>::send(&inner, request).await
    }
}

/// Links the wrapped `send` functions over wasmtime's (shadowing them), for
/// wasi:http 0.2, its 2023-11-10 release candidate, and 0.3.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> anyhow::Result<()> {
    linker.allow_shadowing(true);
    for version in [P2_VERSION, "0.2.0-rc-2023-11-10"] {
        linker
            .instance(&format!("wasi:http/outgoing-handler@{version}"))?
            .func_wrap(
                "handle",
                |mut store: StoreContextMut<'_, HostState>,
                 (request, options): (
                    Resource<HostOutgoingRequest>,
                    Option<Resource<RequestOptions>>,
                )| {
                    let sent = match handle(&mut store.data_mut().http(), request, options) {
                        Ok(future) => Ok(future),
                        Err(e) => Err(e.downcast()?),
                    };
                    Ok((sent,))
                },
            )?;
    }
    client::add_to_linker::<_, SelfAware>(linker, HostState::http)?;
    linker.allow_shadowing(false);
    Ok(())
}
