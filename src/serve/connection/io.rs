//! [`ConnIo`]: a connection's stream, feeding the bytes it reads to the
//! [`Framer`] (which also drives the head timer), timing its writes, and
//! closing with a lingering drain.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::framing_guard::{Feed, Framer};
use super::timers::Stopwatch;

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
