//! Command-line interface: the one source of truth for commands, flags,
//! defaults and their `WASI_HTTPD_*` environment fallbacks. The man page and
//! the README describe exactly what is declared here.

use std::net::SocketAddr;
use std::path::PathBuf;

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
    #[arg(long, env = "WASI_HTTPD_BUILD")]
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
    #[arg(long, env = "WASI_HTTPD_FIND_FREE_PORT")]
    pub find_free_port: bool,

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
