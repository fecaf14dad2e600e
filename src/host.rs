//! Per-request store data: the WASI and WASI-HTTP contexts a guest sees, and
//! the outbound HTTP policy applied to its requests.

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime::{StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{
    Error as HttpError, WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView,
};

/// Everything one guest instance owns while it serves one request.
pub struct HostState {
    pub table: ResourceTable,
    pub wasi: WasiCtx,
    pub http: WasiHttpCtx,
    pub outbound: OutboundPolicy,
    /// Memory limit: growing past it traps the guest.
    pub limits: StoreLimits,
}

impl HostState {
    pub fn new(wasi: WasiCtx, outbound: OutboundPolicy, max_memory: usize) -> Self {
        Self {
            table: ResourceTable::new(),
            wasi,
            http: WasiHttpCtx::new(),
            outbound,
            limits: StoreLimitsBuilder::new()
                .memory_size(max_memory)
                .trap_on_grow_failure(true)
                .build(),
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            hooks: &mut self.outbound,
            table: &mut self.table,
            ctx: &mut self.http,
        }
    }
}

/// Decides what a guest's outgoing HTTP requests may reach.
///
/// Spin denies every outbound request whose destination is not listed in the
/// component's `allowed_outbound_hosts`; the guest sees `HTTP-request-denied`.
pub struct OutboundPolicy {
    pub component: Arc<str>,
    pub request_id: Arc<str>,
}

impl WasiHttpHooks for OutboundPolicy {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        _options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> Box<
        dyn Future<
                Output = wasmtime_wasi_http::Result<(
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                )>,
            > + Send,
    > {
        tracing::warn!(
            component = %self.component,
            request_id = %self.request_id,
            url = %request.uri(),
            "outbound http request denied: the destination is not in the component's allowed_outbound_hosts"
        );
        Box::new(async { Err(HttpError::HttpRequestDenied) })
    }
}
