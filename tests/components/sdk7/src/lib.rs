//! `sdk7` test guest, written with `spin-sdk` 7 as current Spin apps are: a
//! wasi:http 0.3 service (`#[http_service]`) using the async platform
//! interfaces `spin:variables/variables@3.0.0` and
//! `spin:key-value/key-value@3.0.0`, `spin:sqlite/sqlite@3.1.0`,
//! `spin:redis/redis@3.0.0` and `spin:postgres/postgres@4.2.0`, and
//! importing `spin:mqtt/mqtt@3.0.0`, which wasi-httpd does not provide:
//!
//! - `GET /var/<name>`: the variable's value;
//! - `GET /kv/<store>/get/<key>`, `PUT /kv/<store>/set/<key>` (body is the
//!   value), `GET /kv/<store>/keys` (comma-separated, sorted),
//!   `DELETE /kv/<store>/<key>`;
//! - `POST /sql?<p1>&<p2>...`: runs the body as a statement on the default
//!   SQLite database (integer parameters where they parse, else text) and
//!   answers the columns joined by `,`, one `|`-joined line per row
//!   (values' `Debug`), then `rowid=<last-insert-rowid> changes=<changes>`;
//! - `POST /redis/<key>` with the server in the `redis-address` header:
//!   sets the key to the body, increments `<key>-count`, and answers the
//!   value read back and the count (`value=... count=...`);
//! - `POST /pg/query`, `POST /pg/execute` with the server in the
//!   `pg-address` header: `spin_sdk::pg` (spin:postgres@4.2.0, its async
//!   functions), as [`pg`] describes;
//! - `GET /sqlhoard/<n>`: opens `n` connections to the default SQLite
//!   database concurrently, answering how many opened and the first error;
//! - `GET /pghoard/<n>`: makes and holds `n` PostgreSQL connection
//!   builders;
//! - `GET /mqtt`: opens an MQTT connection (the host traps);
//! - anything else: `200 sdk7 ok`, without touching MQTT.
//!
//! Errors are answered `500` with the error's debug text.

use spin_sdk::http::{IntoResponse, Method, Request};
use spin_sdk::http_service;
use spin_sdk::key_value::Store;

#[http_service]
async fn handle_sdk7(req: Request) -> impl IntoResponse {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let answer = match parts.as_slice() {
        ["var", name] => spin_sdk::variables::get(*name).await.map_err(|e| format!("{e:?}")),
        ["kv", store, rest @ ..] => {
            let body = body_bytes(req).await;
            kv(&method, store, rest, body).await
        }
        ["sql"] => {
            let query = req.uri().query().unwrap_or_default().to_owned();
            let body = body_bytes(req).await;
            sql(&query, &String::from_utf8_lossy(&body)).await
        }
        ["redis", key] => {
            let address = req
                .headers()
                .get("redis-address")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let key = key.to_string();
            let body = body_bytes(req).await;
            redis(&address, &key, body).await.map_err(|e| format!("{e:?}"))
        }
        ["pg", op] => {
            let header = |name: &str| {
                req.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
            };
            let (address, ca_file, params) = (header("pg-address"), header("pg-ca-file"), header("pg-params"));
            let count_only = !header("pg-count").is_empty();
            let op = op.to_string();
            let statement = String::from_utf8_lossy(&body_bytes(req).await).into_owned();
            pg(&address, &ca_file, &op, &statement, &params, count_only).await
        }
        ["sqlhoard", n] => {
            // All at once: each open waits on the host at the same time.
            let opens = (0..n.parse().unwrap_or(0)).map(|_| spin_sdk::sqlite::Connection::open_default());
            let results = futures::future::join_all(opens).await;
            let opened = results.iter().filter(|r| r.is_ok()).count();
            Ok(match results.iter().find_map(|r| r.as_ref().err()) {
                Some(e) => format!("opened {opened}, then {e:?}"),
                None => format!("opened {opened}"),
            })
        }
        ["pghoard", n] => {
            let held: Vec<_> = (0..n.parse().unwrap_or(0))
                .map(|_| spin_sdk::pg::wit::postgres::ConnectionBuilder::new("host=127.0.0.1"))
                .collect();
            Ok(format!("made {}", held.len()))
        }
        ["mqtt"] => spin_sdk::mqtt::Connection::open("mqtt://127.0.0.1:1883", "", "", 30)
            .await
            .map(|_| "opened".to_owned())
            .map_err(|e| format!("{e:?}")),
        _ => Ok("sdk7 ok".to_owned()),
    };
    match answer {
        Ok(body) => (spin_sdk::http::StatusCode::OK, body),
        Err(error) => (spin_sdk::http::StatusCode::INTERNAL_SERVER_ERROR, error),
    }
}

async fn redis(address: &str, key: &str, value: Vec<u8>) -> Result<String, spin_sdk::redis::Error> {
    let conn = spin_sdk::redis::Connection::open(address).await?;
    conn.set(key, &value).await?;
    let count = conn.incr(format!("{key}-count")).await?;
    let read = conn.get(key).await?.unwrap_or_default();
    Ok(format!("value={} count={count}", String::from_utf8_lossy(&read)))
}

/// Opens `address` (with the CA root in the guest file `ca_file`, when
/// given, through the connection builder), runs `statement` with `params`
/// (`;`-separated: integers where they parse, `null`, else text) and
/// answers a query's `name:Type` columns and `Debug` rows as they stream
/// in (or only `rows=<n>` when `count_only`), an execute's count.
async fn pg(
    address: &str,
    ca_file: &str,
    op: &str,
    statement: &str,
    params: &str,
    count_only: bool,
) -> Result<String, String> {
    use spin_sdk::pg::{Certificate, Connection, OpenOptions, ParameterValue};
    let text = |e: spin_sdk::pg::Error| format!("{e:?}");
    let conn = if ca_file.is_empty() {
        Connection::open(address).await
    } else {
        let options = OpenOptions { ca_root: Some(Certificate::FilePath(ca_file.to_owned())) };
        Connection::open_with_options(address, options).await
    }
    .map_err(text)?;
    let params: Vec<ParameterValue> = params
        .split(';')
        .filter(|p| !p.is_empty())
        .map(|p| match (p.parse::<i32>(), p) {
            (Ok(i), _) => ParameterValue::Int32(i),
            (_, "null") => ParameterValue::DbNull,
            _ => ParameterValue::Str(p.to_owned()),
        })
        .collect();
    if op == "execute" {
        return conn.execute(statement, params).await.map(|n| n.to_string()).map_err(text);
    }
    let mut result = conn.query(statement, params).await.map_err(text)?;
    let columns: Vec<String> = result.columns().iter().map(|c| format!("{}:{:?}", c.name, c.data_type)).collect();
    let mut out = columns.join(",");
    let mut count = 0usize;
    while let Some(row) = result.rows().next().await {
        count += 1;
        if !count_only {
            let values: Vec<String> = row.iter().map(|v| format!("{v:?}")).collect();
            out.push('\n');
            out.push_str(&values.join("|"));
        }
    }
    result.result().await.map_err(text)?;
    Ok(if count_only { format!("rows={count}") } else { out })
}

async fn body_bytes(req: Request) -> Vec<u8> {
    use spin_sdk::http::body::IncomingBodyExt;
    req.into_body().bytes().await.map(|b| b.to_vec()).unwrap_or_default()
}

async fn kv(method: &Method, store: &str, rest: &[&str], body: Vec<u8>) -> Result<String, String> {
    let store = Store::open(store).await.map_err(|e| format!("{e:?}"))?;
    let text = |e: spin_sdk::key_value::Error| format!("{e:?}");
    match (method, rest) {
        (&Method::GET, ["get", key]) => Ok(store
            .get(key)
            .await
            .map_err(text)?
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .unwrap_or_else(|| "<none>".to_owned())),
        (&Method::PUT, ["set", key]) => store.set(key, body).await.map(|()| "stored".to_owned()).map_err(text),
        (&Method::GET, ["keys"]) => {
            let mut keys = store.get_keys().await.collect().await.map_err(text)?;
            keys.sort();
            Ok(keys.join(","))
        }
        (&Method::DELETE, [key]) => store.delete(key).await.map(|()| "deleted".to_owned()).map_err(text),
        _ => Err("unknown key-value operation".to_owned()),
    }
}

async fn sql(query: &str, statement: &str) -> Result<String, String> {
    use spin_sdk::sqlite::{Connection, Value};
    let text = |e: spin_sdk::sqlite::Error| format!("{e:?}");
    let db = Connection::open_default().await.map_err(text)?;
    let params: Vec<Value> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<i64>().map(Value::Integer).unwrap_or_else(|_| Value::Text(p.to_owned())))
        .collect();
    let result = db.execute(statement, params).await.map_err(text)?;
    let mut out = result.columns().join(",");
    for row in result.collect().await.map_err(text)? {
        let values: Vec<String> = row.values.iter().map(|v| format!("{v:?}")).collect();
        out.push('\n');
        out.push_str(&values.join("|"));
    }
    let (rowid, changes) = (db.last_insert_rowid().await, db.changes().await);
    out.push_str(&format!("\nrowid={rowid} changes={changes}"));
    Ok(out)
}
