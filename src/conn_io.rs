//! A connection's timers and I/O wrapper.
//!
//! - [`Activity`]: requests in flight and when the last one started or
//!   ended, for `--idle-timeout`. Idleness is counted in requests, not
//!   bytes: an HTTP/1.1 connection waiting for its next request and an
//!   HTTP/2 connection whose client only answers PINGs are both idle.
//! - [`HeadTimer`]: when the request head being read began, for
//!   `--header-read-timeout`: from accept for the first request, from its
//!   first byte for each later one, so a keep-alive connection waiting
//!   between requests is under the idle timeout only.
//! - [`ConnIo`]: the stream, feeding the bytes it reads to the
//!   request-smuggling guard's [`Framer`], which also drives the head timer.

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
        self.last_ms
            .store(millis_since(self.base), Ordering::Release);
        InFlight(self.clone())
    }

    /// Resolves once no request has been in flight for `timeout`.
    pub async fn idle(&self, timeout: Duration) {
        loop {
            let ended = self.ended.notified();
            if self.in_flight.load(Ordering::Acquire) > 0 {
                ended.await;
                continue;
            }
            let last = self.base + Duration::from_millis(self.last_ms.load(Ordering::Acquire));
            let due = last + timeout;
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

/// When the request head being read began (`u64::MAX`: none is), in
/// milliseconds since `base`.
pub struct HeadTimer {
    base: Instant,
    started_ms: AtomicU64,
    started: Notify,
}

impl HeadTimer {
    /// A timer already running: the first head is timed from accept.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            base: Instant::now(),
            started_ms: AtomicU64::new(0),
            started: Notify::new(),
        })
    }

    /// The first byte of a request head arrived.
    pub fn start(&self) {
        self.started_ms
            .store(millis_since(self.base), Ordering::Release);
        self.started.notify_waiters();
    }

    /// The head is complete, or the connection is no longer read as
    /// HTTP/1 heads (HTTP/2, or hyper's to refuse).
    pub fn stop(&self) {
        self.started_ms.store(u64::MAX, Ordering::Release);
    }

    /// Resolves once a head has been arriving for longer than `timeout`.
    pub async fn expired(&self, timeout: Duration) {
        loop {
            let started = self.started.notified();
            let since = self.started_ms.load(Ordering::Acquire);
            if since == u64::MAX {
                started.await;
                continue;
            }
            let due = self.base + Duration::from_millis(since) + timeout;
            if Instant::now() >= due {
                return;
            }
            // Re-checked at the deadline: the head may have completed.
            tokio::select! {
                () = tokio::time::sleep_until(due) => {}
                () = started => {}
            }
        }
    }
}

/// The stream, feeding what it reads to the connection's [`Framer`].
pub struct ConnIo<S> {
    inner: S,
    framer: Framer,
}

impl<S> ConnIo<S> {
    pub fn new(inner: S, framer: Framer) -> Self {
        Self { inner, framer }
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
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
