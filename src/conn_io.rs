//! A connection's timers and I/O wrapper.
//!
//! - [`Activity`]: requests in flight and when the last one started or
//!   ended, for `--idle-timeout`. Idleness is counted in requests, not
//!   bytes: an HTTP/1.1 connection waiting for its next request and an
//!   HTTP/2 connection whose client only answers PINGs are both idle.
//! - [`Stopwatch`]es for what must not take too long: the request head
//!   being read (`--header-read-timeout`: from accept for the first
//!   request, from its first byte for each later one, so a keep-alive
//!   connection waiting between requests is under the idle timeout only),
//!   and a write the client is not taking (a response it stopped reading).
//! - [`ConnIo`]: the stream, feeding the bytes it reads to the
//!   request-smuggling guard's [`Framer`], which also drives the head
//!   timer, and timing its writes.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::smuggling::Framer;

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
    last_ms: AtomicU64,
    ended: Notify,
}

impl Activity {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            base: Instant::now(),
            in_flight: AtomicUsize::new(0),
            last_ms: AtomicU64::new(0),
            ended: Notify::new(),
        })
    }

    /// A request started; it is in flight until the returned guard drops
    /// (with the response body, once hyper has sent it or given up).
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.touch();
        InFlight(self.clone())
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

/// A response body that keeps its request in flight until it is dropped.
pub struct Tracked<B> {
    inner: B,
    _in_flight: InFlight,
}

impl<B> Tracked<B> {
    pub fn new(inner: B, in_flight: InFlight) -> Self {
        Self {
            inner,
            _in_flight: in_flight,
        }
    }
}

impl<B: Body<Data = Bytes> + Unpin> Body for Tracked<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
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
    fn start_if_stopped(&self) {
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

/// The stream, feeding what it reads to the connection's [`Framer`], and
/// running `write_stall` while a write or flush waits for the client.
pub struct ConnIo<S> {
    inner: S,
    framer: Framer,
    write_stall: Arc<Stopwatch>,
}

impl<S> ConnIo<S> {
    pub fn new(inner: S, framer: Framer, write_stall: Arc<Stopwatch>) -> Self {
        Self {
            inner,
            framer,
            write_stall,
        }
    }

    /// Notes whether a write made progress or waits on the client.
    fn timed<T>(&self, polled: Poll<T>) -> Poll<T> {
        match polled {
            Poll::Pending => self.write_stall.start_if_stopped(),
            Poll::Ready(_) => self.write_stall.stop(),
        }
        polled
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ConnIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            let this = &mut *self;
            this.framer.feed(&buf.filled()[before..]);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ConnIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.timed(polled)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_flush(cx);
        self.timed(polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.timed(polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
