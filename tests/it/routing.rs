//! Spin's route rules, observed from outside: precedence, wildcards,
//! duplicates, reserved and private routes, 404s. Static responses name the
//! route that answered, so no guest is needed.

use crate::manifest::Manifest;
use crate::support::{Daemon, TestApp};

fn app(routes: &[(&str, &str)]) -> TestApp {
    routes
        .iter()
        .fold(Manifest::new("routes"), |manifest, (path, name)| {
            manifest.static_response(path, name)
        })
        .app()
}

#[test]
fn precedence_is_exact_then_param_then_longest_wildcard_regardless_of_order() {
    let app = app(&[
        ("/...", "root-wildcard"),
        ("/users/...", "users-wildcard"),
        ("/users/:id", "users-param"),
        ("/users/me", "users-exact"),
        ("/users/:id/files/...", "user-files"),
    ]);
    let daemon = Daemon::start(&app, &[]);
    for (path, expected) in [
        ("/users/me", "users-exact"),
        ("/users/42", "users-param"),
        ("/users", "users-wildcard"),
        ("/users/", "users-wildcard"),
        ("/users/42/other", "users-wildcard"),
        ("/users/42/files/a/b", "user-files"),
        ("/elsewhere", "root-wildcard"),
        ("/", "root-wildcard"),
    ] {
        let response = daemon.get(path);
        assert_eq!(response.status, 200, "{path}");
        assert_eq!(response.text(), expected, "{path}");
    }
}

#[test]
fn wildcard_matches_its_bare_prefix_with_and_without_trailing_slash() {
    let app = app(&[("/foo/...", "foo")]);
    let daemon = Daemon::start(&app, &[]);
    for path in ["/foo", "/foo/", "/foo/x", "/foo/x/y?z=1"] {
        assert_eq!(daemon.get(path).text(), "foo", "{path}");
    }
    assert_eq!(daemon.get("/foobar").status, 404);
}

#[test]
fn missing_leading_slash_is_added_and_trailing_slash_dropped() {
    let app = app(&[("hello/", "hello")]);
    let daemon = Daemon::start(&app, &[]);
    assert_eq!(daemon.get("/hello").text(), "hello");
    assert_eq!(daemon.get("/hello/").text(), "hello");
}

#[test]
fn no_route_is_404_with_empty_body_and_a_one_time_hint() {
    let app = app(&[("/only", "only")]);
    let daemon = Daemon::start(&app, &[]);
    let response = daemon.get("/missing");
    assert_eq!(response.status, 404);
    assert!(response.body.is_empty(), "body: {:?}", response.text());
    assert_eq!(daemon.get("/missing-again").status, 404);
    let log = daemon.wait_for_log("/missing-again");
    assert_eq!(log.matches("catch-all").count(), 1, "log:\n{log}");
}

#[test]
fn duplicate_routes_last_wins_and_each_duplicate_is_logged_as_an_error() {
    let app = app(&[("/dup", "first"), ("/dup", "second"), ("/dup", "third")]);
    let daemon = Daemon::start(&app, &[]);
    assert_eq!(daemon.get("/dup").text(), "third");
    // The route warnings come before the `serving` line; stderr is read
    // on a thread of its own, so wait for that line.
    let log = daemon.wait_for_log("listeners=");
    let errors: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("ERROR") && l.contains("/dup"))
        .collect();
    assert_eq!(errors.len(), 2, "log:\n{log}");
}

#[test]
fn well_known_routes_are_reported_unreachable_and_never_reached() {
    let app = app(&[
        ("/.well-known/spin/health", "mine"),
        ("/.well-known/spin/custom/...", "custom"),
    ]);
    let daemon = Daemon::start(&app, &[]);
    let health = daemon.get("/.well-known/spin/health");
    assert_eq!(health.text(), "OK");
    assert_eq!(daemon.get("/.well-known/spin/custom/x").status, 404);
    // The warnings were logged before the daemon served; stderr is read
    // on a thread of its own, so wait for them rather than read it once.
    daemon.wait_for_log("/.well-known/spin/health");
    daemon.wait_for_log("/.well-known/spin/custom/...");
}

#[test]
fn well_known_health_and_info_answer_for_any_method() {
    let app = Manifest::new("shop")
        .toml(r#"version = "1.2.3""#)
        .static_response("/...", "app")
        .app();
    let daemon = Daemon::start(&app, &[]);
    let health = daemon.raw("POST /.well-known/spin/health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    assert_eq!((health.status, health.text().as_str()), (200, "OK"));
    let info = daemon.get("/.well-known/spin/info");
    assert_eq!(info.status, 200);
    assert_eq!(info.header("content-type"), Some("application/json"));
    assert_eq!(
        info.json(),
        serde_json::json!({"name": "shop", "version": "1.2.3"})
    );
    let other = daemon.get("/.well-known/spin/other");
    assert_eq!(other.status, 404);
    assert!(other.body.is_empty());
}

#[test]
fn private_routes_are_never_reachable_from_outside() {
    let app = Manifest::new("p")
        .trigger(
            "{ private = true }",
            r#"static_response = { body = "secret" }"#,
        )
        .static_response("/public", "public")
        .app();
    let daemon = Daemon::start(&app, &[]);
    assert_eq!(daemon.get("/public").text(), "public");
    for path in ["/", "/secret", "/private"] {
        assert_eq!(daemon.get(path).status, 404, "{path}");
    }
}

#[test]
fn static_response_sends_status_headers_and_body() {
    let app = Manifest::new("s")
        .trigger(
            r#""/old""#,
            r#"static_response = { status_code = 301, headers = { location = "/new", x-extra = "1" }, body = "moved" }"#,
        )
        .static_response("/plain", "plain")
        .trigger(r#""/empty""#, "static_response = { status_code = 204 }")
        .app();
    let daemon = Daemon::start(&app, &[]);
    let old = daemon.get("/old");
    assert_eq!(old.status, 301);
    assert_eq!(old.header("location"), Some("/new"));
    assert_eq!(old.header("x-extra"), Some("1"));
    assert_eq!(old.text(), "moved");
    let plain = daemon.get("/plain");
    assert_eq!((plain.status, plain.text().as_str()), (200, "plain"));
    let empty = daemon.get("/empty");
    assert_eq!(empty.status, 204);
    assert!(empty.body.is_empty());
}
