//! What the daemon counts for operators, served as Prometheus metrics on
//! the admin listener ([`crate::serve::admin`]).
//!
//! Counting stays off every lock: each route, component and listener has
//! its handle (atomics behind an `Arc`) made when it is loaded or bound,
//! and the request path only adds to atomics through it. The registries
//! below are locked when an app is loaded and when `/metrics` is scraped,
//! never per request. Handles outlive reloads (a route or component that
//! stays keeps counting on), so the counters only go up.
//!
//! Label values are bounded: routes as written in the manifest, component
//! ids, and fixed words; never a raw path. `(static)`, `(well-known)` and
//! `(none)` cannot be component ids, so they never collide with one.

mod exposition;
mod route;
mod stats;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub use exposition::CONTENT_TYPE;
pub use route::{ComponentMetrics, GuestFailure, InstanceLive, OutboundResult, RouteMetrics};
pub use stats::Stats;

/// The component label of a static response.
pub const STATIC: &str = "(static)";
/// The component label of `/.well-known/spin/*`.
pub const WELL_KNOWN: &str = "(well-known)";
/// Route and component labels of a request no route took.
pub const NONE: &str = "(none)";

/// Why a request or connection was turned away before a guest saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    /// 503: the admission queue was full (--max-pending-requests).
    QueueFull,
    /// 503: the host buffer budget was spent (--max-host-buffers).
    HostBuffers,
    /// 413: the request body was over --max-body-size.
    BodyTooLarge,
    /// 431: the request head was over --max-header-size.
    HeaderTooLarge,
    /// 400: both Content-Length and Transfer-Encoding (request smuggling).
    AmbiguousFraming,
    /// 400: no valid Host.
    BadHost,
    /// A connection waited in the kernel's queue: --max-connections open.
    ConnectionLimit,
}

impl Reject {
    /// Every reason, in declaration order (`reason as usize` indexes it).
    pub(super) const ALL: [Reject; 7] = [
        Reject::QueueFull,
        Reject::HostBuffers,
        Reject::BodyTooLarge,
        Reject::HeaderTooLarge,
        Reject::AmbiguousFraming,
        Reject::BadHost,
        Reject::ConnectionLimit,
    ];

    fn label(self) -> &'static str {
        match self {
            Reject::QueueFull => "queue_full",
            Reject::HostBuffers => "host_buffers",
            Reject::BodyTooLarge => "body_too_large",
            Reject::HeaderTooLarge => "header_too_large",
            Reject::AmbiguousFraming => "ambiguous_framing",
            Reject::BadHost => "bad_host",
            Reject::ConnectionLimit => "connection_limit",
        }
    }
}

/// Where the process is in its life, for `/readyz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    /// Loading and compiling the app: not ready.
    Loading = 0,
    /// Serving the app: ready.
    Serving = 1,
    /// Draining after SIGTERM (or --exit-idle-after): not ready.
    Draining = 2,
}

/// How a compiled component was found at load.
#[derive(Debug, Clone, Copy)]
pub enum CacheLookup {
    Hit,
    Miss,
}

/// Every counter and gauge of the process.
#[derive(Default)]
pub struct Metrics {
    /// Requests in flight and served, open connections.
    pub stats: Stats,
    /// Requests waiting for an admission slot (shared with the admission).
    pub queued: Arc<AtomicU32>,
    rejected: [AtomicU64; Reject::ALL.len()],
    tls_handshake_failures: AtomicU64,
    /// Guest instances alive now (stores), every executor.
    instances_active: Arc<AtomicI64>,
    reloads: [AtomicU64; 2],
    compile_cache: [AtomicU64; 2],
    phase: AtomicU8,
    /// The app served now: (name, version).
    app: Mutex<(String, String)>,
    listeners: Mutex<Vec<(String, Arc<AtomicI64>)>>,
    routes: Mutex<BTreeMap<(String, String), Arc<RouteMetrics>>>,
    components: Mutex<BTreeMap<String, Arc<ComponentMetrics>>>,
    builtin: Builtin,
}

/// The handles of requests no app route takes.
struct Builtin {
    none: Arc<RouteMetrics>,
    health: Arc<RouteMetrics>,
    info: Arc<RouteMetrics>,
    other: Arc<RouteMetrics>,
}

impl Default for Builtin {
    fn default() -> Self {
        let well_known = |route: &str| Arc::new(RouteMetrics::builtin(route, WELL_KNOWN));
        Self {
            none: Arc::new(RouteMetrics::builtin(NONE, NONE)),
            health: well_known("/.well-known/spin/health"),
            info: well_known("/.well-known/spin/info"),
            other: well_known("/.well-known/spin/..."),
        }
    }
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The handle of an app route: `route` as written in the manifest,
    /// `component` its component id or [`STATIC`]; `name` is what the
    /// access log calls it. The same labels give the same handle.
    pub fn route(&self, route: &str, component: &str, name: &str) -> Arc<RouteMetrics> {
        let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        routes
            .entry((route.to_owned(), component.to_owned()))
            .or_insert_with(|| Arc::new(RouteMetrics::new(route, component, name)))
            .clone()
    }

    /// The handle of a request that no route took (404, or turned away
    /// before routing).
    pub fn unrouted(&self) -> &Arc<RouteMetrics> {
        &self.builtin.none
    }

    /// The handle of `/.well-known/spin/<rest>`.
    pub fn well_known(&self, rest: &str) -> &Arc<RouteMetrics> {
        match rest {
            "health" => &self.builtin.health,
            "info" => &self.builtin.info,
            _ => &self.builtin.other,
        }
    }

    /// The handle of a component, by id.
    pub fn component(&self, id: &str) -> Arc<ComponentMetrics> {
        let mut components = self.components.lock().unwrap_or_else(|e| e.into_inner());
        components
            .entry(id.to_owned())
            .or_insert_with(|| Arc::new(ComponentMetrics::new(self.instances_active.clone())))
            .clone()
    }

    /// The open-connection gauge of a listener (by its socket name).
    pub fn listener(&self, name: &str) -> Arc<AtomicI64> {
        let mut listeners = self.listeners.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, gauge)) = listeners.iter().find(|(n, _)| n == name) {
            return gauge.clone();
        }
        let gauge = Arc::new(AtomicI64::new(0));
        listeners.push((name.to_owned(), gauge.clone()));
        gauge
    }

    pub fn rejected(&self, why: Reject) {
        self.rejected[why as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn tls_handshake_failed(&self) {
        self.tls_handshake_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// A reload ended: swapped in (`ok`) or the old app kept.
    pub fn reloaded(&self, ok: bool) {
        self.reloads[usize::from(!ok)].fetch_add(1, Ordering::Relaxed);
    }

    pub fn compile_cache(&self, lookup: CacheLookup) {
        let index = match lookup {
            CacheLookup::Hit => 0,
            CacheLookup::Miss => 1,
        };
        self.compile_cache[index].fetch_add(1, Ordering::Relaxed);
    }

    pub fn set_phase(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::Release);
    }

    pub fn phase(&self) -> Phase {
        match self.phase.load(Ordering::Acquire) {
            1 => Phase::Serving,
            2 => Phase::Draining,
            _ => Phase::Loading,
        }
    }

    /// The app now served, for `wasi_httpd_app_info`.
    pub fn set_app(&self, name: &str, version: Option<&str>) {
        let mut app = self.app.lock().unwrap_or_else(|e| e.into_inner());
        *app = (name.to_owned(), version.unwrap_or_default().to_owned());
    }

    /// The Prometheus text exposition of everything above.
    pub fn render(self: &Arc<Self>) -> String {
        exposition::render(self.clone())
    }
}
