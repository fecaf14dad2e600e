//! The `serve` command: start-up output, listening, free-port search, a
//! failed start, and the drain on SIGTERM.

use std::net::TcpListener;

use crate::manifest::Manifest;
use crate::support::{Daemon, TestApp, run};

/// Two routes, one with a description, for the route table.
fn two_routes() -> TestApp {
    Manifest::new("table")
        .route("/static/...", "files")
        .route("/hello", "hello")
        .component("hello", "hello", r#"description = "Says hello.""#)
        .component("files", "hello", "")
        .app()
}

#[test]
fn prints_serving_address_and_route_table_like_spin_up() {
    let app = two_routes();
    let daemon = Daemon::start(&app, &[]);
    let addr = daemon.addr;
    let expected = format!(
        "Serving http://{addr}\nAvailable Routes:\n  files: http://{addr}/static (wildcard)\n  hello: http://{addr}/hello\n    Says hello.\n"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while daemon.stdout().len() < expected.len() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(daemon.stdout(), expected);
    assert!(
        !daemon.stderr().contains("Available Routes"),
        "route table went to the log"
    );
}

#[test]
fn format_json_prints_the_route_table_as_json() {
    let app = two_routes();
    let daemon = Daemon::start(&app, &["--format", "json"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let table: serde_json::Value = loop {
        if let Ok(v) = serde_json::from_str(&daemon.stdout()) {
            break v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not JSON: {}",
            daemon.stdout()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let base = format!("http://{}", daemon.addr);
    assert_eq!(
        table,
        serde_json::json!({
            "base_url": base,
            "routes": [
                {"id": "files", "route": "/static", "wildcard": true},
                {"id": "hello", "route": "/hello", "wildcard": false, "description": "Says hello."}
            ]
        })
    );
}

#[test]
fn find_free_port_moves_past_a_busy_port() {
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let app = two_routes();
    let listen = format!("127.0.0.1:{port}");
    let daemon = Daemon::start(&app, &["--listen", &listen, "--find-free-port"]);
    assert_ne!(daemon.addr.port(), port);
    assert!(daemon.addr.port() > port && daemon.addr.port() < port + 10);
    assert_eq!(daemon.get("/hello").status, 200);
}

#[test]
fn busy_port_without_find_free_port_fails_with_a_hint() {
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = busy.local_addr().unwrap().to_string();
    let app = two_routes();
    let out = run(&["serve", app.path().to_str().unwrap(), "--listen", &listen]);
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("in use") && err.contains("--find-free-port"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "nothing may be printed as served");
}

#[test]
fn bad_manifest_exits_non_zero_without_serving() {
    let app = TestApp::new(
        "spin_manifest_version = 2\n[application]\nname = \"x\"\n\n[[trigger.http]]\nroute = \"/\"\ncomponent = \"missing\"\n",
    );
    let out = run(&[
        "serve",
        app.path().to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(out.status.code(), Some(78));
    assert!(
        out.stdout.is_empty(),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("missing") && err.contains("spin.toml"),
        "{err}"
    );
}

#[test]
fn sigterm_drains_and_exits_zero() {
    let app = two_routes();
    let daemon = Daemon::start(&app, &[]);
    assert_eq!(daemon.get("/hello").status, 200);
    let status = daemon.terminate();
    assert_eq!(status.code(), Some(0));
}
