//! Per-request store data: the WASI and WASI-HTTP contexts a guest sees,
//! the outbound HTTP policy applied to its requests, and its limits
//! ([`memory`]).

pub mod memory;

use std::sync::{Arc, Weak};
use std::time::Duration;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{
    Error as HttpError, RequestOptions, WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks,
    WasiHttpView,
};

use crate::data::kv::KvAccess;
use crate::data::sqlite::SqliteAccess;
use crate::executor::OutboundEnv;
use crate::http::chain;
use crate::metrics::{ComponentMetrics, InstanceLive, OutboundResult};
use crate::outbound_client;
use crate::outbound_hosts::{AllowedHosts, chained_component, is_self_request};
use crate::platform::ComponentVariables;
use memory::GuestLimits;

/// Everything one guest instance owns while it serves one request.
pub struct HostState {
    pub table: ResourceTable,
    pub wasi: WasiCtx,
    pub http: WasiHttpCtx,
    pub outbound: OutboundPolicy,
    /// Memory limit: growing past it traps the guest.
    pub limits: GuestLimits,
    /// The component's variables (fermyon:spin/variables, wasi:config).
    pub variables: ComponentVariables,
    /// The key-value stores the component may open.
    pub kv: KvAccess,
    pub sqlite: SqliteAccess,
    /// The warnings this instance has already logged ([`Warning`]).
    warned: u8,
    /// Its places for each [`Held`] kind, made at the first use.
    held: [Option<Arc<tokio::sync::Semaphore>>; Held::KINDS],
    /// Counts the instance as active while it lives.
    _live: InstanceLive,
}

pub use crate::data::Stores;

impl HostState {
    pub fn new(
        wasi: WasiCtx,
        outbound: OutboundPolicy,
        max_memory: usize,
        variables: ComponentVariables,
        stores: Stores,
    ) -> Self {
        let live = outbound.metrics.instance_made();
        Self {
            table: ResourceTable::new(),
            wasi,
            http: WasiHttpCtx::new(),
            outbound,
            variables,
            kv: stores.kv,
            sqlite: stores.sqlite,
            warned: 0,
            held: Default::default(),
            limits: GuestLimits::new(max_memory),
            _live: live,
        }
    }
}

/// Connections of one kind (SQLite, Redis, PostgreSQL) an instance may
/// hold at once; past it, opening another is an error (Spin bounds each
/// instance's tables the same way).
pub const MAX_CONNECTIONS_PER_INSTANCE: usize = 64;

/// What an instance holds a bounded number of at once
/// ([`HostState::slot`]): connections of each kind (at most
/// [`MAX_CONNECTIONS_PER_INSTANCE`]), PostgreSQL connection builders (as
/// many), and name lookups under way
/// (`executor::name_lookup::MAX_LOOKUPS_PER_INSTANCE`).
#[derive(Clone, Copy)]
pub enum Held {
    Sqlite = 0,
    Redis = 1,
    Postgres = 2,
    PostgresBuilder = 3,
    Lookup = 4,
}

impl Held {
    const KINDS: usize = 5;

    fn most(self) -> usize {
        match self {
            Held::Lookup => crate::executor::MAX_LOOKUPS_PER_INSTANCE,
            _ => MAX_CONNECTIONS_PER_INSTANCE,
        }
    }
}

/// A warning a guest could otherwise repeat without bound: each is logged
/// once per instance (the guest still gets its error every time).
#[derive(Clone, Copy)]
#[repr(u8)]
pub enum Warning {
    SocketLimit = 1,
    RedisDenied = 2,
    PostgresDenied = 4,
    FdReserve = 8,
    LookupLimit = 16,
    SqliteDenied = 32,
}

impl HostState {
    /// Whether `warning` is logged for the first time in this instance
    /// (then log it).
    pub fn first_warning(&mut self, warning: Warning) -> bool {
        let bit = warning as u8;
        let first = self.warned & bit == 0;
        self.warned |= bit;
        first
    }

    /// A place for one more of `kind`, or `None` when the instance holds
    /// the most it may. What takes it keeps it (and so does what outlives
    /// the guest's handle, such as a query's row stream), so opens and
    /// lookups under way count as well.
    pub fn slot(&mut self, kind: Held) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.held[kind as usize]
            .get_or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(kind.most())))
            .clone()
            .try_acquire_owned()
            .ok()
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

/// Decides what a guest's outgoing HTTP requests may reach, as Spin does:
/// only destinations in the component's `allowed_outbound_hosts`; the guest
/// sees `HTTP-request-denied` for the rest. Chained (`*.spin.internal`) and
/// self (`self.alt`) requests are served in process, under the request the
/// guest is serving.
pub struct OutboundPolicy {
    pub component: Arc<str>,
    /// Tags logs: the request id, or `<component>-instance`.
    pub tag: Arc<str>,
    pub allowed: Arc<AllowedHosts>,
    pub requests: Requests,
    /// The component's counters (outbound requests, instances).
    pub metrics: Arc<ComponentMetrics>,
}

impl OutboundPolicy {
    /// The id of the request the guest serves now, for logs.
    pub fn request_id(&self) -> Arc<str> {
        match self.requests.current() {
            Some(env) => env.request_id.clone(),
            None => self.tag.clone(),
        }
    }
}

/// The requests a store serves: exactly one (a fresh instance per request),
/// or those in flight in a reused wasi:http 0.3 instance, held weakly so
/// that an instance never keeps a request (or its app generation) alive.
pub enum Requests {
    One(Arc<OutboundEnv>),
    Instance(Vec<Weak<OutboundEnv>>),
}

impl Requests {
    /// A reused instance, serving no request yet.
    pub fn instance() -> Self {
        Requests::Instance(Vec::new())
    }

    /// A reused instance starts serving `env`.
    pub fn add(&mut self, env: &Arc<OutboundEnv>) {
        if let Requests::Instance(list) = self {
            list.retain(|w| w.strong_count() > 0);
            list.push(Arc::downgrade(env));
        }
    }

    /// The request an outgoing request counts under. In a reused instance
    /// serving several requests at once, the host cannot tell which one a
    /// call comes from, so it takes the strictest: the deepest chain and
    /// the earliest deadline (a loop still ends, no deadline is exceeded).
    /// `None` when no request is in flight.
    pub fn current(&self) -> Option<Arc<OutboundEnv>> {
        match self {
            Requests::One(env) => Some(env.clone()),
            Requests::Instance(list) => {
                let mut live = list.iter().filter_map(Weak::upgrade);
                let first = live.next()?;
                Some(live.fold(first, |acc, env| {
                    if env.depth == acc.depth && env.deadline == acc.deadline {
                        return acc;
                    }
                    Arc::new(OutboundEnv {
                        shared: env.shared.clone(),
                        app: env.app.clone(),
                        request_id: acc.request_id.clone(),
                        depth: acc.depth.max(env.depth),
                        deadline: acc.deadline.min(env.deadline),
                    })
                }))
            }
        }
    }
}

/// Connect and first-byte limits for outbound requests that set none.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(30);

type SendResult = wasmtime_wasi_http::Result<(
    http::Response<WasiBody>,
    Box<dyn Future<Output = Result<(), HttpError>> + Send>,
)>;

impl WasiHttpHooks for OutboundPolicy {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        let metrics = self.metrics.clone();
        let sending = Box::into_pin(self.route(request, options));
        Box::new(async move {
            let result = sending.await;
            metrics.outbound(match &result {
                Ok(_) => OutboundResult::Allowed,
                Err(HttpError::HttpRequestDenied | HttpError::DestinationIpProhibited) => {
                    OutboundResult::Denied
                }
                Err(_) => OutboundResult::Failed,
            });
            result
        })
    }
}

impl OutboundPolicy {
    /// Where the request goes: denied, chained or self (in process), or
    /// out over the network.
    fn route(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        let url = request.uri().clone();
        let host = url.host().unwrap_or_default().to_ascii_lowercase();
        let component = self.component.clone();
        let request_id = self.request_id();
        // Logged without the query, which may carry secrets.
        let shown = format!(
            "{}://{}{}",
            url.scheme_str().unwrap_or("http"),
            url.authority().map_or("", |a| a.as_str()),
            url.path()
        );
        let denied = |why: &str| {
            tracing::warn!(%component, %request_id, url = %shown, "outbound request denied: {why}");
            Box::new(async { Err(HttpError::HttpRequestDenied) })
                as Box<dyn Future<Output = SendResult> + Send>
        };
        let done = |response: Result<http::Response<WasiBody>, HttpError>| {
            response.map(|r| {
                (
                    r,
                    Box::new(async { Ok(()) })
                        as Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                )
            })
        };
        let Some(env) = self.requests.current() else {
            return denied("the instance serves no request now");
        };
        if let Some(target) = chained_component(&host) {
            // The URL is checked as any other (its scheme and port against
            // the entries), as Spin does; then it is served in process,
            // whatever its scheme.
            if !self.allowed.allows(&url) {
                return denied(&format!(
                    "add {}://<component>.spin.internal (or {0}://*.spin.internal) to allowed_outbound_hosts",
                    url.scheme_str().unwrap_or("http")
                ));
            }
            let target = target.to_owned();
            return Box::new(async move {
                done(chain::to_component(&env, request_id, &target, request).await)
            });
        }
        if is_self_request(&url) || host == "self" {
            if !self.allowed.allows_self() {
                return denied("add http://self to allowed_outbound_hosts");
            }
            return Box::new(async move { done(chain::to_self(&env, request_id, request).await) });
        }
        if !self.allowed.allows(&url) {
            return denied("the destination is not in the component's allowed_outbound_hosts");
        }
        let mut options = options.unwrap_or_default();
        options.connect_timeout.get_or_insert(CONNECT_TIMEOUT);
        options.first_byte_timeout.get_or_insert(FIRST_BYTE_TIMEOUT);
        // The address connected to is checked too (loopback, private and
        // link-local ones need an entry naming them).
        let allowed = self.allowed.clone();
        let scheme = url.scheme_str().unwrap_or("http").to_owned();
        let url_host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let may_connect = move |ip, port| {
            allowed
                .may_connect(&scheme, &url_host, ip, port)
                .inspect_err(|why| {
                    tracing::warn!(%component, %request_id, url = %shown, "outbound request denied: {why}");
                })
        };
        Box::new(outbound_client::send(request, options, may_connect))
    }
}
