//! Logging set-up: structured journald records when stderr is the journal
//! (or `--log-target journald`), human-readable stderr otherwise.
//!
//! Field names are snake_case in code (`route`, `status`); journald shows them
//! upper-cased without a prefix (`ROUTE=`, `STATUS=`), so that
//! `journalctl -u wasi-httpd ROUTE=/api/...` works.
//!
//! Stderr lines are formatted on the thread that logs them and written by one
//! writer thread, in batches, flushed whenever its queue runs empty: a request
//! never waits for the stderr lock or a pipe write. The queue is bounded and
//! never drops a line (a stalled reader slows the loggers down instead), and
//! [`finish`] writes out what is queued before the process exits (waiting at
//! most about a second, so that a stalled reader cannot hold up the exit).

use std::io::{BufWriter, IsTerminal};
use std::os::fd::AsFd;
use std::sync::Mutex;

use anyhow::{Context, Result};
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::process::cli::{LogArgs, LogTarget};

/// Lines the stderr queue holds before loggers wait for the writer: enough
/// for the writer's batches, small enough not to weigh on the idle resident
/// set (the queue's slots are allocated up front).
const QUEUED_LINES: usize = 4096;
/// The writer thread's buffer: one write(2) per batch up to this size.
const WRITE_BUFFER: usize = 64 * 1024;

/// The stderr writer thread, while it runs; [`finish`] stops it.
static STDERR_WRITER: Mutex<Option<WorkerGuard>> = Mutex::new(None);

/// Installs the global subscriber. Call once, after systemd's sockets are
/// taken: logging to stderr starts the writer thread.
pub fn init(args: &LogArgs) -> Result<()> {
    let filter = match &args.log_level {
        Some(directives) => EnvFilter::try_new(directives)
            .with_context(|| format!("invalid --log-level {directives:?}: use a level such as info or debug, or RUST_LOG-style directives"))?,
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    };
    let journald = match args.log_target {
        LogTarget::Journald => true,
        LogTarget::Stderr => false,
        LogTarget::Auto => stderr_is_journal(),
    };
    let registry = tracing_subscriber::registry().with(filter);
    if journald {
        let layer = tracing_journald::layer()
            .context("cannot connect to journald (is /run/systemd/journal/socket there?); use --log-target stderr")?
            .with_field_prefix(None)
            .with_syslog_identifier("wasi-httpd".to_owned());
        registry.with(layer).try_init()?;
    } else {
        let (writer, guard) = NonBlockingBuilder::default()
            .lossy(false)
            .buffered_lines_limit(QUEUED_LINES)
            .thread_name("log-writer")
            .finish(BufWriter::with_capacity(WRITE_BUFFER, std::io::stderr()));
        *STDERR_WRITER.lock().unwrap_or_else(|e| e.into_inner()) = Some(guard);
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_ansi(std::io::stderr().is_terminal())
            .with_target(false);
        registry.with(layer).try_init()?;
    }
    Ok(())
}

/// Writes out every queued stderr line and stops the writer thread, waiting
/// at most about a second (tracing-appender's limit). Call once, just before
/// the process exits; later lines are not written.
pub fn finish() {
    let guard = STDERR_WRITER
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    drop(guard);
}

/// True when systemd connected stderr to the journal: `JOURNAL_STREAM` holds
/// `DEVICE:INODE` of the stream, and stderr still is that stream.
fn stderr_is_journal() -> bool {
    let Ok(value) = std::env::var("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = value.split_once(':') else {
        return false;
    };
    let (Ok(dev), Ok(ino)) = (dev.parse::<u64>(), ino.parse::<u64>()) else {
        return false;
    };
    match nix::sys::stat::fstat(std::io::stderr().as_fd()) {
        Ok(st) => st.st_dev == dev && st.st_ino == ino,
        Err(_) => false,
    }
}
