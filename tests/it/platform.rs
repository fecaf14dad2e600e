//! Spin's platform interfaces from a spin-sdk 5 guest: component variables
//! (templates over app variables from defaults, flags, the environment and
//! systemd credentials) and key-value stores backed by SQLite that survive
//! a restart; an undeclared store is denied as Spin denies it.

use crate::support::{Daemon, TestApp};

const APP: &str = r#"spin_manifest_version = 2
[application]
name = "platform"

[variables]
greeting = { default = "hello" }
name = { required = true }
token = { required = true, secret = true }

[[trigger.http]]
route = "/..."
component = "platform"

[component.platform]
source = "{platform.wasm}"
key_value_stores = ["default", "cache"]

[component.platform.variables]
message = "{{ greeting }}, {{ name }}!"
token = "{{ token }}"
"#;

#[test]
fn component_variables_render_app_variables_from_every_provider() {
    let app = TestApp::new(APP);
    let credentials = tempfile::tempdir().unwrap();
    std::fs::write(credentials.path().join("token"), "s3cret\n").unwrap();
    let daemon = Daemon::start_with_env(
        &app,
        &["--variable", "name=world"],
        &[
            ("SPIN_VARIABLE_GREETING", "hi"),
            (
                "CREDENTIALS_DIRECTORY",
                credentials.path().to_str().unwrap(),
            ),
        ],
    );
    assert_eq!(daemon.get("/var/message").text(), "hi, world!");
    assert_eq!(daemon.get("/var/token").text(), "s3cret");
    let unknown = daemon.get("/var/nope");
    assert_eq!(unknown.status, 500);
    assert!(unknown.text().contains("Undefined"), "{}", unknown.text());
    assert!(
        !daemon.stderr().contains("s3cret"),
        "a secret reached the log"
    );
}

#[test]
fn key_value_data_survives_a_restart_and_stores_are_separate() {
    let app = TestApp::new(APP);
    let args = ["--variable", "name=n", "--variable", "token=t"];
    let daemon = Daemon::start(&app, &args);
    let put = |d: &Daemon, path: &str, value: &str| {
        d.raw(&format!("PUT {path} HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{value}", value.len()))
    };
    assert_eq!(
        put(&daemon, "/kv/default/set/colour", "blue").text(),
        "stored"
    );
    assert_eq!(put(&daemon, "/kv/cache/set/colour", "red").text(), "stored");
    assert_eq!(daemon.terminate().code(), Some(0));

    let daemon = Daemon::start(&app, &args);
    assert_eq!(daemon.get("/kv/default/get/colour").text(), "blue");
    assert_eq!(daemon.get("/kv/cache/get/colour").text(), "red");
    assert_eq!(daemon.get("/kv/default/keys").text(), "colour");
    let deleted =
        daemon.raw("DELETE /kv/default/colour HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    assert_eq!(deleted.text(), "deleted");
    assert_eq!(daemon.get("/kv/default/get/colour").text(), "<none>");
    assert!(app.path().join(".wasi-httpd/key-value.sqlite").is_file());
}

#[test]
fn an_undeclared_store_is_access_denied() {
    let app = TestApp::new(APP);
    let daemon = Daemon::start(&app, &["--variable", "name=n", "--variable", "token=t"]);
    let denied = daemon.get("/kv/secret-store/get/x");
    assert_eq!(denied.status, 500);
    assert!(denied.text().contains("AccessDenied"), "{}", denied.text());
}
