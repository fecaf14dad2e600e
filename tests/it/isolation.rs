//! Isolation: one client or one guest cannot hurt the others. Each test is
//! an attack or an accident that used to take the service (or a part of
//! it) down: a framing guard switched off by empty lines, guests spinning
//! on every core, a dropped response handle, clients that go away, leaked
//! queue places, chained requests waiting for a second slot, per-request
//! data kept in reused instances, a big head answered with a reset, and a
//! guest flooding the log.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::activation::{Activated, Sock, has};
use crate::manifest::Manifest;
use crate::support::{Daemon, TestApp, get};

fn app() -> TestApp {
    Manifest::new("isolation")
        .static_response("/static", "static")
        .route("/...", "trap")
        .route("/slow", "slow")
        .route("/noresponse/...", "noresponse")
        .route("/fetch/...", "outbound")
        .route("/hello", "hello")
        .component("trap", "trap", "")
        .component("slow", "slow", "")
        .component("noresponse", "noresponse", "")
        .component(
            "outbound",
            "outbound",
            r#"allowed_outbound_hosts = ["http://*.spin.internal"]"#,
        )
        .component("hello", "hello", "")
        .app()
}

/// Reads until the peer closes (true) or `within` passes (false).
fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 1024];
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => {}
        }
    }
    false
}

#[test]
fn empty_lines_before_a_request_keep_the_framing_guard_on() {
    let daemon = Daemon::start(&app(), &[]);
    for prefix in ["\n\n", "\r\n\r\n", "\r\n"] {
        let response = daemon.raw(&format!(
            "{prefix}POST /hello HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n"
        ));
        assert_eq!(
            response.status,
            400,
            "prefix {prefix:?}: {}",
            response.text()
        );
        // Empty lines before a request line are skipped (RFC 9112 §2.2).
        let fine = daemon.raw(&format!(
            "{prefix}GET /hello HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
        ));
        assert_eq!(fine.status, 200, "prefix {prefix:?}");
    }
}

#[test]
fn empty_lines_and_then_nothing_are_cut_off_by_the_head_timer() {
    let daemon = Daemon::start(
        &app(),
        &[
            "--header-read-timeout",
            "500ms",
            "--idle-timeout",
            "60s",
            "--max-connections",
            "1",
        ],
    );
    let mut stalled = TcpStream::connect(daemon.addr).unwrap();
    stalled.write_all(b"\r\n\r\n").unwrap();
    assert!(
        closed_within(&mut stalled, Duration::from_secs(20)),
        "a connection that sent only empty lines stayed open past --header-read-timeout"
    );
    // Its slot (the only one) is free again.
    assert_eq!(daemon.get("/static").text(), "static");
}

#[test]
fn static_route_and_watchdog_keep_their_pace_while_every_core_runs_a_spinning_guest() {
    let app = app();
    let mut daemon = Activated::ready(
        &app,
        &[Sock::Tcp("http")],
        &[("WATCHDOG_USEC", "600000")],
        &["--request-timeout", "8s"],
    );
    let addr = daemon.tcp[0];
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let spinning: Vec<_> = (0..=cores)
        .map(|_| std::thread::spawn(move || get(addr, "/loop").status))
        .collect();
    // Every spinning guest has started (each prints `looping` first).
    let deadline = Instant::now() + Duration::from_secs(20);
    while daemon.stderr().matches("looping").count() <= cores {
        assert!(
            Instant::now() < deadline,
            "only {} of {} spinning guests started:\n{}",
            daemon.stderr().matches("looping").count(),
            cores + 1,
            daemon.stderr()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let started = Instant::now();
    assert_eq!(get(addr, "/static").text(), "static");
    let took = started.elapsed();
    eprintln!(
        "static route answered in {took:?} with {} spinning guests",
        cores + 1
    );
    let pings: Vec<Instant> = daemon
        .notify
        .collect_for(Duration::from_secs(2))
        .into_iter()
        .filter(|(_, m)| has(m, "WATCHDOG=1"))
        .map(|(at, _)| at)
        .collect();
    assert!(
        spinning.iter().all(|s| !s.is_finished()),
        "the spinning guests ended before the checks: the test proves nothing"
    );
    assert!(pings.len() >= 3, "{} watchdog pings in 2 s", pings.len());
    let worst = pings.windows(2).map(|w| w[1] - w[0]).max().unwrap();
    assert!(
        worst < Duration::from_millis(600),
        "a watchdog gap of {worst:?} exceeds WATCHDOG_USEC"
    );
    for guest in spinning {
        assert_eq!(guest.join().unwrap(), 504);
    }
}

#[test]
fn dropped_response_outparam_is_answered_500_at_once_and_the_guest_stops_at_the_deadline() {
    let daemon = Daemon::start(
        &app(),
        &["--request-timeout", "3s", "--max-concurrent-requests", "1"],
    );
    // The guest drops its outparam, then blocks for an hour.
    assert_eq!(daemon.get("/noresponse/block").status, 500);
    daemon.wait_for_log("GET /noresponse/block 500");
    // It held the only slot until its deadline, then was stopped: the next
    // request is served.
    daemon.wait_for_log("stopped at the request deadline");
    assert_eq!(daemon.get("/noresponse/").status, 500);
}

#[test]
fn client_that_goes_away_stops_its_guest_frees_its_slot_and_is_logged_499() {
    let daemon = Daemon::start(
        &app(),
        &[
            "--request-timeout",
            "120s",
            "--max-concurrent-requests",
            "1",
        ],
    );
    let mut gone = TcpStream::connect(daemon.addr).unwrap();
    gone.write_all(b"GET /slow?ms=60000 HTTP/1.1\r\nHost: h\r\n\r\n")
        .unwrap();
    daemon.wait_for_log("slow: sleeping 60000 ms");
    drop(gone);
    daemon.wait_for_log("GET /slow 499");
    // The guest was stopped with its client: the slot is free now, not in
    // a minute.
    let next = {
        let stream = TcpStream::connect(daemon.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut conn = crate::support::Connection::from_stream(stream);
        conn.send("GET /slow?ms=10 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
    };
    assert_eq!(next.text(), "slept 10 ms");
}

#[test]
fn abandoned_requests_are_counted_out_of_in_flight() {
    let app = app();
    let mut daemon = Activated::ready(&app, &[Sock::Tcp("http")], &[], &[]);
    let mut gone = TcpStream::connect(daemon.tcp[0]).unwrap();
    gone.write_all(b"GET /slow?ms=60000 HTTP/1.1\r\nHost: h\r\n\r\n")
        .unwrap();
    daemon.wait_for_log("slow: sleeping 60000 ms");
    drop(gone);
    daemon.wait_for_log("GET /slow 499");
    daemon.notify.wait_for(Duration::from_secs(20), |m| {
        has(m, "STATUS=") && m.contains("1 requests served, 0 in flight")
    });
}

#[test]
fn queue_places_of_requests_that_gave_up_are_given_back() {
    let daemon = Daemon::start(
        &app(),
        &[
            "--request-timeout",
            "60s",
            "--max-concurrent-requests",
            "1",
            "--max-pending-requests",
            "1",
            "--log-level",
            "info,wasi_httpd=debug",
        ],
    );
    let addr = daemon.addr;
    let holder = std::thread::spawn(move || get(addr, "/slow?ms=8000").text());
    daemon.wait_for_log("slow: sleeping 8000 ms");
    // Three clients, one after the other, queue behind it and give up.
    for gave_up in 1..=3 {
        let mut gone = TcpStream::connect(addr).unwrap();
        gone.write_all(b"GET /hello HTTP/1.1\r\nHost: h\r\n\r\n")
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while daemon.stderr().matches("queued for one").count() < gave_up {
            assert!(Instant::now() < deadline, "{}", daemon.stderr());
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(gone);
        while daemon.stderr().matches("GET /hello 499").count() < gave_up {
            assert!(Instant::now() < deadline, "{}", daemon.stderr());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    // Their places are free: the next request queues instead of getting 503.
    assert!(!holder.is_finished(), "the slot holder ended too early");
    let queued = get(addr, "/hello");
    assert_eq!(queued.status, 200, "{}", queued.text());
    assert_eq!(holder.join().unwrap(), "slept 8000 ms");
}

#[test]
fn chained_request_runs_on_its_parents_slot() {
    let daemon = Daemon::start(
        &app(),
        &["--max-concurrent-requests", "1", "--request-timeout", "30s"],
    );
    let response = daemon.get("/fetch/http/hello.spin.internal/");
    assert_eq!(response.status, 200, "{}", daemon.stderr());
    assert_eq!(response.text(), "200 hello from wasi-httpd\n");
}

#[test]
fn many_concurrent_chained_requests_all_complete() {
    let daemon = Daemon::start(
        &app(),
        &["--max-concurrent-requests", "4", "--request-timeout", "60s"],
    );
    let addr = daemon.addr;
    let clients: Vec<_> = (0..32)
        .map(|_| std::thread::spawn(move || get(addr, "/fetch/http/hello.spin.internal/")))
        .collect();
    for client in clients {
        let response = client.join().unwrap();
        assert_eq!(response.status, 200, "{}", response.text());
    }
}

#[test]
fn big_request_head_gets_431_not_a_reset() {
    let daemon = Daemon::start(&app(), &[]);
    let mut stream = TcpStream::connect(daemon.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    // As curl does: the whole request first, then the answer; a small
    // send buffer, so that the head is still being sent when the 431 goes.
    nix::sys::socket::setsockopt(&stream, nix::sys::socket::sockopt::SndBuf, &16384).unwrap();
    let big = "b".repeat(1 << 20);
    let sent = stream
        .write_all(format!("GET /hello HTTP/1.1\r\nHost: h\r\nX-Big: {big}\r\n\r\n").as_bytes());
    let mut got = Vec::new();
    let read = stream.read_to_end(&mut got);
    let text = String::from_utf8_lossy(&got);
    assert!(
        sent.is_ok() && read.is_ok(),
        "{sent:?} {read:?} after {text:?}"
    );
    assert!(text.starts_with("HTTP/1.1 431"), "{text:?}");
    assert_eq!(daemon.get("/static").text(), "static");
}

#[test]
fn guest_output_flood_is_rate_limited_per_component_and_counted() {
    let daemon = Daemon::start(&app(), &["--guest-log-limit", "10"]);
    assert_eq!(daemon.get("/flood/1000").text(), "ok");
    daemon.wait_for_log("GET /flood/1000 200");
    let log = daemon.wait_for_log("lines dropped");
    let logged = log.matches("flood line").count();
    assert!(
        (1..=20).contains(&logged),
        "{logged} lines logged under a limit of 10 a second"
    );
    // Every line is either logged or counted as dropped.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = daemon.stderr();
        let dropped: usize = log
            .lines()
            .filter_map(|l| {
                l.split_once(" lines dropped")?
                    .0
                    .rsplit(' ')
                    .next()?
                    .parse::<usize>()
                    .ok()
            })
            .sum();
        if dropped + logged == 1000 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{logged} logged, {dropped} dropped:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Other components' output is not affected.
    assert_eq!(daemon.get("/slow?ms=1").text(), "slept 1 ms");
    daemon.wait_for_log("slow: sleeping 1 ms");
}

/// Sends `GET path` and gives up reading after `within` (None: no answer).
fn get_within(addr: std::net::SocketAddr, path: &str, within: Duration) -> Option<String> {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(within)).unwrap();
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .unwrap();
    let mut got = Vec::new();
    stream.read_to_end(&mut got).ok()?;
    Some(String::from_utf8_lossy(&got).into_owned())
}

fn p3_app(files: bool) -> TestApp {
    let mut keys = String::from(r#"allowed_outbound_hosts = ["http://p3hello.spin.internal"]"#);
    if files {
        keys.push_str("\nfiles = [\"static/**/*\"]");
    }
    let app = Manifest::new("p3chain")
        .route("/...", "p3hello")
        .component("p3hello", "p3hello", &keys)
        .app();
    app.write("static/a.txt", "a");
    app
}

#[test]
fn reused_p3_instance_takes_depth_and_deadline_from_each_request() {
    let daemon = Daemon::start(&p3_app(false), &["--request-timeout", "20s"]);
    let answer = get_within(daemon.addr, "/chain", Duration::from_secs(40))
        .expect("a self-chaining wasi:http 0.3 component was never stopped");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    assert!(body.contains("LoopDetected"), "{body}");
    assert_eq!(body.matches("200 ").count(), 10, "{body}");
}

/// Resident memory of `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

#[test]
fn reloads_free_the_previous_generation_and_its_staged_files() {
    let runtime = tempfile::tempdir().unwrap();
    let app = p3_app(true);
    let daemon = Daemon::start_with_env(
        &app,
        &[],
        &[("RUNTIME_DIRECTORY", runtime.path().to_str().unwrap())],
    );
    let staged = || {
        std::fs::read_dir(runtime.path().join("files"))
            .unwrap()
            .count()
    };
    let serve_once = || {
        let response = daemon.get("/x");
        assert_eq!(response.text(), "hello from p3 /x");
    };
    serve_once();
    let before = rss_kib(daemon.pid());
    for reload in 1..=20 {
        daemon.signal(nix::sys::signal::Signal::SIGHUP);
        let needle = "reloaded: new requests go to the new app";
        let deadline = Instant::now() + Duration::from_secs(60);
        while daemon.stderr().matches(needle).count() < reload {
            assert!(Instant::now() < deadline, "{}", daemon.stderr());
            std::thread::sleep(Duration::from_millis(20));
        }
        serve_once();
    }
    // Old generations go once their requests and idle instances are done.
    let deadline = Instant::now() + Duration::from_secs(20);
    while staged() > 1 {
        assert!(
            Instant::now() < deadline,
            "{} staged `files` directories after 20 reloads",
            staged()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let after = rss_kib(daemon.pid());
    eprintln!("RSS {before} KiB before 20 reloads, {after} KiB after");
    assert!(
        after < before + 16 * 1024,
        "RSS grew from {before} KiB to {after} KiB over 20 reloads"
    );
}

#[test]
fn an_ambiguous_request_pipelined_after_empty_lines_is_still_refused() {
    let daemon = Daemon::start(&app(), &[]);
    let mut conn = crate::support::Connection::open(daemon.addr);
    let first = conn.send(
        "GET /hello HTTP/1.1\r\nHost: h\r\n\r\n\r\n\r\nPOST /hello HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    );
    assert_eq!(first.status, 200);
    assert_eq!(conn.read().status, 400);
}
