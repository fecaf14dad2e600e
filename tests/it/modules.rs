//! Core WebAssembly modules (built for wasm32-wasip1) are made components at
//! load, as Spin does: a spin-sdk module with the preview 1 reactor
//! adapter, a WASI command with the command adapter (served by WAGI). A
//! module that fits neither is refused with a reason.

use crate::manifest::Manifest;
use crate::support::{Daemon, TestApp, run, vars};

/// A spin-sdk module on `/sdk/...` and a WASI command, served by WAGI, on
/// `/cgi/...`.
fn app() -> TestApp {
    Manifest::new("modules")
        .route("/sdk/...", "sdk")
        .route_with("/cgi/...", "cgi", WAGI)
        .component("sdk", "wasip1/spinsdk", "")
        .component("cgi", "wasip1/cgi", "")
        .app()
}

const WAGI: &str = r#"executor = { type = "wagi" }"#;

#[test]
fn wasip1_modules_are_componentized_and_served() {
    let daemon = Daemon::start(&app(), &[]);
    let sdk = daemon.get("/sdk/x?y=1");
    assert_eq!(sdk.status, 200, "{}", sdk.text());
    assert_eq!(sdk.text(), "hello from spin-sdk");
    assert_eq!(sdk.header("x-path-info"), Some("/x"));

    let cgi = daemon.send("POST", "/cgi/run?a=1", "body");
    assert_eq!(cgi.status, 200, "{}", cgi.text());
    let v = vars(&cgi.text());
    // As in Spin: the request path, then the query's words.
    assert_eq!(v["argv"], "/cgi/run a=1");
    assert_eq!(v["PATH_INFO"], "/run");
    assert_eq!(v["stdin"], "body");

    let log = daemon.stderr();
    assert_eq!(
        log.matches("made the core WebAssembly module a component")
            .count(),
        2,
        "{log}"
    );
}

#[test]
fn a_module_that_is_neither_a_sdk_module_nor_a_command_is_refused() {
    let app = TestApp::new(
        "spin_manifest_version = 2\n[application]\nname = \"x\"\n\n[[trigger.http]]\nroute = \"/\"\ncomponent = \"old\"\n\n[component.old]\nsource = \"old.wasm\"\n",
    );
    // An empty core module: no component metadata, no `_start`.
    std::fs::write(app.path().join("old.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let out = run(&["check", app.path().join("spin.toml").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("component.old.source")
            && err.contains("Spin 1 SDK")
            && err.contains("rebuild with spin-sdk 3"),
        "{err}"
    );
}
