//! What every connection and request shares: the engine, the current app
//! generation (swapped whole on reload) and the request counters shown in
//! `systemctl status`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use arc_swap::ArcSwap;
use tokio::sync::watch;
use wasmtime::Engine;

use crate::app::LoadedApp;
use crate::limits::{Admission, BufferBudget, Limits};
use crate::tls::Tls;

pub struct Shared {
    pub engine: Engine,
    pub app: ArcSwap<LoadedApp>,
    pub stats: Stats,
    pub limits: Limits,
    pub admission: Admission,
    /// What the host buffers for all requests at once (--max-host-buffers).
    pub buffers: Arc<BufferBudget>,
    /// The TLS acceptor for HTTPS sockets, when a certificate is configured.
    pub tls: Option<Tls>,
}

impl Shared {
    pub fn new(engine: Engine, app: LoadedApp, limits: Limits, tls: Option<Tls>) -> Self {
        Self {
            engine,
            app: ArcSwap::from_pointee(app),
            stats: Stats::default(),
            admission: Admission::new(&limits),
            buffers: BufferBudget::new(limits.max_host_buffers),
            limits,
            tls,
        }
    }
}

/// Request and connection counters. A request is in flight from its
/// arrival until its response body has been sent or abandoned; a
/// connection is open from accept to close.
pub struct Stats {
    served: AtomicU64,
    in_flight: AtomicUsize,
    connections: watch::Sender<usize>,
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            served: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            connections: watch::channel(0).0,
        }
    }
}

/// An open connection, counted until dropped.
pub struct OpenConnection<'a>(&'a Stats);

impl Drop for OpenConnection<'_> {
    fn drop(&mut self) {
        self.0.connections.send_modify(|n| *n -= 1);
    }
}

impl Stats {
    /// A connection was accepted; it counts as open until the guard drops.
    pub fn connection_opened(&self) -> OpenConnection<'_> {
        self.connections.send_modify(|n| *n += 1);
        OpenConnection(self)
    }

    /// Resolves once no connection has been open for `after` (counting
    /// from the last close, or from now if none is open).
    pub async fn idle_for(&self, after: std::time::Duration) {
        let mut open = self.connections.subscribe();
        loop {
            let _ = open.wait_for(|n| *n == 0).await;
            if tokio::time::timeout(after, open.changed()).await.is_err() {
                return;
            }
        }
    }

    pub fn started(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    pub fn finished(&self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.served.fetch_add(1, Ordering::Relaxed);
    }

    pub fn served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }
}
