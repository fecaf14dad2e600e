//! The request and connection counts the daemon itself acts on: requests
//! in flight and served (STATUS=, the drain), connections open (scale to
//! zero). A request is in flight from its arrival until its response body
//! has been sent or abandoned; a connection is open from accept to close.

use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};

use tokio::sync::watch;

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

/// An open connection, counted (in all and on its listener) until dropped.
pub struct OpenConnection<'a> {
    stats: &'a Stats,
    listener: &'a AtomicI64,
}

impl Drop for OpenConnection<'_> {
    fn drop(&mut self) {
        self.listener.fetch_sub(1, Ordering::Relaxed);
        self.stats.connections.send_modify(|n| *n -= 1);
    }
}

impl Stats {
    /// A connection was accepted on `listener` (its open-connection
    /// gauge); it counts as open until the guard drops.
    pub fn connection_opened<'a>(&'a self, listener: &'a AtomicI64) -> OpenConnection<'a> {
        listener.fetch_add(1, Ordering::Relaxed);
        self.connections.send_modify(|n| *n += 1);
        OpenConnection {
            stats: self,
            listener,
        }
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
