//! The admin listener: `/metrics` counts known traffic exactly (and passes
//! `promtool check metrics`), `/healthz` and `/readyz` follow the
//! lifecycle, and the admin paths and the app's routes never mix.

use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::activation::{Activated, Sock, has};
use crate::manifest::Manifest;
use crate::scrape::{admin_addr, expect, scrape};
use crate::support::{Daemon, TestApp, get, require_tool, send, send_unix};

const LONG: Duration = Duration::from_secs(60);

/// The app whose traffic the tests count, with the `hello` component on
/// `hello`.
fn metered(hello: &str) -> Manifest {
    Manifest::new("metered")
        .toml(r#"version = "1.2.3""#)
        .route(hello, "hello")
        .route("/trap/...", "trap")
        .route("/grow/...", "trap")
        .route("/fetch/...", "outbound")
        .trigger(
            r#""/static""#,
            r#"static_response = { status_code = 201, body = "s" }"#,
        )
        .route("/slow", "slow")
        .component("hello", "hello", "")
        .component("trap", "trap", "")
        .component("slow", "slow", "")
        .component(
            "outbound",
            "outbound",
            r#"allowed_outbound_hosts = ["http://hello.spin.internal"]"#,
        )
}

#[test]
fn metrics_count_known_traffic_exactly_and_pass_promtool() {
    let app = metered("/hello").app();
    let daemon = Daemon::start(
        &app,
        &[
            "--admin-listen",
            "127.0.0.1:0",
            "--max-instance-memory",
            "32MiB",
            "--max-body-size",
            "1KiB",
        ],
    );
    let admin = admin_addr(&daemon);
    for _ in 0..3 {
        assert_eq!(daemon.get("/hello").status, 200);
    }
    assert_eq!(daemon.get("/trap/a").status, 500);
    assert_eq!(daemon.get("/trap/b").status, 500);
    assert_eq!(daemon.get("/grow/64").status, 500);
    assert_eq!(daemon.get("/nowhere").status, 404);
    assert_eq!(daemon.get("/static").status, 201);
    assert_eq!(daemon.get("/.well-known/spin/health").status, 200);
    let chained = daemon.get("/fetch/http/hello.spin.internal/hello");
    assert!(chained.text().starts_with("200 "), "{}", chained.text());
    let denied = daemon.get("/fetch/http/example.com/");
    assert!(
        denied.text().contains("HttpRequestDenied"),
        "{}",
        denied.text()
    );
    let big = send(
        daemon.addr,
        "POST /hello HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4096\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(big.status, 413);
    let smuggled = send(
        daemon.addr,
        "POST /hello HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    );
    assert_eq!(smuggled.status, 400);

    let requests = "wasi_httpd_requests_total";
    let hello = [("route", "/hello"), ("component", "hello")];
    expect(admin, requests, &[hello[0], hello[1], ("code", "200")], 3.0);
    // The chained request to `hello` ran no route: it is not a request.
    let trap = [
        ("route", "/trap/..."),
        ("component", "trap"),
        ("code", "500"),
    ];
    expect(admin, requests, &trap, 2.0);
    let grow = [
        ("route", "/grow/..."),
        ("component", "trap"),
        ("code", "500"),
    ];
    expect(admin, requests, &grow, 1.0);
    let none = [
        ("route", "(none)"),
        ("component", "(none)"),
        ("code", "404"),
    ];
    expect(admin, requests, &none, 1.0);
    let too_big = [
        ("route", "(none)"),
        ("component", "(none)"),
        ("code", "413"),
    ];
    expect(admin, requests, &too_big, 1.0);
    let stat = [
        ("route", "/static"),
        ("component", "(static)"),
        ("code", "201"),
    ];
    expect(admin, requests, &stat, 1.0);
    let health = [
        ("route", "/.well-known/spin/health"),
        ("component", "(well-known)"),
        ("code", "200"),
    ];
    expect(admin, requests, &health, 1.0);

    let errors = "wasi_httpd_guest_errors_total";
    expect(
        admin,
        errors,
        &[("component", "trap"), ("kind", "trap")],
        2.0,
    );
    expect(
        admin,
        errors,
        &[("component", "trap"), ("kind", "memory")],
        1.0,
    );
    expect(
        admin,
        errors,
        &[("component", "hello"), ("kind", "trap")],
        0.0,
    );

    let outbound = "wasi_httpd_outbound_requests_total";
    let ob = |result| [("component", "outbound"), ("result", result)];
    expect(admin, outbound, &ob("allowed"), 1.0);
    expect(admin, outbound, &ob("denied"), 1.0);
    expect(admin, outbound, &ob("failed"), 0.0);

    let rejected = "wasi_httpd_rejected_total";
    expect(admin, rejected, &[("reason", "body_too_large")], 1.0);
    expect(admin, rejected, &[("reason", "ambiguous_framing")], 1.0);
    expect(admin, rejected, &[("reason", "queue_full")], 0.0);

    // Three requests and one chained call made four `hello` instances, all
    // gone now; the histogram counted the three requests.
    let created = "wasi_httpd_instances_created_total";
    expect(admin, created, &[("component", "hello")], 4.0);
    expect(admin, "wasi_httpd_instances_active", &[], 0.0);
    expect(
        admin,
        "wasi_httpd_request_duration_seconds_count",
        &hello,
        3.0,
    );
    let inf = [hello[0], hello[1], ("le", "+Inf")];
    expect(
        admin,
        "wasi_httpd_request_duration_seconds_bucket",
        &inf,
        3.0,
    );
    expect(admin, "wasi_httpd_requests_in_flight", &[], 0.0);
    expect(
        admin,
        "wasi_httpd_connections_open",
        &[("listener", "http")],
        0.0,
    );
    let info = [("app", "metered"), ("version", "1.2.3")];
    expect(admin, "wasi_httpd_app_info", &info, 1.0);
    expect(admin, "wasi_httpd_ready", &[], 1.0);

    let text = scrape(admin);
    // The man page documents every metric family served.
    let man = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/man/wasi-httpd.8"))
        .unwrap()
        .replace("\\-", "-");
    for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
        let name = line.split_whitespace().nth(2).unwrap();
        assert!(
            man.contains(name),
            "man/wasi-httpd.8 does not document {name}"
        );
    }

    require_tool("promtool", "prometheus");
    let mut lint = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run promtool");
    use std::io::Write;
    lint.stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = lint.wait_with_output().unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `--log-level info,access=off` drops the access records and nothing
/// else; the requests are still counted.
#[test]
fn access_records_filtered_out_still_count_the_requests() {
    let app = metered("/hello").app();
    let daemon = Daemon::start(
        &app,
        &[
            "--admin-listen",
            "127.0.0.1:0",
            "--log-level",
            "info,access=off",
        ],
    );
    let admin = admin_addr(&daemon);
    for _ in 0..3 {
        assert_eq!(daemon.get("/hello").status, 200);
    }
    let hello = [("route", "/hello"), ("component", "hello"), ("code", "200")];
    expect(admin, "wasi_httpd_requests_total", &hello, 3.0);
    // Every queued line is out once the process has exited.
    let stderr = daemon.stderr.clone();
    assert_eq!(daemon.terminate().code(), Some(0));
    let deadline = Instant::now() + Duration::from_secs(10);
    while Arc::strong_count(&stderr) > 1 {
        assert!(Instant::now() < deadline, "stderr never closed");
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = stderr.lock().unwrap().clone();
    assert!(
        log.contains("wasmtime engine ready"),
        "info records stay:\n{log}"
    );
    assert!(!log.contains("GET /hello"), "no access record:\n{log}");
}

#[test]
fn admin_paths_and_app_routes_never_mix() {
    let app = metered("/...").app();
    let daemon = Daemon::start(&app, &["--admin-listen", "127.0.0.1:0"]);
    let admin = admin_addr(&daemon);
    // On the app's listener, /metrics is the app's (here its catch-all).
    let on_app = daemon.get("/metrics");
    assert_eq!(on_app.text(), "hello from wasi-httpd\n");
    assert_eq!(daemon.get("/healthz").text(), "hello from wasi-httpd\n");
    // On the admin listener, app routes are not served.
    for path in ["/", "/hello", "/static", "/.well-known/spin/health"] {
        assert_eq!(get(admin, path).status, 404, "{path}");
    }
    assert_eq!(get(admin, "/healthz").text(), "ok\n");
    assert_eq!(get(admin, "/readyz").text(), "ready\n");
    let post = send(
        admin,
        "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
}

#[test]
fn readyz_says_loading_then_ready_then_draining_on_a_socket_named_admin() {
    // The first load blocks reading a credential that is a FIFO, until the
    // test writes it: the admin socket answers meanwhile.
    let creds = tempfile::tempdir().unwrap();
    let fifo = creds.path().join("greeting");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let app = metered("/hello")
        .toml("[variables]\ngreeting = { required = true }")
        .app();
    let mut daemon = Activated::spawn(
        &app,
        &[Sock::Tcp("http"), Sock::Unix("admin")],
        &[("CREDENTIALS_DIRECTORY", creds.path().to_str().unwrap())],
        &[],
    );
    let admin = daemon.unix[0].clone();
    let get_admin = |path: &str| {
        send_unix(
            &admin,
            &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        )
    };
    let deadline = Instant::now() + LONG;
    let loading = loop {
        if let Ok(stream) = std::os::unix::net::UnixStream::connect(&admin) {
            drop(stream);
            break get_admin("/readyz");
        }
        assert!(Instant::now() < deadline, "{}", daemon.stderr());
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(loading.status, 503, "{}", loading.text());
    assert_eq!(loading.text(), "loading the app\n");
    assert_eq!(get_admin("/healthz").status, 200);
    std::fs::write(&fifo, "hi").unwrap();
    daemon.notify.wait_for(LONG, |m| has(m, "READY=1"));
    assert_eq!(get_admin("/readyz").status, 200);
    assert!(
        get_admin("/metrics")
            .text()
            .contains("wasi_httpd_ready 1\n")
    );

    // Draining: a slow request holds the drain open; /readyz says so.
    let http = daemon.tcp[0];
    let slow = std::thread::spawn(move || get(http, "/slow?ms=3000"));
    daemon.wait_for_log("sleeping");
    daemon.signal(Signal::SIGTERM);
    daemon.notify.wait_for(LONG, |m| has(m, "STOPPING=1"));
    let draining = get_admin("/readyz");
    assert_eq!(draining.status, 503);
    assert_eq!(draining.text(), "draining\n");
    assert_eq!(slow.join().unwrap().status, 200);
    assert!(daemon.wait(LONG).success(), "{}", daemon.stderr());
}

#[test]
fn reloads_and_the_compile_cache_are_counted() {
    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().to_str().unwrap();
    let app = metered("/hello").app();
    let args = ["--admin-listen", "127.0.0.1:0", "--cache-dir", cache_dir];
    let first = Daemon::start(&app, &args);
    let admin = admin_addr(&first);
    expect(admin, "wasi_httpd_compile_cache_misses_total", &[], 4.0);
    expect(admin, "wasi_httpd_compile_cache_hits_total", &[], 0.0);
    drop(first);

    let daemon = Daemon::start(&app, &args);
    let admin = admin_addr(&daemon);
    expect(admin, "wasi_httpd_compile_cache_hits_total", &[], 4.0);
    expect(admin, "wasi_httpd_compile_cache_misses_total", &[], 0.0);
    let reloads = "wasi_httpd_reloads_total";
    daemon.signal(Signal::SIGHUP);
    expect(admin, reloads, &[("result", "ok")], 1.0);
    app.write("spin.toml", "spin_manifest_version = 2\n[application]\n");
    daemon.signal(Signal::SIGHUP);
    expect(admin, reloads, &[("result", "failed")], 1.0);
    expect(admin, reloads, &[("result", "ok")], 1.0);
    // The old app is still served, and still named.
    let info = [("app", "metered"), ("version", "1.2.3")];
    expect(admin, "wasi_httpd_app_info", &info, 1.0);
}

#[test]
fn a_bad_admin_address_is_a_clear_error() {
    let app = metered("/hello").app();
    let out = crate::support::run(&[
        "serve",
        app.path().to_str().unwrap(),
        "--admin-listen",
        "localhost",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("HOST:PORT"), "{err}");
}

/// An app with a guest for each way a request is refused or fails.
fn limited() -> TestApp {
    Manifest::new("limited")
        .route("/slow", "slow")
        .route("/loop", "trap")
        .route("/none", "noresponse")
        .route("/p3", "p3")
        .component("slow", "slow", "")
        .component("trap", "trap", "")
        .component("noresponse", "noresponse", "")
        .component("p3", "p3hello", "")
        .app()
}

#[test]
fn rejections_guest_failures_and_instance_reuse_are_counted_by_kind() {
    let app = limited();
    let daemon = Daemon::start(
        &app,
        &[
            "--admin-listen",
            "127.0.0.1:0",
            "--max-concurrent-requests",
            "1",
            "--max-pending-requests",
            "0",
            "--request-timeout",
            "2s",
            "--max-header-size",
            "8KiB",
        ],
    );
    let admin = admin_addr(&daemon);
    let addr = daemon.addr;
    let slow = std::thread::spawn(move || get(addr, "/slow?ms=1500"));
    daemon.wait_for_log("sleeping");
    let refused = daemon.get("/none");
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert_eq!(slow.join().unwrap().status, 200);
    let rejected = "wasi_httpd_rejected_total";
    expect(admin, rejected, &[("reason", "queue_full")], 1.0);

    assert_eq!(daemon.get("/loop").status, 504);
    assert_eq!(daemon.get("/none").status, 500);
    let errors = "wasi_httpd_guest_errors_total";
    expect(
        admin,
        errors,
        &[("component", "trap"), ("kind", "timeout")],
        1.0,
    );
    expect(
        admin,
        errors,
        &[("component", "noresponse"), ("kind", "no_response")],
        1.0,
    );
    expect(
        admin,
        errors,
        &[("component", "noresponse"), ("kind", "trap")],
        0.0,
    );

    let big = format!(
        "GET /slow HTTP/1.1\r\nHost: localhost\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(10_000)
    );
    assert_eq!(send(daemon.addr, &big).status, 431);
    expect(admin, rejected, &[("reason", "header_too_large")], 1.0);

    // wasi:http 0.3: one instance serves the three requests in a row.
    for _ in 0..3 {
        assert_eq!(daemon.get("/p3").status, 200);
    }
    expect(
        admin,
        "wasi_httpd_instances_created_total",
        &[("component", "p3")],
        1.0,
    );
    expect(
        admin,
        "wasi_httpd_instance_reuses_total",
        &[("component", "p3")],
        2.0,
    );
}

#[test]
fn reaching_the_connection_cap_is_counted() {
    let app = limited();
    let daemon = Daemon::start(
        &app,
        &["--admin-listen", "127.0.0.1:0", "--max-connections", "2"],
    );
    let admin = admin_addr(&daemon);
    let request = "GET /p3 HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let mut first = crate::support::Connection::open(daemon.addr);
    assert_eq!(first.send(request).status, 200);
    let mut second = crate::support::Connection::open(daemon.addr);
    assert_eq!(second.send(request).status, 200);
    let limit = [("reason", "connection_limit")];
    expect(admin, "wasi_httpd_rejected_total", &limit, 1.0);
    expect(
        admin,
        "wasi_httpd_connections_open",
        &[("listener", "http")],
        2.0,
    );
    // A third waits in the kernel's queue until one of the two closes.
    let waiting = std::thread::spawn(move || get(daemon.addr, "/p3").status);
    drop(first);
    assert_eq!(waiting.join().unwrap(), 200);
    expect(admin, "wasi_httpd_rejected_total", &limit, 2.0);
    assert_eq!(second.send(request).status, 200);
}
