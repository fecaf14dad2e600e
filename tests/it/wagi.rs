//! The WAGI executor: a WASI command run per request with CGI/1.1
//! variables (CONTENT_TYPE filled from Content-Type, which Spin misses),
//! Spin's X_* variables, argv from `${SCRIPT_NAME} ${ARGS}`, the body on
//! stdin, and its stdout parsed as a CGI response.

use crate::manifest::Manifest;
use crate::support::{Daemon, TestApp, run, vars};

/// The CGI guest under WAGI on a prefix, on every other route, and on
/// `/argv` with an `argv` of its own.
fn app() -> TestApp {
    Manifest::new("wagi")
        .route_with("/cgi/...", "cgi", WAGI)
        .route_with("/...", "cgi", WAGI)
        .route_with(
            "/argv",
            "cgi",
            r#"executor = { type = "wagi", argv = "${SCRIPT_NAME} fixed ${ARGS}" }"#,
        )
        .component("cgi", "cgi", "")
        .app()
}

const WAGI: &str = r#"executor = { type = "wagi" }"#;

#[test]
fn wagi_command_gets_cgi_variables_argv_and_stdin() {
    let daemon = Daemon::start(&app(), &[]);
    let response = daemon.raw(
        "POST /cgi/sub/path?a=1&b=2 HTTP/1.1\r\nHost: example.test:8080\r\nContent-Type: application/x-www-form-urlencoded\r\nX-Custom: yes\r\nAuthorization: secret\r\nContent-Length: 9\r\nConnection: close\r\n\r\nname=wagi",
    );
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("content-type"), Some("text/plain"));
    let v = vars(&response.text());
    assert_eq!(v["argv_list"], r#"["/cgi/sub/path", "a=1", "b=2"]"#);
    assert_eq!(v["REQUEST_METHOD"], "POST");
    assert_eq!(v["QUERY_STRING"], "a=1&b=2");
    assert_eq!(v["CONTENT_TYPE"], "application/x-www-form-urlencoded");
    assert_eq!(v["CONTENT_LENGTH"], "9");
    assert_eq!(v["GATEWAY_INTERFACE"], "CGI/1.1");
    assert_eq!(v["SCRIPT_NAME"], "/cgi");
    assert_eq!(v["PATH_INFO"], "/sub/path");
    assert_eq!(v["SERVER_NAME"], "example.test");
    assert_eq!(v["SERVER_PORT"], "8080");
    assert_eq!(v["SERVER_SOFTWARE"], "WAGI/1");
    assert_eq!(v["REMOTE_ADDR"], "127.0.0.1");
    assert_eq!(
        v["X_FULL_URL"],
        "http://example.test:8080/cgi/sub/path?a=1&b=2"
    );
    assert_eq!(v["X_MATCHED_ROUTE"], "/cgi/...");
    assert_eq!(v["HTTP_X_CUSTOM"], "yes");
    assert_eq!(v["HTTP_AUTHORIZATION"], "<unset>");
    assert_eq!(v["stdin"], "name=wagi");
}

#[test]
fn default_argv_is_the_request_path_then_the_query_words_as_in_spin() {
    let daemon = Daemon::start(&app(), &[]);
    let v = vars(&daemon.get("/assert-args?x=y").text());
    assert_eq!(v["argv_list"], r#"["/assert-args", "x=y"]"#);
    // Spin splits `${SCRIPT_NAME} ${ARGS}` at spaces: no query, an empty
    // last argument; the query is not decoded.
    let v = vars(&daemon.get("/assert-args").text());
    assert_eq!(v["argv_list"], r#"["/assert-args", ""]"#);
    let v = vars(&daemon.get("/a?p=%20q&r").text());
    assert_eq!(v["argv_list"], r#"["/a", "p=%20q", "r"]"#);
}

#[test]
fn a_proxy_request_header_never_becomes_http_proxy() {
    let daemon = Daemon::start(&app(), &[]);
    let response = daemon.raw(
        "GET /cgi HTTP/1.1\r\nHost: h\r\nProxy: http://attacker.example:8080\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(vars(&response.text())["HTTP_PROXY"], "<unset>");
}

#[test]
fn argv_template_is_expanded() {
    let daemon = Daemon::start(&app(), &[]);
    let v = vars(&daemon.get("/argv?x&y").text());
    assert_eq!(v["argv"], "/argv fixed x y");
}

#[test]
fn cgi_status_location_and_bad_output() {
    let daemon = Daemon::start(&app(), &[]);
    let teapot = daemon.get("/cgi?status=418");
    assert_eq!(
        (teapot.status, teapot.text().as_str()),
        (418, "short and stout\n")
    );
    let moved = daemon.get("/cgi?location");
    assert_eq!(moved.status, 302);
    assert_eq!(moved.header("location"), Some("/moved"));
    assert_eq!(daemon.get("/cgi?bad").status, 502);
    let empty = daemon.get("/cgi?empty");
    assert_eq!(empty.status, 500);
    assert!(empty.body.is_empty());
}

#[test]
fn a_wagi_trigger_on_a_non_command_component_is_a_load_error() {
    let app = TestApp::new(
        "spin_manifest_version = 2\n[application]\nname = \"x\"\n\n[[trigger.http]]\nroute = \"/\"\ncomponent = \"h\"\nexecutor = { type = \"wagi\" }\n\n[component.h]\nsource = \"{hello.wasm}\"\n",
    );
    let out = run(&["check", app.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`h`") && err.contains("wagi") && err.contains("wasi:cli/run"),
        "{err}"
    );
}
