//! Outbound HTTP from guests: `allowed_outbound_hosts` enforced as Spin
//! does (allowed, denied with HttpRequestDenied), service chaining in
//! process to private routes, a chaining loop that ends, self requests, and
//! variables in allowed hosts from flags, the environment and systemd
//! credentials.

use crate::manifest::Manifest;
use crate::support::{Daemon, TestApp, run, upstream};

fn app(allowed: &str, variables: &str) -> TestApp {
    Manifest::new("outbound")
        .toml(variables)
        .route("/...", "outbound")
        .private("echo")
        .static_response("/static", "static answer")
        .component(
            "outbound",
            "outbound",
            &format!("allowed_outbound_hosts = [{allowed}]"),
        )
        .component("echo", "echo", "")
        .app()
}

#[test]
fn allowed_host_is_reached_and_others_are_denied_as_spin_denies_them() {
    let port = upstream();
    let app = app(&format!("\"http://127.0.0.1:{port}\""), "");
    let daemon = Daemon::start(&app, &[]);
    assert_eq!(
        daemon
            .get(&format!("/fetch/http/127.0.0.1:{port}/x"))
            .text(),
        "200 upstream /x"
    );
    let other = upstream();
    assert_eq!(
        daemon
            .get(&format!("/fetch/http/127.0.0.1:{other}/x"))
            .text(),
        "error: ErrorCode::HttpRequestDenied"
    );
    let log = daemon.wait_for_log("outbound request denied");
    assert!(
        log.contains(&format!("127.0.0.1:{other}")) && log.contains("component=outbound"),
        "{log}"
    );
}

#[test]
fn no_allowed_hosts_denies_everything() {
    let port = upstream();
    let app = app("", "");
    let daemon = Daemon::start(&app, &[]);
    assert_eq!(
        daemon
            .get(&format!("/fetch/http/127.0.0.1:{port}/x"))
            .text(),
        "error: ErrorCode::HttpRequestDenied"
    );
    assert_eq!(
        daemon.get("/fetch/http/echo.spin.internal/x").text(),
        "error: ErrorCode::HttpRequestDenied"
    );
}

#[test]
fn chaining_reaches_a_private_route_in_process() {
    let app = app("\"http://*.spin.internal\"", "");
    let daemon = Daemon::start(&app, &[]);
    let answer = daemon
        .get("/fetch/http/echo.spin.internal/deep/path?q=1")
        .text();
    let (status, json) = answer.split_once(' ').unwrap();
    assert_eq!(status, "200", "{answer}");
    let echo: serde_json::Value = serde_json::from_str(json).unwrap();
    let header = |name: &str| {
        echo["headers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h[0] == name)
            .map(|h| h[1].as_str().unwrap().to_owned())
    };
    assert_eq!(header("spin-path-info").as_deref(), Some("/deep/path"));
    assert_eq!(header("spin-client-addr").as_deref(), Some("0.0.0.0:0"));
    assert_eq!(header("spin-matched-route").as_deref(), Some("/..."));
    assert_eq!(echo["path_with_query"], "/deep/path?q=1");
}

#[test]
fn chaining_needs_its_own_allowed_host_entry() {
    let app = app("\"http://other.spin.internal\"", "");
    let daemon = Daemon::start(&app, &[]);
    assert_eq!(
        daemon.get("/fetch/http/echo.spin.internal/x").text(),
        "error: ErrorCode::HttpRequestDenied"
    );
}

#[test]
fn a_chaining_loop_ends_with_an_error_not_a_hang() {
    let app = app("\"http://*.spin.internal\"", "");
    let daemon = Daemon::start(&app, &["--request-timeout", "30s"]);
    let answer = daemon.get("/loop");
    assert_eq!(answer.status, 200);
    assert!(
        answer.text().ends_with("error: ErrorCode::LoopDetected"),
        "{}",
        answer.text()
    );
    daemon.wait_for_log("service chain too deep");
}

#[test]
fn self_requests_go_through_the_router() {
    let app = app("\"http://self\"", "");
    let daemon = Daemon::start(&app, &[]);
    assert_eq!(
        daemon.get("/fetch/http/self.alt/static").text(),
        "200 static answer"
    );
}

const PORT_VARIABLE: &str = "[variables]\nupstream_port = { required = true }";

#[test]
fn allowed_host_templates_take_variables_from_flag_env_and_credentials() {
    let port = upstream();
    let app = app("\"http://127.0.0.1:{{ upstream_port }}\"", PORT_VARIABLE);
    let path = format!("/fetch/http/127.0.0.1:{port}/v");
    let flag = format!("upstream_port={port}");
    let by_flag = Daemon::start(&app, &["--variable", &flag]);
    assert_eq!(by_flag.get(&path).text(), "200 upstream /v");
    drop(by_flag);

    let port_text = port.to_string();
    let by_env = Daemon::start_with_env(&app, &[], &[("SPIN_VARIABLE_UPSTREAM_PORT", &port_text)]);
    assert_eq!(by_env.get(&path).text(), "200 upstream /v");
    drop(by_env);

    let credentials = tempfile::tempdir().unwrap();
    std::fs::write(
        credentials.path().join("upstream_port"),
        format!("{port}\n"),
    )
    .unwrap();
    let dir = credentials.path().to_str().unwrap();
    let by_credential = Daemon::start_with_env(&app, &[], &[("CREDENTIALS_DIRECTORY", dir)]);
    assert_eq!(by_credential.get(&path).text(), "200 upstream /v");
}

#[test]
fn a_reload_reads_changed_credentials() {
    let (old, new) = (upstream(), upstream());
    let app = app("\"http://127.0.0.1:{{ upstream_port }}\"", PORT_VARIABLE);
    let credentials = tempfile::tempdir().unwrap();
    let file = credentials.path().join("upstream_port");
    std::fs::write(&file, old.to_string()).unwrap();
    let dir = credentials.path().to_str().unwrap();
    let daemon = Daemon::start_with_env(&app, &[], &[("CREDENTIALS_DIRECTORY", dir)]);
    let fetch = |port: u16| {
        daemon
            .get(&format!("/fetch/http/127.0.0.1:{port}/v"))
            .text()
    };
    assert_eq!(fetch(old), "200 upstream /v");
    std::fs::write(&file, new.to_string()).unwrap();
    daemon.signal(nix::sys::signal::Signal::SIGHUP);
    daemon.wait_for_log("reloaded");
    assert_eq!(fetch(new), "200 upstream /v");
    assert_eq!(fetch(old), "error: ErrorCode::HttpRequestDenied");
}

#[test]
fn a_variable_flag_the_app_does_not_declare_is_logged_and_ignored() {
    let port = upstream();
    let app = app("\"http://127.0.0.1:{{ upstream_port }}\"", PORT_VARIABLE);
    let flag = format!("upstream_port={port}");
    let daemon = Daemon::start(&app, &["--variable", &flag, "--variable", "upstrem_port=1"]);
    let log = daemon.wait_for_log("upstrem_port");
    let line = log.lines().find(|l| l.contains("upstrem_port")).unwrap();
    assert!(
        line.contains("WARN") && line.contains("not declared") && line.contains("[variables]"),
        "{line}"
    );
    let path = format!("/fetch/http/127.0.0.1:{port}/v");
    assert_eq!(daemon.get(&path).text(), "200 upstream /v");
    assert!(!daemon.stderr().contains("upstream_port is not declared"));
}

#[test]
fn a_missing_required_variable_is_a_load_error_naming_it() {
    let app = app("\"http://127.0.0.1:{{ upstream_port }}\"", PORT_VARIABLE);
    let out = run(&["check", app.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("upstream_port")
            && err.contains("SPIN_VARIABLE_UPSTREAM_PORT")
            && err.contains("--variable"),
        "{err}"
    );
}

/// An HTTPS server on 127.0.0.1 (certificate for `localhost`) answering
/// `tls upstream <path>`; returns its port and the certificate's PEM.
fn tls_upstream() -> (u16, String) {
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls;
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let pem = cert.pem();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((tcp, _)) = listener.accept().await {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    continue;
                };
                let mut buf = vec![0u8; 4096];
                let n = tls.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).into_owned();
                let path = head.split_whitespace().nth(1).unwrap_or("?").to_owned();
                let body = format!("tls upstream {path}");
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(reply.as_bytes()).await;
                let _ = tls.shutdown().await;
            }
        });
    });
    (port, pem)
}

#[test]
fn outbound_tls_is_verified_against_the_system_root_store() {
    let (port, pem) = tls_upstream();
    let app = app(&format!("\"https://localhost:{port}\""), "");
    let path = format!("/fetch/https/localhost:{port}/secure");
    // Not in the root store: the handshake fails with a certificate error.
    let untrusted = Daemon::start(&app, &[]);
    assert_eq!(
        untrusted.get(&path).text(),
        "error: ErrorCode::TlsCertificateError"
    );
    drop(untrusted);
    // Trusted through SSL_CERT_FILE, which the system store honours.
    app.write("ca.pem", &pem);
    let ca = app.path().join("ca.pem");
    let trusted = Daemon::start_with_env(&app, &[], &[("SSL_CERT_FILE", ca.to_str().unwrap())]);
    assert_eq!(trusted.get(&path).text(), "200 tls upstream /secure");
}
