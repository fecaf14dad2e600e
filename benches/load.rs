//! Load benchmark: the real `wasi-httpd` binary next to `wasmtime serve`
//! and a raw hyper server, on the same wasi:http 0.2 guest, in one run.
//!
//! Release figures (after a long first build, wasmtime included):
//!
//! ```text
//! cargo bench --bench load
//! ```
//!
//! A quick run on the cached dev build (wasi-httpd's own crate unoptimized,
//! its dependencies at opt-level 2): `cargo bench --profile dev --bench load`.
//! `wasmtime serve` is in the run when a `wasmtime` is found (`$WASMTIME`,
//! else `PATH`, else `~/.cargo/bin`): `cargo install wasmtime-cli --version
//! 48.0.8 --locked`, the wasmtime wasi-httpd is built on.
//!
//! Settings, from the environment:
//!
//! - `LOAD_SECONDS` (default 5): measured time per scenario and round,
//!   after a 1 s warm-up on the same connections;
//! - `LOAD_ROUNDS` (default 3): rounds; each round runs every scenario
//!   once, in turn, so that the servers alternate;
//! - `LOAD_CONNECTIONS` (default 32, at most 1024): concurrent keep-alive
//!   connections, each sending one request after the other;
//! - `STARTUP_RUNS` (default 5): starts measured per start-up row;
//! - the daemon inherits the environment, so `WASI_HTTPD_*` settings apply:
//!   by default it runs as it ships, writing an access record per request.
//!
//! What it does:
//!
//! 1. builds the guest components as the integration tests do and writes
//!    an app: `/...` → the `hello` component (a fresh instance per
//!    request), `/static` → a `static_response`;
//! 2. starts, each as a process of its own on a free port: `wasi-httpd
//!    serve APP` (with an admin listener), `wasmtime serve hello.wasm`, and
//!    the baseline (load/baseline.rs: hyper answering `hello`);
//! 3. checks that each scenario's request gets its expected 200 response,
//!    then drives load from a multi-thread tokio runtime with hyper's
//!    HTTP/1.1 client (load/driver.rs), round after round;
//! 4. prints the load table, with each Wasm row's ratio to `wasmtime
//!    serve` and to hyper;
//! 5. measures start-up (load/startup.rs): process start to first response
//!    with a cold and a warm compile cache, `wasi-httpd` also under
//!    `systemd-socket-activate` (first connection to first response), once
//!    more so with `--max-concurrent-requests 32` (wasmtime makes the
//!    instance pool, twice that many slots, before the engine is ready,
//!    and each slot's fiber stack costs a guard-page `mprotect`), and the
//!    idle resident set after the first response; prints that table.
//!
//! Load scenarios:
//!
//! - `wasi-httpd hello`: `GET /hello`, the full request path;
//! - `wasmtime serve hello`: the same guest under `wasmtime serve` (also a
//!   fresh instance per wasi:http 0.2 request, its default);
//! - `wasi-httpd hello, scraped`: `GET /hello` while `/metrics` is scraped
//!   every 100 ms (150 times Prometheus's default rate);
//! - `wasi-httpd static`: `GET /static`, the daemon without Wasm;
//! - `wasi-httpd key-value read`: `GET` of one key of a key-value store
//!   (spin-sdk 5 `platform` guest, `fermyon:spin/key-value`), in a second
//!   wasi-httpd;
//! - `wasi-httpd SQLite query`: a point query on the default SQLite
//!   database (`fermyon:spin/sqlite`), same guest and process;
//! - `hyper baseline`: what the same client gets from hyper alone.
//!
//! Columns: `req/s`, the median over the rounds of 200 responses per second
//! of the measured window; latencies of all rounds' 200 responses, from
//! sending the request to the last body byte (a reconnect included);
//! `RSS MiB`, the server's largest resident set sampled every 100 ms under
//! load; `errors`, non-200 responses, transport failures and requests over
//! 10 s. Client and servers share the machine's cores: compare rows with
//! each other, not with other machines.
//!
//! Started without `--bench` (as `cargo test --benches` does), the binary
//! only says how to run it.

// Not benches/baseline.rs and so on: Cargo would find those files on its
// own and build each as a bench target.
#[path = "load/baseline.rs"]
mod baseline;
#[path = "load/driver.rs"]
mod driver;
#[path = "load/scrape.rs"]
mod scrape;
#[path = "load/server.rs"]
mod server;
#[path = "load/startup.rs"]
mod startup;
// The tests' harness: it builds the guests, writes the apps' manifests and
// starts Redis; the bench uses only those parts of it.
#[allow(dead_code)]
#[path = "../tests/it/client.rs"]
mod client;
#[allow(dead_code)]
#[path = "../tests/it/manifest.rs"]
mod manifest;
#[allow(dead_code)]
#[path = "../tests/it/servers.rs"]
mod servers;
#[allow(dead_code)]
#[path = "../tests/it/support.rs"]
mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use driver::{Summary, Target};
use manifest::Manifest;
use server::Server;
use servers::Redis;
use startup::{Cache, Launch, Starts};
use support::TestApp;

const MAX_CONNECTIONS: usize = 1024;
const HELLO: &str = "hello from wasi-httpd\n";

/// One load scenario: a name, what it loads, whose memory it samples.
struct Scenario {
    name: &'static str,
    target: Target,
    pid: u32,
    scraped: Option<SocketAddr>,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|arg| arg == "--baseline-server") {
        let addr = args.get(at + 1).and_then(|a| a.parse().ok());
        let addr = addr.expect("--baseline-server ADDR");
        baseline::serve(addr).expect("the baseline server");
        return;
    }
    if !args.iter().any(|arg| arg == "--bench") {
        println!("load: not run; use `cargo bench --bench load`");
        return;
    }
    let seconds: f64 = setting("LOAD_SECONDS", 5.0);
    let duration = Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|d| !d.is_zero())
        .unwrap_or_else(|| panic!("LOAD_SECONDS must be a positive number, not {seconds}"));
    let rounds: usize = setting("LOAD_ROUNDS", 3).max(1);
    let startup_runs: usize = setting("STARTUP_RUNS", 5).max(1);
    let connections: usize = setting("LOAD_CONNECTIONS", 32);
    assert!(
        (1..=MAX_CONNECTIONS).contains(&connections),
        "LOAD_CONNECTIONS must be 1 to {MAX_CONNECTIONS}, not {connections}"
    );
    let wasmtime = server::find_wasmtime();
    let hello = support::wasm("hello");
    let app = Manifest::new("load")
        .route("/...", "hello")
        .trigger(
            r#""/static""#,
            r#"static_response = { headers = { content-type = "text/plain" }, body = "hello\n" }"#,
        )
        .component("hello", "hello", "")
        .app();

    let load = load_table(
        app.path(),
        &hello,
        wasmtime.as_ref(),
        rounds,
        connections,
        duration,
    );
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let profile = if cfg!(debug_assertions) {
        "dev profile"
    } else {
        "release profile"
    };
    println!();
    println!(
        "load: {cores} cores, {connections} keep-alive HTTP/1.1 connections, {rounds} rounds of \
         {seconds} s per scenario after {} s warm-up, {profile}; {}",
        driver::WARM_UP.as_secs(),
        wasmtime
            .as_ref()
            .map_or("no wasmtime found".to_owned(), |(_, v)| v.clone()),
    );
    print_load(&load);

    let starts = startup_table(app.path(), &hello, wasmtime.as_ref(), startup_runs);
    println!();
    println!("start-up to first response: {startup_runs} starts each, {profile}");
    let width = starts.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    println!(
        "{:<width$} {:>10} {:>8} {:>8} {:>14}",
        "start", "median ms", "min ms", "max ms", "idle RSS MiB"
    );
    for (name, starts) in &starts {
        println!(
            "{name:<width$} {:>10.1} {:>8.1} {:>8.1} {:>14}",
            starts.median_ms(),
            starts.min_ms(),
            starts.max_ms(),
            starts.idle_rss.map_or("-".into(), mib),
        );
    }
}

/// Starts the servers, runs every scenario `rounds` times in turn, stops
/// the servers.
fn load_table(
    app: &Path,
    hello: &Path,
    wasmtime: Option<&(std::path::PathBuf, String)>,
    rounds: usize,
    connections: usize,
    duration: Duration,
) -> Vec<(&'static str, Summary)> {
    let cache = tempfile::tempdir().expect("a cache directory");
    let admin = server::free_addr();
    let addr = server::free_addr();
    let mut command = server::wasi_httpd(app, Some(addr), cache.path());
    command.arg("--admin-listen").arg(admin.to_string());
    let mut daemon = Server::spawn("wasi-httpd", command, addr);
    daemon.wait_ready("/hello", HELLO);
    let mut peer = wasmtime.map(|(path, _)| {
        let addr = server::free_addr();
        let command = server::wasmtime_serve(path, hello, addr, cache.path());
        let mut peer = Server::spawn("wasmtime serve", command, addr);
        peer.wait_ready("/hello", HELLO);
        peer
    });
    let redis = support::on_path("redis-server")
        .then(Redis::start)
        .or_else(|| {
            eprintln!("load: no redis-server on PATH: no Redis row");
            None
        });
    let (data, _data_app, _data_state) = data_daemon(cache.path(), redis.as_ref());
    let addr = server::free_addr();
    let mut hyper = Server::spawn("hyper baseline", server::baseline(addr), addr);
    hyper.wait_ready("/", "hello\n");

    let wasm_hello = |server: &Server| server.target("/hello", HELLO);
    let mut scenarios = vec![Scenario {
        name: "wasi-httpd hello",
        target: wasm_hello(&daemon),
        pid: daemon.pid(),
        scraped: None,
    }];
    if let Some(peer) = &mut peer {
        scenarios.push(Scenario {
            name: "wasmtime serve hello",
            target: wasm_hello(peer),
            pid: peer.pid(),
            scraped: None,
        });
    }
    scenarios.extend([
        Scenario {
            name: "wasi-httpd hello, scraped",
            target: wasm_hello(&daemon),
            pid: daemon.pid(),
            scraped: Some(admin),
        },
        Scenario {
            name: "wasi-httpd static",
            target: daemon.target("/static", "hello\n"),
            pid: daemon.pid(),
            scraped: None,
        },
        Scenario {
            name: "wasi-httpd key-value read",
            target: data.target("/kv/default/get/bench", "hello"),
            pid: data.pid(),
            scraped: None,
        },
    ]);
    if redis.is_some() {
        scenarios.push(Scenario {
            name: "wasi-httpd key-value, Redis",
            target: data.target("/kv/shared/get/bench", "hello"),
            pid: data.pid(),
            scraped: None,
        });
    }
    scenarios.extend([
        Scenario {
            name: "wasi-httpd SQLite query",
            target: data.target("/row/default/bench/1", SQLITE_ROW),
            pid: data.pid(),
            scraped: None,
        },
        Scenario {
            name: "hyper baseline",
            target: hyper.target("/", "hello\n"),
            pid: hyper.pid(),
            scraped: None,
        },
    ]);
    let client = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the client runtime");
    let mut rows: Vec<_> = scenarios
        .iter()
        .map(|s| (s.name, Summary::default()))
        .collect();
    for round in 1..=rounds {
        for (scenario, (_, summary)) in scenarios.iter().zip(&mut rows) {
            if let Err(why) = client.block_on(scenario.target.check()) {
                panic!(
                    "{}: {why}\ndaemon log:\n{}",
                    scenario.name,
                    daemon.log_tail(20)
                );
            }
            eprintln!("load: round {round}/{rounds}: {}", scenario.name);
            let scraper = scenario
                .scraped
                .map(|admin| scrape::Scraper::start(admin, Duration::from_millis(100)));
            let run = driver::run(scenario.target, connections, duration, Some(scenario.pid));
            summary.add(client.block_on(run));
            if let Some(scraper) = scraper {
                eprintln!("load: {}: {} scrapes", scenario.name, scraper.scrapes());
            }
        }
    }
    drop(client); // closes the client's connections
    if rows.iter().any(|(_, s)| s.errors > 0) {
        eprintln!("wasi-httpd log (last lines):\n{}", daemon.log_tail(20));
    }
    for server in [Some(daemon), Some(data), peer, Some(hyper)]
        .into_iter()
        .flatten()
    {
        let name = server.name;
        eprintln!("load: {name} stopped: {}", server.stop());
    }
    rows
}

fn print_load(rows: &[(&'static str, Summary)]) {
    let rate_of = |name: &str| rows.iter().find(|(n, _)| *n == name).map(|(_, s)| s.rate());
    let (peer, hyper) = (rate_of("wasmtime serve hello"), rate_of("hyper baseline"));
    println!(
        "{:<26} {:>9} {:>8} {:>8} {:>8} {:>8} {:>7} {:>11} {:>8}",
        "scenario",
        "req/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "RSS MiB",
        "errors",
        "× wasmtime",
        "× hyper"
    );
    let ratio =
        |rate: f64, of: Option<f64>| of.map_or("-".into(), |of| format!("{:.2}", rate / of));
    for (name, summary) in rows {
        let rate = summary.rate();
        println!(
            "{name:<26} {rate:>9.0} {:>8.2} {:>8.2} {:>8.2} {:>8} {:>7} {:>11} {:>8}",
            summary.percentile_ms(0.50),
            summary.percentile_ms(0.99),
            summary.percentile_ms(1.0),
            summary.rss_max.map_or("-".into(), mib),
            summary.errors,
            ratio(rate, peer),
            ratio(rate, hyper),
        );
    }
}

/// Start-up rows: wasi-httpd spawned and socket-activated, `wasmtime
/// serve` spawned; each with a cold and a warm cache.
fn startup_table(
    app: &Path,
    hello: &Path,
    wasmtime: Option<&(std::path::PathBuf, String)>,
    runs: usize,
) -> Vec<(String, Starts)> {
    let spawned = |addr: SocketAddr, cache: &Path| server::wasi_httpd(app, Some(addr), cache);
    let activated = |cache: &Path| server::wasi_httpd(app, None, cache);
    // The instance pool is twice --max-concurrent-requests, reserved at
    // start: a scale-to-zero service that needs few slots starts faster.
    let small_pool = |cache: &Path| {
        let mut command = server::wasi_httpd(app, None, cache);
        command.args(["--max-concurrent-requests", SMALL_POOL_REQUESTS]);
        command
    };
    let small_pool_name =
        format!("wasi-httpd, activated, --max-concurrent-requests {SMALL_POOL_REQUESTS}");
    let peer = wasmtime.map(|(path, _)| {
        move |addr: SocketAddr, cache: &Path| server::wasmtime_serve(path, hello, addr, cache)
    });
    let mut launches: Vec<(&str, Launch)> = vec![
        ("wasi-httpd, spawned", Launch::Spawned(&spawned)),
        (
            "wasi-httpd, socket-activated",
            Launch::Activated(&activated),
        ),
        (&small_pool_name, Launch::Activated(&small_pool)),
    ];
    if let Some(peer) = &peer {
        launches.push(("wasmtime serve, spawned", Launch::Spawned(peer)));
    }
    let mut rows = Vec::new();
    for (name, launch) in &launches {
        for (cache, label) in [(Cache::Cold, "cold cache"), (Cache::Warm, "warm cache")] {
            eprintln!("start-up: {name}, {label}");
            let starts = startup::measure(launch, cache, runs, "/hello", HELLO);
            rows.push((format!("{name}, {label}"), starts));
        }
    }
    rows
}

fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / f64::from(1 << 20))
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

/// The `--max-concurrent-requests` of the small-pool start-up row.
const SMALL_POOL_REQUESTS: &str = "32";

/// What `GET /row/default/bench/1` answers.
const SQLITE_ROW: &str = "Value::Integer(1)|Value::Text(\"hello\")";

/// A second wasi-httpd serving the `platform` guest on `/...` with a
/// key-value store (key `bench` seeded), one on `redis` if there is one
/// (`shared`), and the default SQLite database (table `bench`, one row):
/// the data scenarios. Returns it with its app and its state directory,
/// which must outlive it.
fn data_daemon(cache: &Path, redis: Option<&Redis>) -> (Server, TestApp, tempfile::TempDir) {
    let stores = if redis.is_some() {
        r#"key_value_stores = ["default", "shared"]"#
    } else {
        r#"key_value_stores = ["default"]"#
    };
    let app = Manifest::new("data")
        .route("/...", "platform")
        .component(
            "platform",
            "platform",
            &format!("{stores}\nsqlite_databases = [\"default\"]"),
        )
        .app();
    let state = tempfile::tempdir().expect("a directory");
    let addr = server::free_addr();
    let mut command = server::wasi_httpd(app.path(), Some(addr), cache);
    command
        .args(["--key-value", "bench=hello", "--state-dir"])
        .arg(state.path());
    if let Some(redis) = redis {
        let config = app.path().join("runtime-config.toml");
        std::fs::write(
            &config,
            format!(
                "[key_value_store.shared]\ntype = \"redis\"\nurl = \"{}\"\n",
                redis.url()
            ),
        )
        .expect("write runtime-config.toml");
        command.arg("--runtime-config-file").arg(config);
    }
    let mut data = Server::spawn("wasi-httpd (data)", command, addr);
    data.wait_ready("/kv/default/get/bench", "hello");
    if redis.is_some() {
        let request = "PUT /kv/shared/set/bench HTTP/1.1\r\nHost: localhost\r\n\
                       Content-Length: 5\r\nConnection: close\r\n\r\nhello";
        let response = support::send(addr, request);
        assert_eq!(response.status, 200, "seeding Redis: {}", response.text());
    }
    for statement in [
        "CREATE TABLE bench (id INTEGER PRIMARY KEY, name TEXT)",
        "INSERT INTO bench (name) VALUES ('hello')",
    ] {
        let request = format!(
            "POST /sql/default HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{statement}",
            statement.len()
        );
        let response = support::send(addr, &request);
        assert_eq!(response.status, 200, "{statement}: {}", response.text());
    }
    (data, app, state)
}
