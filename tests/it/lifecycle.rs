//! The systemd lifecycle under `systemd-socket-activate`: inherited named
//! sockets (TCP and Unix), the sd_notify sequence, reload on SIGHUP, a bad
//! reload, the drain on SIGTERM and the watchdog.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::activation::{Activated, Sock, has};
use crate::manifest::Manifest;
use crate::scrape::{SERVING_ADMIN, admin_in_log, expect};
use crate::support::{Connection, TestApp, get, send_unix};

const LONG: Duration = Duration::from_secs(60);

/// An admin listener, whose gauges say when a request is in flight.
const ADMIN: &[&str] = &["--admin-listen", "127.0.0.1:0"];

fn static_app(body: &str) -> String {
    Manifest::new("life")
        .static_response("/...", body)
        .route("/slow", "slow")
        .component("slow", "slow", "")
        .text()
}

#[test]
fn serves_inherited_tcp_and_unix_sockets_and_binds_nothing() {
    let app = TestApp::new(&static_app("v1"));
    let daemon = Activated::ready(
        &app,
        &[Sock::Tcp("http"), Sock::Unix("http")],
        &[],
        &["--listen", "127.0.0.1:1"],
    );
    assert_eq!(get(daemon.tcp[0], "/").text(), "v1");
    let over_unix = send_unix(
        &daemon.unix[0],
        "GET /x HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\n\r\n",
    );
    assert_eq!((over_unix.status, over_unix.text().as_str()), (200, "v1"));
    let status = daemon
        .notify
        .seen
        .iter()
        .find(|m| has(m, "READY=1"))
        .unwrap();
    assert!(
        status.contains("http 127.0.0.1:") && status.contains("http unix:"),
        "{status}"
    );
    // --listen 127.0.0.1:1 would fail to bind: it was ignored.
    assert!(!daemon.stderr().contains("cannot listen"));
}

#[test]
fn notify_sequence_is_ready_reloading_ready_stopping() {
    let app = TestApp::new(&static_app("v1"));
    let mut daemon = Activated::ready(&app, &[Sock::Tcp("http")], &[], &[]);
    daemon.signal(Signal::SIGHUP);
    let reloading = daemon.notify.wait_for(LONG, |m| has(m, "RELOADING=1"));
    let usec: u64 = reloading
        .lines()
        .find_map(|l| l.strip_prefix("MONOTONIC_USEC="))
        .expect("MONOTONIC_USEC with RELOADING=1")
        .parse()
        .unwrap();
    assert!(usec > 0);
    daemon.notify.wait_for(LONG, |m| has(m, "READY=1"));
    daemon.signal(Signal::SIGTERM);
    daemon.notify.wait_for(LONG, |m| has(m, "STOPPING=1"));
    assert_eq!(daemon.wait(LONG).code(), Some(0));
    let order: Vec<&str> = daemon
        .notify
        .seen
        .iter()
        .flat_map(|m| m.lines())
        .filter(|l| ["READY=1", "RELOADING=1", "STOPPING=1"].contains(l))
        .collect();
    assert_eq!(order, ["READY=1", "RELOADING=1", "READY=1", "STOPPING=1"]);
}

#[test]
fn sighup_swaps_app_without_failed_requests() {
    let app = TestApp::new(&static_app("v1"));
    let mut daemon = Activated::ready(&app, &[Sock::Tcp("http")], &[], &[]);
    let addr = daemon.tcp[0];
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..3)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut bodies = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let response = get(addr, "/");
                    assert_eq!(response.status, 200, "a request failed during the reload");
                    bodies.push(response.text());
                }
                bodies
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    std::fs::write(
        app.manifest(),
        static_app("v2").replace(
            "{slow.wasm}",
            crate::support::wasm("slow").to_str().unwrap(),
        ),
    )
    .unwrap();
    daemon.signal(Signal::SIGHUP);
    daemon.notify.wait_for(LONG, |m| has(m, "RELOADING=1"));
    let ready = daemon.notify.wait_for(LONG, |m| has(m, "READY=1"));
    assert!(ready.contains("serving app 'life'"), "{ready}");
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    let bodies: Vec<String> = clients
        .into_iter()
        .flat_map(|c| c.join().expect("client thread"))
        .collect();
    assert!(
        bodies.iter().all(|b| b == "v1" || b == "v2"),
        "unexpected bodies"
    );
    assert!(bodies.iter().any(|b| b == "v1") && bodies.last().map(String::as_str) == Some("v2"));
    assert_eq!(get(addr, "/").text(), "v2");
}

#[test]
fn bad_reload_keeps_the_previous_app_and_says_why() {
    let app = TestApp::new(&static_app("v1"));
    let mut daemon = Activated::ready(&app, &[Sock::Tcp("http")], &[], &[]);
    std::fs::write(app.manifest(), "spin_manifest_version = 2\n[application]\nname = \"life\"\n[[trigger.http]]\nroute = \"/\"\ncomponent = \"gone\"\n").unwrap();
    daemon.signal(Signal::SIGHUP);
    daemon.notify.wait_for(LONG, |m| has(m, "RELOADING=1"));
    let ready = daemon.notify.wait_for(LONG, |m| has(m, "READY=1"));
    let status = ready
        .lines()
        .find_map(|l| l.strip_prefix("STATUS="))
        .expect("STATUS with READY");
    assert!(status.starts_with("reload failed: "), "{status}");
    assert!(
        status.contains("gone") && status.ends_with("; still serving the previous app"),
        "{status}"
    );
    assert_eq!(get(daemon.tcp[0], "/").text(), "v1");
    daemon.wait_for_log("reload failed");
}

#[test]
fn request_in_flight_at_sigterm_completes_and_exit_status_is_zero() {
    let app = TestApp::new(&static_app("v1"));
    let mut daemon = Activated::ready(&app, &[Sock::Tcp("http")], &[], ADMIN);
    let admin = admin_in_log(&daemon.wait_for_log(SERVING_ADMIN));
    let addr = daemon.tcp[0];
    let slow = std::thread::spawn(move || get(addr, "/slow?ms=1500"));
    expect(admin, "wasi_httpd_requests_in_flight", &[], 1.0);
    daemon.signal(Signal::SIGTERM);
    daemon.notify.wait_for(LONG, |m| has(m, "STOPPING=1"));
    let response = slow.join().expect("slow request");
    assert_eq!(
        (response.status, response.text().as_str()),
        (200, "slept 1500 ms")
    );
    assert_eq!(daemon.wait(LONG).code(), Some(0));
}

/// Access records are written by a thread of their own: the records of
/// requests that finish during the drain, just before the exit, are all
/// written before the process is gone.
#[test]
fn every_access_record_is_written_before_the_process_exits() {
    const REQUESTS: usize = 24;
    let app = TestApp::new(&static_app("v1"));
    let mut daemon = Activated::ready(&app, &[Sock::Tcp("http")], &[], ADMIN);
    let admin = admin_in_log(&daemon.wait_for_log(SERVING_ADMIN));
    let addr = daemon.tcp[0];
    let slow: Vec<_> = (0..REQUESTS)
        .map(|_| std::thread::spawn(move || get(addr, "/slow?ms=1500").status))
        .collect();
    expect(admin, "wasi_httpd_requests_in_flight", &[], REQUESTS as f64);
    daemon.signal(Signal::SIGTERM);
    for request in slow {
        assert_eq!(request.join().expect("slow request"), 200);
    }
    assert_eq!(daemon.wait(LONG).code(), Some(0));
    let log = daemon.stderr();
    let records = log.lines().filter(|l| l.contains("GET /slow 200")).count();
    assert_eq!(
        records, REQUESTS,
        "one access record per request; log:\n{log}"
    );
}

#[test]
fn shutdown_timeout_cuts_a_request_that_takes_too_long() {
    let app = TestApp::new(&static_app("v1"));
    let mut daemon = Activated::ready(
        &app,
        &[Sock::Tcp("http")],
        &[],
        &["--shutdown-timeout", "300ms", ADMIN[0], ADMIN[1]],
    );
    let admin = admin_in_log(&daemon.wait_for_log(SERVING_ADMIN));
    let addr = daemon.tcp[0];
    let slow = std::thread::spawn(move || std::panic::catch_unwind(|| get(addr, "/slow?ms=20000")));
    expect(admin, "wasi_httpd_requests_in_flight", &[], 1.0);
    let started = Instant::now();
    daemon.signal(Signal::SIGTERM);
    assert_eq!(daemon.wait(LONG).code(), Some(0));
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the drain ignored --shutdown-timeout"
    );
    daemon.wait_for_log("drain deadline passed");
    let _ = slow.join();
}

#[test]
fn watchdog_pings_arrive_at_about_half_the_period() {
    let app = TestApp::new(&static_app("v1"));
    let mut daemon = Activated::ready(
        &app,
        &[Sock::Tcp("http")],
        &[("WATCHDOG_USEC", "400000")],
        &[],
    );
    let pings: Vec<Instant> = daemon
        .notify
        .collect_for(Duration::from_millis(2100))
        .into_iter()
        .filter(|(_, m)| has(m, "WATCHDOG=1"))
        .map(|(at, _)| at)
        .collect();
    // Every 200 ms: about 10 in 2.1 s; a generous band, as CI machines stall.
    assert!((6..=14).contains(&pings.len()), "{} pings", pings.len());
    let gaps: Vec<Duration> = pings.windows(2).map(|w| w[1] - w[0]).collect();
    let mean = gaps.iter().sum::<Duration>() / gaps.len() as u32;
    assert!(
        mean > Duration::from_millis(120) && mean < Duration::from_millis(300),
        "mean gap {mean:?}"
    );
}

#[test]
fn https_socket_without_a_certificate_is_a_clear_startup_error() {
    let app = TestApp::new(&static_app("v1"));
    let mut daemon = Activated::spawn(&app, &[Sock::Tcp("http"), Sock::Tcp("https")], &[], &[]);
    let failed = daemon
        .notify
        .wait_for(LONG, |m| m.contains("STATUS=failed"));
    assert!(failed.contains("https"), "{failed}");
    assert_eq!(daemon.wait(LONG).code(), Some(78));
    daemon.wait_for_log("named `https`");
}

#[test]
fn startup_failure_sends_status_and_exits_non_zero() {
    let app = TestApp::new("spin_manifest_version = 2\n[application]\nname = \"x\"\n");
    let mut daemon = Activated::spawn(&app, &[Sock::Tcp("http")], &[], &[]);
    let failed = daemon
        .notify
        .wait_for(LONG, |m| m.contains("STATUS=failed"));
    assert!(failed.contains("spin.toml"), "{failed}");
    assert!(!daemon.notify.seen.iter().any(|m| has(m, "READY=1")));
    assert_eq!(daemon.wait(LONG).code(), Some(78));
}

#[test]
fn an_inherited_fd_that_is_not_a_listening_stream_socket_is_named_in_the_error() {
    let app = TestApp::new(&static_app("v1"));
    // A datagram starts the daemon with the UDP socket as fd 3.
    let mut daemon = Activated::spawn(&app, &[Sock::Udp("weird")], &[], &[]);
    let status = daemon.wait(LONG);
    assert_eq!(status.code(), Some(78), "{}", daemon.stderr());
    let err = daemon.stderr();
    assert!(
        err.contains("fd 3") && err.contains("\"weird\"") && err.contains("not a stream socket"),
        "{err}"
    );
}

#[test]
fn sigterm_during_a_reload_that_hangs_stops_the_daemon() {
    // A variable read from a credential that turns into a FIFO: the
    // reload blocks reading it, as a stuck filesystem would.
    let creds = tempfile::tempdir().unwrap();
    std::fs::write(creds.path().join("greeting"), "hi").unwrap();
    let app = TestApp::new(&format!(
        "{}\n[variables]\ngreeting = {{ required = true }}\n",
        static_app("v1")
    ));
    let mut daemon = Activated::ready(
        &app,
        &[Sock::Tcp("http")],
        &[("CREDENTIALS_DIRECTORY", creds.path().to_str().unwrap())],
        &[],
    );
    std::fs::remove_file(creds.path().join("greeting")).unwrap();
    nix::unistd::mkfifo(
        &creds.path().join("greeting"),
        nix::sys::stat::Mode::S_IRWXU,
    )
    .unwrap();
    daemon.signal(Signal::SIGHUP);
    daemon.notify.wait_for(LONG, |m| has(m, "RELOADING=1"));
    daemon.signal(Signal::SIGTERM);
    daemon.notify.wait_for(LONG, |m| has(m, "STOPPING=1"));
    assert!(daemon.wait(LONG).success(), "{}", daemon.stderr());
    daemon.wait_for_log("stop requested during a reload");
}

/// Has the daemon accepted the loopback connection from `client` to
/// `server`? The server's end has an inode in /proc/net/tcp only once it
/// is accepted (in the kernel's accept queue it has none).
fn accepted(server: u16, client: u16) -> bool {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("read /proc/net/tcp");
    table.lines().skip(1).any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let port = |field: &str| {
            field
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok())
        };
        fields.len() > 9
            && port(fields[1]) == Some(server)
            && port(fields[2]) == Some(client)
            && fields[9] != "0"
    })
}

#[test]
fn a_connection_accepted_just_before_the_drain_gets_its_first_request_answered() {
    let app = TestApp::new(&static_app("v1"));
    let mut daemon = Activated::ready(
        &app,
        &[Sock::Tcp("http")],
        &[],
        &["--header-read-timeout", "60s"],
    );
    let addr = daemon.tcp[0];
    let mut sends = Connection::open(addr);
    let mut silent = Connection::open(addr);
    for connection in [&mut sends, &mut silent] {
        let client = connection.stream().local_addr().unwrap().port();
        let since = Instant::now();
        while !accepted(addr.port(), client) {
            assert!(
                since.elapsed() < LONG,
                "the daemon never accepted the connection"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    daemon.signal(Signal::SIGTERM);
    daemon.notify.wait_for(LONG, |m| has(m, "STOPPING=1"));
    // Its request comes after the drain began: it is answered, and the
    // connection closes after it.
    let response = sends.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!((response.status, response.text().as_str()), (200, "v1"));
    assert_eq!(response.header("connection"), Some("close"));
    // A connection that sends nothing is closed after a short grace, long
    // before --header-read-timeout.
    let mut rest = Vec::new();
    silent
        .stream()
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let read = std::io::Read::read_to_end(silent.stream(), &mut rest);
    assert!(
        matches!(read, Ok(0)),
        "the silent connection was not closed: {read:?}"
    );
    assert_eq!(daemon.wait(LONG).code(), Some(0));
}

#[test]
fn exit_idle_after_exits_zero_once_no_connection_is_open() {
    let app = TestApp::new(&static_app("v1"));
    let mut daemon = Activated::ready(
        &app,
        &[Sock::Tcp("http")],
        &[],
        &["--exit-idle-after", "1s"],
    );
    let addr = daemon.tcp[0];
    // An open connection keeps it serving past the idle time.
    let mut held = Connection::open(addr);
    assert_eq!(
        held.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .status,
        200
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        held.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .status,
        200
    );
    drop(held);
    // Once it closes: STOPPING=1, then exit 0.
    daemon.notify.wait_for(LONG, |m| has(m, "STOPPING=1"));
    assert_eq!(daemon.wait(LONG).code(), Some(0));
    daemon.wait_for_log("no connection for --exit-idle-after");
}

#[test]
fn exit_idle_after_without_sockets_from_systemd_is_a_config_error() {
    let app = TestApp::new(&static_app("v1"));
    let out = crate::support::run(&[
        "serve",
        app.path().to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--exit-idle-after",
        "1s",
    ]);
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--exit-idle-after needs the listening sockets from systemd"),
        "{err}"
    );
}
