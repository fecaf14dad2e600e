//! Real guest components as app authors write them (the `wasi` crate,
//! spin-sdk 5, wstd): responses, streaming, traps, missing responses,
//! files, environment and guest output, keep-alive and HTTP/2.

use std::process::Command;

use crate::manifest::Manifest;
use crate::support::{Connection, Daemon, TestApp};

fn one_route(component: &str) -> TestApp {
    let id = component.replace('_', "-");
    Manifest::new(component)
        .route("/...", &id)
        .component(
            &id,
            component,
            &format!("description = \"the {component} guest\""),
        )
        .app()
}

#[test]
fn hello_component_answers() {
    let daemon = Daemon::start(&one_route("hello"), &[]);
    let response = daemon.get("/");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("text/plain"));
    assert_eq!(response.text(), "hello from wasi-httpd\n");
}

#[test]
fn spin_sdk_5_component_runs_unchanged() {
    let daemon = Daemon::start(&one_route("spinsdk"), &[]);
    let response = daemon.get("/some/path");
    assert_eq!(response.status, 200);
    assert_eq!(response.text(), "hello from spin-sdk");
    assert_eq!(response.header("x-path-info"), Some("/some/path"));
    assert_eq!(
        response.header("x-full-url"),
        Some("http://localhost/some/path")
    );
}

#[test]
fn wstd_component_streams_its_body() {
    let daemon = Daemon::start(&one_route("wstd_app"), &[]);
    let response = daemon.get("/");
    assert_eq!(response.status, 200);
    assert_eq!(response.text(), "hello from wstd\nchunk 2\nchunk 3\n");
}

#[test]
fn streamed_response_arrives_whole_and_chunked() {
    let daemon = Daemon::start(&one_route("stream"), &[]);
    let response = daemon.get("/");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("transfer-encoding"), Some("chunked"));
    let expected: Vec<u8> = (0..5u8)
        .flat_map(|i| std::iter::repeat_n(b'0' + i, 1000))
        .collect();
    assert_eq!(response.body.len(), 5000);
    assert_eq!(response.body, expected);
}

#[test]
fn guest_trap_is_500_with_empty_body_and_the_daemon_keeps_serving() {
    let daemon = Daemon::start(&one_route("trap"), &[]);
    let trapped = daemon.get("/trap");
    assert_eq!(trapped.status, 500);
    assert!(trapped.body.is_empty(), "body leaked: {}", trapped.text());
    let ok = daemon.get("/ok");
    assert_eq!((ok.status, ok.text().as_str()), (200, "ok"));
    let log = daemon.wait_for_log("request failed");
    let line = log.lines().find(|l| l.contains("request failed")).unwrap();
    assert!(
        line.contains("ERROR") && line.contains("component=trap"),
        "{line}"
    );
}

#[test]
fn guest_returning_without_a_response_is_500() {
    let daemon = Daemon::start(&one_route("noresponse"), &[]);
    let response = daemon.get("/");
    assert_eq!(response.status, 500);
    assert!(response.body.is_empty());
    let log = daemon.wait_for_log("without sending a response");
    assert!(log.contains("component=noresponse"), "{log}");
}

fn envfiles_app() -> TestApp {
    let app = Manifest::new("envfiles")
        .route("/...", "envfiles")
        .component(
            "envfiles",
            "envfiles",
            r#"files = ["static/**/*", { source = "assets", destination = "/data" }]
exclude_files = ["static/secret.txt"]
environment = { GREETING = "hello env", EMPTY = "" }"#,
        )
        .app();
    app.write("static/index.html", "<h1>index</h1>");
    app.write("static/css/site.css", "body{}");
    app.write("static/secret.txt", "do not mount");
    app.write("assets/logo.txt", "LOGO");
    app
}

#[test]
fn component_environment_is_visible_to_the_guest() {
    let daemon = Daemon::start(&envfiles_app(), &[]);
    assert_eq!(daemon.get("/env/GREETING").text(), "hello env");
    assert_eq!(daemon.get("/env/EMPTY").status, 200);
    assert_eq!(
        daemon.get("/env/HOME").status,
        404,
        "host environment leaked"
    );
}

#[test]
fn files_are_mounted_read_only_at_their_guest_paths() {
    let daemon = Daemon::start(&envfiles_app(), &[]);
    assert_eq!(
        daemon.get("/file/static/index.html").text(),
        "<h1>index</h1>"
    );
    assert_eq!(daemon.get("/file/static/css/site.css").text(), "body{}");
    assert_eq!(daemon.get("/file/data/logo.txt").text(), "LOGO");
    assert_eq!(
        daemon.get("/file/static/secret.txt").status,
        404,
        "excluded file was mounted"
    );
    let listing = daemon.get("/files").text();
    let mut paths: Vec<&str> = listing.lines().collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "/data/",
            "/data/logo.txt",
            "/static/",
            "/static/css/",
            "/static/css/site.css",
            "/static/index.html"
        ],
        "listing:\n{listing}"
    );
}

#[test]
fn guest_stdout_and_stderr_are_logged_line_by_line_with_the_component() {
    let daemon = Daemon::start(&envfiles_app(), &[]);
    assert_eq!(daemon.get("/env/GREETING").status, 200);
    let log = daemon.wait_for_log("stderr says hi");
    for needle in ["stdout line one", "stdout line two", "stderr says hi"] {
        let line = log
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle} missing:\n{log}"));
        assert!(
            line.contains("component=envfiles") && line.contains("request_id="),
            "{line}"
        );
    }
    assert!(
        !daemon.stdout().contains("stdout line"),
        "guest output reached stdout"
    );
}

#[test]
fn keep_alive_connection_serves_several_requests() {
    let daemon = Daemon::start(&one_route("hello"), &[]);
    let mut conn = Connection::open(daemon.addr);
    for _ in 0..3 {
        let response = conn.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
        assert_eq!(response.status, 200);
        assert_eq!(response.text(), "hello from wasi-httpd\n");
    }
}

#[test]
fn http2_with_prior_knowledge_is_served() {
    crate::support::require_tool("curl", "curl");
    let daemon = Daemon::start(&one_route("hello"), &[]);
    let output = Command::new("curl")
        .args([
            "-sS",
            "--http2-prior-knowledge",
            "-o",
            "-",
            "-w",
            "\n%{http_version} %{http_code}",
        ])
        .arg(format!("http://{}/", daemon.addr))
        .output()
        .expect("curl is needed for the HTTP/2 test");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(text, "hello from wasi-httpd\n\n2 200");
}
