//! Spin's outbound PostgreSQL on a real server (started by the test with
//! `initdb` and `pg_ctl`, as an unprivileged user): queries and statements
//! with parameters through `fermyon:spin/postgres@2.0.0` (`spin_sdk::pg`)
//! and `spin:postgres@3.0.0` (`spin_sdk::pg3`, dates too), Spin's type
//! conversions and errors, and `allowed_outbound_hosts`.

use crate::servers::{Postgres, free_port};
use crate::support::{Daemon, Response, TestApp};

/// The platform guest allowed to reach `pg` (by address and port).
fn app(pg: &Postgres) -> TestApp {
    crate::platform::manifest(&format!(
        "allowed_outbound_hosts = [\"postgres://127.0.0.1:{}\"]",
        pg.port
    ))
    .app()
}

/// `POST /<version>/<op>?<params>` with the statement as the body.
fn call(daemon: &Daemon, path: &str, address: &str, statement: &str) -> Response {
    post(daemon, path, address, "", statement)
}

/// `POST /<path>` with the server's address, `headers` (whole lines) and
/// the statement as the body.
pub fn post(
    daemon: &Daemon,
    path: &str,
    address: &str,
    headers: &str,
    statement: &str,
) -> Response {
    daemon.raw(&format!(
        "POST /{path} HTTP/1.1\r\nHost: h\r\npg-address: {address}\r\n{headers}\
         Content-Length: {}\r\nConnection: close\r\n\r\n{statement}",
        statement.len()
    ))
}

#[test]
fn queries_and_statements_with_parameters_on_both_interfaces() {
    let pg = Postgres::start();
    pg.psql(
        "CREATE TABLE pets (id INT4 PRIMARY KEY, name TEXT, born DATE, weight FLOAT8, \
         chip BYTEA, tags INT4[])",
    );
    let daemon = Daemon::start(
        &app(&pg),
        &["--variable", "name=n", "--variable", "token=t"],
    );
    let url = pg.url();
    let ok = |path: &str, statement: &str| {
        let response = call(&daemon, path, &url, statement);
        assert_eq!(response.status, 200, "{statement}: {}", response.text());
        response.text()
    };
    assert_eq!(
        ok(
            "pg2/execute?1&rex",
            "INSERT INTO pets (id, name, weight) VALUES ($1, $2, 12.5)"
        ),
        "1"
    );
    assert_eq!(
        ok(
            "pg3/execute?2&tom&date:2020-02-29",
            "INSERT INTO pets (id, name, born) VALUES ($1, $2, $3)"
        ),
        "1"
    );
    assert_eq!(
        pg.psql("SELECT name || ' ' || coalesce(born::text, '-') FROM pets ORDER BY id"),
        "rex -\ntom 2020-02-29"
    );
    assert_eq!(
        ok(
            "pg2/query?1",
            "SELECT id, name, born, weight, chip, tags FROM pets WHERE id = $1"
        ),
        "id:Int32,name:Str,born:Other,weight:Floating64,chip:Binary,tags:Other\n\
         DbValue::Int32(1)|DbValue::Str(\"rex\")|DbValue::DbNull|DbValue::Floating64(12.5)|DbValue::DbNull|DbValue::DbNull"
    );
    assert_eq!(
        ok(
            "pg3/query?2",
            "SELECT name, born, now()::timestamp > born AS past, ARRAY[1] AS tags FROM pets WHERE id = $1"
        ),
        "name:Str,born:Date,past:Boolean,tags:Other\n\
         DbValue::Str(\"tom\")|DbValue::Date((2020, 2, 29))|DbValue::Boolean(true)|DbValue::Unsupported"
    );
    // NULL for a column of any type; no rows; rows changed by an UPDATE.
    assert_eq!(
        ok(
            "pg3/execute?null&1",
            "UPDATE pets SET weight = $1 WHERE id = $2"
        ),
        "1"
    );
    assert_eq!(
        ok("pg3/query?99", "SELECT name FROM pets WHERE id = $1"),
        "name:Str"
    );

    // Errors, as Spin reports them.
    call(&daemon, "pg2/query", &url, "SELEKT 1").assert_guest_error("QueryFailed(");
    call(&daemon, "pg2/query", &url, "SELECT * FROM nope").assert_guest_error("does not exist");
    call(&daemon, "pg2/query?u8", &url, "SELECT $1::int")
        .assert_guest_error("Postgres does not support unsigned integers");
    // A parameter of the wrong type fails the query, as in Spin, naming both.
    call(&daemon, "pg2/query?x", &url, "SELECT $1::int").assert_guest_error(
        "QueryFailed(\"error serializing parameter 0: cannot convert between the Rust type",
    );
    assert!(
        !daemon.stderr().contains(pg.password),
        "the password reached the log"
    );

    // A transaction a guest leaves open is rolled back when its pooled
    // connection goes back: the next request (on that same connection)
    // does not write inside it.
    assert_eq!(ok("pg3/execute", "BEGIN"), "0");
    assert_eq!(
        ok(
            "pg3/execute?3&kit",
            "INSERT INTO pets (id, name) VALUES ($1, $2)"
        ),
        "1"
    );
    assert_eq!(pg.psql("SELECT count(*) FROM pets WHERE id = 3"), "1");
}

#[test]
fn only_allowed_hosts_are_reached_and_credentials_are_checked() {
    let pg = Postgres::start();
    let daemon = Daemon::start(
        &app(&pg),
        &["--variable", "name=n", "--variable", "token=t"],
    );
    let elsewhere = format!(
        "postgres://postgres:{}@127.0.0.1:{}/postgres",
        pg.password,
        free_port()
    );
    for (address, error) in [
        (elsewhere.as_str(), "is not permitted"),
        // A key-value connection string is checked the same way.
        (
            &*format!("host=127.0.0.1 port={} user=postgres", free_port()),
            "is not permitted",
        ),
        (
            "host=/var/run/postgresql user=postgres",
            "Unix sockets are not supported",
        ),
        // The allowed host, but a `hostaddr` elsewhere: where the client
        // would connect.
        (
            &*format!(
                "host=127.0.0.1 hostaddr=127.0.0.2 port={} user=postgres",
                pg.port
            ),
            "address postgres://127.0.0.2",
        ),
        ("not a connection string", "ConnectionFailed("),
    ] {
        call(&daemon, "pg3/query", address, "SELECT 1").assert_guest_error(error);
    }
    daemon.wait_for_log("PostgreSQL address postgres://127.0.0.1:");
    assert!(
        !daemon.stderr().contains(pg.password),
        "a denied address was logged with its password"
    );
    let wrong = format!(
        "postgres://postgres:wrong@127.0.0.1:{}/postgres?sslmode=disable",
        pg.port
    );
    call(&daemon, "pg3/query", &wrong, "SELECT 1").assert_guest_error("ConnectionFailed(");
    // The right one, by a connection string, reaches it.
    let good = format!(
        "host=127.0.0.1 port={} user=postgres password={} dbname=postgres sslmode=disable",
        pg.port, pg.password
    );
    assert_eq!(
        call(&daemon, "pg3/query", &good, "SELECT 1 AS one").text(),
        "one:Int32\nDbValue::Int32(1)"
    );
}
