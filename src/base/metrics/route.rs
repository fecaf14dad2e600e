//! The per-route and per-component handles: plain atomics, added to on the
//! request path, read when `/metrics` is scraped.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the request duration buckets: 0.5 ms to 60 s.
pub(super) const DURATION_BUCKETS: [f64; 16] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0,
];

/// Status codes counted one by one: 100 to 599.
const FIRST_CODE: u16 = 100;
const CODES: usize = 500;

/// Requests of one route (or one kind of built-in answer).
pub struct RouteMetrics {
    /// The `route` label: the route as written in the manifest.
    pub(super) route: String,
    /// The `component` label.
    pub(super) component: String,
    /// What the access log calls the route and its handler (empty for
    /// requests no app route took).
    log: (String, String),
    codes: Box<[AtomicU64; CODES]>,
    /// Responses with a code outside 100..=599 (none are sent; kept so
    /// that no request goes uncounted).
    other_codes: AtomicU64,
    /// Non-cumulative counts per bucket, the last one past 60 s (+Inf).
    buckets: [AtomicU64; DURATION_BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
}

impl RouteMetrics {
    pub(super) fn new(route: &str, component: &str, name: &str) -> Self {
        Self::with_log(route, component, (route.to_owned(), name.to_owned()))
    }

    pub(super) fn builtin(route: &str, component: &str) -> Self {
        Self::with_log(route, component, Default::default())
    }

    fn with_log(route: &str, component: &str, log: (String, String)) -> Self {
        Self {
            route: route.to_owned(),
            component: component.to_owned(),
            log,
            codes: Box::new(std::array::from_fn(|_| AtomicU64::new(0))),
            other_codes: AtomicU64::new(0),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_nanos: AtomicU64::new(0),
        }
    }

    /// The route and handler names for the access log.
    pub fn log_names(&self) -> (&str, &str) {
        (&self.log.0, &self.log.1)
    }

    /// One request answered with `status` after `took`.
    pub fn observe(&self, status: u16, took: Duration) {
        match status
            .checked_sub(FIRST_CODE)
            .and_then(|i| self.codes.get(usize::from(i)))
        {
            Some(count) => count.fetch_add(1, Ordering::Relaxed),
            None => self.other_codes.fetch_add(1, Ordering::Relaxed),
        };
        let seconds = took.as_secs_f64();
        let bucket = DURATION_BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(DURATION_BUCKETS.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// (code, count) for every code seen.
    pub(super) fn codes(&self) -> impl Iterator<Item = (u16, u64)> + '_ {
        self.codes
            .iter()
            .zip(FIRST_CODE..)
            .map(|(count, code)| (code, count.load(Ordering::Relaxed)))
            .filter(|(_, count)| *count > 0)
    }

    /// (sum in seconds, count, per-bucket counts) of the durations.
    pub(super) fn durations(&self) -> (f64, u64, Vec<(f64, u64)>) {
        let buckets: Vec<(f64, u64)> = DURATION_BUCKETS
            .iter()
            .copied()
            .chain([f64::INFINITY])
            .zip(&self.buckets)
            .map(|(bound, count)| (bound, count.load(Ordering::Relaxed)))
            .collect();
        let count = buckets.iter().map(|(_, n)| n).sum();
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        (sum, count, buckets)
    }

    /// True once a request was counted (unused routes stay out of the
    /// exposition).
    pub(super) fn seen(&self) -> bool {
        self.buckets.iter().any(|b| b.load(Ordering::Relaxed) > 0)
    }
}

/// How a guest failed a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestFailure {
    /// It trapped (or a host call it made failed).
    Trap,
    /// It grew its memory past --max-instance-memory.
    Memory,
    /// The request deadline passed.
    Timeout,
    /// It returned without a response.
    NoResponse,
    /// It could not be instantiated.
    Instantiate,
    /// It answered with a wasi:http error code.
    ErrorCode,
}

impl GuestFailure {
    /// Every kind, in declaration order (`kind as usize` indexes it).
    pub(super) const ALL: [GuestFailure; 6] = [
        GuestFailure::Trap,
        GuestFailure::Memory,
        GuestFailure::Timeout,
        GuestFailure::NoResponse,
        GuestFailure::Instantiate,
        GuestFailure::ErrorCode,
    ];

    pub(super) fn label(self) -> &'static str {
        match self {
            GuestFailure::Trap => "trap",
            GuestFailure::Memory => "memory",
            GuestFailure::Timeout => "timeout",
            GuestFailure::NoResponse => "no_response",
            GuestFailure::Instantiate => "instantiate",
            GuestFailure::ErrorCode => "error_code",
        }
    }
}

/// What became of a guest's outbound request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboundResult {
    /// Let through and answered (in process or over the network).
    Allowed,
    /// Refused by allowed_outbound_hosts or the address check.
    Denied,
    /// Let through, but it failed (DNS, connect, TLS, timeout).
    Failed,
}

impl OutboundResult {
    /// Every result, in declaration order (`result as usize` indexes it).
    pub(super) const ALL: [OutboundResult; 3] = [
        OutboundResult::Allowed,
        OutboundResult::Denied,
        OutboundResult::Failed,
    ];

    pub(super) fn label(self) -> &'static str {
        match self {
            OutboundResult::Allowed => "allowed",
            OutboundResult::Denied => "denied",
            OutboundResult::Failed => "failed",
        }
    }
}

/// Counters of one component, whichever routes and executors use it.
pub struct ComponentMetrics {
    guest_errors: [AtomicU64; GuestFailure::ALL.len()],
    outbound: [AtomicU64; OutboundResult::ALL.len()],
    /// Instances made (stores), one per request unless reused.
    instances: AtomicU64,
    /// Requests served by an instance that had served one already
    /// (wasi:http 0.3 instance reuse).
    reused: AtomicU64,
    active: Arc<AtomicI64>,
}

impl ComponentMetrics {
    pub(super) fn new(active: Arc<AtomicI64>) -> Self {
        Self {
            guest_errors: Default::default(),
            outbound: Default::default(),
            instances: AtomicU64::new(0),
            reused: AtomicU64::new(0),
            active,
        }
    }

    pub fn guest_failed(&self, failure: GuestFailure) {
        self.guest_errors[failure as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn outbound(&self, result: OutboundResult) {
        self.outbound[result as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// An instance was made; it counts as active until the guard drops.
    pub fn instance_made(&self) -> InstanceLive {
        self.instances.fetch_add(1, Ordering::Relaxed);
        self.active.fetch_add(1, Ordering::Relaxed);
        InstanceLive(self.active.clone())
    }

    /// A request went to an instance that had served one before.
    pub fn instance_reused(&self) {
        self.reused.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn instances_made(&self) -> u64 {
        self.instances.load(Ordering::Relaxed)
    }

    pub(super) fn reuses(&self) -> u64 {
        self.reused.load(Ordering::Relaxed)
    }

    pub(super) fn guest_errors(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        GuestFailure::ALL
            .iter()
            .zip(&self.guest_errors)
            .map(|(f, n)| (f.label(), n.load(Ordering::Relaxed)))
    }

    pub(super) fn outbound_counts(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        OutboundResult::ALL
            .iter()
            .zip(&self.outbound)
            .map(|(r, n)| (r.label(), n.load(Ordering::Relaxed)))
    }
}

/// A live instance, counted in `wasi_httpd_instances_active` until dropped
/// (it lives in the instance's store data).
pub struct InstanceLive(Arc<AtomicI64>);

impl Drop for InstanceLive {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_label_tables_are_in_declaration_order() {
        for (i, kind) in GuestFailure::ALL.iter().enumerate() {
            assert_eq!(*kind as usize, i);
        }
        for (i, result) in OutboundResult::ALL.iter().enumerate() {
            assert_eq!(*result as usize, i);
        }
        for (i, reason) in crate::base::metrics::Reject::ALL.iter().enumerate() {
            assert_eq!(*reason as usize, i);
        }
    }
}
