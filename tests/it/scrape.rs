//! Reading the admin listener: where a daemon put it, and the samples of
//! its `/metrics`, waited for until they reach the value a test expects.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::support::{Daemon, get};

/// The address the daemon logged for its first admin socket.
pub fn admin_addr(daemon: &Daemon) -> SocketAddr {
    admin_in_log(&daemon.wait_for_log(SERVING_ADMIN))
}

/// What the daemon logs once its admin listener serves.
pub const SERVING_ADMIN: &str = "serving metrics and health checks";

/// The first admin address in a daemon's log.
pub fn admin_in_log(log: &str) -> SocketAddr {
    let line = log
        .lines()
        .find(|l| l.contains(SERVING_ADMIN))
        .unwrap_or_else(|| panic!("no admin listener in the log:\n{log}"));
    let addr = line.rsplit("admin ").next().unwrap().trim();
    addr.parse()
        .unwrap_or_else(|_| panic!("no admin address in {line:?}"))
}

/// The value of the sample `name{labels}` (labels in any order), if any.
pub fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, "}"));
            if metric != name {
                return None;
            }
            let inner = rest.strip_suffix('}')?;
            let mut have: Vec<(String, String)> = if inner.is_empty() {
                Vec::new()
            } else {
                inner
                    .split("\",")
                    .map(|pair| {
                        let (k, v) = pair.split_once("=\"").unwrap();
                        (k.to_owned(), v.trim_end_matches('"').to_owned())
                    })
                    .collect()
            };
            let mut want: Vec<(String, String)> = labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            have.sort();
            want.sort();
            (have == want).then(|| value.parse().unwrap())
        })
}

pub fn scrape(admin: SocketAddr) -> String {
    let response = get(admin, "/metrics");
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    response.text()
}

/// Scrapes until the sample reads `want` (a response is counted once its
/// body is sent, just after the client has read it); then it must be
/// exactly that.
pub fn expect(admin: SocketAddr, name: &str, labels: &[(&str, &str)], want: f64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = scrape(admin);
        let got = sample(&text, name, labels);
        if got == Some(want) {
            return;
        }
        if Instant::now() > deadline {
            panic!("{name}{labels:?} is {got:?}, not {want}:\n{text}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
