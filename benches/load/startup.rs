//! Start-up: the time from starting a server process (or, under
//! `systemd-socket-activate`, from the first connection) to the last byte
//! of its first response, with a cold compile cache (an empty directory)
//! and a warm one (filled by an earlier start); and the resident set of an
//! idle server after that first response.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::server::{self, Server};

/// How long a server sits idle before its resident set is read.
const SETTLE: Duration = Duration::from_millis(500);

/// Which cache a start finds.
#[derive(Clone, Copy, PartialEq)]
pub enum Cache {
    Cold,
    Warm,
}

/// How a server is started and reached.
pub enum Launch<'a> {
    /// Started by the client, which polls its port until it answers.
    Spawned(&'a dyn Fn(SocketAddr, &Path) -> Command),
    /// `systemd-socket-activate` holds the port; the first connection
    /// starts the server, which inherits the socket.
    Activated(&'a dyn Fn(&Path) -> Command),
}

/// What the starts of one kind took.
pub struct Starts {
    /// Sorted.
    times: Vec<Duration>,
    /// Of the last start, once idle after its first response.
    pub idle_rss: Option<u64>,
}

impl Starts {
    pub fn median_ms(&self) -> f64 {
        self.times[self.times.len() / 2].as_secs_f64() * 1e3
    }

    pub fn min_ms(&self) -> f64 {
        self.times[0].as_secs_f64() * 1e3
    }

    pub fn max_ms(&self) -> f64 {
        self.times[self.times.len() - 1].as_secs_f64() * 1e3
    }
}

/// `runs` starts of `launch`, each answering `GET path` with `body`: with a
/// new empty cache directory each time (cold), or with one directory that
/// an unmeasured first start filled (warm).
pub fn measure(launch: &Launch, cache: Cache, runs: usize, path: &str, body: &str) -> Starts {
    let warm = (cache == Cache::Warm).then(|| {
        let dir = tempfile::tempdir().expect("a cache directory");
        start_once(launch, dir.path(), path, body, false);
        dir
    });
    let mut times = Vec::new();
    let mut idle_rss = None;
    for run in 0..runs {
        let cold = warm
            .is_none()
            .then(|| tempfile::tempdir().expect("a cache directory"));
        let dir = warm.as_ref().or(cold.as_ref()).expect("a cache directory");
        let last = run + 1 == runs;
        let (time, rss) = start_once(launch, dir.path(), path, body, last);
        times.push(time);
        idle_rss = rss;
    }
    times.sort_unstable();
    Starts { times, idle_rss }
}

/// One start to its first response; with `settle`, also the idle resident
/// set afterwards.
fn start_once(
    launch: &Launch,
    cache: &Path,
    path: &str,
    body: &str,
    settle: bool,
) -> (Duration, Option<u64>) {
    let (elapsed, server) = match launch {
        Launch::Spawned(command) => {
            let addr = server::free_addr();
            let started = Instant::now();
            let mut server = Server::spawn("server", command(addr, cache), addr);
            server.wait_ready(path, body);
            (started.elapsed(), server)
        }
        Launch::Activated(command) => activated(command(cache), path, body),
    };
    let rss = settle.then(|| {
        std::thread::sleep(SETTLE);
        server::rss(server.pid())
    });
    server.stop();
    (elapsed, rss.flatten())
}

/// `systemd-socket-activate -l ADDR COMMAND`: waits until it listens, then
/// times one request from the connect on.
fn activated(command: Command, path: &str, body: &str) -> (Duration, Server) {
    let deadline = Instant::now() + server::START_TIMEOUT;
    let addr = server::free_addr();
    let mut activator = Command::new("systemd-socket-activate");
    activator.arg("-l").arg(addr.to_string());
    for (key, value) in command.get_envs() {
        if let Some(value) = value {
            let mut pair = key.to_os_string();
            pair.push("=");
            pair.push(value);
            activator.arg("-E").arg(pair);
        }
    }
    activator
        .arg(command.get_program())
        .args(command.get_args());
    let server = Server::spawn("socket-activated", activator, addr);
    // It prints "Listening on ADDR as 3." before it waits for a connection.
    while !server.logged("Listening on") {
        assert!(
            Instant::now() < deadline,
            "systemd-socket-activate did not listen on {addr}: {}",
            server.log_tail(10)
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let started = Instant::now();
    let response = server::get(addr, path).expect("a response to the first connection");
    let elapsed = started.elapsed();
    assert!(
        response.status == 200 && response.body == body.as_bytes(),
        "the socket-activated server answered {} {:?}; its log:\n{}",
        response.status,
        response.text(),
        server.log_tail(20)
    );
    (elapsed, server)
}
