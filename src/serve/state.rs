//! What every connection and request shares: the current app
//! generation (swapped whole on reload), the limits and the metrics.

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::base::limits::{Admission, BufferBudget, Limits};
use crate::base::metrics::Metrics;
use crate::base::tls::Tls;
use crate::load::app::LoadedApp;

pub struct Shared {
    pub app: ArcSwap<LoadedApp>,
    /// Counters and gauges (the request and connection counts among them).
    pub metrics: Arc<Metrics>,
    pub limits: Limits,
    pub admission: Admission,
    /// What the host buffers for all requests at once (--max-host-buffers).
    pub buffers: Arc<BufferBudget>,
    /// The TLS acceptor for HTTPS sockets, when a certificate is configured.
    pub tls: Option<Tls>,
}

impl Shared {
    pub fn new(app: LoadedApp, limits: Limits, tls: Option<Tls>, metrics: Arc<Metrics>) -> Self {
        Self {
            app: ArcSwap::from_pointee(app),
            admission: Admission::new(&limits, metrics.queued.clone()),
            metrics,
            buffers: BufferBudget::new(limits.max_host_buffers),
            limits,
            tls,
        }
    }
}
