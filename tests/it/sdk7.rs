//! An app built with spin-sdk 7 (the current Spin SDK): a wasi:http 0.3
//! service using the async `spin:variables@3.0.0`, `spin:key-value@3.0.0`
//! and `spin:sqlite@3.1.0` (and `spin:redis@3.0.0`, tested in
//! `redis.rs`), and importing `spin:mqtt@3.0.0`, which wasi-httpd does not
//! provide. It loads as under Spin; only the requests that call MQTT fail,
//! with a log naming the interface.

use crate::manifest::Manifest;
use crate::support::Daemon;

/// The sdk7 guest (also used by `redis.rs`).
/// The spin-sdk 7 guest on every route, with its key-value store, its
/// SQLite database, `keys` and a variable from the app's `greeting`.
pub fn manifest(keys: &str) -> Manifest {
    Manifest::new("sdk7")
        .toml("\n[variables]\ngreeting = { default = \"hello\" }")
        .route("/...", "sdk7")
        .component(
            "sdk7",
            "sdk7",
            &format!(
                "key_value_stores = [\"default\"]\nsqlite_databases = [\"default\"]\n{keys}\n\n\
                 [component.sdk7.variables]\nmessage = \"{{{{ greeting }}}} from spin-sdk 7\""
            ),
        )
}

#[test]
fn spin_sdk_7_variables_and_key_value_work() {
    let app = manifest("").app();
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
    let app = manifest("").app();
    let daemon = Daemon::start(&app, &[]);
    daemon.wait_for_log("spin:mqtt/mqtt@3.0.0");
    assert_eq!(daemon.get("/").text(), "sdk7 ok");

    let mqtt = daemon.get("/mqtt");
    assert_eq!(mqtt.status, 500);
    let log = daemon.wait_for_log("which wasi-httpd does not provide");
    assert!(log.contains("of `spin:mqtt/mqtt@3.0.0`"), "{log}");
    // The daemon, and the component, keep serving.
    assert_eq!(daemon.get("/var/message").text(), "hello from spin-sdk 7");
}

#[test]
fn spin_sdk_7_sqlite_streams_rows_and_reports_what_its_connection_wrote() {
    let app = manifest("").app();
    let state = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(&app, &["--state-dir", state.path().to_str().unwrap()]);
    let sql = |query: &str, statement: &str| {
        let response = daemon.send("POST", &format!("/sql?{query}"), statement);
        assert_eq!(response.status, 200, "{statement}: {}", response.text());
        response.text()
    };
    assert_eq!(
        sql("", "CREATE TABLE pets (id INTEGER PRIMARY KEY, name TEXT)"),
        "\nrowid=0 changes=0"
    );
    assert_eq!(
        sql("rex&tom", "INSERT INTO pets (name) VALUES (?), (?)"),
        "\nrowid=2 changes=2"
    );
    assert_eq!(
        sql("1", "SELECT id, name FROM pets WHERE id > ? ORDER BY id"),
        "id,name\nValue::Integer(2)|Value::Text(\"tom\")\nrowid=0 changes=0"
    );
    let bad = daemon.send("POST", "/sql", "SELECT * FROM nowhere");
    bad.assert_guest_error("no such table");
}

#[test]
fn connections_opened_all_at_once_are_held_to_the_instance_bound() {
    // spin-sdk 7's opens are async: 100 at once all wait on the host
    // together, and only 64 may be had (each takes its place before it
    // waits, not when it is handed over).
    let daemon = Daemon::start(&manifest("").app(), &[]);
    assert_eq!(
        daemon.get("/sqlhoard/100").text(),
        "opened 64, then Error::Io(\"too many open connections: an instance holds at most 64\")"
    );
    assert_eq!(daemon.get("/sqlhoard/64").text(), "opened 64");
}
