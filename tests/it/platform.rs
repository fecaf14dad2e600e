//! Spin's platform interfaces from a spin-sdk 5 guest: component variables
//! (templates over app variables from defaults, flags, the environment and
//! systemd credentials) and key-value stores backed by SQLite that survive
//! a restart, through `fermyon:spin/key-value` and `wasi:keyvalue`, with
//! labels other than `default` defined by a runtime configuration file; an
//! undeclared store is denied as Spin denies it, an undefined one does not
//! load.

use crate::manifest::Manifest;
use crate::support::{Daemon, TestApp};

/// The platform guest, with `default` and `cache` stores (also used by
/// `redis.rs`).
/// The keys of the platform component in most tests: its two stores.
pub const KEY_VALUE: &str = r#"key_value_stores = ["default", "cache"]"#;

/// The app most platform tests serve: the `platform` guest on every route,
/// with `keys` (what it may use) and its variables from the app's
/// `greeting`, `name` and secret `token`.
pub fn manifest(keys: &str) -> Manifest {
    Manifest::new("platform")
        .toml(
            r#"
[variables]
greeting = { default = "hello" }
name = { required = true }
token = { required = true, secret = true }"#,
        )
        .route("/...", "platform")
        .component(
            "platform",
            "platform",
            &format!(
                "{keys}\n\n[component.platform.variables]\nmessage = \"{{{{ greeting }}}}, {{{{ name }}}}!\"\ntoken = \"{{{{ token }}}}\""
            ),
        )
}

/// Defines the `cache` store in the app's directory (`cache.db`).
const RUNTIME_CONFIG: &str = "[key_value_store.cache]\ntype = \"spin\"\npath = \"cache.db\"\n";

/// The app, with its runtime configuration written beside it.
fn platform_app() -> TestApp {
    let app = crate::platform::manifest(KEY_VALUE).app();
    app.write("runtime-config.toml", RUNTIME_CONFIG);
    app
}

/// `--runtime-config-file` for `app`, and `extra`.
fn with_config(app: &TestApp, extra: &[&'static str]) -> Vec<String> {
    let file = app.path().join("runtime-config.toml");
    let mut args = vec![
        "--runtime-config-file".to_owned(),
        file.display().to_string(),
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    args
}

fn start(app: &TestApp, args: &[String]) -> Daemon {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Daemon::start(app, &args)
}

#[test]
fn component_variables_render_app_variables_from_every_provider() {
    let app = platform_app();
    let credentials = tempfile::tempdir().unwrap();
    std::fs::write(credentials.path().join("token"), "s3cret\n").unwrap();
    let args = with_config(&app, &["--variable", "name=world"]);
    let daemon = Daemon::start_with_env(
        &app,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
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
    let app = platform_app();
    let args = with_config(&app, &["--variable", "name=n", "--variable", "token=t"]);
    let daemon = start(&app, &args);
    let put = |d: &Daemon, path: &str, value: &str| d.send("PUT", path, value);
    assert_eq!(
        put(&daemon, "/kv/default/set/colour", "blue").text(),
        "stored"
    );
    assert_eq!(put(&daemon, "/kv/cache/set/colour", "red").text(), "stored");
    assert_eq!(daemon.terminate().code(), Some(0));

    let daemon = start(&app, &args);
    assert_eq!(daemon.get("/kv/default/get/colour").text(), "blue");
    assert_eq!(daemon.get("/kv/cache/get/colour").text(), "red");
    assert_eq!(daemon.get("/kv/default/keys").text(), "colour");
    let deleted =
        daemon.raw("DELETE /kv/default/colour HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    assert_eq!(deleted.text(), "deleted");
    assert_eq!(daemon.get("/kv/default/get/colour").text(), "<none>");
    assert!(app.path().join(".wasi-httpd/key-value.sqlite").is_file());
    assert!(app.path().join("cache.db").is_file(), "the configured file");
}

#[test]
fn an_undeclared_store_is_access_denied() {
    let app = platform_app();
    let daemon = start(
        &app,
        &with_config(&app, &["--variable", "name=n", "--variable", "token=t"]),
    );
    daemon
        .get("/kv/secret-store/get/x")
        .assert_guest_error("AccessDenied");
}

#[test]
fn wasi_keyvalue_buckets_are_the_declared_stores() {
    let app = platform_app();
    let daemon = start(
        &app,
        &with_config(&app, &["--variable", "name=n", "--variable", "token=t"]),
    );
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
    let app = crate::platform::manifest("sqlite_databases = [\"default\", \"other\"]").app();
    let state = tempfile::tempdir().unwrap();
    let other = state.path().join("elsewhere/other.db");
    app.write(
        "runtime-config.toml",
        &format!(
            "[sqlite_database.other]\ntype = \"spin\"\npath = {:?}\n",
            other.display().to_string()
        ),
    );
    let state_dir = state.path().to_str().unwrap().to_owned();
    let args = with_config(&app, &["--variable", "name=n", "--variable", "token=t"]);
    let args = [args, vec!["--state-dir".into(), state_dir]].concat();
    let daemon = start(&app, &args);
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
    // A configured label is a database of its own, in its own file.
    sql(&daemon, "other", "SELECT * FROM t").assert_guest_error("no such table");
    assert_eq!(sql(&daemon, "other", "CREATE TABLE o (x)").status, 200);
    assert!(other.is_file());
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
    let daemon = start(&app, &args);
    assert_eq!(sql(&daemon, "default?1", select).text(), expected);
}

#[test]
fn labels_that_are_not_defined_do_not_load() {
    for (declared, key, definition) in [
        (
            "key_value_stores = [\"default\", \"cache\"]",
            "`component.platform.key_value_stores[1]`",
            "[key_value_store.cache]",
        ),
        (
            "sqlite_databases = [\"reports\"]",
            "`component.platform.sqlite_databases[0]`",
            "[sqlite_database.reports]",
        ),
    ] {
        let app = crate::platform::manifest(declared).app();
        let out = crate::support::run(&[
            "check",
            "--variable",
            "name=n",
            "--variable",
            "token=t",
            app.manifest().to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(78), "{stderr}");
        assert!(
            stderr.contains(key)
                && stderr.contains(definition)
                && stderr.contains("--runtime-config-file"),
            "{stderr}"
        );
    }
}

#[test]
fn a_bad_runtime_configuration_is_named_and_a_reload_rereads_it() {
    let app = platform_app();
    let config = app.path().join("runtime-config.toml");
    let config_arg = config.to_str().unwrap();
    let check = || {
        crate::support::run(&[
            "check",
            "--variable",
            "name=n",
            "--variable",
            "token=t",
            "--runtime-config-file",
            config_arg,
            app.manifest().to_str().unwrap(),
        ])
    };
    let out = check();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    app.write(
        "runtime-config.toml",
        "[key_value_store.cache]\ntype = \"memcached\"\n",
    );
    let out = check();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{stderr}");
    assert!(
        stderr.contains(config_arg) && stderr.contains("`key_value_store.cache.type`"),
        "{stderr}"
    );

    app.write("runtime-config.toml", RUNTIME_CONFIG);
    let daemon = start(
        &app,
        &with_config(&app, &["--variable", "name=n", "--variable", "token=t"]),
    );
    assert_eq!(
        daemon.send("PUT", "/kv/cache/set/colour", "red").text(),
        "stored"
    );
    // A broken file on reload keeps the running generation.
    app.write(
        "runtime-config.toml",
        "[key_value_store.cache]\ntype = \"spin\"\nfile = \"x\"\n",
    );
    daemon.signal(nix::sys::signal::Signal::SIGHUP);
    daemon.wait_for_log("unknown key `key_value_store.cache.file`");
    assert_eq!(daemon.get("/kv/cache/get/colour").text(), "red");
    // A good one moves the store: the new file is empty.
    app.write(
        "runtime-config.toml",
        "[key_value_store.cache]\ntype = \"spin\"\npath = \"moved.db\"\n",
    );
    daemon.signal(nix::sys::signal::Signal::SIGHUP);
    daemon.wait_for_log("moved.db");
    assert_eq!(daemon.get("/kv/cache/get/colour").text(), "<none>");
    assert!(app.path().join("moved.db").is_file());
}

#[test]
fn sqlite_statements_run_before_serving_as_spin_up_runs_them() {
    let app = crate::platform::manifest("sqlite_databases = [\"default\", \"other\"]").app();
    let state = tempfile::tempdir().unwrap();
    let other = state.path().join("other.db");
    app.write(
        "runtime-config.toml",
        &format!(
            "[sqlite_database.other]\ntype = \"spin\"\npath = {:?}\n",
            other.display().to_string()
        ),
    );
    app.write(
        "seed.sql",
        "CREATE TABLE o (x TEXT); INSERT INTO o VALUES ('from a file');",
    );
    let seed = app.path().join("seed.sql");
    let seed_other = format!("@{}:other", seed.display());
    let state_dir = state.path().to_str().unwrap().to_owned();
    let mut args = with_config(&app, &["--variable", "name=n", "--variable", "token=t"]);
    args.extend(
        [
            "--state-dir",
            &state_dir,
            "--sqlite",
            "CREATE TABLE t (x INTEGER)",
            "--sqlite",
            "INSERT INTO t VALUES (7)",
            "--sqlite",
            &seed_other,
        ]
        .map(str::to_owned),
    );
    let daemon = start(&app, &args);
    let sql = |path: &str, statement: &str| {
        daemon
            .send("POST", &format!("/sql/{path}"), statement)
            .text()
    };
    assert_eq!(sql("default", "SELECT x FROM t"), "x\nValue::Integer(7)");
    assert_eq!(
        sql("other", "SELECT x FROM o"),
        "x\nValue::Text(\"from a file\")"
    );
    drop(daemon);

    // A statement that fails stops the start, naming it.
    let mut bad = with_config(&app, &["--variable", "name=n", "--variable", "token=t"]);
    bad.extend(["--state-dir", &state_dir, "--sqlite", "CREATE TABLE t (x)"].map(str::to_owned));
    bad.extend([
        "--listen".to_owned(),
        "127.0.0.1:0".to_owned(),
        app.manifest().display().to_string(),
    ]);
    let out = crate::support::run(
        &[
            &["serve"][..],
            &bad.iter().map(String::as_str).collect::<Vec<_>>(),
        ]
        .concat(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{stderr}");
    assert!(
        stderr.contains("--sqlite \"CREATE TABLE t (x)\"") && stderr.contains("already exists"),
        "{stderr}"
    );
}

#[test]
fn an_instance_holds_a_bounded_number_of_database_connections() {
    let app = crate::platform::manifest("sqlite_databases = [\"default\"]").app();
    let state = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(
        &app,
        &[
            "--variable",
            "name=n",
            "--variable",
            "token=t",
            "--state-dir",
            state.path().to_str().unwrap(),
        ],
    );
    assert_eq!(
        daemon.get("/sqlhoard/10000").text(),
        "opened 64, then Error::Io(\"too many open connections: an instance holds at most 64\")"
    );
    // They went with the instance: the next request opens its own.
    assert_eq!(daemon.get("/sqlhoard/3").text(), "opened 3");
}
