//! Logging set-up: structured journald records when stderr is the journal
//! (or `--log-target journald`), human-readable stderr otherwise.
//!
//! Field names are snake_case in code (`route`, `status`); journald shows them
//! upper-cased without a prefix (`ROUTE=`, `STATUS=`), so that
//! `journalctl -u wasi-httpd ROUTE=/api/...` works.

use std::io::IsTerminal;
use std::os::fd::AsFd;

use anyhow::{Context, Result};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::process::cli::{LogArgs, LogTarget};

/// Installs the global subscriber. Call once, before any thread starts.
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
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .with_target(false);
        registry.with(layer).try_init()?;
    }
    Ok(())
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
