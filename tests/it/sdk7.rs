//! An app built with spin-sdk 7 (the current Spin SDK): a wasi:http 0.3
//! service using the async `spin:variables@3.0.0` and
//! `spin:key-value@3.0.0`, and importing `spin:sqlite@3.1.0`, which
//! wasi-httpd does not provide. It loads as under Spin; only the requests
//! that call SQLite fail, with a log naming the interface.

use crate::support::{Daemon, TestApp};

const APP: &str = r#"spin_manifest_version = 2
[application]
name = "sdk7"

[variables]
greeting = { default = "hello" }

[[trigger.http]]
route = "/..."
component = "sdk7"

[component.sdk7]
source = "{sdk7.wasm}"
key_value_stores = ["default"]

[component.sdk7.variables]
message = "{{ greeting }} from spin-sdk 7"
"#;

#[test]
fn spin_sdk_7_variables_and_key_value_work() {
    let app = TestApp::new(APP);
    let daemon = Daemon::start(&app, &["--variable", "greeting=hi"]);
    assert_eq!(daemon.get("/var/message").text(), "hi from spin-sdk 7");
    daemon.get("/var/nope").assert_guest_error("Undefined");

    assert_eq!(
        daemon.send("PUT", "/kv/default/set/b", "2").text(),
        "stored"
    );
    assert_eq!(
        daemon.send("PUT", "/kv/default/set/a", "1").text(),
        "stored"
    );
    assert_eq!(daemon.get("/kv/default/get/a").text(), "1");
    // get-keys: every key on a stream, then the outcome on a future.
    assert_eq!(daemon.get("/kv/default/keys").text(), "a,b");
    assert_eq!(daemon.send("DELETE", "/kv/default/a", "").text(), "deleted");
    assert_eq!(daemon.get("/kv/default/get/a").text(), "<none>");
    daemon
        .get("/kv/other/get/a")
        .assert_guest_error("AccessDenied");
}

#[test]
fn an_interface_spin_provides_and_wasi_httpd_does_not_fails_only_when_called() {
    let app = TestApp::new(APP);
    let daemon = Daemon::start(&app, &[]);
    daemon.wait_for_log("spin:sqlite/sqlite@3.1.0");
    assert_eq!(daemon.get("/").text(), "sdk7 ok");

    let sqlite = daemon.get("/sqlite");
    assert_eq!(sqlite.status, 500);
    let log = daemon.wait_for_log("which wasi-httpd does not provide");
    assert!(
        log.contains("`[static]connection.open-async` of `spin:sqlite/sqlite@3.1.0`"),
        "{log}"
    );
    // The daemon, and the component, keep serving.
    assert_eq!(daemon.get("/var/message").text(), "hello from spin-sdk 7");
}
