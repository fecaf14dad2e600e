//! Guest stdout and stderr, sent to the log line by line and tagged with the
//! component id and the request id.
//!
//! A guest may write a line in several pieces and may never end its last
//! line: bytes are buffered until a newline, an over-long line is cut at
//! [`MAX_LINE`], and what is left is logged when the request's store is
//! dropped.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

/// Longest line logged as one record; longer output is split.
const MAX_LINE: usize = 16 * 1024;

/// Which of the guest's streams this is.
#[derive(Debug, Clone, Copy)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// A `StdoutStream` for a guest; every handle the guest opens shares one
/// line buffer.
#[derive(Clone)]
pub struct GuestOutput(Arc<Mutex<LineBuffer>>);

struct LineBuffer {
    component: Arc<str>,
    request_id: Arc<str>,
    stream: Stream,
    pending: Vec<u8>,
}

impl GuestOutput {
    pub fn new(component: Arc<str>, request_id: Arc<str>, stream: Stream) -> Self {
        Self(Arc::new(Mutex::new(LineBuffer {
            component,
            request_id,
            stream,
            pending: Vec::new(),
        })))
    }
}

impl LineBuffer {
    fn write(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            self.emit(&line[..end]);
        }
        while self.pending.len() >= MAX_LINE {
            let chunk: Vec<u8> = self.pending.drain(..MAX_LINE).collect();
            self.emit(&chunk);
        }
    }

    fn emit(&self, line: &[u8]) {
        let line = String::from_utf8_lossy(line);
        let line = line.strip_suffix('\r').unwrap_or(&line);
        tracing::info!(
            target: "guest",
            component = %self.component,
            request_id = %self.request_id,
            stream = self.stream.name(),
            "{line}"
        );
    }
}

impl Drop for LineBuffer {
    fn drop(&mut self) {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.emit(&rest);
        }
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl AsyncWrite for GuestOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.0.lock() {
            Ok(mut inner) => inner.write(buf),
            Err(poisoned) => poisoned.into_inner().write(buf),
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
