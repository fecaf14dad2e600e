//! Load benchmark: throughput and latency of the real `wasi-httpd` binary
//! under concurrent keep-alive HTTP/1.1 load, next to a plain hyper server.
//!
//! Quick run, on the cached dev build (there wasi-httpd's own crate is
//! unoptimized; its dependencies, wasmtime, hyper and tokio, are built at
//! opt-level 2, see `[profile.dev.package."*"]`):
//!
//! ```text
//! cargo bench --profile dev --bench load
//! ```
//!
//! Release numbers, after a long first build (wasmtime, about 20 minutes):
//!
//! ```text
//! cargo bench --bench load
//! ```
//!
//! Settings, from the environment:
//!
//! - `LOAD_SECONDS` (default 10): measured time per scenario, after a 1 s
//!   warm-up on the same connections;
//! - `LOAD_CONNECTIONS` (default 32, at most 1024): concurrent keep-alive
//!   connections, each sending one request after the other;
//! - the daemon inherits the environment, so `WASI_HTTPD_*` settings apply:
//!   e.g. `WASI_HTTPD_LOG_LEVEL=warn` leaves out the access record that the
//!   default level (`info`) writes for every request.
//!
//! What it does:
//!
//! 1. builds the guest components as the integration tests do
//!    (`cargo build --release --target wasm32-wasip2` in tests/components,
//!    cached after the first time) and writes an app into a temporary
//!    directory: `/...` → the `hello` component, `/static` → a
//!    `static_response`;
//! 2. starts `wasi-httpd serve APP --listen 127.0.0.1:0 --log-target stderr`
//!    and reads the `Serving http://ADDR` line from its stdout (its stderr is
//!    drained, the last 64 KiB kept for error reports);
//! 3. starts the baseline server (load/baseline.rs) in this process;
//! 4. for each scenario, checks that one request gets the expected 200
//!    response (so `/hello` really reaches the component), then drives
//!    load from a multi-thread tokio runtime with hyper's HTTP/1.1 client
//!    (`hyper::client::conn::http1::handshake` over a `TcpStream`);
//! 5. prints one row per scenario and the machine's core count;
//! 6. stops the daemon: SIGTERM, SIGKILL after 10 s (SIGKILL on a panic).
//!
//! Scenarios:
//!
//! - `wasm hello`: `GET /hello`, a fresh instance of the `hello` component
//!   per request (the full request path);
//! - `wasm hello, scraped`: the same while `/metrics` is scraped every
//!   100 ms on the admin listener (150 times Prometheus's default rate):
//!   what counting and scraping cost the request path;
//! - `static_response`: `GET /static`, the daemon's own overhead (accept,
//!   limits, routing, access log) without Wasm;
//! - `baseline hyper`: `GET /` on a minimal hyper server answering `hello`,
//!   what the same client gets from hyper alone on this machine.
//!
//! Columns: `requests` started in the measured window (any outcome);
//! `req/s`, 200 responses per second of that window (which ends when the
//! last of those requests finished); latencies of 200 responses, from
//! sending the request to the last body byte (a reconnect, when the server
//! closed the connection, included); `errors`, non-200 responses, transport
//! failures and requests taking over 10 s.
//!
//! Client and servers share the machine's cores, and the client takes a
//! large share on a small machine: compare rows with each other, not with
//! other machines. Only 127.0.0.1 is loaded, and each scenario stops at its
//! deadline or after 5,000,000 requests, whichever comes first.
//!
//! Started without `--bench` (as `cargo test --benches` does), the binary
//! only says how to run it.

// Not benches/baseline.rs: Cargo would find that file on its own and build
// it as a second, empty bench target.
#[path = "load/baseline.rs"]
mod baseline;
#[path = "load/scrape.rs"]
mod scrape;
// The tests' harness builds the guests (adding the wasm32-wasip2 target if
// it is missing); the bench uses only that part of it.
#[allow(dead_code)]
#[path = "../tests/it/support.rs"]
mod support;

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HOST, HeaderValue};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

const BIN: &str = env!("CARGO_BIN_EXE_wasi-httpd");
const WARM_UP: Duration = Duration::from_secs(1);
/// A request taking longer is an error; its connection is replaced.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Requests per scenario at most, warm-up included (bounds time and memory).
const MAX_REQUESTS: usize = 5_000_000;
const MAX_CONNECTIONS: usize = 1024;
/// How long the daemon may take to compile the app and print its address.
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How much of the daemon's stderr is kept for error reports.
const LOG_TAIL: usize = 64 << 10;
/// The scenario scraped on the admin listener meanwhile.
const SCRAPED: &str = "wasm hello, scraped";

type Error = Box<dyn std::error::Error + Send + Sync>;

fn main() {
    if !std::env::args().any(|arg| arg == "--bench") {
        println!("load: not run; use `cargo bench --profile dev --bench load`");
        return;
    }
    let seconds: f64 = setting("LOAD_SECONDS", 10.0);
    let duration = Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|d| !d.is_zero())
        .unwrap_or_else(|| panic!("LOAD_SECONDS must be a positive number, not {seconds}"));
    let connections: usize = setting("LOAD_CONNECTIONS", 32);
    assert!(
        (1..=MAX_CONNECTIONS).contains(&connections),
        "LOAD_CONNECTIONS must be 1 to {MAX_CONNECTIONS}, not {connections}"
    );

    let app = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(
        app.path().join("spin.toml"),
        manifest(&support::wasm("hello")),
    )
    .expect("write spin.toml");
    let daemon = Daemon::start(app.path());
    let baseline = baseline::start().expect("start the baseline server");
    let client = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the client runtime");

    let scenarios = [
        (
            "wasm hello (/hello)",
            daemon.addr,
            "/hello",
            "hello from wasi-httpd\n",
        ),
        (SCRAPED, daemon.addr, "/hello", "hello from wasi-httpd\n"),
        (
            "static_response (/static)",
            daemon.addr,
            "/static",
            "hello\n",
        ),
        ("baseline hyper (/)", baseline.addr, "/", "hello\n"),
    ];
    let mut rows = Vec::new();
    for (name, addr, path, body) in scenarios {
        match client.block_on(one_request(&mut None, addr, path, &host(addr))) {
            Ok((StatusCode::OK, got)) if got == body.as_bytes() => {}
            outcome => panic!(
                "{name}: GET {path} did not answer 200 {body:?}: {outcome:?}\ndaemon log:\n{}",
                daemon.log_tail(20)
            ),
        }
        eprintln!(
            "load: {name}: {} s warm-up, then {seconds} s with {connections} connections",
            WARM_UP.as_secs()
        );
        let scraper = (name == SCRAPED)
            .then(|| scrape::Scraper::start(daemon.admin, Duration::from_millis(100)));
        rows.push((
            name,
            client.block_on(run(addr, path, connections, duration)),
        ));
        if let Some(scraper) = scraper {
            eprintln!("load: {name}: {} scrapes", scraper.scrapes());
        }
    }
    drop(client); // closes the client's connections
    drop(baseline);
    let daemon_log = daemon.log_tail(20);
    let exit = daemon.stop();

    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let profile = if cfg!(debug_assertions) {
        "dev profile"
    } else {
        "release profile"
    };
    println!();
    println!(
        "wasi-httpd load: {cores} cores, {connections} keep-alive HTTP/1.1 connections, \
         {seconds} s per scenario after {} s warm-up, {profile}",
        WARM_UP.as_secs()
    );
    println!(
        "{:<26} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8} {:>7}",
        "scenario", "requests", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors"
    );
    for (name, summary) in &rows {
        println!(
            "{name:<26} {:>9} {:>9.0} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>7}",
            summary.requests,
            summary.rate,
            ms(summary.percentile(0.50)),
            ms(summary.percentile(0.90)),
            ms(summary.percentile(0.99)),
            ms(summary.percentile(1.0)),
            summary.errors,
        );
    }
    println!("daemon stopped: {exit}");
    if rows[..3].iter().any(|(_, s)| s.errors > 0) {
        println!("daemon log (last lines):\n{daemon_log}");
    }
}

/// A setting from the environment, or its default.
fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text:?} is not a valid number")),
        Err(_) => default,
    }
}

fn manifest(hello: &Path) -> String {
    // A JSON string is a valid TOML basic string.
    let source = serde_json::to_string(&hello.display().to_string()).expect("a JSON string");
    format!(
        r#"spin_manifest_version = 2
[application]
name = "load"

[[trigger.http]]
route = "/..."
component = "hello"

[[trigger.http]]
route = "/static"
static_response = {{ headers = {{ content-type = "text/plain" }}, body = "hello\n" }}

[component.hello]
source = {source}
"#
    )
}

/// The running daemon; killed when dropped.
struct Daemon {
    child: Child,
    addr: SocketAddr,
    /// Its admin listener (`/metrics`).
    admin: SocketAddr,
    log: Arc<Mutex<Vec<u8>>>,
}

impl Daemon {
    /// `wasi-httpd serve APP --listen 127.0.0.1:0 --admin-listen ...`, once
    /// it prints its address.
    fn start(app: &Path) -> Daemon {
        let admin = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port for the admin listener");
        let mut child = Command::new(BIN)
            .arg("serve")
            .arg(app)
            .args(["--listen", "127.0.0.1:0", "--log-target", "stderr"])
            .arg("--admin-listen")
            .arg(admin.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {BIN}: {e}"));
        let log = keep_tail(child.stderr.take().expect("stderr"));
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let (lines, received) = mpsc::channel();
        std::thread::spawn(move || {
            // Keeps reading after the address, so the daemon never blocks on stdout.
            for line in stdout.lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let deadline = Instant::now() + START_TIMEOUT;
        let mut daemon = Daemon {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            admin,
            log,
        };
        loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = received.recv_timeout(wait) else {
                let _ = daemon.child.kill();
                let _ = daemon.child.wait();
                std::thread::sleep(Duration::from_millis(100)); // the last log lines
                panic!(
                    "wasi-httpd did not print `Serving http://ADDR`; its log:\n{}",
                    daemon.log_tail(40)
                );
            };
            if let Some(addr) = line.trim().strip_prefix("Serving http://") {
                daemon.addr = addr.trim_end_matches('/').parse().expect("the address");
                return daemon;
            }
        }
    }

    fn log_tail(&self, lines: usize) -> String {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        let text = String::from_utf8_lossy(&log);
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// SIGTERM, then SIGKILL if it has not exited within 10 s.
    fn stop(mut self) -> ExitStatus {
        let pid = i32::try_from(self.child.id()).expect("a pid");
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("wait for wasi-httpd") {
                return status;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        self.child.wait().expect("wait for wasi-httpd")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Drains `stream` on a thread, keeping its last [`LOG_TAIL`] bytes.
fn keep_tail(mut stream: impl Read + Send + 'static) -> Arc<Mutex<Vec<u8>>> {
    let tail = Arc::new(Mutex::new(Vec::new()));
    let sink = tail.clone();
    std::thread::spawn(move || {
        let mut buf = vec![0; LOG_TAIL];
        while let Ok(n @ 1..) = stream.read(&mut buf) {
            let mut tail = sink.lock().unwrap_or_else(|e| e.into_inner());
            tail.extend_from_slice(&buf[..n]);
            let excess = tail.len().saturating_sub(LOG_TAIL);
            tail.drain(..excess);
        }
    });
    tail
}

fn host(addr: SocketAddr) -> HeaderValue {
    HeaderValue::from_str(&addr.to_string()).expect("an address is a valid Host")
}

/// When requests count: those started in `measured..until`.
#[derive(Clone, Copy)]
struct Window {
    measured: Instant,
    until: Instant,
}

/// What one connection saw in the measured window.
#[derive(Default)]
struct Tally {
    requests: u64,
    errors: u64,
    /// Of 200 responses, in nanoseconds.
    latencies: Vec<u64>,
}

struct Summary {
    requests: u64,
    errors: u64,
    /// 200 responses per second.
    rate: f64,
    /// Sorted, in nanoseconds.
    latencies: Vec<u64>,
}

impl Summary {
    /// Nearest-rank percentile, `p` in 0..=1; zero without samples.
    fn percentile(&self, p: f64) -> u64 {
        let n = self.latencies.len();
        if n == 0 {
            return 0;
        }
        let rank = ((p * n as f64).ceil() as usize).clamp(1, n);
        self.latencies[rank - 1]
    }
}

fn ms(nanos: u64) -> f64 {
    nanos as f64 / 1e6
}

/// `connections` tasks, each on its own connection, for the warm-up plus
/// `duration`.
async fn run(
    addr: SocketAddr,
    path: &'static str,
    connections: usize,
    duration: Duration,
) -> Summary {
    let start = Instant::now();
    let window = Window {
        measured: start + WARM_UP,
        until: start + WARM_UP + duration,
    };
    let host = host(addr);
    let issued = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..connections)
        .map(|_| tokio::spawn(drive(addr, path, host.clone(), window, issued.clone())))
        .collect();
    let mut total = Tally::default();
    for task in tasks {
        let tally = task.await.expect("a load task panicked");
        total.requests += tally.requests;
        total.errors += tally.errors;
        total.latencies.extend(tally.latencies);
    }
    let elapsed = window.measured.elapsed().as_secs_f64();
    total.latencies.sort_unstable();
    Summary {
        requests: total.requests,
        errors: total.errors,
        rate: total.latencies.len() as f64 / elapsed,
        latencies: total.latencies,
    }
}

/// One keep-alive connection sending requests back to back until the
/// window closes (or the request budget is spent).
async fn drive(
    addr: SocketAddr,
    path: &'static str,
    host: HeaderValue,
    window: Window,
    issued: Arc<AtomicUsize>,
) -> Tally {
    let mut tally = Tally::default();
    let mut sender = None;
    loop {
        let started = Instant::now();
        if started >= window.until || issued.fetch_add(1, Ordering::Relaxed) >= MAX_REQUESTS {
            return tally;
        }
        let outcome =
            tokio::time::timeout(REQUEST_TIMEOUT, one_request(&mut sender, addr, path, &host))
                .await;
        let measured = started >= window.measured;
        tally.requests += u64::from(measured);
        match outcome {
            Ok(Ok((StatusCode::OK, _))) if measured => {
                let nanos = started.elapsed().as_nanos();
                tally
                    .latencies
                    .push(u64::try_from(nanos).unwrap_or(u64::MAX));
            }
            Ok(Ok((StatusCode::OK, _))) => {}
            Ok(Ok(_)) => tally.errors += u64::from(measured),
            Ok(Err(_)) | Err(_) => {
                tally.errors += u64::from(measured);
                sender = None;
                // A refused or reset connection must not become a busy loop.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// `GET path` on `sender`'s connection, opening one if there is none (or
/// the server closed it); reads the whole body.
async fn one_request(
    sender: &mut Option<SendRequest<Empty<Bytes>>>,
    addr: SocketAddr,
    path: &str,
    host: &HeaderValue,
) -> Result<(StatusCode, Bytes), Error> {
    if sender.as_ref().is_none_or(SendRequest::is_closed) {
        *sender = Some(connect(addr).await?);
    }
    let connection = sender.as_mut().expect("a connection");
    connection.ready().await?;
    let request = Request::get(path)
        .header(HOST, host.clone())
        .body(Empty::new())?;
    let response = connection.send_request(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

async fn connect(addr: SocketAddr) -> Result<SendRequest<Empty<Bytes>>, Error> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}
