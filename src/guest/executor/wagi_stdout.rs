//! A WAGI program's stdout: kept in memory up to a cap (the CGI response
//! is parsed once the program exits), every byte counted against the
//! host's buffer budget. A write the budget cannot take fails, and the
//! request is answered 503 whatever the program does next.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

use crate::base::limits::Reservation;

/// The pipe; clones share the buffer.
#[derive(Clone)]
pub struct WagiStdout(Arc<Mutex<Buffer>>);

struct Buffer {
    bytes: BytesMut,
    cap: usize,
    reservation: Reservation,
    budget_spent: bool,
}

impl WagiStdout {
    /// Keeps up to `cap` bytes, taking each from `reservation` first.
    pub fn new(cap: usize, reservation: Reservation) -> Self {
        Self(Arc::new(Mutex::new(Buffer {
            bytes: BytesMut::new(),
            cap,
            reservation,
            budget_spent: false,
        })))
    }

    fn buffer(&self) -> std::sync::MutexGuard<'_, Buffer> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes what the program wrote, and gives its share of the budget
    /// back now: before the response goes out, so that a client sending its
    /// next request once it has this response finds the budget free (the
    /// store holding a clone of the pipe may be dropped later).
    pub fn take(&self) -> Bytes {
        let mut buffer = self.buffer();
        buffer.reservation.release();
        buffer.bytes.split().freeze()
    }

    /// Whether a write failed for want of buffer budget.
    pub fn budget_spent(&self) -> bool {
        self.buffer().budget_spent
    }
}

impl IsTerminal for WagiStdout {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for WagiStdout {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl AsyncWrite for WagiStdout {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut buffer = self.buffer();
        let room = buffer.cap - buffer.bytes.len();
        if room == 0 && !buf.is_empty() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::StorageFull,
                "WAGI output is over its size limit",
            )));
        }
        let take = buf.len().min(room);
        if buffer.reservation.grow(take).is_err() {
            buffer.budget_spent = true;
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::OutOfMemory,
                "the host buffer budget is spent",
            )));
        }
        buffer.bytes.extend_from_slice(&buf[..take]);
        Poll::Ready(Ok(take))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
