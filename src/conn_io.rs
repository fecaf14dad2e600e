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
//!   timer, timing its writes, and closing with a lingering drain.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::smuggling::{Feed, Framer};

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
///
/// Closing is lingering, as nginx does it: the write side is shut first (the
/// client gets the answer and the end), then what the client still sends is
/// read and dropped, for a bounded time and size, before the socket is
/// closed. A socket closed with unread input sends a reset instead, which
/// can destroy the answer (a 431 for a big head, a 413) before the client
/// has read it.
pub struct ConnIo<S> {
    inner: S,
    framer: Framer,
    write_stall: Arc<Stopwatch>,
    /// The guard lost the framing: every further read fails.
    lost: bool,
    closing: Closing,
}

/// Where a lingering close is.
enum Closing {
    Open,
    /// The write side is shut; input is drained until EOF, `LINGER_BYTES`
    /// or the deadline.
    Draining {
        deadline: Pin<Box<tokio::time::Sleep>>,
        drained: usize,
    },
    Closed,
}

/// How long, and how much, a closing connection drains of what the
/// client still sends.
const LINGER_TIME: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 16 << 20;

impl<S> ConnIo<S> {
    pub fn new(inner: S, framer: Framer, write_stall: Arc<Stopwatch>) -> Self {
        Self {
            inner,
            framer,
            write_stall,
            lost: false,
            closing: Closing::Open,
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

fn framing_lost() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "request framing not followed; closing the connection",
    )
}

impl<S: AsyncRead + Unpin> AsyncRead for ConnIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.lost {
            return Poll::Ready(Err(framing_lost()));
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            let this = &mut *self;
            if this.framer.feed(&buf.filled()[before..]) == Feed::Close {
                this.lost = true;
                return Poll::Ready(Err(framing_lost()));
            }
        }
        polled
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> ConnIo<S> {
    /// Reads and drops input until EOF, the byte budget or the deadline;
    /// between requests, only what has arrived already.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut scratch = [0u8; 8192];
        loop {
            let Closing::Draining { deadline, drained } = &mut self.closing else {
                return Poll::Ready(());
            };
            let mut buf = ReadBuf::new(&mut scratch);
            match Pin::new(&mut self.inner).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if !buf.filled().is_empty() => {
                    *drained += buf.filled().len();
                    if *drained >= LINGER_BYTES {
                        return Poll::Ready(());
                    }
                }
                // EOF or an error: nothing more will come.
                Poll::Ready(_) => return Poll::Ready(()),
                Poll::Pending if self.framer.at_boundary() => return Poll::Ready(()),
                Poll::Pending => return deadline.as_mut().poll(cx),
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for ConnIo<S> {
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
        let this = &mut *self;
        if let Closing::Open = this.closing {
            let shut = std::task::ready!(Pin::new(&mut this.inner).poll_shutdown(cx));
            this.closing = Closing::Draining {
                deadline: Box::pin(tokio::time::sleep(LINGER_TIME)),
                drained: 0,
            };
            if shut.is_err() {
                this.closing = Closing::Closed;
                return Poll::Ready(shut);
            }
        }
        std::task::ready!(this.poll_drain(cx));
        this.closing = Closing::Closed;
        Poll::Ready(Ok(()))
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
