//! Components built against the 2023 release candidates of WASI 0.2, which
//! wasmtime 48 does not serve and Spin does: a spin-sdk 2.2 app
//! (`wasi:http@0.2.0-rc-2023-10-18`), as `spin build` made it (a wasip1
//! core module) and as a component, and a component bound to
//! `wasi:http@0.2.0-rc-2023-11-10`; requests, bodies, trailers, headers,
//! variables, request options in milliseconds, and outbound HTTP under
//! `allowed_outbound_hosts`.

use crate::support::{Daemon, TestApp, upstream};

fn sdk2_app(source: &str, upstream_port: u16) -> TestApp {
    TestApp::new(&format!(
        r#"spin_manifest_version = 2
[application]
name = "sdk2"

[[trigger.http]]
route = "/..."
component = "sdk2"

[component.sdk2]
source = "{{{source}.wasm}}"
allowed_outbound_hosts = ["http://127.0.0.1:{upstream_port}"]

[component.sdk2.variables]
colour = "teal"
"#
    ))
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
    let app = TestApp::new(&format!(
        "spin_manifest_version = 2\n[application]\nname = \"rc\"\n\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"rc\"\n\n[component.rc]\nsource = \"{{rc1110.wasm}}\"\nallowed_outbound_hosts = [\"http://127.0.0.1:{port}\"]\n"
    ));
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
