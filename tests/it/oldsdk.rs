//! Old Spin SDK components (`fermyon:spin/inbound-http`): the body read
//! whole, the path and query as uri, Spin's headers, 405 for methods the
//! interface lacks, and outbound requests through the old
//! `fermyon:spin/http` under `allowed_outbound_hosts`.

use std::io::{Read, Write};
use std::net::TcpListener;

use crate::manifest::Manifest;
use crate::support::{Daemon, TestApp, vars};

fn app(allowed: &str) -> TestApp {
    Manifest::new("old")
        .route("/old/...", "old")
        .component(
            "old",
            "oldsdk",
            &format!("allowed_outbound_hosts = [{allowed}]"),
        )
        .app()
}

#[test]
fn old_sdk_component_gets_method_uri_headers_and_body() {
    let daemon = Daemon::start(&app(""), &[]);
    let response = daemon.raw("PUT /old/a/b?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("content-type"), Some("text/plain"));
    let v = vars(&response.text());
    assert_eq!(v["method"], "Method::Put");
    assert_eq!(v["uri"], "/old/a/b?x=1");
    assert_eq!(v["path-info"], "/a/b");
    assert_eq!(v["body"], "5");
}

#[test]
fn methods_the_old_interface_lacks_are_405() {
    let daemon = Daemon::start(&app(""), &[]);
    let response = daemon.raw("TRACE /old/x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    assert_eq!(response.status, 405);
}

#[test]
fn old_outbound_http_follows_allowed_outbound_hosts() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 2048];
            let _ = stream.read(&mut buf);
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nup");
        }
    });
    let allowed = Daemon::start(&app(&format!("\"http://127.0.0.1:{port}\"")), &[]);
    let url = format!("http://127.0.0.1:{port}/x");
    assert_eq!(
        allowed.get(&format!("/old/fetch?url={url}")).text(),
        "200 up"
    );
    drop(allowed);
    let denied = Daemon::start(&app(""), &[]);
    let text = denied.get(&format!("/old/fetch?url={url}")).text();
    assert!(
        text.starts_with("error: ") && text.contains("destination-not-allowed"),
        "{text}"
    );
}
