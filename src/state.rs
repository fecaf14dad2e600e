//! What every connection and request shares: the engine, the current app
//! generation (swapped whole on reload) and the request counters shown in
//! `systemctl status`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use arc_swap::ArcSwap;
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

/// Request counters. A request is in flight from its arrival until its
/// response body has been sent or abandoned.
#[derive(Default)]
pub struct Stats {
    served: AtomicU64,
    in_flight: AtomicUsize,
}

impl Stats {
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
