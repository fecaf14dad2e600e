//! The production edge on plain HTTP: request deadlines (504), the memory
//! limit (500), body and head sizes (413, 431), slowloris and idle
//! connections (HTTP/1.1 between requests, HTTP/2 answering PINGs), the
//! bounded request queue (503) and connection slots.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::manifest::Manifest;
use crate::scrape::{admin_addr, expect};
use crate::support::{Connection, Daemon, TestApp, get, send};

fn app() -> TestApp {
    Manifest::new("edge")
        .route("/...", "trap")
        .route("/slow", "slow")
        .route("/echo", "echo")
        .component("trap", "trap", "")
        .component("slow", "slow", "")
        .component("echo", "echo", "")
        .app()
}

#[test]
fn guest_spinning_in_wasm_gets_504_at_the_deadline_while_others_keep_answering() {
    let daemon = Daemon::start(
        &app(),
        &["--request-timeout", "1s", "--admin-listen", "127.0.0.1:0"],
    );
    let admin = admin_addr(&daemon);
    let addr = daemon.addr;
    let started = Instant::now();
    let spinning = std::thread::spawn(move || get(addr, "/loop"));
    expect(admin, "wasi_httpd_requests_in_flight", &[], 1.0);
    assert_eq!(
        daemon.get("/ok").text(),
        "ok",
        "another route stalled behind the loop"
    );
    let response = spinning.join().unwrap();
    assert_eq!(response.status, 504);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        !response.text().contains('/'),
        "error body leaks internals: {}",
        response.text()
    );
    assert_eq!(daemon.get("/ok").status, 200);
}

#[test]
fn guest_blocked_in_a_host_sleep_gets_504() {
    let daemon = Daemon::start(&app(), &["--request-timeout", "500ms"]);
    let response = daemon.get("/slow?ms=30000");
    assert_eq!(response.status, 504);
    assert_eq!(daemon.get("/slow?ms=10").text(), "slept 10 ms");
}

#[test]
fn guest_growing_past_the_memory_limit_gets_500_and_others_are_unaffected() {
    let daemon = Daemon::start(&app(), &["--max-instance-memory", "32MiB"]);
    let grown = daemon.get("/grow/64");
    assert_eq!(grown.status, 500);
    assert!(grown.body.is_empty());
    assert_eq!(daemon.get("/grow/4").text(), "ok");
    assert_eq!(daemon.get("/ok").text(), "ok");
}

#[test]
fn body_over_the_limit_by_content_length_is_413() {
    let daemon = Daemon::start(&app(), &["--max-body-size", "1KiB"]);
    let body = "x".repeat(2048);
    let response = daemon.raw(&format!(
        "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 2048\r\nConnection: close\r\n\r\n{body}"
    ));
    assert_eq!(response.status, 413);
    let within = daemon.raw(
        "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nConnection: close\r\n\r\nsmall",
    );
    assert_eq!(within.json()["body"], "small");
}

#[test]
fn chunked_body_over_the_limit_is_413_while_streaming() {
    let daemon = Daemon::start(&app(), &["--max-body-size", "1KiB"]);
    let chunk = "y".repeat(600);
    let request = format!(
        "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n258\r\n{chunk}\r\n258\r\n{chunk}\r\n0\r\n\r\n"
    );
    assert_eq!(daemon.raw(&request).status, 413);
}

#[test]
fn request_head_over_the_limit_is_431() {
    let daemon = Daemon::start(&app(), &["--max-header-size", "8KiB"]);
    let big = "z".repeat(10_000);
    let response = daemon.raw(&format!(
        "GET /ok HTTP/1.1\r\nHost: h\r\nX-Big: {big}\r\nConnection: close\r\n\r\n"
    ));
    assert_eq!(response.status, 431);
    assert_eq!(daemon.get("/ok").status, 200);
}

#[test]
fn a_header_limit_below_what_http1_can_enforce_is_refused() {
    // hyper's HTTP/1.1 read buffer cannot be smaller than 8 KiB, so a
    // smaller limit would silently act as 8 KiB.
    let out = crate::support::run(&["serve", "--max-header-size", "1KiB", "."]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--max-header-size") && err.contains("at least 8KiB"),
        "{err}"
    );
}

/// Reads until EOF or error; returns what came and whether the peer closed.
fn read_until_closed(stream: &mut TcpStream, within: Duration) -> (Vec<u8>, bool) {
    stream.set_read_timeout(Some(within)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return (got, true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return (got, true),
            Err(_) => return (got, false),
        }
    }
}

#[test]
fn slowloris_client_is_cut_off_after_the_header_read_timeout() {
    let daemon = Daemon::start(&app(), &["--header-read-timeout", "500ms"]);
    let mut slow = TcpStream::connect(daemon.addr).unwrap();
    slow.write_all(b"GET /ok HTTP/1.1\r\nHost: h\r\nX-Drip: ")
        .unwrap();
    let (got, closed) = read_until_closed(&mut slow, Duration::from_secs(10));
    let text = String::from_utf8_lossy(&got);
    assert!(closed, "the connection stayed open");
    // A head that never completes gets no answer: the connection is closed.
    assert!(got.is_empty(), "the server answered: {text}");
    assert_eq!(daemon.get("/ok").status, 200);
}

#[test]
fn idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let daemon = Daemon::start(&app(), &["--idle-timeout", "500ms"]);
    let mut conn = Connection::open(daemon.addr);
    assert_eq!(conn.send("GET /ok HTTP/1.1\r\nHost: h\r\n\r\n").status, 200);
    let mut stream = TcpStream::connect(daemon.addr).unwrap();
    stream
        .write_all(b"GET /ok HTTP/1.1\r\nHost: h\r\n\r\n")
        .unwrap();
    let (got, closed) = read_until_closed(&mut stream, Duration::from_secs(10));
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"));
    assert!(closed, "the idle connection stayed open");
}

#[test]
fn a_keep_alive_connection_waits_for_its_next_request_under_the_idle_timeout_only() {
    let daemon = Daemon::start(
        &app(),
        &["--header-read-timeout", "300ms", "--idle-timeout", "5s"],
    );
    let mut conn = Connection::open(daemon.addr);
    assert_eq!(conn.send("GET /ok HTTP/1.1\r\nHost: h\r\n\r\n").status, 200);
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(conn.send("GET /ok HTTP/1.1\r\nHost: h\r\n\r\n").status, 200);
}

#[test]
fn a_silent_connection_and_a_slow_later_head_are_cut_off_after_the_header_read_timeout() {
    let daemon = Daemon::start(
        &app(),
        &["--header-read-timeout", "500ms", "--idle-timeout", "30s"],
    );
    // Nothing sent at all: the first head is timed from accept.
    let mut silent = TcpStream::connect(daemon.addr).unwrap();
    let started = Instant::now();
    let (_, closed) = read_until_closed(&mut silent, Duration::from_secs(10));
    assert!(closed && started.elapsed() < Duration::from_secs(5));
    // A later head is timed from its first byte.
    let mut conn = Connection::open(daemon.addr);
    assert_eq!(conn.send("GET /ok HTTP/1.1\r\nHost: h\r\n\r\n").status, 200);
    std::thread::sleep(Duration::from_millis(700));
    conn.stream()
        .write_all(b"GET /ok HTTP/1.1\r\nX-Drip: ")
        .unwrap();
    let started = Instant::now();
    let (got, closed) = read_until_closed(conn.stream(), Duration::from_secs(10));
    assert!(closed, "the slow head was not cut off");
    assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn bare_lf_heads_end_the_head_timer_like_crlf_ones() {
    let daemon = Daemon::start(&app(), &["--header-read-timeout", "300ms"]);
    let mut conn = Connection::open(daemon.addr);
    // httparse (so hyper) accepts bare LF line endings; the head timer
    // must see the head end too, or it would cut this 800 ms request.
    let slow = conn.send("GET /slow?ms=800 HTTP/1.1\nHost: h\n\n");
    assert_eq!(slow.status, 200);
    assert_eq!(slow.text(), "slept 800 ms");
    assert_eq!(conn.send("GET /ok HTTP/1.1\nHost: h\n\n").status, 200);
}

#[test]
fn a_client_that_stops_reading_its_response_is_disconnected_after_the_idle_timeout() {
    let daemon = Daemon::start(&app(), &["--idle-timeout", "1s"]);
    let body = "a".repeat(16 << 20);
    let mut stream = TcpStream::connect(daemon.addr).unwrap();
    let head = format!(
        "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    // The echo (over 16 MiB) fills the socket buffers; nobody reads it.
    std::thread::sleep(Duration::from_secs(4));
    let (got, closed) = read_until_closed(&mut stream, Duration::from_secs(5));
    assert!(closed, "the stalled connection stayed open");
    assert!(got.len() < body.len(), "the whole response arrived");
}

#[test]
fn an_http2_connection_whose_client_answers_pings_is_closed_when_idle() {
    let daemon = Daemon::start(&app(), &["--idle-timeout", "1s"]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (status, lasted) = runtime.block_on(async {
        let tcp = tokio::net::TcpStream::connect(daemon.addr).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http2::handshake(
            hyper_util::rt::TokioExecutor::new(),
            hyper_util::rt::TokioIo::new(tcp),
        )
        .await
        .unwrap();
        let mut conn = tokio::spawn(conn);
        let request = hyper::Request::get("http://localhost/ok")
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .unwrap();
        let status = sender.send_request(request).await.unwrap().status();
        let idle_since = Instant::now();
        // The server PINGs every half idle timeout and the client answers;
        // the connection must still end (GOAWAY) once no request comes.
        let ended = tokio::time::timeout(Duration::from_secs(10), &mut conn).await;
        assert!(ended.is_ok(), "the idle HTTP/2 connection stayed open");
        (status, idle_since.elapsed())
    });
    assert_eq!(status, 200);
    assert!(
        lasted >= Duration::from_millis(900),
        "closed after {lasted:?}"
    );
}

#[test]
fn full_queue_is_answered_503_while_admitted_requests_succeed() {
    let daemon = Daemon::start(
        &app(),
        &[
            "--max-concurrent-requests",
            "1",
            "--max-pending-requests",
            "1",
            "--admin-listen",
            "127.0.0.1:0",
        ],
    );
    let admin = admin_addr(&daemon);
    let addr = daemon.addr;
    let running = std::thread::spawn(move || get(addr, "/slow?ms=1500"));
    expect(admin, "wasi_httpd_requests_in_flight", &[], 1.0);
    let queued = std::thread::spawn(move || get(addr, "/slow?ms=10"));
    expect(admin, "wasi_httpd_requests_queued", &[], 1.0);
    let refused = daemon.get("/ok");
    assert_eq!(refused.status, 503);
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert_eq!(running.join().unwrap().text(), "slept 1500 ms");
    assert_eq!(queued.join().unwrap().text(), "slept 10 ms");
    assert_eq!(daemon.get("/ok").status, 200);
}

#[test]
fn connection_limit_makes_clients_wait_instead_of_failing() {
    let daemon = Daemon::start(&app(), &["--max-connections", "1"]);
    let mut first = Connection::open(daemon.addr);
    assert_eq!(
        first.send("GET /ok HTTP/1.1\r\nHost: h\r\n\r\n").status,
        200
    );
    let addr = daemon.addr;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(get(addr, "/ok")).unwrap());
    assert!(
        rx.recv_timeout(Duration::from_millis(500)).is_err(),
        "a second connection was served while the only slot was taken"
    );
    drop(first);
    let second = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the waiting client was never served");
    assert_eq!(second.status, 200);
}

#[test]
fn request_with_both_content_length_and_transfer_encoding_does_not_reach_a_second_request() {
    let daemon = Daemon::start(&app(), &[]);
    // A smuggling attempt: the chunked body "ends" early and hides a second
    // request that a Content-Length reader would not see.
    let request = "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n";
    let mut stream = TcpStream::connect(daemon.addr).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let (got, closed) = read_until_closed(&mut stream, Duration::from_secs(10));
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert_eq!(
        text.matches("HTTP/1.1").count(),
        1,
        "a second response came: {text}"
    );
    assert!(
        closed,
        "the connection stayed open after a smuggling attempt"
    );
    assert!(!daemon.stderr().contains("/smuggled"));
    let _ = send;
}
