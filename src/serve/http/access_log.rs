//! One access record per request, written when the response body has been
//! sent (or abandoned), so that DURATION and BYTES cover the whole response.
//! What it says is kept as the request gave it and made into text only when
//! the record is logged: with the access log filtered out (`--log-level
//! warn`) a request costs no formatting.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http::{Method, Request, Response, Uri};
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::BodyExt;

use super::Peer;
use crate::base::body::{Body, BoxError};
use crate::base::metrics::RouteMetrics;
use crate::serve::state::Shared;

/// Request ids: a per-process prefix and a counter, unique across restarts
/// for all practical purposes and cheap to make.
fn next_request_id() -> Arc<str> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static PREFIX: OnceLock<u32> = OnceLock::new();
    let prefix = *PREFIX.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() ^ (d.as_secs() as u32))
            .unwrap_or(0);
        nanos ^ std::process::id().rotate_left(16)
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix:08x}{n:08x}").into()
}

/// What the record says; filled as the request goes along.
pub struct AccessRecord {
    pub id: Arc<str>,
    pub started: Instant,
    method: Method,
    /// Its path is logged (a clone shares the request's bytes).
    uri: Uri,
    /// The client (`None` on a Unix socket).
    peer: Option<SocketAddr>,
    /// The route's counters and names, once routed (else the unrouted
    /// ones).
    route: OnceLock<Arc<RouteMetrics>>,
    /// Counts the request as in flight until the record is written.
    shared: Arc<Shared>,
    written: bool,
}

/// The status recorded for a request whose client went away before its
/// response was ready (nginx's "client closed request").
const CLIENT_CLOSED: u16 = 499;

impl AccessRecord {
    pub fn start<B>(request: &Request<B>, peer: &Peer, shared: Arc<Shared>) -> Self {
        shared.metrics.stats.started();
        Self {
            id: next_request_id(),
            started: Instant::now(),
            method: request.method().clone(),
            uri: request.uri().clone(),
            peer: peer.addr,
            route: OnceLock::new(),
            shared,
            written: false,
        }
    }

    /// What took the request: an app route, or a built-in answer.
    pub fn set_route(&self, route: &Arc<RouteMetrics>) {
        let _ = self.route.set(route.clone());
    }

    /// Wraps the response body so the record is written when it ends.
    pub fn finish(self, response: Response<Body>) -> Response<Body> {
        let status = response.status().as_u16();
        response.map(|inner| {
            CountingBody {
                inner,
                bytes: 0,
                status,
                record: Some(self),
            }
            .boxed_unsync()
        })
    }

    /// Writes the record and counts the request out, once.
    fn write(&mut self, status: u16, bytes: u64) {
        if std::mem::replace(&mut self.written, true) {
            return;
        }
        self.shared.metrics.stats.finished();
        let took = self.started.elapsed();
        let metrics = self
            .route
            .get()
            .unwrap_or_else(|| self.shared.metrics.unrouted());
        metrics.observe(status, took);
        if !tracing::enabled!(target: "access", tracing::Level::INFO) {
            return;
        }
        let (route, component) = metrics.log_names();
        let (method, path) = (self.method.as_str(), self.uri.path());
        let peer = self
            .peer
            .map_or_else(|| "unix".to_owned(), |a| a.to_string());
        tracing::info!(
            target: "access",
            route,
            component,
            method,
            path,
            status,
            duration = (took.as_secs_f64() * 1e6).round() / 1000.0,
            bytes,
            peer,
            request_id = %self.id,
            "{method} {path} {status}"
        );
    }
}

struct CountingBody {
    inner: Body,
    bytes: u64,
    status: u16,
    record: Option<AccessRecord>,
}

impl HttpBody for CountingBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            self.bytes += data.len() as u64;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for CountingBody {
    fn drop(&mut self) {
        if let Some(mut record) = self.record.take() {
            record.write(self.status, self.bytes);
        }
    }
}

/// A record dropped before it had a response: the client went away while
/// the request was being served (hyper dropped the request's future).
impl Drop for AccessRecord {
    fn drop(&mut self) {
        self.write(CLIENT_CLOSED, 0);
    }
}
