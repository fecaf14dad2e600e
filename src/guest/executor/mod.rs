//! Executors: how a component is called for one request. The executor is
//! chosen from what the component exports; each kind lives in its own file
//! and serves through one trait, `Execute`, with stores made in one place
//! (`stores`). The [`runtime::Runtime`] compiles and links components.

pub mod guest_output;
mod inbound_http;
mod name_lookup;
mod p2;
mod p3;
mod runtime;
mod sockets;
mod stores;
pub mod task;
mod unprovided;
mod wagi;
mod wagi_stdout;

use std::pin::Pin;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use wasmtime::Engine;
use wasmtime::component::{Component, InstancePre, Linker};

use crate::base::body::Body;
use crate::base::limits::{BufferBudget, CollectError, LimitedBody, Reservation, collect_within};
use crate::base::metrics::ComponentMetrics;
use crate::guest::host::memory::MemoryLimitHit;
use crate::guest::host::{HostState, Stores, wasi_body};

use crate::guest::request_context::RequestContext;
use crate::model::mounts::FilesRoot;
use crate::model::outbound_hosts::AllowedHosts;
use crate::model::variables::ComponentVariables;

use inbound_http::InboundHttpExecutor;
pub use p2::P2Executor;
pub use p3::{P3Executor, Reuse, ReuseLimits};
use runtime::define_host;
pub use runtime::{Compiled, Starting};
use stores::{StoreMaker, StoreParts};
pub use wagi::{WagiExecutor, cgi_response};

/// The request body a guest reads: the client's, capped at --max-body-size
/// ([`LimitedBody`]), as wasi:http's body type.
pub type RequestBody = wasmtime_wasi_http::WasiBody;

/// Why a guest produced no usable response: 504 for a timeout, 503 when
/// the host cannot buffer more, else 500 with an empty body; the detail
/// goes to the log only.
#[derive(Debug)]
pub enum GuestError {
    /// The component could not be instantiated for this request.
    Instantiate(anyhow::Error),
    /// The guest trapped (or the host failed) before sending a response.
    Trap(anyhow::Error),
    /// The guest returned from its handler without sending a response.
    NoResponse,
    /// The guest answered with a `wasi:http` error code instead of a response.
    ErrorCode(String),
    /// The request deadline passed before the guest sent its response head.
    Timeout,
    /// The host's buffer budget (--max-host-buffers) is spent: 503.
    Busy,
    /// The guest grew its memory past --max-instance-memory.
    Memory(String),
}

impl std::fmt::Display for GuestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GuestError::Instantiate(e) => write!(f, "cannot instantiate the component: {e:#}"),
            GuestError::Trap(e) => write!(f, "guest trapped: {e:#}"),
            GuestError::NoResponse => f.write_str("guest returned without sending a response"),
            GuestError::ErrorCode(code) => write!(f, "guest answered with error {code}"),
            GuestError::Timeout => {
                f.write_str("the request deadline passed before the guest answered")
            }
            GuestError::Busy => f.write_str("the host buffer budget (--max-host-buffers) is spent"),
            GuestError::Memory(text) => write!(f, "guest trapped: {text}"),
        }
    }
}

/// Runs a guest's whole call in its own task (on the guests' runtime),
/// holding the request's admission slot, until `deadline`; a guest still
/// running then (spinning, or blocked in a host call) is cancelled and the
/// answer is a timeout. Dropping the returned future (the client went
/// away) cancels the guest too.
async fn run_until<T: Send + 'static>(
    deadline: tokio::time::Instant,
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
    call: impl Future<Output = Result<T, GuestError>> + Send + 'static,
) -> Result<T, GuestError> {
    let guest = task::GuestTask::spawn(deadline, async move {
        let _permit = permit;
        call.await
    });
    match guest.await {
        Ok(Ok(result)) => result,
        Ok(Err(task::DeadlinePassed)) => Err(GuestError::Timeout),
        Err(join) => Err(task_failed(join)),
    }
}

/// The whole request body, for the executors that hand it over at once,
/// and its share of the host's buffer budget (held while the body is).
async fn read_body(
    body: RequestBody,
    budget: &Arc<BufferBudget>,
) -> Result<(bytes::Bytes, Reservation), GuestError> {
    // Its size is bounded by the LimitedBody it comes in (413).
    let mut held = budget.reserve();
    let body = collect_within(body, usize::MAX, &mut held)
        .await
        .map_err(|error| match error {
            CollectError::BudgetSpent => GuestError::Busy,
            CollectError::TooLarge => unreachable!("no limit given"),
            CollectError::Body(e) => {
                GuestError::Trap(anyhow::anyhow!("cannot read the request body: {e}"))
            }
        })?;
    Ok((body, held))
}

/// A guest failure; an epoch interruption means the deadline passed.
fn trap(error: wasmtime::Error) -> GuestError {
    if error.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::Interrupt) {
        GuestError::Timeout
    } else if error.downcast_ref::<MemoryLimitHit>().is_some() {
        GuestError::Memory(error_text(&error))
    } else {
        GuestError::Trap(anyhow::anyhow!(error_text(&error)))
    }
}

/// A guest error for the log: what went wrong first, then where in the
/// guest (the wasm backtrace), rather than the backtrace first.
fn error_text(error: &wasmtime::Error) -> String {
    match error.downcast_ref::<wasmtime::WasmBacktrace>() {
        Some(trace) => format!("{}\n{trace}", error.root_cause()),
        None => format!("{error:#}"),
    }
}

/// A guest task that panicked or was cancelled.
fn task_failed(join: tokio::task::JoinError) -> GuestError {
    GuestError::Trap(anyhow::anyhow!("guest task failed: {join}"))
}

/// What one request's guest instance is given besides the request itself.
pub struct RequestEnv {
    /// `http` or `https`: the scheme the client really used.
    pub https: bool,
    pub max_memory: usize,
    /// The admission slot, released when the guest is done; `None` for a
    /// chained request, which runs on the slot of the request it serves.
    pub permit: Option<tokio::sync::OwnedSemaphorePermit>,
    /// The request's id, chain depth and deadline, and where the guest's
    /// in-process requests go.
    pub context: Arc<RequestContext>,
}

/// What a component is given besides its code, from the manifest.
pub struct ComponentSetup {
    pub environment: Vec<(String, String)>,
    /// The directory mounted read-only at `/` in the guest, if it has files.
    pub files_root: Option<FilesRoot>,
    /// `allowed_outbound_hosts`, templates resolved.
    pub allowed: AllowedHosts,
    /// The component's variables, rendered.
    pub variables: ComponentVariables,
    /// Its key-value stores and SQLite databases.
    pub stores: Stores,
    /// Its counters (guest errors, outbound requests, instances).
    pub metrics: Arc<ComponentMetrics>,
}

/// A component ready to serve: compiled, linked and pre-instantiated.
pub struct LoadedComponent {
    /// Its id and setup, which every store it serves is made from.
    maker: StoreMaker,
    executor: Box<dyn Execute>,
}

/// The answer of an executor to one request.
type Answer<'a> =
    Pin<Box<dyn Future<Output = Result<http::Response<Body>, GuestError>> + Send + 'a>>;

/// How one kind of component serves a request; each kind lives in its own
/// file ([`p2`], [`p3`], [`inbound_http`], [`wagi`]).
trait Execute: Send + Sync {
    /// The export it calls, for the log.
    fn export(&self) -> &str;

    /// Serves `request`, in a store (or a reused instance) from `stores`.
    fn handle<'a>(
        &'a self,
        stores: &'a StoreMaker,
        env: RequestEnv,
        request: http::Request<RequestBody>,
    ) -> Answer<'a>;
}

impl LoadedComponent {
    /// Chooses the executor from the component's exports and pre-instantiates
    /// it; an import the host does not provide is a load error naming it.
    fn new(
        engine: &Engine,
        linker: &Linker<HostState>,
        id: &str,
        component: &Component,
        setup: ComponentSetup,
        wagi: Option<&crate::model::manifest::WagiExecutor>,
        reuse: &ReuseLimits,
    ) -> Result<Self> {
        let metrics = setup.metrics;
        let link = || link(engine, linker, id, component);
        let exports: Vec<String> = component
            .component_type()
            .exports(engine)
            .map(|(name, _)| name.to_owned())
            .collect();
        let executor: Box<dyn Execute> = if let Some(spec) = wagi {
            Box::new(
                link()
                    .and_then(|pre| WagiExecutor::new(pre, spec))
                    .with_context(|| {
                        format!(
                            "component `{id}` is served with executor `wagi` (it exports {})",
                            exports.join(", ")
                        )
                    })?,
            )
        } else if let Some(export) = exports.iter().find(|e| P2Executor::handles(e)) {
            Box::new(P2Executor::new(link()?, export)?)
        } else if let Some(export) = exports.iter().find(|e| P3Executor::handles(e)) {
            Box::new(P3Executor::new(
                link()?,
                export,
                reuse.clone(),
                metrics.clone(),
            )?)
        } else if exports.iter().any(|e| e == inbound_http::EXPORT) {
            Box::new(
                link().and_then(InboundHttpExecutor::new).with_context(|| {
                    format!("component `{id}` exports {}", inbound_http::EXPORT)
                })?,
            )
        } else if let Some((export, why)) = exports
            .iter()
            .find_map(|e| not_yet_served(e).map(|why| (e, why)))
        {
            bail!(
                "component `{id}` exports `{export}`, {why}; wasi-httpd serves \
                 wasi:http/incoming-handler@0.2.x and WAGI commands"
            );
        } else {
            let exported = if exports.is_empty() {
                "nothing".to_owned()
            } else {
                exports.join(", ")
            };
            bail!(
                "component `{id}` exports no HTTP handler wasi-httpd can call (it exports {exported}); \
                 build it as an HTTP component exporting wasi:http/incoming-handler@0.2.x, or serve \
                 a WASI command with executor = {{ type = \"wagi\" }}"
            );
        };
        let id: Arc<str> = id.into();
        Ok(Self {
            maker: StoreMaker {
                engine: engine.clone(),
                parts: Arc::new(StoreParts {
                    output: guest_output::budget(&id),
                    id,
                    environment: setup.environment,
                    files_root: setup.files_root,
                    allowed: Arc::new(setup.allowed),
                    variables: setup.variables,
                    data: setup.stores,
                    metrics,
                }),
            },
            executor,
        })
    }

    /// The component's id in the manifest.
    pub fn id(&self) -> &Arc<str> {
        self.maker.id()
    }

    /// Its counters.
    pub fn metrics(&self) -> &ComponentMetrics {
        &self.maker.parts.metrics
    }

    /// Which export the executor calls, for the log.
    pub fn executor_name(&self) -> &str {
        self.executor.export()
    }

    /// Serves one request in a fresh instance.
    pub fn handle(
        &self,
        env: RequestEnv,
        request: http::Request<LimitedBody<Body>>,
    ) -> impl Future<Output = Result<http::Response<Body>, GuestError>> + Send + '_ {
        // Converted before the call, so that the call's future holds only
        // wasi:http's body type.
        self.executor
            .handle(&self.maker, env, request.map(wasi_body))
    }
}

/// Links `component` once, for whichever executor serves it: against the
/// host's linker, or, when that lacks imports Spin provides, against one
/// that stubs them (see [`unprovided`]). An import missing either way is an
/// error naming it.
fn link(
    engine: &Engine,
    linker: &Linker<HostState>,
    id: &str,
    component: &Component,
) -> Result<InstancePre<HostState>> {
    let missing = match linker.instantiate_pre(component) {
        Ok(pre) => return Ok(pre),
        Err(missing) => anyhow::Error::from(missing),
    };
    let linked = match unprovided::stubbed_linker(engine, component, define_host) {
        Ok((stubbed, unprovided)) => {
            unprovided::report(id, unprovided);
            stubbed
                .instantiate_pre(component)
                .map_err(anyhow::Error::from)
        }
        // The host's own linker names the first import it lacks.
        Err(why) => {
            tracing::debug!(component = %id, "cannot stub its imports: {why:#}");
            Err(missing)
        }
    };
    linked.context("cannot link the component's imports")
}

/// HTTP handler exports Spin serves that wasi-httpd does not yet, and why.
fn not_yet_served(export: &str) -> Option<&'static str> {
    if export.starts_with("wasi:http/handler@0.3.0-rc-") {
        Some(
            "a release candidate of wasi:http 0.3 that differs from 0.3.0 (only 0.3.0-rc-2026-03-15, spin-sdk 6, is served, as 0.3.0), which wasmtime 48 cannot link; rebuild against wasi:http 0.3.0 or later",
        )
    } else if export.starts_with("wasi:http/incoming-handler@0.2.0-rc-") {
        Some(
            "a release candidate of wasi:http 0.2 other than the 2023-10-18 and 2023-11-10 ones wasi-httpd serves; rebuild against wasi:http 0.2.0 or later",
        )
    } else if export.starts_with("fermyon:spin/inbound-http") {
        Some(
            "the old Spin SDK's inbound-http interface, which wasi-httpd does not serve yet; rebuild with spin-sdk 3 or later",
        )
    } else {
        None
    }
}
