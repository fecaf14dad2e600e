//! Command-line interface: the one source of truth for commands, flags,
//! defaults and their `WASI_HTTPD_*` environment fallbacks. The man page and
//! the README describe exactly what is declared here.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::guest::executor::Reuse;

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
    Serve(Box<ServeArgs>),
    /// Load and compile an app, serve nothing; exit 0 or print a clear error.
    Check(AppArgs),
    /// Compile an app's components into the compile cache (for packaging
    /// and ExecStartPre=), serve nothing.
    Compile(AppArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
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

    /// Set an application variable (repeatable): `name=value`. Also read:
    /// SPIN_VARIABLE_<NAME> and systemd credentials ($CREDENTIALS_DIRECTORY/<name>).
    #[arg(long = "variable", value_name = "NAME=VALUE", value_parser = crate::model::variables::parse_variable_flag)]
    pub variables: Vec<(String, String)>,

    /// Run each component's `[component.<id>.build] command` first, as
    /// `spin up --build` does.
    #[arg(long, env = "WASI_HTTPD_BUILD", value_parser = BoolishValueParser::new())]
    pub build: bool,

    /// Set an environment variable for every component (repeatable):
    /// `NAME=VALUE`, over the manifest's `environment`, as `spin up -e`.
    #[arg(short = 'e', long = "env", value_name = "NAME=VALUE", value_parser = parse_env_pair, env = "WASI_HTTPD_ENV")]
    pub env: Vec<(String, String)>,

    /// Where key-value data lives (`key-value.sqlite`), as `spin up
    /// --state-dir`; default: $STATE_DIRECTORY under systemd, else
    /// `.wasi-httpd/` next to the manifest.
    #[arg(long, value_name = "DIR", env = "WASI_HTTPD_STATE_DIR")]
    pub state_dir: Option<PathBuf>,

    /// A runtime configuration file, in Spin's format: where key-value
    /// stores (`[key_value_store.<label>]`, type "spin" or "redis") and
    /// SQLite databases (`[sqlite_database.<label>]`) live; re-read on
    /// reload. As `spin up --runtime-config-file`.
    #[arg(long, value_name = "FILE", env = "WASI_HTTPD_RUNTIME_CONFIG_FILE")]
    pub runtime_config_file: Option<PathBuf>,

    /// Set a key in the `default` key-value store before serving
    /// (repeatable): `KEY=VALUE`, as `spin up --key-value`.
    #[arg(long = "key-value", value_name = "KEY=VALUE", value_parser = parse_key_value, env = "WASI_HTTPD_KEY_VALUE")]
    pub key_values: Vec<(String, String)>,

    /// Run SQLite statements before serving (repeatable), as `spin up
    /// --sqlite`: a statement runs on the `default` database;
    /// `@FILE` runs the file's statements on it, `@FILE:LABEL` on database
    /// LABEL.
    #[arg(long = "sqlite", value_name = "STATEMENT")]
    pub sqlite_statements: Vec<String>,

    /// Where compiled components are kept between runs; default:
    /// $CACHE_DIRECTORY under systemd, else $XDG_CACHE_HOME/wasi-httpd,
    /// else ~/.cache/wasi-httpd.
    #[arg(long, value_name = "DIR", env = "WASI_HTTPD_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Compile every component at every start; read and write no cache.
    #[arg(long, env = "WASI_HTTPD_NO_CACHE", value_parser = BoolishValueParser::new())]
    pub no_cache: bool,
}

/// `NAME=VALUE` for `--env`: a name that is not empty and has no `=`.
fn parse_env_pair(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!(
            "{text:?}: an environment variable must be of the form `NAME=VALUE`"
        )),
    }
}

/// `KEY=VALUE` for `--key-value` (the key may be empty, as in Spin).
fn parse_key_value(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("{text:?}: a key/value must be of the form `KEY=VALUE`"))
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

    /// Serve metrics and health checks (`/metrics`, `/healthz`, `/readyz`) on
    /// this address, never the app's (repeatable): `HOST:PORT`, or a Unix
    /// socket path (`/run/wasi-httpd/admin.sock`, or `unix:PATH`). A socket
    /// passed by systemd named `admin` (FileDescriptorName=admin) serves them
    /// too. None by default.
    #[arg(
        long = "admin-listen",
        value_name = "ADDR",
        env = "WASI_HTTPD_ADMIN_LISTEN",
        value_delimiter = ',',
        value_parser = crate::serve::listen::AdminAddr::parse
    )]
    pub admin_listen: Vec<crate::serve::listen::AdminAddr>,

    /// When a listen port is in use, try the next ports (10 tries, as Spin does).
    #[arg(long, env = "WASI_HTTPD_FIND_FREE_PORT", value_parser = BoolishValueParser::new())]
    pub find_free_port: bool,

    /// How long in-flight requests may take to finish after SIGTERM/SIGINT
    /// before the remaining connections are closed (e.g. 30s, 500ms; a bare
    /// number is seconds). Keep it below systemd's TimeoutStopSec.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration, env = "WASI_HTTPD_SHUTDOWN_TIMEOUT")]
    pub shutdown_timeout: Duration,

    /// Under socket activation: exit 0 after this long with no connection
    /// open (scale to zero); systemd keeps the socket and starts the service
    /// again on the next connection. Needs sockets from systemd.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, env = "WASI_HTTPD_EXIT_IDLE_AFTER")]
    pub exit_idle_after: Option<Duration>,

    /// PEM certificate chain: with --tls-key, --listen sockets serve HTTPS
    /// (inherited sockets named `https` always do, and need both flags).
    #[arg(
        long,
        value_name = "FILE",
        env = "WASI_HTTPD_TLS_CERT",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key (RSA, ECDSA or Ed25519) for --tls-cert.
    #[arg(
        long,
        value_name = "FILE",
        env = "WASI_HTTPD_TLS_KEY",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,

    #[command(flatten)]
    pub limits: LimitArgs,

    #[command(flatten)]
    pub reuse: ReuseArgs,

    /// How to print the route table on stdout at start.
    #[arg(long, value_enum, default_value_t = Format::Text, env = "WASI_HTTPD_FORMAT")]
    pub format: Format,
}

/// Limits that keep a public port safe. Sizes take B, KiB, MiB, GiB (or
/// K, M, G); durations s, ms, us, ns (a bare number is seconds).
#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// Largest request head (request line and headers), at least 8KiB; larger → 431.
    #[arg(long, value_name = "SIZE", default_value = "64KiB", value_parser = parse_header_size, env = "WASI_HTTPD_MAX_HEADER_SIZE")]
    pub max_header_size: u64,

    /// Largest request body, checked on Content-Length and while streaming; larger → 413.
    #[arg(long, value_name = "SIZE", default_value = "32MiB", value_parser = parse_size, env = "WASI_HTTPD_MAX_BODY_SIZE")]
    pub max_body_size: u64,

    /// Time a client has to send a request head (and finish the TLS
    /// handshake) before the connection is closed.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration, env = "WASI_HTTPD_HEADER_READ_TIMEOUT")]
    pub header_read_timeout: Duration,

    /// How long a connection with no request in flight stays open
    /// (keep-alive waits and HTTP/2 PINGs count as idle), and how long a
    /// client may take no response bytes.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration, env = "WASI_HTTPD_IDLE_TIMEOUT")]
    pub idle_timeout: Duration,

    /// Open connections at most; more wait in the kernel's accept queue.
    #[arg(long, value_name = "N", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..), env = "WASI_HTTPD_MAX_CONNECTIONS")]
    pub max_connections: u32,

    /// Requests running in guests at once (the instance pool, made at start, holds twice this).
    #[arg(long, value_name = "N", default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..), env = "WASI_HTTPD_MAX_CONCURRENT_REQUESTS")]
    pub max_concurrent_requests: u32,

    /// Requests waiting for a free slot; when the queue is full → 503 with Retry-After.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1024,
        env = "WASI_HTTPD_MAX_PENDING_REQUESTS"
    )]
    pub max_pending_requests: u32,

    /// Deadline of one request, every executor; headers not sent by then →
    /// 504, else the body is cut. Guests spinning in Wasm are interrupted.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration, env = "WASI_HTTPD_REQUEST_TIMEOUT")]
    pub request_timeout: Duration,

    /// Largest linear memory one guest instance may grow to; past it the guest traps (500).
    #[arg(long, value_name = "SIZE", default_value = "128MiB", value_parser = parse_size, env = "WASI_HTTPD_MAX_INSTANCE_MEMORY")]
    pub max_instance_memory: u64,

    /// Bytes the host may hold in memory for all requests at once: whole
    /// request bodies (WAGI, Spin's old HTTP interface), WAGI output,
    /// responses to Spin's old outbound interface. Past it → 503 with
    /// Retry-After (an outgoing request gets an error).
    #[arg(long, value_name = "SIZE", default_value = "1GiB", value_parser = parse_size, env = "WASI_HTTPD_MAX_HOST_BUFFERS")]
    pub max_host_buffers: u64,

    /// Lines of guest output (stdout and stderr) each component may log per
    /// second; lines over it are dropped and counted in the log. 0: no limit.
    #[arg(long, value_name = "LINES", default_value_t = crate::guest::executor::guest_output::DEFAULT_LIMIT, env = "WASI_HTTPD_GUEST_LOG_LIMIT")]
    pub guest_log_limit: u32,
}

/// Instance reuse for wasi:http 0.3 components, as Spin does it. Each takes
/// `N` or a range `a..b` (end excluded), sampled per instance.
#[derive(Debug, Clone, Args)]
pub struct ReuseArgs {
    /// Requests one wasi:http 0.3 instance serves before it is retired.
    #[arg(long, value_name = "N|A..B", default_value = "128", value_parser = parse_reuse, env = "WASI_HTTPD_MAX_INSTANCE_REUSE_COUNT")]
    pub max_instance_reuse_count: Reuse,

    /// Requests one wasi:http 0.3 instance serves at the same time.
    #[arg(long, value_name = "N|A..B", default_value = "16", value_parser = parse_reuse, env = "WASI_HTTPD_MAX_INSTANCE_CONCURRENT_REUSE_COUNT")]
    pub max_instance_concurrent_reuse_count: Reuse,

    /// How long an idle wasi:http 0.3 instance is kept for the next request.
    #[arg(long, value_name = "DURATION|A..B", default_value = "1s", value_parser = parse_duration_range, env = "WASI_HTTPD_IDLE_INSTANCE_TIMEOUT")]
    pub idle_instance_timeout: (Duration, Duration),
}

/// `N` or `a..b` (b > a, b excluded), N and a at least 1.
pub fn parse_reuse(text: &str) -> Result<Reuse, String> {
    let number = |s: &str| {
        s.trim()
            .parse::<u64>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| {
                format!("{text:?}: write a count of at least 1, or a range such as 8..32")
            })
    };
    match text.split_once("..") {
        Some((low, high)) => {
            let (low, high) = (number(low)?, number(high)?);
            if high <= low {
                return Err(format!("{text:?}: the range's end must be above its start"));
            }
            Ok(Reuse {
                low,
                high: high - 1,
            })
        }
        None => number(text).map(|n| Reuse { low: n, high: n }),
    }
}

/// A duration, or a range `a..b` of durations.
pub fn parse_duration_range(text: &str) -> Result<(Duration, Duration), String> {
    match text.split_once("..") {
        Some((low, high)) => {
            let (low, high) = (parse_duration(low)?, parse_duration(high)?);
            if high <= low {
                return Err(format!("{text:?}: the range's end must be above its start"));
            }
            Ok((low, high))
        }
        None => parse_duration(text).map(|d| (d, d)),
    }
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
    /// directives (info,access=off drops the access records). RUST_LOG is
    /// used when this is not given.
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

/// Sizes: a number of bytes, or with B, KiB, MiB, GiB (also K, M, G, KB,
/// MB, GB, all powers of 1024).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size; write e.g. 65536, 64KiB or 128MiB"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        other => {
            return Err(format!(
                "unknown unit {other:?} in {text:?}; use B, KiB, MiB or GiB"
            ));
        }
    };
    value
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("{text:?} is too large"))
}

/// The smallest `--max-header-size`: hyper's HTTP/1.1 read buffer cannot
/// be smaller, so a lower limit could not be enforced.
pub const MIN_HEADER_SIZE: u64 = 8 << 10;

/// `--max-header-size`: a size of at least [`MIN_HEADER_SIZE`].
fn parse_header_size(text: &str) -> Result<u64, String> {
    let size = parse_size(text)?;
    if size < MIN_HEADER_SIZE {
        return Err(format!(
            "{text:?} is too small: the request head limit must be at least 8KiB, the \
             smallest HTTP/1.1 read buffer of the HTTP stack; use 8KiB or more"
        ));
    }
    Ok(size)
}

/// The defaults of a flag group, as the command line gives them.
fn defaults<T: Args>() -> T {
    #[derive(Parser)]
    struct Defaults<T: Args> {
        #[command(flatten)]
        group: T,
    }
    Defaults::<T>::parse_from(["defaults"]).group
}

impl From<&LimitArgs> for crate::base::limits::Limits {
    fn from(args: &LimitArgs) -> Self {
        Self {
            max_header_size: usize::try_from(args.max_header_size).unwrap_or(usize::MAX),
            max_body_size: args.max_body_size,
            header_read_timeout: args.header_read_timeout,
            idle_timeout: args.idle_timeout,
            max_connections: args.max_connections as usize,
            max_concurrent_requests: args.max_concurrent_requests as usize,
            max_pending_requests: args.max_pending_requests,
            request_timeout: args.request_timeout,
            max_instance_memory: usize::try_from(args.max_instance_memory).unwrap_or(usize::MAX),
            max_host_buffers: usize::try_from(args.max_host_buffers).unwrap_or(usize::MAX),
        }
    }
}

impl Default for LimitArgs {
    fn default() -> Self {
        defaults()
    }
}

impl Default for ReuseArgs {
    fn default() -> Self {
        defaults()
    }
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

    #[test]
    fn reuse_counts_and_ranges() {
        assert_eq!(
            parse_reuse("128"),
            Ok(Reuse {
                low: 128,
                high: 128
            })
        );
        assert_eq!(parse_reuse("8..32"), Ok(Reuse { low: 8, high: 31 }));
        assert!(parse_reuse("0").is_err());
        assert!(parse_reuse("5..5").is_err());
        assert_eq!(
            parse_duration_range("1s..3s"),
            Ok((Duration::from_secs(1), Duration::from_secs(3)))
        );
        assert_eq!(
            parse_duration_range("500ms"),
            Ok((Duration::from_millis(500), Duration::from_millis(500)))
        );
    }

    #[test]
    fn sizes_take_binary_units() {
        assert_eq!(parse_size("65536"), Ok(65536));
        assert_eq!(parse_size("64KiB"), Ok(64 << 10));
        assert_eq!(parse_size("128MiB"), Ok(128 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("-1").is_err());
    }
}
