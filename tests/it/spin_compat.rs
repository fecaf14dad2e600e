//! Spin apps that must run unchanged: relative-URL self requests from every
//! SDK generation, chaining over https, and the old outbound interface's
//! bounded responses and filtered headers.

use std::io::{Read, Write};
use std::net::TcpListener;

use crate::manifest::Manifest;
use crate::support::{Daemon, TestApp};

/// An app serving `component` (a built guest) on `/...`, with `allowed`.
fn app(component: &str, allowed: &str) -> TestApp {
    Manifest::new("compat")
        .route("/...", "c")
        .component(
            "c",
            component,
            &format!("allowed_outbound_hosts = [{allowed}]"),
        )
        .app()
}

#[test]
fn relative_url_is_a_self_request_for_every_sdk() {
    // (guest, its request, what the self request answers)
    let cases = [
        ("spinsdk", "/outbound?/hello", "200 hello from spin-sdk"),
        (
            "sdk2",
            "/outbound?/hello/x",
            "hello from spin-sdk 2 /hello/x",
        ),
        (
            "wasip1/sdk2",
            "/outbound?/hello/y",
            "hello from spin-sdk 2 /hello/y",
        ),
        (
            "sdk6",
            "/outbound?/hello",
            "200 hello from spin-sdk 6 /hello",
        ),
        ("oldsdk", "/fetch?url=/self/path", "200 method=Method::Get"),
    ];
    for (guest, path, answer) in cases {
        let daemon = Daemon::start(&app(guest, "\"http://self\""), &[]);
        let text = daemon.get(path).text();
        assert!(text.starts_with(answer), "{guest}: {text}");
    }
}

#[test]
fn relative_url_without_a_self_entry_is_denied() {
    let cases = [
        ("spinsdk", "/outbound?/hello", "HttpRequestDenied"),
        ("sdk2", "/outbound?/hello/x", "HttpRequestDenied"),
        ("sdk6", "/outbound?/hello", "HttpRequestDenied"),
        (
            "oldsdk",
            "/fetch?url=/x",
            "name: \"destination-not-allowed\"",
        ),
    ];
    for (guest, path, error) in cases {
        let daemon = Daemon::start(&app(guest, "\"https://example.com\""), &[]);
        let text = daemon.get(path).text();
        assert!(text.contains(error), "{guest}: {text}");
        daemon.wait_for_log("outbound request denied");
    }
}

fn chaining_app(allowed: &str) -> TestApp {
    Manifest::new("chain")
        .route("/...", "outbound")
        .private("back")
        .component(
            "outbound",
            "outbound",
            &format!("allowed_outbound_hosts = [{allowed}]"),
        )
        .component("back", "hello", "")
        .app()
}

#[test]
fn chaining_works_over_https_as_over_http() {
    let daemon = Daemon::start(&chaining_app("\"https://*.spin.internal\""), &[]);
    assert_eq!(
        daemon.get("/fetch/https/back.spin.internal/x").text(),
        "200 hello from wasi-httpd\n"
    );
    // As in Spin, the entry's scheme is the URL's: https allows https only.
    assert_eq!(
        daemon.get("/fetch/http/back.spin.internal/x").text(),
        "error: ErrorCode::HttpRequestDenied"
    );
    let daemon = Daemon::start(&chaining_app("\"http://back.spin.internal\""), &[]);
    assert_eq!(
        daemon.get("/fetch/http/back.spin.internal/x").text(),
        "200 hello from wasi-httpd\n"
    );
}

/// A one-connection upstream on 127.0.0.1 that answers with a body of
/// `len` bytes (streamed, so it never holds them), or with the request
/// head it got when `len` is `None`. Its port.
fn upstream(len: Option<usize>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        while !head.ends_with(b"\r\n\r\n") {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        match len {
            None => {
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    head.len()
                );
                let _ = stream.write_all(&head);
            }
            Some(len) => {
                let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n\r\n");
                let chunk = vec![b'z'; 1 << 16];
                let mut left = len;
                while left > 0 {
                    let n = left.min(chunk.len());
                    if stream.write_all(&chunk[..n]).is_err() {
                        return;
                    }
                    left -= n;
                }
            }
        }
    });
    port
}

#[test]
fn old_outbound_interface_refuses_a_response_over_128_mib_with_runtime_error() {
    let port = upstream(Some(256 << 20));
    let daemon = Daemon::start(&app("oldsdk", "\"http://127.0.0.1:*\""), &[]);
    let text = daemon
        .get(&format!("/fetch?url=http://127.0.0.1:{port}/big"))
        .text();
    assert!(text.contains("name: \"runtime-error\""), "{text}");
    daemon.wait_for_log("exceeds 134217728 bytes");
    // A response within the limit is handed over whole.
    let port = upstream(Some(1 << 20));
    let text = daemon
        .get(&format!("/fetch?url=http://127.0.0.1:{port}/ok"))
        .text();
    assert_eq!(text.len(), "200 ".len() + (1 << 20));
}

#[test]
fn old_outbound_interface_filters_headers_as_wasi_http_and_sends_host() {
    let port = upstream(None);
    let daemon = Daemon::start(&app("oldsdk", "\"http://127.0.0.1:*\""), &[]);
    let text = daemon
        .get(&format!("/fetch?url=http://127.0.0.1:{port}/h"))
        .text()
        .to_ascii_lowercase();
    assert!(text.contains("x-from-guest: 1"), "{text}");
    assert!(text.contains(&format!("host: 127.0.0.1:{port}")), "{text}");
    assert!(!text.contains("evil.example"), "{text}");
    assert!(!text.contains("upgrade"), "{text}");
}

#[test]
fn version_1_manifest_is_served_converted_as_spin_converts_it() {
    let app = TestApp::new(
        "spin_manifest_version = \"1\"\nname = \"old-app\"\nversion = \"1.0.0\"\ntrigger = { type = \"http\", base = \"/\" }\n\n[[component]]\nid = \"hello_world\"\nsource = \"{hello.wasm}\"\n[component.trigger]\nroute = \"/hello/...\"\n\n[[component]]\nid = \"env\"\nsource = \"{envfiles.wasm}\"\nenvironment = { GREETING = \"hi\" }\n[component.trigger]\nroute = \"/...\"\n",
    );
    let daemon = Daemon::start(&app, &[]);
    assert_eq!(daemon.get("/hello/x").text(), "hello from wasi-httpd\n");
    assert_eq!(daemon.get("/env/GREETING").text(), "hi");
    assert!(
        daemon.stdout().contains("hello-world: "),
        "{}",
        daemon.stdout()
    );
    daemon.wait_for_log("a version 1 manifest, converted to version 2");
}

#[test]
fn spin_up_flags_env_state_dir_and_key_value() {
    let app = Manifest::new("flags")
        .route("/env/...", "env")
        .route("/...", "kv")
        .component(
            "env",
            "envfiles",
            r#"environment = { A = "manifest", B = "manifest" }"#,
        )
        .component("kv", "sdk6", r#"key_value_stores = ["default"]"#)
        .app();
    let state = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(
        &app,
        &[
            "-e",
            "A=flag",
            "--env",
            "C=new=1",
            "--state-dir",
            state.path().to_str().unwrap(),
            "--key-value",
            "greeting=hello",
        ],
    );
    assert_eq!(daemon.get("/env/A").text(), "flag");
    assert_eq!(daemon.get("/env/B").text(), "manifest");
    assert_eq!(daemon.get("/env/C").text(), "new=1");
    assert_eq!(daemon.get("/kv/greeting").text(), "hello");
    assert!(state.path().join("key-value.sqlite").is_file());
    // A malformed flag is a usage error naming the form.
    let out = crate::support::run(&["serve", "-e", "novalue"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NAME=VALUE"));
}
