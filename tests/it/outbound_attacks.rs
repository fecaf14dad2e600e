//! The outbound policy under attack: URLs written to slip past
//! `allowed_outbound_hosts` (userinfo, other spellings of an address or a
//! name, other ports) and upstreams that try to send the guest elsewhere
//! (redirects). Each is checked on the real binary, with the `outbound`
//! guest asking for the URL.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::hostile::{PROHIBITED, outbound_app};
use crate::support::{Daemon, upstream};

const DENIED: &str = "error: ErrorCode::HttpRequestDenied";

fn fetch(daemon: &Daemon, authority: &str, path: &str) -> String {
    daemon
        .get(&format!("/fetch/http/{authority}/{path}"))
        .text()
}

#[test]
fn userinfo_does_not_change_the_host_checked() {
    let port = upstream();
    let daemon = Daemon::start(
        &outbound_app(&format!(
            "\"http://allowed.test:{port}\", \"http://127.0.0.1:{port}\""
        )),
        &[],
    );
    // The host is what follows '@': an allowed name before it is only userinfo.
    assert_eq!(
        fetch(
            &daemon,
            &format!("allowed.test@169.254.169.254:{port}"),
            "x"
        ),
        DENIED
    );
    assert_eq!(
        fetch(&daemon, &format!("127.0.0.1:{port}@169.254.169.254"), "x"),
        DENIED
    );
    // Userinfo in front of an allowed host reaches it, and only it.
    assert_eq!(
        fetch(&daemon, &format!("user:pw@127.0.0.1:{port}"), "ok"),
        "200 upstream /ok"
    );
}

#[test]
fn other_spellings_of_loopback_are_prohibited_under_a_wildcard() {
    let port = upstream();
    let daemon = Daemon::start(&outbound_app("\"*://*:*\""), &[]);
    for authority in [
        format!("0x7f.0.0.1:{port}"),
        format!("127.1:{port}"),
        format!("127.000.000.001:{port}"),
        format!("LOCALHOST:{port}"),
        format!("[0:0:0:0:0:0:0:1]:{port}"),
        format!("[::ffff:7f00:1]:{port}"),
    ] {
        assert_eq!(fetch(&daemon, &authority, "x"), PROHIBITED, "{authority}");
    }
}

#[test]
fn names_match_case_blind_and_a_trailing_dot_is_another_name() {
    let port = upstream();
    let daemon = Daemon::start(&outbound_app(&format!("\"http://localhost:{port}\"")), &[]);
    assert_eq!(
        fetch(&daemon, &format!("LocalHost:{port}"), "ok"),
        "200 upstream /ok"
    );
    // As in Spin, which compares the host as the URL parser gives it:
    // `localhost.` is not the name the entry allows.
    assert_eq!(fetch(&daemon, &format!("localhost.:{port}"), "x"), DENIED);
}

#[test]
fn only_the_ports_an_entry_names_are_reached() {
    let port = upstream();
    let other = upstream();
    let daemon = Daemon::start(
        &outbound_app(&format!(
            "\"http://127.0.0.1:{port}\", \"http://localhost\""
        )),
        &[],
    );
    assert_eq!(
        fetch(&daemon, &format!("127.0.0.1:{port}"), "ok"),
        "200 upstream /ok"
    );
    assert_eq!(fetch(&daemon, &format!("127.0.0.1:{other}"), "x"), DENIED);
    // No port in the entry: the scheme's default (80) only.
    assert_eq!(fetch(&daemon, &format!("localhost:{other}"), "x"), DENIED);
    // A port written with leading zeros is the same port.
    assert_eq!(
        fetch(&daemon, &format!("127.0.0.1:0{port}"), "ok"),
        "200 upstream /ok"
    );
}

/// An upstream that answers every request with a redirect to `location`.
fn redirecting(location: String) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = write!(
                stream,
                "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 5\r\nConnection: close\r\n\r\nmoved"
            );
        }
    });
    port
}

/// A listener that counts the connections made to it.
fn counting() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (port, hits)
}

#[test]
fn redirects_go_back_to_the_guest_and_are_never_followed() {
    let (target, hits) = counting();
    let port = redirecting(format!("http://127.0.0.1:{target}/secret"));
    let daemon = Daemon::start(&outbound_app(&format!("\"http://127.0.0.1:{port}\"")), &[]);
    assert_eq!(
        fetch(&daemon, &format!("127.0.0.1:{port}"), "go"),
        "302 moved"
    );
    let metadata = redirecting("http://169.254.169.254/latest/meta-data/".to_owned());
    let daemon2 = Daemon::start(
        &outbound_app(&format!("\"http://127.0.0.1:{metadata}\"")),
        &[],
    );
    assert_eq!(
        fetch(&daemon2, &format!("127.0.0.1:{metadata}"), "go"),
        "302 moved"
    );
    // The host made no request of its own to the redirect's target; the
    // guest's own request there is checked like any other.
    assert_eq!(hits.load(Ordering::SeqCst), 0);
    assert_eq!(
        fetch(&daemon, &format!("127.0.0.1:{target}"), "secret"),
        DENIED
    );
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}
