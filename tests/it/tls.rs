//! HTTPS: certificates of each key type, ALPN (h2 and http/1.1) with curl
//! and an HTTP/2 client crate, the real scheme for guests, stalled
//! handshakes that delay nobody, certificate reload on SIGHUP, and clear
//! errors for bad certificate files.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::manifest::Manifest;
use crate::support::{Daemon, TestApp, require_tool, run};

/// The `echo` guest on every route.
fn app() -> TestApp {
    Manifest::new("tls")
        .route("/...", "echo")
        .component("echo", "echo", "")
        .app()
}

/// A self-signed certificate for `localhost` with common name `cn`, written
/// as `cn.crt` / `cn.key` into `dir`.
fn certificate(
    dir: &Path,
    cn: &str,
    algorithm: &'static rcgen::SignatureAlgorithm,
) -> (PathBuf, PathBuf) {
    let key = rcgen::KeyPair::generate_for(algorithm).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    let cert = params.self_signed(&key).unwrap();
    let (crt, pem) = (dir.join(format!("{cn}.crt")), dir.join(format!("{cn}.key")));
    std::fs::write(&crt, cert.pem()).unwrap();
    std::fs::write(&pem, key.serialize_pem()).unwrap();
    (crt, pem)
}

fn rsa_certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let (crt, key) = (dir.join("rsa.crt"), dir.join("rsa.key"));
    let status = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=rsa",
        ])
        .args(["-addext", "subjectAltName=DNS:localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&crt)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl makes the RSA test certificate");
    assert!(status.success());
    (crt, key)
}

fn start(app: &TestApp, crt: &Path, key: &Path, extra: &[&str]) -> Daemon {
    let mut args = vec![
        "--tls-cert",
        crt.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    Daemon::start(app, &args)
}

/// curl over HTTPS, trusting `ca`; returns (body, http version, stderr).
fn curl(addr: SocketAddr, ca: &Path, path: &str, flags: &[&str]) -> (String, String, String) {
    require_tool("curl", "curl");
    let out = Command::new("curl")
        .args(["-sS", "-v", "--max-time", "20", "--cacert"])
        .arg(ca)
        .arg("--resolve")
        .arg(format!("localhost:{}:127.0.0.1", addr.port()))
        .args(flags)
        .args(["-w", "\n%{http_version}"])
        .arg(format!("https://localhost:{}{path}", addr.port()))
        .output()
        .expect("run curl");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "curl failed: {stderr}");
    let (body, version) = stdout.rsplit_once('\n').unwrap();
    (body.to_owned(), version.to_owned(), stderr)
}

#[test]
fn https_with_each_key_type_negotiates_h2_and_http11_by_alpn() {
    let app = app();
    for (crt, key) in [
        certificate(app.path(), "ecdsa", &rcgen::PKCS_ECDSA_P256_SHA256),
        certificate(app.path(), "ed25519", &rcgen::PKCS_ED25519),
        rsa_certificate(app.path()),
    ] {
        let daemon = start(&app, &crt, &key, &[]);
        assert!(
            daemon.stdout().contains("Serving https://"),
            "{}",
            daemon.stdout()
        );
        let (_, v2, _) = curl(daemon.addr, &crt, "/", &["--http2"]);
        assert_eq!(v2, "2", "{}", crt.display());
        let (_, v1, _) = curl(daemon.addr, &crt, "/", &["--http1.1"]);
        assert_eq!(v1, "1.1", "{}", crt.display());
    }
}

#[test]
fn guests_see_the_https_scheme_over_tls() {
    let app = app();
    let (crt, key) = certificate(app.path(), "scheme", &rcgen::PKCS_ECDSA_P256_SHA256);
    let daemon = start(&app, &crt, &key, &[]);
    let (body, _, _) = curl(daemon.addr, &crt, "/a?b=1", &["--http2"]);
    let echo: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(echo["scheme"], "https");
    let full_url = echo["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0] == "spin-full-url")
        .map(|h| h[1].as_str().unwrap().to_owned());
    assert_eq!(
        full_url,
        Some(format!("https://localhost:{}/a?b=1", daemon.addr.port()))
    );
}

#[test]
fn http2_client_crate_over_tls_gets_answers_on_several_streams() {
    let app = app();
    let (crt, key) = certificate(app.path(), "h2", &rcgen::PKCS_ECDSA_P256_SHA256);
    let daemon = start(&app, &crt, &key, &[]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let statuses = runtime.block_on(async {
        let mut roots = tokio_rustls::rustls::RootCertStore::empty();
        let pem = std::fs::read(&crt).unwrap();
        for cert in rustls_pemfile_certs(&pem) {
            roots.add(cert).unwrap();
        }
        let mut config = tokio_rustls::rustls::ClientConfig::builder_with_provider(Arc::new(
            tokio_rustls::rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        config.alpn_protocols = vec![b"h2".to_vec()];
        let tcp = tokio::net::TcpStream::connect(daemon.addr).await.unwrap();
        let name = tokio_rustls::rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .unwrap();
        assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
        let (sender, conn) = hyper::client::conn::http2::handshake(
            hyper_util::rt::TokioExecutor::new(),
            hyper_util::rt::TokioIo::new(tls),
        )
        .await
        .unwrap();
        tokio::spawn(conn);
        let mut streams = Vec::new();
        for i in 0..5 {
            let mut sender = sender.clone();
            streams.push(tokio::spawn(async move {
                let request = hyper::Request::get(format!("https://localhost/stream/{i}"))
                    .body(http_body_util::Empty::<bytes::Bytes>::new())
                    .unwrap();
                sender
                    .send_request(request)
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }));
        }
        let mut statuses = Vec::new();
        for stream in streams {
            statuses.push(stream.await.unwrap());
        }
        statuses
    });
    assert_eq!(statuses, [200; 5]);
}

fn rustls_pemfile_certs(
    pem: &[u8],
) -> Vec<tokio_rustls::rustls::pki_types::CertificateDer<'static>> {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    tokio_rustls::rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn stalled_tls_clients_do_not_delay_a_fourth() {
    let app = app();
    let (crt, key) = certificate(app.path(), "stall", &rcgen::PKCS_ECDSA_P256_SHA256);
    let daemon = start(&app, &crt, &key, &["--header-read-timeout", "60s"]);
    let stalled: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(daemon.addr).unwrap())
        .collect();
    let started = Instant::now();
    let (_, version, _) = curl(daemon.addr, &crt, "/", &["--http1.1"]);
    assert_eq!(version, "1.1");
    // Well under the 60 s handshake timeout the stalled clients could hold.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    drop(stalled);
}

#[test]
fn certificate_swapped_on_sighup_is_served_and_a_bad_one_keeps_the_old() {
    let app = app();
    let dir = app.path();
    let (crt, key) = certificate(dir, "first", &rcgen::PKCS_ECDSA_P256_SHA256);
    let daemon = start(&app, &crt, &key, &[]);
    let (_, _, before) = curl(daemon.addr, &crt, "/", &[]);
    assert!(before.contains("CN=first"), "{before}");

    let (new_crt, new_key) = certificate(dir, "second", &rcgen::PKCS_ECDSA_P256_SHA256);
    std::fs::copy(&new_crt, &crt).unwrap();
    std::fs::copy(&new_key, &key).unwrap();
    daemon.signal(Signal::SIGHUP);
    daemon.wait_for_log("certificate reloaded");
    let (_, _, after) = curl(daemon.addr, &crt, "/", &[]);
    assert!(after.contains("CN=second"), "{after}");

    std::fs::write(&crt, "not a certificate").unwrap();
    daemon.signal(Signal::SIGHUP);
    let log = daemon.wait_for_log("certificate reload failed");
    assert!(log.contains("--tls-cert"), "{log}");
    let (_, _, still) = curl(daemon.addr, &new_crt, "/", &[]);
    assert!(still.contains("CN=second"), "{still}");
}

#[test]
fn unusable_certificate_files_are_clear_startup_errors() {
    let app = app();
    let dir = app.path();
    let (crt, key) = certificate(dir, "pair", &rcgen::PKCS_ECDSA_P256_SHA256);
    let (_, other_key) = certificate(dir, "other", &rcgen::PKCS_ECDSA_P256_SHA256);
    let app_path = dir.to_str().unwrap();
    let missing = dir.join("missing.crt");
    for (cert, key, needle) in [
        (missing.as_path(), key.as_path(), "missing.crt"),
        (crt.as_path(), crt.as_path(), "--tls-key"),
        (
            crt.as_path(),
            other_key.as_path(),
            "do not form a usable pair",
        ),
    ] {
        let out = run(&[
            "serve",
            app_path,
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(78));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{needle}: {err}");
    }
}

#[test]
fn failed_handshakes_are_counted_and_https_connections_by_listener() {
    use std::io::{Read, Write};
    let app = app();
    let (crt, key) = certificate(app.path(), "count", &rcgen::PKCS_ECDSA_P256_SHA256);
    let daemon = start(&app, &crt, &key, &["--admin-listen", "127.0.0.1:0"]);
    let admin = crate::scrape::admin_addr(&daemon);
    // Plain HTTP to the TLS port: the handshake fails and the connection closes.
    let mut plain = TcpStream::connect(daemon.addr).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut rest = Vec::new();
    let _ = plain.read_to_end(&mut rest);
    let failures = "wasi_httpd_tls_handshake_failures_total";
    crate::scrape::expect(admin, failures, &[], 1.0);
    let (body, _, _) = curl(daemon.addr, &crt, "/ok", &["--http1.1"]);
    assert!(body.contains("\"path_with_query\":\"/ok\""), "{body}");
    crate::scrape::expect(admin, failures, &[], 1.0);
    let ok = [("route", "/..."), ("component", "echo"), ("code", "200")];
    crate::scrape::expect(admin, "wasi_httpd_requests_total", &ok, 1.0);
    let https = [("listener", "https")];
    crate::scrape::expect(admin, "wasi_httpd_connections_open", &https, 0.0);
}
