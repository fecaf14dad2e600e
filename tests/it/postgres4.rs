//! `spin:postgres@4.x` on a real server: every value type both ways and
//! the server's errors in their parts through spin-sdk 5's `pg4` (a guest
//! built against 4.0.0, served by the 4.2.0 binding), and spin-sdk 7's
//! async functions: rows streamed as they come, an error after some rows
//! on the result future, and the connection builder's CA root for TLS.

use crate::postgres::post;
use crate::servers::{Postgres, test_ca};
use crate::support::{Daemon, Response, TestApp};

fn allowed(pg: &Postgres) -> String {
    format!(
        "allowed_outbound_hosts = [\"postgres://127.0.0.1:{}\"]",
        pg.port
    )
}

/// `POST /pg4/<op>` to the platform guest with `;`-joined parameters.
fn pg4(daemon: &Daemon, op: &str, url: &str, params: &str, statement: &str) -> Response {
    let params = format!("pg-params: {params}\r\n");
    post(daemon, &format!("pg4/{op}"), url, &params, statement)
}

#[test]
fn every_postgres_4_type_goes_both_ways_as_spin_converts_it() {
    let pg = Postgres::start();
    pg.psql(
        "CREATE TABLE t (id INT4 PRIMARY KEY, u UUID, j JSONB, d NUMERIC, r4 INT4RANGE, \
         r8 INT8RANGE, rd NUMRANGE, a4 INT4[], a8 INT8[], ad NUMERIC[], s TEXT[], iv INTERVAL, \
         p POINT)",
    );
    let app = crate::platform::manifest(&allowed(&pg)).app();
    let daemon = Daemon::start(&app, &["--variable", "name=n", "--variable", "token=t"]);
    let url = pg.url();
    let ok = |op: &str, params: &str, statement: &str| {
        let response = pg4(&daemon, op, &url, params, statement);
        assert_eq!(response.status, 200, "{statement}: {}", response.text());
        response.text()
    };
    let params = "1;uuid:67e55044-10b1-426f-9247-bb680e5fe0c8;json:{\"b\":[1,2],\"a\":null};\
                  dec:12345678901234.5678901;i32range:[1,10];i64range:(5,];decrange:[1.5,2.25);\
                  i32s:1,null,3;i64s:9000000000;decs:0.1,null;strs:a,null,c\"d;\
                  interval:3600000001,-2,14";
    assert_eq!(
        ok(
            "execute",
            params,
            "INSERT INTO t (id, u, j, d, r4, r8, rd, a4, a8, ad, s, iv, p) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, point(1, 2))"
        ),
        "1"
    );
    // What the server stored, in its own text.
    assert_eq!(
        pg.psql("SELECT u, j, d, r4, r8, rd, a4, a8, ad, s, iv FROM t"),
        "67e55044-10b1-426f-9247-bb680e5fe0c8|{\"a\": null, \"b\": [1, 2]}|12345678901234.5678901|\
         [1,11)|[6,)|[1.5,2.25)|{1,NULL,3}|{9000000000}|{0.1,NULL}|{a,NULL,\"c\\\"d\"}|\
         1 year 2 mons -2 days +01:00:00.000001"
    );
    // And read back: Spin's types and values (an empty or NULL value too).
    assert_eq!(
        ok(
            "query",
            "1",
            "SELECT u, j, d, r4, r8, rd, a4, a8, ad, s, iv, p FROM t WHERE id = $1"
        ),
        "u:Uuid,j:Jsonb,d:Decimal,r4:RangeInt32,r8:RangeInt64,rd:RangeDecimal,a4:ArrayInt32,\
         a8:ArrayInt64,ad:ArrayDecimal,s:ArrayStr,iv:Interval,p:Other(\"point\")\n\
         DbValue::Uuid(\"67e55044-10b1-426f-9247-bb680e5fe0c8\")|\
         Jsonb({\"a\":null,\"b\":[1,2]})|\
         DbValue::Decimal(\"12345678901234.5678901\")|\
         DbValue::RangeInt32((Some((1, RangeBoundKind::Inclusive)), Some((11, RangeBoundKind::Exclusive))))|\
         DbValue::RangeInt64((Some((6, RangeBoundKind::Inclusive)), None))|\
         DbValue::RangeDecimal((Some((\"1.5\", RangeBoundKind::Inclusive)), Some((\"2.25\", RangeBoundKind::Exclusive))))|\
         DbValue::ArrayInt32([Some(1), None, Some(3)])|\
         DbValue::ArrayInt64([Some(9000000000)])|\
         DbValue::ArrayDecimal([Some(\"0.1\"), None])|\
         DbValue::ArrayStr([Some(\"a\"), None, Some(\"c\\\"d\")])|\
         DbValue::Interval(Interval { micros: 3600000001, days: -2, months: 14 })|\
         DbValue::Unsupported([63, 240, 0, 0, 0, 0, 0, 0, 64, 0, 0, 0, 0, 0, 0, 0])"
    );
    assert_eq!(
        ok(
            "query",
            "",
            "SELECT NULL::uuid AS u, 'empty'::int4range AS r"
        ),
        "u:Uuid,r:RangeInt32\nDbValue::DbNull|DbValue::RangeInt32((None, None))"
    );

    // A value that is not one: value-conversion-failed for a statement,
    // bad-parameter for a query, naming it.
    pg4(
        &daemon,
        "execute",
        &url,
        "2;uuid:nope",
        "INSERT INTO t (id, u) VALUES ($1, $2)",
    )
    .assert_guest_error("ValueConversionFailed(\"invalid UUID nope");
    pg4(&daemon, "query", &url, "dec:1.2.3", "SELECT $1::numeric")
        .assert_guest_error("BadParameter(\"invalid decimal 1.2.3");
    pg4(&daemon, "query", &url, "json:{", "SELECT $1::jsonb")
        .assert_guest_error("BadParameter(\"invalid JSON {");
    // A bound the client library cannot make canonical: an error, where
    // it would assert (and the instance trap).
    pg4(
        &daemon,
        "query",
        &url,
        "i32range:(,2147483647]",
        "SELECT $1::int4range",
    )
    .assert_guest_error("BadParameter(\"an integer range bound past 2147483647");
    // The server's error in its parts: SQLSTATE, detail, and the rest.
    pg4(&daemon, "query", &url, "", "SELECT * FROM nope").assert_guest_error(
        "DbError code=42P01 severity=ERROR message=relation \"nope\" does not exist detail=None",
    );
    let duplicate = pg4(
        &daemon,
        "execute",
        &url,
        "1",
        "INSERT INTO t (id) VALUES ($1)",
    );
    duplicate.assert_guest_error(
        "DbError code=23505 severity=ERROR message=duplicate key value violates unique \
         constraint \"t_pkey\" detail=Some(\"Key (id)=(1) already exists.\")",
    );
    for extra in [
        "(\"constraint\", \"t_pkey\")",
        "(\"table\", \"t\")",
        "(\"schema\", \"public\")",
    ] {
        assert!(
            duplicate.text().contains(extra),
            "{extra}: {}",
            duplicate.text()
        );
    }
}

/// The sdk7 guest allowed to reach `pg`, with `ca.pem` mounted.
fn sdk7_app(pg: &Postgres, ca: &str) -> TestApp {
    let app = crate::sdk7::manifest(&format!(
        "files = [\"ca.pem\", \"bad.pem\"]\n{}",
        allowed(pg)
    ))
    .app();
    app.write("ca.pem", ca);
    app.write("bad.pem", "not a certificate");
    app
}

/// `POST /pg/<op>` to the sdk7 guest; `headers` are extra header lines.
fn pg_async(daemon: &Daemon, op: &str, url: &str, headers: &str, statement: &str) -> Response {
    post(daemon, &format!("pg/{op}"), url, headers, statement)
}

#[test]
fn spin_sdk_7_streams_rows_and_trusts_the_ca_root_it_gives() {
    let (ca, cert, key) = test_ca();
    let pg = Postgres::start_tls(&cert, &key);
    let daemon = Daemon::start(&sdk7_app(&pg, &ca), &[]);
    let plain = pg.url();
    let ok = |op: &str, url: &str, headers: &str, statement: &str| {
        let response = pg_async(&daemon, op, url, headers, statement);
        assert_eq!(response.status, 200, "{statement}: {}", response.text());
        response.text()
    };

    // execute-async and query-async, with parameters.
    assert_eq!(
        ok("execute", &plain, "", "CREATE TABLE n (v INT4, s TEXT)"),
        "0"
    );
    assert_eq!(
        ok(
            "execute",
            &plain,
            "pg-params: 7;seven\r\n",
            "INSERT INTO n VALUES ($1, $2)"
        ),
        "1"
    );
    assert_eq!(
        ok(
            "query",
            &plain,
            "pg-params: 7\r\n",
            "SELECT v, s FROM n WHERE v = $1"
        ),
        "v:DbDataType::Int32,s:DbDataType::Str\nDbValue::Int32(7)|DbValue::Str(\"seven\")"
    );
    // Rows come as the guest reads them: many more than one message.
    assert_eq!(
        ok(
            "query",
            &plain,
            "pg-count: 1\r\n",
            "SELECT n, repeat('x', 100) FROM generate_series(1, 200000) AS n"
        ),
        "rows=200000"
    );
    // An error after some rows reaches the guest on the result future.
    pg_async(
        &daemon,
        "query",
        &plain,
        "pg-count: 1\r\n",
        "SELECT 1 / (n - 50000) FROM generate_series(1, 100000) AS n",
    )
    .assert_guest_error("22012");
    pg_async(&daemon, "query", &plain, "", "SELECT * FROM nope").assert_guest_error("42P01");

    // TLS: the server's certificate is signed by the test's own CA. The
    // guest's CA root makes it trusted for that connection only.
    let tls = format!(
        "postgres://postgres:{}@127.0.0.1:{}/postgres?sslmode=require",
        pg.password, pg.port
    );
    assert_eq!(
        ok(
            "query",
            &tls,
            "pg-ca-file: /ca.pem\r\n",
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        ),
        "ssl:DbDataType::Boolean\nDbValue::Boolean(true)"
    );
    // Without it, the same address (whose pool now holds a connection the
    // CA root made trusted) is refused.
    pg_async(&daemon, "query", &tls, "", "SELECT 1").assert_guest_error(
        "error performing TLS handshake: invalid peer certificate: UnknownIssuer",
    );
    pg_async(
        &daemon,
        "query",
        &tls,
        "pg-ca-file: /bad.pem\r\n",
        "SELECT 1",
    )
    .assert_guest_error("invalid root certificate: no PEM CERTIFICATE block");
    assert!(
        !daemon.stderr().contains(pg.password),
        "the password reached the log"
    );

    // Builders are bounded per instance like connections: past it, a trap.
    assert_eq!(daemon.get("/pghoard/64").text(), "made 64");
    assert_eq!(daemon.get("/pghoard/65").status, 500);
    daemon.wait_for_log("PostgreSQL connection builders, the most an instance may");
}
