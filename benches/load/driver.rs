//! The load generator: keep-alive HTTP/1.1 connections, each sending one
//! `GET` after the other for a warm-up and then a measured window, on
//! hyper's client (`hyper::client::conn::http1::handshake` over a
//! `TcpStream`), with the server's resident memory sampled meanwhile.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HOST, HeaderValue};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

pub const WARM_UP: Duration = Duration::from_secs(1);
/// A request taking longer is an error; its connection is replaced.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Requests per run at most, warm-up included (bounds time and memory).
const MAX_REQUESTS: usize = 5_000_000;
/// How often the server's resident set is read during a run.
const RSS_EVERY: Duration = Duration::from_millis(100);

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// What to load: `GET path` on `addr`, expecting 200 and `body`.
#[derive(Clone, Copy)]
pub struct Target {
    pub addr: SocketAddr,
    pub path: &'static str,
    pub body: &'static str,
}

impl Target {
    /// One request on a new connection: 200 with the expected body, or why not.
    pub async fn check(&self) -> Result<(), String> {
        match one_request(&mut None, self.addr, self.path, &host(self.addr)).await {
            Ok((StatusCode::OK, got)) if got == self.body.as_bytes() => Ok(()),
            outcome => Err(format!(
                "GET {} did not answer 200 {:?}: {outcome:?}",
                self.path, self.body
            )),
        }
    }
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

/// One or more runs of one scenario.
#[derive(Default)]
pub struct Summary {
    pub requests: u64,
    pub errors: u64,
    /// 200 responses per second of each run.
    pub rates: Vec<f64>,
    /// Sorted, in nanoseconds.
    latencies: Vec<u64>,
    /// The server's largest resident set seen, in bytes.
    pub rss_max: Option<u64>,
}

impl Summary {
    /// The median of the runs' rates.
    pub fn rate(&self) -> f64 {
        let mut rates = self.rates.clone();
        rates.sort_by(f64::total_cmp);
        match rates.len() {
            0 => 0.0,
            n if n % 2 == 1 => rates[n / 2],
            n => (rates[n / 2 - 1] + rates[n / 2]) / 2.0,
        }
    }

    /// Nearest-rank percentile of all runs' latencies, `p` in 0..=1, in
    /// milliseconds; zero without samples.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        let n = self.latencies.len();
        if n == 0 {
            return 0.0;
        }
        let rank = ((p * n as f64).ceil() as usize).clamp(1, n);
        self.latencies[rank - 1] as f64 / 1e6
    }

    /// Adds another run of the same scenario.
    pub fn add(&mut self, run: Summary) {
        self.requests += run.requests;
        self.errors += run.errors;
        self.rates.extend(run.rates);
        self.latencies.extend(run.latencies);
        self.latencies.sort_unstable();
        self.rss_max = self.rss_max.max(run.rss_max);
    }
}

/// `connections` tasks, each on its own connection, for the warm-up plus
/// `duration`, while the resident set of process `pid` is sampled.
pub async fn run(
    target: Target,
    connections: usize,
    duration: Duration,
    pid: Option<u32>,
) -> Summary {
    let start = Instant::now();
    let window = Window {
        measured: start + WARM_UP,
        until: start + WARM_UP + duration,
    };
    let sampler = pid.map(|pid| tokio::spawn(sample_rss(pid, window)));
    let host = host(target.addr);
    let issued = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..connections)
        .map(|_| tokio::spawn(drive(target, host.clone(), window, issued.clone())))
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
    let rss_max = match sampler {
        Some(sampler) => sampler.await.expect("the RSS sampler panicked"),
        None => None,
    };
    Summary {
        requests: total.requests,
        errors: total.errors,
        rates: vec![total.latencies.len() as f64 / elapsed],
        latencies: total.latencies,
        rss_max,
    }
}

/// The largest resident set of `pid` in the measured window.
async fn sample_rss(pid: u32, window: Window) -> Option<u64> {
    tokio::time::sleep_until(window.measured.into()).await;
    let mut max = None;
    while Instant::now() < window.until {
        max = max.max(crate::server::rss(pid));
        tokio::time::sleep(RSS_EVERY).await;
    }
    max
}

/// One keep-alive connection sending requests back to back until the
/// window closes (or the request budget is spent).
async fn drive(
    target: Target,
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
        let outcome = tokio::time::timeout(
            REQUEST_TIMEOUT,
            one_request(&mut sender, target.addr, target.path, &host),
        )
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

pub fn host(addr: SocketAddr) -> HeaderValue {
    HeaderValue::from_str(&addr.to_string()).expect("an address is a valid Host")
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
