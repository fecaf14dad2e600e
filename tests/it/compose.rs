//! Component dependencies and HTTP middleware, composed at load as Spin
//! composes them: `greetuser` imports `test:deps/greet`, which the
//! `greeter` library satisfies; `mwauth` and `mwtag` are wasi:http 0.3
//! middleware in front of `p3hello`.

use crate::manifest::Manifest;
use crate::support::{Daemon, TestApp, run};

/// `greetuser` on `/...` with `dependencies` (TOML lines) and `extra`
/// lines in its component table.
fn user_app(dependencies: &str, extra: &str) -> TestApp {
    let app = Manifest::new("deps")
        .route("/...", "user")
        .component(
            "user",
            "greetuser",
            &format!(
                "environment = {{ GREETING = \"hola\" }}\nfiles = [\"greeting.txt\"]\n{extra}\n\
                 [component.user.dependencies]\n{dependencies}"
            ),
        )
        .component("greeter", "greeter", "")
        .app();
    app.write("greeting.txt", "hi from a file");
    app
}

#[test]
fn a_dependency_satisfies_the_import_under_each_name_spin_accepts() {
    for dependency in [
        "\"test:deps/greet\" = { path = \"{greeter.wasm}\" }",
        "\"test:deps/greet@0.1.0\" = { path = \"{greeter.wasm}\" }",
        "\"test:deps\" = { path = \"{greeter.wasm}\" }",
        "\"test:deps@0.1.0\" = { path = \"{greeter.wasm}\" }",
        "\"test:deps/greet\" = { component = \"greeter\" }",
        "\"test:deps/greet\" = { component = \"greeter\", export = \"test:deps/greet@0.1.0\" }",
    ] {
        let daemon = Daemon::start(&user_app(dependency, ""), &[]);
        let response = daemon.get("/greet/bob");
        assert_eq!(response.status, 200, "{dependency}: {}", response.text());
        assert_eq!(response.text(), "hello, bob!", "{dependency}");
    }
}

#[test]
fn a_dependency_gets_only_the_configuration_it_inherits() {
    let lib = "\"test:deps/greet\" = { path = \"{greeter.wasm}\" }";
    let daemon = Daemon::start(&user_app(lib, ""), &[]);
    assert_eq!(daemon.get("/greet/x").status, 200);
    assert_eq!(daemon.get("/env").status, 500);
    daemon.wait_for_log(
        "a dependency of this component called `get-environment` of `wasi:cli/environment",
    );
    daemon.wait_for_log("does not inherit `environment`");
    assert_eq!(daemon.get("/file/greeting.txt").status, 500);
    daemon.wait_for_log("does not inherit `files`");
    drop(daemon);

    let env_only = "\"test:deps/greet\" = { path = \"{greeter.wasm}\", inherit_configuration = [\"environment\"] }";
    let daemon = Daemon::start(&user_app(env_only, ""), &[]);
    assert_eq!(daemon.get("/env").text(), "hola / hola");
    assert_eq!(daemon.get("/file/greeting.txt").status, 500);
    drop(daemon);

    let daemon = Daemon::start(
        &user_app(lib, "dependencies_inherit_configuration = true"),
        &[],
    );
    assert_eq!(daemon.get("/env").text(), "hola / hola");
    assert_eq!(daemon.get("/file/greeting.txt").text(), "hi from a file");
}

const AUTHORIZED: &str =
    "GET /x HTTP/1.1\r\nHost: localhost\r\nAuthorization: yes\r\nConnection: close\r\n\r\n";

#[test]
fn a_reload_recomposes_when_only_the_inheritance_changed() {
    let lib = "\"test:deps/greet\" = { path = \"{greeter.wasm}\" }";
    let app = user_app(lib, "");
    let daemon = Daemon::start(&app, &[]);
    assert_eq!(daemon.get("/env").status, 500);
    // Same files, new inherit_configuration: the cached composition is stale.
    let text = std::fs::read_to_string(app.manifest()).unwrap();
    let path = crate::support::wasm("greeter").display().to_string();
    let granted = text.replace(
        &format!("{{ path = \"{path}\" }}"),
        &format!("{{ path = \"{path}\", inherit_configuration = [\"environment\"] }}"),
    );
    assert_ne!(granted, text);
    std::fs::write(app.manifest(), granted).unwrap();
    daemon.signal(nix::sys::signal::Signal::SIGHUP);
    daemon.wait_for_log("reloaded: new requests go to the new app");
    assert_eq!(daemon.get("/env").text(), "hola / hola");
}

/// `p3hello` on `/...` behind `middleware` (component ids, outermost first).
fn middleware_app(middleware: &[&str]) -> TestApp {
    middleware_app_for("p3hello", middleware)
}

/// As [`middleware_app`], with the guest `handler` as the handler.
fn middleware_app_for(handler: &str, middleware: &[&str]) -> TestApp {
    let list: Vec<String> = middleware
        .iter()
        .map(|id| format!("{{ component = \"{id}\" }}"))
        .collect();
    Manifest::new("mw")
        .route_with(
            "/...",
            "p3",
            &format!("dependencies = {{ middleware = [{}] }}", list.join(", ")),
        )
        .component("p3", handler, "")
        .component("mwauth", "mwauth", "")
        .component("mwtag", "mwtag", "")
        .app()
}

#[test]
fn middleware_runs_outermost_first_in_front_of_the_handler() {
    let daemon = Daemon::start(&middleware_app(&["mwtag", "mwauth"]), &[]);
    let denied = daemon.get("/x");
    assert_eq!(denied.status, 401);
    assert_eq!(denied.text(), "unauthorized (mwauth)");
    assert_eq!(denied.header("x-middleware"), Some("mwtag"));
    let allowed = daemon.raw(AUTHORIZED);
    assert_eq!(allowed.status, 200, "{}", allowed.text());
    assert_eq!(allowed.text(), "hello from p3 /x");
    assert_eq!(allowed.header("x-middleware"), Some("mwtag"));
    drop(daemon);

    // The other order: mwauth answers before mwtag ever sees the request.
    let daemon = Daemon::start(&middleware_app(&["mwauth", "mwtag"]), &[]);
    let denied = daemon.get("/x");
    assert_eq!(denied.status, 401);
    assert_eq!(denied.header("x-middleware"), None);
    let allowed = daemon.raw(AUTHORIZED);
    assert_eq!(allowed.header("x-middleware"), Some("mwtag"));
}

fn check_fails(app: &TestApp, needles: &[&str]) {
    let out = run(&["check", app.manifest().to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{err}");
    for needle in ["spin.toml"].iter().chain(needles) {
        assert!(err.contains(needle), "{needle:?} not in: {err}");
    }
}

#[test]
fn what_cannot_be_composed_is_a_load_error_naming_it() {
    check_fails(
        &user_app("\"test:other/greet\" = { path = \"{greeter.wasm}\" }", ""),
        &[
            "`component.user.dependencies`",
            "dependency 'test:other/greet' doesn't match any imports of component 'user'",
            "test:deps/greet@0.1.0",
        ],
    );
    check_fails(
        &user_app(
            "\"test:deps/greet\" = { path = \"{greeter.wasm}\", export = \"test:deps/nope\" }",
            "",
        ),
        &[
            "dependency 'test:deps/greet' doesn't export 'test:deps/nope' to satisfy import 'test:deps/greet@0.1.0'",
        ],
    );
    check_fails(
        &user_app("\"test:deps/greet\" = { path = \"{hello.wasm}\" }", ""),
        &["doesn't export 'test:deps/greet@0.1.0'"],
    );
    check_fails(
        &middleware_app_for("hello", &["mwtag"]),
        &[
            "does not export `wasi:http/handler@0.3.x`",
            "wasi:http/incoming-handler",
        ],
    );
    check_fails(
        &TestApp::new(
            "spin_manifest_version = 2\n[application]\nname = \"mw\"\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"p3\"\n\
             dependencies = { middleware = [{ path = \"{greeter.wasm}\" }] }\n[component.p3]\nsource = \"{p3hello.wasm}\"\n",
        ),
        &["middleware[0]", "is not wasi:http middleware"],
    );
}
