//! wasi:sockets from a guest (`std::net` in a spin-sdk 5 component):
//! TCP and UDP reach only what `allowed_outbound_hosts` names, IP ranges
//! included, as in Spin; and a guest that creates sockets without end
//! gets `new-socket-limit` while the daemon keeps serving.

use std::io::{Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::time::Duration;

use crate::manifest::Manifest;
use crate::support::{Daemon, TestApp};

fn app(allowed: &str) -> TestApp {
    crate::platform::manifest(&format!("allowed_outbound_hosts = [{allowed}]")).app()
}

fn start(app: &TestApp) -> Daemon {
    Daemon::start(app, &["--variable", "name=n", "--variable", "token=t"])
}

/// A TCP peer on loopback answering `echo: <what it read>`; its port.
fn echo_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut text = String::new();
            let _ = stream.read_to_string(&mut text);
            let _ = write!(stream, "echo: {text}");
        }
    });
    port
}

#[test]
fn tcp_reaches_only_allowed_addresses_and_ranges() {
    let port = echo_server();
    let other = echo_server();
    let daemon = start(&app(&format!(
        "\"tcp://127.0.0.1:{port}\", \"tcp://127.0.0.0/24:{other}\""
    )));
    assert_eq!(
        daemon
            .send("POST", &format!("/tcp/127.0.0.1:{port}"), "hi")
            .text(),
        "echo: hi"
    );
    // By a range: 127.0.0.0/24 holds 127.0.0.1.
    assert_eq!(
        daemon
            .send("POST", &format!("/tcp/127.0.0.1:{other}"), "ho")
            .text(),
        "echo: ho"
    );
    // Another port, and an address outside the range: denied at connect.
    let closed = crate::servers::free_port();
    for address in [format!("127.0.0.1:{closed}"), format!("127.0.1.1:{other}")] {
        daemon
            .send("POST", &format!("/tcp/{address}"), "x")
            .assert_guest_error("connect: Permission denied");
    }
    // A name resolves (the component has socket entries), and the address
    // it resolves to is what the entries are checked against.
    assert_eq!(
        daemon
            .send("POST", &format!("/tcp/localhost:{port}"), "by name")
            .text(),
        "echo: by name"
    );
}

#[test]
fn without_socket_entries_nothing_is_reached() {
    let port = echo_server();
    let daemon = start(&app(&format!("\"http://127.0.0.1:{port}\"")));
    daemon
        .send("POST", &format!("/tcp/127.0.0.1:{port}"), "x")
        .assert_guest_error("connect: Permission denied");
    // No name lookups either.
    daemon
        .send("POST", &format!("/tcp/localhost:{port}"), "x")
        .assert_guest_error("connect: failed to lookup address information");
}

#[test]
fn a_wildcard_entry_does_not_reach_loopback_or_link_local() {
    let port = echo_server();
    let daemon = start(&app(&format!("\"tcp://*:{port}\", \"tcp://*:80\"")));
    // As for outbound HTTP: loopback only when an entry names it, and
    // link-local (the metadata service) never.
    for address in [format!("127.0.0.1:{port}"), "169.254.169.254:80".to_owned()] {
        daemon
            .send("POST", &format!("/tcp/{address}"), "x")
            .assert_guest_error("connect: Permission denied");
    }
}

#[test]
fn udp_datagrams_go_only_where_allowed() {
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let port = peer.local_addr().unwrap().port();
    let daemon = start(&app(&format!("\"udp://127.0.0.1:{port}\"")));
    assert_eq!(
        daemon
            .send("POST", &format!("/udp/127.0.0.1:{port}"), "ping")
            .text(),
        "sent"
    );
    let mut buf = [0u8; 64];
    let (n, _) = peer.recv_from(&mut buf).expect("the datagram arrives");
    assert_eq!(&buf[..n], b"ping");
    let other = crate::servers::free_port();
    daemon
        .send("POST", &format!("/udp/127.0.0.1:{other}"), "x")
        .assert_guest_error("send: Permission denied");
}

#[test]
fn a_guest_that_hoards_sockets_is_stopped_at_the_bound_and_the_daemon_serves_on() {
    let port = echo_server();
    let daemon = start(&app(&format!("\"tcp://127.0.0.1:{port}\"")));
    let hoarded = daemon.get("/hoard/100000").text();
    assert!(
        hoarded.starts_with("created 64, then ErrorCode { code: 10, name: \"new-socket-limit\""),
        "{hoarded}"
    );
    daemon.wait_for_log("socket not created: the instance holds the most sockets it may");
    // The next request's instance starts with none.
    assert_eq!(daemon.get("/hoard/10").text(), "created 10");
    assert_eq!(
        daemon
            .send("POST", &format!("/tcp/127.0.0.1:{port}"), "still")
            .text(),
        "echo: still"
    );
}

/// The wasi:http 0.3 guest on every route, allowed to reach `allowed`
/// (a TOML array).
fn p3_app(allowed: &str) -> TestApp {
    Manifest::new("p3")
        .route("/...", "p3")
        .component(
            "p3",
            "p3hello",
            &format!("allowed_outbound_hosts = {allowed}"),
        )
        .app()
}

#[test]
fn a_wasi_0_3_guest_is_held_to_the_same_socket_bound() {
    let app = p3_app(r#"["tcp://127.0.0.1:1"]"#);
    let daemon = Daemon::start(&app, &[]);
    let hoarded = daemon.get("/hoard/100000").text();
    assert_eq!(
        hoarded,
        "created 64, then ErrorCode::Other(Some(\"new-socket-limit\"))"
    );
    // The sockets went with the request, in the instance that stays.
    assert_eq!(daemon.get("/hoard/64").text(), "created 64");
    // Names resolve through the same bounded lookups as for 0.2.
    assert_eq!(
        daemon.get("/resolve/127.0.0.1").text(),
        "[IpAddress::Ipv4((127, 0, 0, 1))]"
    );
    assert!(
        daemon
            .get("/resolve/localhost")
            .text()
            .contains("IpAddress::Ipv4((127, 0, 0, 1))")
    );
    assert_eq!(
        daemon.get("/resolve/a%20b").text(),
        "error: ErrorCode::InvalidArgument"
    );
}

#[test]
fn streams_a_guest_keeps_after_dropping_its_sockets_stop_at_the_fd_reserve() {
    // A listener that accepts and keeps every connection.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        for stream in listener.incoming().flatten() {
            kept.push(stream);
        }
    });
    let app = p3_app(&format!(r#"["tcp://127.0.0.1:{port}"]"#));
    let args: Vec<String> = [
        "serve",
        &app.path().display().to_string(),
        "--listen",
        "127.0.0.1:0",
    ]
    .map(String::from)
    .to_vec();
    // 512 descriptors: guests' sockets may take the process to 256.
    let daemon = Daemon::spawn_limited(&args, &[], Some(512));
    let held = daemon.get(&format!("/streams/{port}/1000")).text();
    let (count, error) = held
        .strip_prefix("held ")
        .and_then(|rest| rest.split_once(", then "))
        .unwrap_or_else(|| panic!("{held}"));
    let count: usize = count.parse().unwrap();
    // Past the instance's 64 (its sockets were dropped), short of 256.
    assert!((65..256).contains(&count), "{held}");
    assert_eq!(error, "ErrorCode::Other(Some(\"new-socket-limit\"))");
    daemon.wait_for_log("socket not created: the process is near its file descriptor limit");
    // The daemon serves on, and the streams went with that request.
    assert_eq!(daemon.get("/hello").text(), "hello from p3 /hello");
    assert_eq!(
        daemon.get(&format!("/streams/{port}/100")).text(),
        "held 100"
    );
}

/// The threads of process `pid`.
fn threads(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap()
}

#[test]
fn name_lookups_a_guest_starts_and_drops_are_bounded() {
    let port = echo_server();
    let daemon = start(&app(&format!("\"tcp://127.0.0.1:{port}\"")));
    // Each lookup takes a blocking thread until the resolver answers,
    // dropped or not: past 4 running for the instance, a lookup is refused
    // at once, and the process never runs more than 32.
    let answer = daemon.get("/lookups/localhost/100000").text();
    let refused: usize = answer
        .rsplit_once("refused ")
        .and_then(|(_, n)| n.parse().ok())
        .unwrap_or_else(|| panic!("{answer}"));
    assert!(refused > 0, "{answer}");
    daemon.wait_for_log("name lookup refused: 4 running for the instance");
    let threads = threads(daemon.pid());
    assert!(threads < 100, "{threads} threads after the lookups");
    // Lookups work again for the next request, and connect by name.
    assert_eq!(
        daemon.get("/lookups/localhost/1").text(),
        "started 1 refused 0"
    );
    assert_eq!(
        daemon
            .send("POST", &format!("/tcp/localhost:{port}"), "by name")
            .text(),
        "echo: by name"
    );
}
