//! A connection's timers: [`Activity`] (requests in flight and when the
//! last one started or ended, for `--idle-timeout`; idleness is counted in
//! requests, not bytes, so an HTTP/1.1 connection waiting for its next
//! request and an HTTP/2 connection whose client only answers PINGs are
//! both idle) and [`Stopwatch`]es for what must not take too long: the
//! request head being read (`--header-read-timeout`: from accept for the
//! first request, from its first byte for each later one, so a keep-alive
//! connection waiting between requests is under the idle timeout only), and
//! a write the client is not taking (a response it stopped reading).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// Milliseconds since `base`, as stored in the timers' atomics.
fn millis_since(base: Instant) -> u64 {
    base.elapsed().as_millis() as u64
}

/// `ms` after `base`, plus `timeout`; `None` if that is past the end of
/// time (a timeout too large to ever pass).
fn due(base: Instant, ms: u64, timeout: Duration) -> Option<Instant> {
    base.checked_add(Duration::from_millis(ms))?
        .checked_add(timeout)
}

/// The requests of one connection: how many are in flight, and when one
/// last started or ended.
pub struct Activity {
    base: Instant,
    in_flight: AtomicUsize,
    /// Requests begun on the connection so far.
    begun: AtomicU64,
    last_ms: AtomicU64,
    began: Notify,
    ended: Notify,
}

impl Activity {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            base: Instant::now(),
            in_flight: AtomicUsize::new(0),
            begun: AtomicU64::new(0),
            last_ms: AtomicU64::new(0),
            began: Notify::new(),
            ended: Notify::new(),
        })
    }

    /// A request started; it is in flight until the returned guard drops
    /// (with the response body, once hyper has sent it or given up).
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.begun.fetch_add(1, Ordering::AcqRel);
        self.touch();
        self.began.notify_waiters();
        InFlight(self.clone())
    }

    /// Resolves once the connection's first request has begun (at once if
    /// it has).
    pub async fn first_request(&self) {
        loop {
            let began = self.began.notified();
            if self.begun.load(Ordering::Acquire) > 0 {
                return;
            }
            began.await;
        }
    }

    /// Whether any request has begun on the connection.
    pub fn served_any(&self) -> bool {
        self.begun.load(Ordering::Acquire) > 0
    }

    /// Something happened that restarts the idle count (a request head
    /// began to arrive).
    pub fn touch(&self) {
        self.last_ms
            .store(millis_since(self.base), Ordering::Release);
    }

    /// Whether a request is in flight.
    pub fn busy(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) > 0
    }

    /// Resolves once no request has been in flight for `timeout`.
    pub async fn idle(&self, timeout: Duration) {
        loop {
            let ended = self.ended.notified();
            if self.in_flight.load(Ordering::Acquire) > 0 {
                ended.await;
                continue;
            }
            let Some(due) = due(self.base, self.last_ms.load(Ordering::Acquire), timeout) else {
                return std::future::pending().await;
            };
            if Instant::now() >= due {
                return;
            }
            tokio::time::sleep_until(due).await;
        }
    }
}

/// A request in flight (see [`Activity::begin`]).
pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let activity = &self.0;
        activity
            .last_ms
            .store(millis_since(activity.base), Ordering::Release);
        activity.in_flight.fetch_sub(1, Ordering::AcqRel);
        activity.ended.notify_waiters();
    }
}

/// Times something pending: when it started (`u64::MAX`: nothing is), in
/// milliseconds since `base`.
pub struct Stopwatch {
    base: Instant,
    started_ms: AtomicU64,
    started: Notify,
    /// Told when the stopwatch starts, so the wait counts as activity.
    activity: Option<Arc<Activity>>,
}

impl Stopwatch {
    /// The head timer: running already (the first head is timed from
    /// accept); each later start counts as activity on the connection.
    pub fn for_heads(activity: Arc<Activity>) -> Arc<Self> {
        Arc::new(Self {
            base: Instant::now(),
            started_ms: AtomicU64::new(0),
            started: Notify::new(),
            activity: Some(activity),
        })
    }

    /// A stopped stopwatch.
    pub fn stopped() -> Arc<Self> {
        Arc::new(Self {
            base: Instant::now(),
            started_ms: AtomicU64::new(u64::MAX),
            started: Notify::new(),
            activity: None,
        })
    }

    /// Starts (again) from now.
    pub fn start(&self) {
        self.started_ms
            .store(millis_since(self.base), Ordering::Release);
        if let Some(activity) = &self.activity {
            activity.touch();
        }
        self.started.notify_waiters();
    }

    /// Starts from now unless already running.
    pub(super) fn start_if_stopped(&self) {
        let now = millis_since(self.base);
        if self
            .started_ms
            .compare_exchange(u64::MAX, now, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.started.notify_waiters();
        }
    }

    pub fn stop(&self) {
        self.started_ms.store(u64::MAX, Ordering::Release);
    }

    /// Resolves once it has been running for longer than `timeout`.
    pub async fn expired(&self, timeout: Duration) {
        loop {
            let started = self.started.notified();
            let since = self.started_ms.load(Ordering::Acquire);
            if since == u64::MAX {
                started.await;
                continue;
            }
            let Some(due) = due(self.base, since, timeout) else {
                return std::future::pending().await;
            };
            if Instant::now() >= due {
                return;
            }
            // Re-checked at the deadline: it may have stopped meanwhile.
            tokio::select! {
                () = tokio::time::sleep_until(due) => {}
                () = started => {}
            }
        }
    }
}
