//! Command-line interface: the one source of truth for commands, flags,
//! defaults and their `WASI_HTTPD_*` environment fallbacks. The man page and
//! the README describe exactly what is declared here.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Serve Spin (WebAssembly HTTP) apps as a socket-activated systemd service.
#[derive(Debug, Parser)]
#[command(name = "wasi-httpd", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    #[command(flatten)]
    pub log: LogArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load, compile and serve a Spin app (spin.toml, manifest version 2).
    Serve(ServeArgs),
    /// Load and compile an app, serve nothing; exit 0 or print a clear error.
    Check(AppArgs),
}

/// Which app to load.
#[derive(Debug, Args)]
pub struct AppArgs {
    /// Path to spin.toml, or to a directory holding spin.toml.
    #[arg(
        value_name = "MANIFEST",
        default_value = "spin.toml",
        env = "WASI_HTTPD_MANIFEST"
    )]
    pub manifest: PathBuf,

    /// Run each component's `[component.<id>.build] command` first, as
    /// `spin up --build` does.
    #[arg(long, env = "WASI_HTTPD_BUILD", value_parser = BoolishValueParser::new())]
    pub build: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub app: AppArgs,

    /// Address to listen on (repeatable). Ignored when sockets are passed by
    /// systemd (LISTEN_FDS).
    #[arg(
        long = "listen",
        value_name = "ADDR",
        default_value = "127.0.0.1:3000",
        env = "WASI_HTTPD_LISTEN",
        value_delimiter = ','
    )]
    pub listen: Vec<SocketAddr>,

    /// When a listen port is in use, try the next ports (10 tries, as Spin does).
    #[arg(long, env = "WASI_HTTPD_FIND_FREE_PORT", value_parser = BoolishValueParser::new())]
    pub find_free_port: bool,

    /// How long in-flight requests may take to finish after SIGTERM/SIGINT
    /// before the remaining connections are closed (e.g. 30s, 500ms; a bare
    /// number is seconds). Keep it below systemd's TimeoutStopSec.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration, env = "WASI_HTTPD_SHUTDOWN_TIMEOUT")]
    pub shutdown_timeout: Duration,

    /// How to print the route table on stdout at start.
    #[arg(long, value_enum, default_value_t = Format::Text, env = "WASI_HTTPD_FORMAT")]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// `Serving http://ADDR` and one line per route, as `spin up` prints.
    Text,
    /// One JSON object: `{"base_url": ..., "routes": [...]}`.
    Json,
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Log filter: a level (error, warn, info, debug, trace) or RUST_LOG-style
    /// directives. RUST_LOG is used when this is not given.
    #[arg(
        long,
        global = true,
        value_name = "FILTER",
        env = "WASI_HTTPD_LOG_LEVEL"
    )]
    pub log_level: Option<String>,

    /// Where logs go: `auto` picks journald when stderr is the journal
    /// (JOURNAL_STREAM), else stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogTarget::Auto, env = "WASI_HTTPD_LOG_TARGET")]
    pub log_target: LogTarget,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogTarget {
    Auto,
    Stderr,
    Journald,
}

/// Durations as Spin writes them: a number with `s`, `ms`, `us` or `ns`; a
/// bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration; write e.g. 30s, 500ms or 2"))?;
    let seconds = match unit.trim() {
        "" | "s" => value,
        "ms" => value / 1e3,
        "us" => value / 1e6,
        "ns" => value / 1e9,
        other => {
            return Err(format!(
                "unknown unit {other:?} in {text:?}; use s, ms, us or ns"
            ));
        }
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("{text:?} is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_spin() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("10us"), Ok(Duration::from_micros(10)));
        assert!(parse_duration("5m").is_err());
        assert!(parse_duration("soon").is_err());
    }
}
