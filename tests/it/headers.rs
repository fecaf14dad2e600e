//! What the guest sees of a request: Spin's `spin-*` headers with exactly
//! Spin's values, hop-by-hop and spoofed headers removed, the absolute URL,
//! and the Host/authority rules (400 on a mismatch or a missing Host).

use serde_json::Value;

use crate::manifest::Manifest;
use crate::support::{Daemon, TestApp};

/// The `echo` guest on a prefix, a route with parameters and an exact
/// route.
fn echo_app() -> TestApp {
    Manifest::new("echo")
        .route("/api/...", "echo")
        .route("/users/:user_id/posts/:post", "echo")
        .route("/exact", "echo")
        .component("echo", "echo", "")
        .app()
}

fn header<'a>(echo: &'a Value, name: &str) -> Option<&'a str> {
    echo["headers"]
        .as_array()
        .expect("headers array")
        .iter()
        .find(|pair| pair[0].as_str() == Some(name))
        .and_then(|pair| pair[1].as_str())
}

fn header_count(echo: &Value, name: &str) -> usize {
    echo["headers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|pair| pair[0].as_str() == Some(name))
        .count()
}

#[test]
fn wildcard_route_headers_have_spins_exact_values() {
    let app = echo_app();
    let daemon = Daemon::start(&app, &[]);
    let response = daemon.raw(
        "GET /api/items/7?x=1 HTTP/1.1\r\nHost: example.test:8080\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(response.status, 200);
    let echo = response.json();
    assert_eq!(
        header(&echo, "spin-full-url"),
        Some("http://example.test:8080/api/items/7?x=1")
    );
    assert_eq!(header(&echo, "spin-path-info"), Some("/items/7"));
    assert_eq!(header(&echo, "spin-matched-route"), Some("/api/..."));
    assert_eq!(header(&echo, "spin-component-route"), Some("/api"));
    assert_eq!(header(&echo, "spin-raw-component-route"), Some("/api/..."));
    assert_eq!(header(&echo, "spin-base-path"), Some("/"));
    let client = header(&echo, "spin-client-addr").expect("spin-client-addr");
    assert!(client.starts_with("127.0.0.1:"), "{client}");
    assert_eq!(echo["scheme"], "http");
    assert_eq!(echo["authority"], "example.test:8080");
    assert_eq!(echo["path_with_query"], "/api/items/7?x=1");
}

#[test]
fn path_info_keeps_trailing_slash_and_is_empty_at_the_prefix() {
    let app = echo_app();
    let daemon = Daemon::start(&app, &[]);
    let slash = daemon.get("/api/").json();
    assert_eq!(header(&slash, "spin-path-info"), Some("/"));
    let bare = daemon.get("/api").json();
    assert_eq!(header(&bare, "spin-path-info"), Some(""));
    let trailing = daemon.get("/api/a/").json();
    assert_eq!(header(&trailing, "spin-path-info"), Some("/a/"));
}

#[test]
fn exact_route_has_empty_path_info() {
    let app = echo_app();
    let daemon = Daemon::start(&app, &[]);
    let echo = daemon.get("/exact").json();
    assert_eq!(header(&echo, "spin-path-info"), Some(""));
    assert_eq!(header(&echo, "spin-matched-route"), Some("/exact"));
    assert_eq!(header(&echo, "spin-component-route"), Some("/exact"));
}

#[test]
fn param_segments_become_path_match_headers() {
    let app = echo_app();
    let daemon = Daemon::start(&app, &[]);
    let echo = daemon.get("/users/ada/posts/12").json();
    assert_eq!(header(&echo, "spin-path-match-user-id"), Some("ada"));
    assert_eq!(header(&echo, "spin-path-match-post"), Some("12"));
    assert_eq!(
        header(&echo, "spin-matched-route"),
        Some("/users/:user_id/posts/:post")
    );
    assert_eq!(header(&echo, "spin-path-info"), Some(""));
}

#[test]
fn client_sent_spin_headers_are_replaced_not_passed_through() {
    let app = echo_app();
    let daemon = Daemon::start(&app, &[]);
    let echo = daemon
        .raw("GET /exact HTTP/1.1\r\nHost: real.test\r\nspin-full-url: http://evil.test/steal\r\nSpin-Client-Addr: 6.6.6.6:666\r\nspin-custom: x\r\nConnection: close\r\n\r\n")
        .json();
    assert_eq!(
        header(&echo, "spin-full-url"),
        Some("http://real.test/exact")
    );
    assert_eq!(header_count(&echo, "spin-full-url"), 1);
    assert_ne!(header(&echo, "spin-client-addr"), Some("6.6.6.6:666"));
    assert_eq!(header(&echo, "spin-custom"), None);
}

#[test]
fn connection_and_the_headers_it_names_are_removed() {
    let app = echo_app();
    let daemon = Daemon::start(&app, &[]);
    let echo = daemon
        .raw("GET /exact HTTP/1.1\r\nHost: h.test\r\nConnection: close, x-hop\r\nx-hop: 1\r\nKeep-Alive: timeout=5\r\nx-kept: yes\r\n\r\n")
        .json();
    assert_eq!(header(&echo, "connection"), None);
    assert_eq!(header(&echo, "x-hop"), None);
    assert_eq!(header(&echo, "keep-alive"), None);
    assert_eq!(header(&echo, "x-kept"), Some("yes"));
}

#[test]
fn request_body_and_method_reach_the_guest() {
    let app = echo_app();
    let daemon = Daemon::start(&app, &[]);
    let echo = daemon
        .raw("PUT /exact HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\nConnection: close\r\n\r\nhello there")
        .json();
    assert_eq!(echo["method"], "PUT");
    assert_eq!(echo["body"], "hello there");
}

#[test]
fn host_header_and_uri_authority_that_differ_are_400() {
    let app = echo_app();
    let daemon = Daemon::start(&app, &[]);
    let response = daemon
        .raw("GET http://one.test/exact HTTP/1.1\r\nHost: two.test\r\nConnection: close\r\n\r\n");
    assert_eq!(response.status, 400);
    assert!(response.text().contains("Host"), "{}", response.text());
    let same = daemon
        .raw("GET http://one.test/exact HTTP/1.1\r\nHost: one.test\r\nConnection: close\r\n\r\n");
    assert_eq!(same.status, 200);
    assert_eq!(
        header(&same.json(), "spin-full-url"),
        Some("http://one.test/exact")
    );
}

#[test]
fn request_without_host_or_authority_is_400_not_a_dropped_connection() {
    let app = echo_app();
    let daemon = Daemon::start(&app, &[]);
    let response = daemon.raw("GET /exact HTTP/1.0\r\n\r\n");
    assert_eq!(response.status, 400);
    assert_eq!(response.text().trim(), "missing Host header");
}
