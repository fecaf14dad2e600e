//! Components built against the 2023 release candidates of WASI 0.2, which
//! wasmtime 48 does not serve and Spin does: a spin-sdk 2.2 app
//! (`wasi:http@0.2.0-rc-2023-10-18`), as `spin build` made it (a wasip1
//! core module) and as a component, and a component bound to
//! `wasi:http@0.2.0-rc-2023-11-10`; requests, bodies, trailers, headers,
//! variables, request options in milliseconds, and outbound HTTP under
//! `allowed_outbound_hosts`; a component of the 2023-10-18 release
//! candidate reading files through its wasi:filesystem and importing its
//! wasi:sockets (not provided: calls trap). And a spin-sdk 6 app, built
//! against `wasi:http@0.3.0-rc-2026-03-15`, served as 0.3.0.

use crate::manifest::Manifest;
use crate::support::{Daemon, TestApp, upstream};

/// An app serving `source` on every path; `extra` goes in its component
/// table.
fn app(source: &str, extra: &str) -> TestApp {
    Manifest::new("rc")
        .route("/...", "c")
        .component("c", source, extra)
        .app()
}

fn sdk2_app(source: &str, upstream_port: u16) -> TestApp {
    app(
        source,
        &format!(
            "allowed_outbound_hosts = [\"http://127.0.0.1:{upstream_port}\"]\n\n[component.c.variables]\ncolour = \"teal\""
        ),
    )
}

#[test]
fn a_spin_sdk_2_module_is_served() {
    let port = upstream();
    let daemon = Daemon::start(&sdk2_app("wasip1/sdk2", port), &[]);
    daemon.wait_for_log("executor=\"wasi:http/incoming-handler@0.2.0-rc-2023-10-18\"");

    let hello = daemon.get("/hello/there?x=1");
    assert_eq!(hello.status, 200, "{}", hello.text());
    assert_eq!(hello.header("x-sdk"), Some("2"));
    assert_eq!(hello.text(), "hello from spin-sdk 2 /hello/there");

    let echo = daemon.raw(
        "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Type: text/x-test\r\nContent-Length: 9\r\nConnection: close\r\n\r\nping body",
    );
    assert_eq!(echo.status, 200);
    assert_eq!(echo.header("content-type"), Some("text/x-test"));
    assert_eq!(echo.text(), "ping body");

    assert_eq!(daemon.get("/var/colour").text(), "teal");

    // Outbound through the release candidate's outgoing-handler.
    let allowed = daemon.get(&format!("/outbound?http://127.0.0.1:{port}/up"));
    assert_eq!(allowed.status, 200, "{}", allowed.text());
    assert_eq!(allowed.text(), "upstream /up");
    let other = upstream();
    let denied = daemon.get(&format!("/outbound?http://127.0.0.1:{other}/up"));
    assert_eq!(denied.status, 502);
    assert!(
        denied.text().contains("HttpRequestDenied"),
        "{}",
        denied.text()
    );
    daemon.wait_for_log("outbound request denied");
}

#[test]
fn a_spin_sdk_2_component_is_served() {
    let daemon = Daemon::start(&sdk2_app("sdk2", upstream()), &[]);
    let hello = daemon.get("/hello");
    assert_eq!(hello.status, 200, "{}", hello.text());
    assert_eq!(hello.text(), "hello from spin-sdk 2 /hello");
}

#[test]
fn a_2023_11_10_component_is_served() {
    let port = upstream();
    let app = app(
        "rc1110",
        &format!("allowed_outbound_hosts = [\"http://127.0.0.1:{port}\"]"),
    );
    let daemon = Daemon::start(&app, &[]);
    let hello = daemon.get("/hello");
    assert_eq!(hello.status, 200, "{}", hello.text());
    assert_eq!(hello.header("x-rc"), Some("2023-11-10"));
    assert_eq!(hello.text(), "hello from rc 2023-11-10 /hello");
    // The body, then `future-trailers.get` in the candidate's shape.
    assert_eq!(
        daemon.send("POST", "/body", "twelve bytes").text(),
        "12 bytes, trailers: none"
    );
    // `*-timeout-ms` are milliseconds (0.2's are nanoseconds): set 1500,
    // read 1500; a 5000 ms first-byte timeout lets the upstream answer.
    assert_eq!(
        daemon.get("/timeout?1500").text(),
        "connect-timeout-ms=Some(1500)"
    );
    let fetched = daemon.get(&format!("/outbound?http://127.0.0.1:{port}/up"));
    assert_eq!(fetched.text(), "200 upstream /up");
    let denied = daemon.get(&format!("/outbound?http://127.0.0.1:{}/up", upstream()));
    assert_eq!(denied.status, 502);
    assert_eq!(denied.text(), "ErrorCode::HttpRequestDenied");
}

#[test]
fn a_spin_sdk_6_app_on_the_0_3_release_candidate_is_served_as_0_3_0() {
    let app = app(
        "sdk6",
        "key_value_stores = [\"default\"]\n\n[component.c.variables]\ngreeting = \"hello\"",
    );
    let daemon = Daemon::start(&app, &[]);
    daemon
        .wait_for_log("the component uses wasi 0.3.0-rc-2026-03-15, served as the identical 0.3.0");
    daemon.wait_for_log("executor=\"wasi:http/handler@0.3.0\"");
    assert_eq!(daemon.get("/x").text(), "hello from spin-sdk 6 /x");
    assert_eq!(daemon.get("/var/greeting").text(), "hello");
    assert_eq!(daemon.send("PUT", "/kv/k", "v6").text(), "stored");
    assert_eq!(daemon.get("/kv/k").text(), "v6");
}

#[test]
fn a_2023_10_18_component_reads_files_and_loads_with_sockets_it_cannot_use() {
    let app = app(
        "rc1018",
        "files = [{ source = \"static\", destination = \"/\" }]",
    );
    app.write("static/a.txt", "file contents here\n");
    let daemon = Daemon::start(&app, &[]);
    daemon.wait_for_log("interfaces=wasi:sockets/tcp@0.2.0-rc-2023-10-18");
    let file = daemon.get("/file/a.txt");
    assert_eq!(file.status, 200, "{}", file.text());
    assert_eq!(file.header("x-rc"), Some("2023-10-18"));
    assert_eq!(file.text(), "file contents here\n");
    assert!(daemon.get("/file/nope.txt").text().contains("no-entry"));
    assert!(daemon.get("/lock/a.txt").text().contains("unsupported"));
    assert_eq!(daemon.get("/socket").status, 500);
    daemon.wait_for_log(
        "the component called `create-tcp-socket` of `wasi:sockets/tcp-create-socket@0.2.0-rc-2023-10-18`",
    );
    assert_eq!(daemon.get("/file/a.txt").status, 200);
}
