//! Hostile apps: an app's manifest cannot give its guests more than the
//! app's own files, nor its outgoing requests more than the addresses its
//! `allowed_outbound_hosts` names.

use crate::manifest::Manifest;
use crate::support::{Daemon, TestApp, run};

fn app(files: &str) -> TestApp {
    let app = Manifest::new("files")
        .route("/...", "env")
        .component("env", "envfiles", &format!("files = [{files}]"))
        .app();
    app.write("static/a.txt", "a");
    std::os::unix::fs::symlink("a.txt", app.path().join("static/alias")).unwrap();
    app
}

#[test]
fn files_linking_out_of_the_app_are_a_load_error_naming_the_link() {
    for files in [
        "\"static/**/*\"",
        "{ source = \"static\", destination = \"/data\" }",
    ] {
        let app = app(files);
        std::os::unix::fs::symlink("/etc", app.path().join("static/etc")).unwrap();
        let out = run(&["check", app.path().to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(78), "{files}: {err}");
        assert!(err.contains("static/etc"), "{files}: {err}");
        assert!(
            err.contains("outside the application directory"),
            "{files}: {err}"
        );
    }
}

#[test]
fn a_mounted_directory_that_is_a_link_out_of_the_app_is_refused() {
    let app = app("{ source = \"outside\", destination = \"/\" }");
    std::os::unix::fs::symlink("/etc", app.path().join("outside")).unwrap();
    let out = run(&["check", app.path().to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{err}");
    assert!(err.contains("outside the application directory"), "{err}");
}

#[test]
fn a_directory_mounted_in_place_keeps_its_links_inside_it() {
    // A single directory at `/` is mounted as it is: wasmtime's
    // capability-based filesystem refuses links that leave it.
    let app = app("{ source = \"static\", destination = \"/\" }");
    std::os::unix::fs::symlink("/etc", app.path().join("static/etc")).unwrap();
    let daemon = Daemon::start(&app, &[]);
    let leaked = daemon.get("/file/etc/passwd");
    assert_ne!(leaked.status, 200, "{}", leaked.text());
    assert!(!leaked.text().contains("root:"), "{}", leaked.text());
    assert_eq!(daemon.get("/file/alias").text(), "a");
}

#[test]
fn links_inside_the_app_are_served() {
    for files in [
        "\"static/**/*\"",
        "{ source = \"static\", destination = \"/data\" }",
    ] {
        let daemon = Daemon::start(&app(files), &[]);
        let prefix = if files.contains("/data") {
            "data"
        } else {
            "static"
        };
        assert_eq!(
            daemon.get(&format!("/file/{prefix}/alias")).text(),
            "a",
            "{files}"
        );
        assert_eq!(
            daemon.get(&format!("/file/{prefix}/a.txt")).text(),
            "a",
            "{files}"
        );
    }
}

pub fn outbound_app(allowed: &str) -> TestApp {
    Manifest::new("out")
        .route("/...", "outbound")
        .component(
            "outbound",
            "outbound",
            &format!("allowed_outbound_hosts = [{allowed}]"),
        )
        .app()
}

pub const PROHIBITED: &str = "error: ErrorCode::DestinationIpProhibited";

#[test]
fn a_wildcard_does_not_reach_loopback_in_any_spelling() {
    let port = crate::support::upstream();
    let daemon = Daemon::start(&outbound_app("\"*://*:*\""), &[]);
    for authority in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("2130706433:{port}"),
        format!("0177.0.0.1:{port}"),
        format!("[::ffff:127.0.0.1]:{port}"),
        format!("[::1]:{port}"),
        format!("0.0.0.0:{port}"),
    ] {
        let text = daemon
            .get(&format!("/fetch/http/{authority}/x?token=secret"))
            .text();
        assert_eq!(text, PROHIBITED, "{authority}");
    }
    let log = daemon.wait_for_log("a loopback address, which no entry names");
    assert!(!log.contains("secret"), "the query was logged:\n{log}");
}

#[test]
fn link_local_is_never_reached_even_when_named() {
    let daemon = Daemon::start(
        &outbound_app("\"http://169.254.169.254\", \"http://[fe80::1]\""),
        &[],
    );
    for authority in ["169.254.169.254", "[fe80::1]"] {
        assert_eq!(
            daemon
                .get(&format!("/fetch/http/{authority}/latest"))
                .text(),
            PROHIBITED,
            "{authority}"
        );
    }
    daemon.wait_for_log("link-local address");
}

#[test]
fn loopback_named_by_address_or_localhost_is_reached() {
    let port = crate::support::upstream();
    let daemon = Daemon::start(
        &outbound_app("\"http://127.0.0.1:*\", \"http://localhost:*\""),
        &[],
    );
    for authority in [format!("127.0.0.1:{port}"), format!("localhost:{port}")] {
        assert_eq!(
            daemon.get(&format!("/fetch/http/{authority}/ok")).text(),
            "200 upstream /ok",
            "{authority}"
        );
    }
}

fn wagi_app() -> TestApp {
    Manifest::new("wagi")
        .route_with("/...", "cgi", r#"executor = { type = "wagi" }"#)
        .component("cgi", "cgi", "")
        .app()
}

#[test]
fn the_host_buffer_budget_is_shared_by_requests_and_given_back() {
    let daemon = Daemon::start(&wagi_app(), &["--max-host-buffers", "1MiB"]);
    // A body over the whole budget (though under --max-body-size): 503.
    let response = daemon.send("POST", "/x", &"x".repeat(2 << 20));
    assert_eq!(response.status, 503, "{}", response.text());
    assert_eq!(response.header("retry-after"), Some("1"));
    daemon.wait_for_log("the host buffer budget (--max-host-buffers) is spent");
    // A body that fits, whose echo on stdout does not fit beside it: 503.
    let response = daemon.send("POST", "/x", &"y".repeat(600 << 10));
    assert_eq!(response.status, 503, "{}", response.text());
    // Bodies and output that fit, one after the other: each request gives
    // back what it held.
    for _ in 0..6 {
        let body = "z".repeat(300 << 10);
        let response = daemon.send("POST", "/x", &body);
        assert_eq!(response.status, 200);
        assert!(response.text().contains(&body));
    }
}
