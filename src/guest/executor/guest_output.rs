//! Guest stdout and stderr, sent to the log line by line and tagged with the
//! component id and the request id.
//!
//! A guest may write a line in several pieces and may never end its last
//! line: bytes are buffered until a newline, an over-long line is cut at
//! [`MAX_LINE`], and what is left is logged when the request's store is
//! dropped.
//!
//! A guest writing in a loop must not flood the journal (journald would
//! rate-limit the whole service, access records included) nor slow the
//! request path. So each component has a budget of lines per second
//! (`--guest-log-limit`, shared by all its instances); lines over it are
//! counted and dropped, and the count is logged once a second. Lines within
//! it go through a bounded queue to one logging thread, which does the
//! formatting and the writing: a guest's write never waits for the log.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

/// Longest line logged as one record; longer output is split.
const MAX_LINE: usize = 16 * 1024;
/// Lines waiting for the logging thread; beyond, lines are dropped (and
/// counted) rather than making a guest wait.
const QUEUE: usize = 1024;
/// How often dropped lines are reported.
const REPORT_EVERY: Duration = Duration::from_secs(1);

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

/// One component's output budget: `limit` lines in each second (0: no
/// limit), and the lines dropped since the last report.
pub struct OutputBudget {
    component: Arc<str>,
    /// The second (since the process started) the count is for.
    second: AtomicU64,
    count: AtomicU32,
    dropped: AtomicU64,
}

impl OutputBudget {
    /// Takes a line from the budget; false when it is spent.
    fn take(&self) -> bool {
        let limit = LIMIT.get().copied().unwrap_or(DEFAULT_LIMIT);
        if limit == 0 {
            return true;
        }
        let now = epoch().elapsed().as_secs();
        if self.second.load(Ordering::Relaxed) != now
            && self.second.swap(now, Ordering::Relaxed) != now
        {
            self.count.store(0, Ordering::Relaxed);
        }
        if self.count.fetch_add(1, Ordering::Relaxed) < limit {
            return true;
        }
        self.dropped.fetch_add(1, Ordering::Relaxed);
        false
    }
}

/// The default of `--guest-log-limit`.
pub const DEFAULT_LIMIT: u32 = 100;
static LIMIT: OnceLock<u32> = OnceLock::new();

/// Sets the lines per second each component may log (0: no limit); once,
/// at start-up.
pub fn set_limit(lines_per_second: u32) {
    let _ = LIMIT.set(lines_per_second);
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// The budget of component `id`, the same for every generation of the app
/// (a reload does not reset it).
pub fn budget(id: &str) -> Arc<OutputBudget> {
    let mut budgets = sink().budgets.lock().unwrap_or_else(|e| e.into_inner());
    budgets.retain(|_, b| b.strong_count() > 0);
    if let Some(budget) = budgets.get(id).and_then(Weak::upgrade) {
        return budget;
    }
    let budget = Arc::new(OutputBudget {
        component: id.into(),
        second: AtomicU64::new(0),
        count: AtomicU32::new(0),
        dropped: AtomicU64::new(0),
    });
    budgets.insert(id.to_owned(), Arc::downgrade(&budget));
    budget
}

/// A line on its way to the log.
struct Line {
    component: Arc<str>,
    request_id: Arc<str>,
    stream: Stream,
    text: String,
}

/// The queue to the logging thread, and every component's budget (for the
/// dropped-lines reports).
struct Sink {
    queue: Option<SyncSender<Line>>,
    budgets: Mutex<HashMap<String, Weak<OutputBudget>>>,
}

fn sink() -> &'static Sink {
    static SINK: OnceLock<Sink> = OnceLock::new();
    SINK.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::sync_channel(QUEUE);
        let started = std::thread::Builder::new()
            .name("guest-log".into())
            .spawn(move || write_lines(rx));
        if let Err(error) = &started {
            tracing::error!(%error, "cannot start the guest log thread; guest output is dropped");
        }
        Sink {
            queue: started.ok().map(|_| tx),
            budgets: Mutex::new(HashMap::new()),
        }
    })
}

/// The logging thread: writes lines, and every second reports the lines
/// each component had dropped.
fn write_lines(rx: Receiver<Line>) {
    let mut last_report = Instant::now();
    loop {
        match rx.recv_timeout(REPORT_EVERY) {
            Ok(line) => tracing::info!(
                target: "guest",
                component = %line.component,
                request_id = %line.request_id,
                stream = line.stream.name(),
                "{}",
                line.text
            ),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        if last_report.elapsed() >= REPORT_EVERY {
            last_report = Instant::now();
            report_dropped();
        }
    }
}

fn report_dropped() {
    let budgets: Vec<Arc<OutputBudget>> = {
        let budgets = sink().budgets.lock().unwrap_or_else(|e| e.into_inner());
        budgets.values().filter_map(Weak::upgrade).collect()
    };
    for budget in budgets {
        let dropped = budget.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            tracing::warn!(
                target: "guest",
                component = %budget.component,
                dropped,
                limit = LIMIT.get().copied().unwrap_or(DEFAULT_LIMIT),
                "guest output over --guest-log-limit lines per second; {dropped} lines dropped"
            );
        }
    }
}

/// A `StdoutStream` for a guest; every handle the guest opens shares one
/// line buffer.
#[derive(Clone)]
pub struct GuestOutput(Arc<Mutex<LineBuffer>>);

struct LineBuffer {
    budget: Arc<OutputBudget>,
    request_id: Arc<str>,
    stream: Stream,
    pending: Vec<u8>,
}

impl GuestOutput {
    pub fn new(budget: Arc<OutputBudget>, request_id: Arc<str>, stream: Stream) -> Self {
        Self(Arc::new(Mutex::new(LineBuffer {
            budget,
            request_id,
            stream,
            pending: Vec::new(),
        })))
    }
}

impl LineBuffer {
    fn write(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        let mut start = 0;
        while let Some(end) = self.pending[start..].iter().position(|&b| b == b'\n') {
            self.emit(start, start + end);
            start += end + 1;
        }
        while self.pending.len() - start >= MAX_LINE {
            self.emit(start, start + MAX_LINE);
            start += MAX_LINE;
        }
        self.pending.drain(..start);
    }

    /// Sends `pending[from..to]` as one line, if the budget allows.
    fn emit(&self, from: usize, to: usize) {
        if !self.budget.take() {
            return;
        }
        let line = String::from_utf8_lossy(&self.pending[from..to]);
        let text = line.strip_suffix('\r').unwrap_or(&line).to_owned();
        let Some(queue) = &sink().queue else {
            return;
        };
        let line = Line {
            component: self.budget.component.clone(),
            request_id: self.request_id.clone(),
            stream: self.stream,
            text,
        };
        if let Err(TrySendError::Full(_)) = queue.try_send(line) {
            self.budget.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Drop for LineBuffer {
    fn drop(&mut self) {
        if !self.pending.is_empty() {
            self.emit(0, self.pending.len());
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
