//! Spin's platform interfaces from a spin-sdk 5 guest: component variables
//! (templates over app variables from defaults, flags, the environment and
//! systemd credentials) and key-value stores backed by SQLite that survive
//! a restart, through `fermyon:spin/key-value` and `wasi:keyvalue`; an
//! undeclared store is denied as Spin denies it.

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
    daemon.get("/var/nope").assert_guest_error("Undefined");
    // Names Spin's `Key` rule refuses are InvalidName, not Undefined.
    for bad in ["1abc", "a__b", "bad_", "_x", "Upper", "dash-ed"] {
        daemon
            .get(&format!("/var/{bad}"))
            .assert_guest_error("InvalidName");
    }
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
    let put = |d: &Daemon, path: &str, value: &str| d.send("PUT", path, value);
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
    daemon
        .get("/kv/secret-store/get/x")
        .assert_guest_error("AccessDenied");
}

#[test]
fn wasi_keyvalue_buckets_are_the_declared_stores() {
    let app = TestApp::new(APP);
    let daemon = Daemon::start(&app, &["--variable", "name=n", "--variable", "token=t"]);
    // One store, whichever interface wrote it.
    assert_eq!(
        daemon.send("PUT", "/kv/default/set/colour", "blue").text(),
        "stored"
    );
    assert_eq!(daemon.get("/wkv/default/get/colour").text(), "blue");
    assert_eq!(
        daemon.send("PUT", "/wkv/cache/set/size", "xl").text(),
        "stored"
    );
    assert_eq!(daemon.get("/kv/cache/get/size").text(), "xl");
    assert_eq!(daemon.get("/wkv/default/keys").text(), "colour cursor=None");

    // Atomics: counters start at 0 and go both ways.
    assert_eq!(
        daemon.send("POST", "/wkv/default/incr/hits/5", "").text(),
        "5"
    );
    assert_eq!(
        daemon.send("POST", "/wkv/default/incr/hits/-2", "").text(),
        "3"
    );
    daemon
        .send("POST", "/wkv/default/incr/colour/1", "")
        .assert_guest_error("8-byte");
    // A swap after another writer fails, hands back a fresh cas, and that
    // one swaps.
    assert_eq!(
        daemon
            .send("PUT", "/wkv/default/cas/colour", "green")
            .text(),
        "cas failed, then read Some(\"interloper\") and swapped"
    );
    assert_eq!(daemon.get("/wkv/default/get/colour").text(), "green");

    // Batch.
    assert_eq!(
        daemon.send("PUT", "/wkv/cache/many", "a=1&b=2").text(),
        "a=1&b=2&absent=<none>"
    );
    assert_eq!(
        daemon.send("DELETE", "/wkv/cache/many/a,size", "").text(),
        "deleted"
    );
    assert_eq!(daemon.get("/wkv/cache/keys").text(), "b cursor=None");

    daemon
        .get("/wkv/secret-store/get/x")
        .assert_guest_error("AccessDenied");
}

#[test]
fn sqlite_default_database_persists_and_only_declared_databases_open() {
    let app = TestApp::new(&APP.replace(
        "key_value_stores = [\"default\", \"cache\"]",
        "sqlite_databases = [\"default\", \"other\"]",
    ));
    let state = tempfile::tempdir().unwrap();
    let args = [
        "--variable",
        "name=n",
        "--variable",
        "token=t",
        "--state-dir",
        state.path().to_str().unwrap(),
    ];
    let daemon = Daemon::start(&app, &args);
    let sql = |daemon: &Daemon, path: &str, statement: &str| {
        daemon.send("POST", &format!("/sql/{path}"), statement)
    };
    let created = sql(
        &daemon,
        "default",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score REAL, data BLOB)",
    );
    assert_eq!(created.status, 200, "{}", created.text());
    let inserted = sql(
        &daemon,
        "default?alice&7",
        "INSERT INTO t (name, score, data) VALUES (?, ? * 0.5, x'00ff')",
    );
    assert_eq!(inserted.status, 200, "{}", inserted.text());
    let select = "SELECT id, name, score, data, NULL AS empty FROM t WHERE id = ?";
    let expected = "id,name,score,data,empty\nValue::Integer(1)|Value::Text(\"alice\")|Value::Real(3.5)|Value::Blob([0, 255])|Value::Null";
    assert_eq!(sql(&daemon, "default?1", select).text(), expected);
    sql(&daemon, "default", "SELEKT 1").assert_guest_error("Io(");
    sql(&daemon, "other", "SELECT 1").assert_guest_error("NoSuchDatabase");
    sql(&daemon, "secret", "SELECT 1").assert_guest_error("AccessDenied");
    daemon.wait_for_log("SQLite database not in sqlite_databases; access denied");
    assert!(state.path().join("sqlite_db.db").is_file());

    // Each guest connection is its own: a transaction one request leaves
    // open is rolled back with its connection, not inherited by the next.
    assert_eq!(sql(&daemon, "default", "BEGIN").status, 200);
    assert_eq!(sql(&daemon, "default", "BEGIN").status, 200);
    // No other file of the host is reachable.
    let outside = state.path().join("outside.db");
    for statement in [
        format!("ATTACH '{}' AS x", outside.display()),
        format!("VACUUM INTO '{}'", outside.display()),
    ] {
        sql(&daemon, "default", &statement).assert_guest_error("Io(");
    }
    assert!(!outside.exists());
    // A result too large for the host is an error, not a host allocation.
    sql(
        &daemon,
        "default",
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 200) \
         SELECT randomblob(1000000) FROM c",
    )
    .assert_guest_error("larger than 128 MiB");
    drop(daemon);

    // The data is on disk: a new process reads it.
    let daemon = Daemon::start(&app, &args);
    assert_eq!(sql(&daemon, "default?1", select).text(), expected);
}
