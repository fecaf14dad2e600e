//! `platform` test guest, written with `spin-sdk` 5.x: exercises Spin's
//! platform interfaces as app authors use them.
//!
//! - `GET /var/<name>`: `spin_sdk::variables::get(name)` (fermyon:spin/variables);
//! - `GET /kv/<store>/get/<key>`, `PUT /kv/<store>/set/<key>` (body is the
//!   value), `GET /kv/<store>/keys`, `DELETE /kv/<store>/<key>`:
//!   `spin_sdk::key_value::Store` (fermyon:spin/key-value);
//! - `/wkv/<bucket>/...`: the same through `wasi:keyvalue@0.2.0-draft2`
//!   (`spin_sdk::wit::wasi::keyvalue`): `GET get/<key>`, `PUT set/<key>`,
//!   `GET keys` (list-keys), `POST incr/<key>/<delta>` (atomics), `PUT
//!   cas/<key>` (a compare-and-swap to the body, with the key changed by
//!   another writer between reading and swapping: answers whether the swap
//!   failed and what it read then), `PUT many` (batch: body
//!   `k=v&k=v`, set-many then get-many), `DELETE many/<k>,<k>` (delete-many).
//! - `POST /sql/<database>?<p1>&<p2>...`: `spin_sdk::sqlite` (fermyon:spin/sqlite):
//!   runs the body as a statement with the query's `&`-separated parameters
//!   (integers where they parse, text otherwise); answers the column names
//!   joined by `,`, then one line per row of `|`-joined values (`Debug`).
//! - `GET /row/<database>/<table>/<rowid>`: that row's values, `|`-joined
//!   (a point query, for the benchmark).
//! - `/redis/...` with the server in the `redis-address` header:
//!   `spin_sdk::redis` (fermyon:spin/redis): `PUT set/<key>`, `GET
//!   get/<key>`, `POST incr/<key>`, `DELETE del/<k>,<k>`, `POST
//!   sadd/<key>` and `POST srem/<key>` (body `a,b`), `GET smembers/<key>`
//!   (sorted, `,`-joined), `POST publish/<channel>`, and `POST execute`
//!   (body: the command and its arguments, space-separated; integers where
//!   they parse) answering the results' `Debug`, `|`-joined.
//! - `POST /pg2/query?<p1>&<p2>...`, `POST /pg2/execute?...` with the
//!   server in the `pg-address` header: `spin_sdk::pg`
//!   (fermyon:spin/postgres@2.0.0) runs the body with the parameters
//!   (integers where they parse, `null` as NULL, else text); a query
//!   answers `name:Type` columns joined by `,`, then one line per row of
//!   `|`-joined values (`Debug`), an execute the rows changed. `/pg3/...`:
//!   the same through `spin_sdk::pg3` (spin:postgres@3.0.0), where a
//!   parameter `date:Y-M-D` is a date.
//! - `POST /pg4/query`, `POST /pg4/execute`: the same through
//!   `spin_sdk::pg4` (spin:postgres@4.0.0), with the parameters in the
//!   `pg-params` header (`;`-separated, typed as [`pg4_param`] reads
//!   them), JSONB shown as text, and a server error's code, severity,
//!   message, detail and extras.
//! - `POST /tcp/<host:port>`: wasi:sockets through `std::net`: connects,
//!   writes the body, closes its side and answers what the peer sent back
//!   (or the error); `POST /udp/<host:port>`: sends the body as one
//!   datagram from an ephemeral port; `GET /hoard/<n>`: creates up to `n`
//!   TCP sockets (the `wasi` crate's `create-tcp-socket`) and holds them,
//!   answering how many it got and the error that stopped it;
//!   `GET /sqlhoard/<n>`: the same with connections to the default SQLite
//!   database; `GET /lookups/<name>/<n>`: starts and drops `n` name
//!   lookups, answering how many started and how many the host refused.
//!
//! Errors are answered `500` with the error's debug text, so tests can read
//! what the host said (e.g. `AccessDenied`). Used by the variables and
//! key-value tests.

use spin_sdk::http::{IntoResponse, Method, Request, Response};
use spin_sdk::http_component;
use spin_sdk::key_value::Store;

#[http_component]
fn handle_platform(req: Request) -> anyhow::Result<impl IntoResponse> {
    let path = req.path().to_string();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let answer = match parts.as_slice() {
        ["var", name] => spin_sdk::variables::get(name).map_err(|e| format!("{e:?}")),
        ["kv", store, rest @ ..] => kv(req.method(), store, rest, req.body()),
        ["wkv", bucket, rest @ ..] => wasi_kv(req.method(), bucket, rest, req.body()),
        ["sql", database] => sql(database, req.query(), req.body()),
        ["row", database, table, id] => row(database, table, id),
        [version @ ("pg2" | "pg3"), op] => {
            let address = req
                .header("pg-address")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned();
            let statement = String::from_utf8_lossy(req.body()).into_owned();
            let params: Vec<&str> = req.query().split('&').filter(|p| !p.is_empty()).collect();
            if *version == "pg2" {
                pg2(&address, op, &statement, &params)
            } else {
                pg3(&address, op, &statement, &params)
            }
        }
        ["pg4", op] => {
            let header = |name: &str| req.header(name).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
            let statement = String::from_utf8_lossy(req.body()).into_owned();
            let params = header("pg-params");
            let params: Vec<&str> = params.split(';').filter(|p| !p.is_empty()).collect();
            pg4(&header("pg-address"), op, &statement, &params)
        }
        ["tcp", address] => tcp(address, req.body()),
        ["udp", address] => udp(address, req.body()),
        ["hoard", n] => Ok(hoard(n.parse().unwrap_or(0))),
        ["lookups", name, n] => lookups(name, n.parse().unwrap_or(0)),
        ["sqlhoard", n] => Ok(sql_hoard(n.parse().unwrap_or(0))),
        ["redis", rest @ ..] => {
            let address = req
                .header("redis-address")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned();
            redis(req.method(), &address, rest, req.body())
        }
        _ => Err("unknown path".to_owned()),
    };
    Ok(match answer {
        Ok(body) => Response::new(200, body),
        Err(error) => Response::new(500, error),
    })
}

fn kv(method: &Method, store: &str, rest: &[&str], body: &[u8]) -> Result<String, String> {
    let store = Store::open(store).map_err(|e| format!("{e:?}"))?;
    let text = |e: spin_sdk::key_value::Error| format!("{e:?}");
    match (method, rest) {
        (Method::Get, ["get", key]) => Ok(store
            .get(key)
            .map_err(text)?
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .unwrap_or_else(|| "<none>".to_owned())),
        (Method::Put, ["set", key]) => store.set(key, body).map(|()| "stored".to_owned()).map_err(text),
        (Method::Get, ["keys"]) => store.get_keys().map(|k| k.join(",")).map_err(text),
        (Method::Delete, [key]) => store.delete(key).map(|()| "deleted".to_owned()).map_err(text),
        _ => Err("unknown key-value operation".to_owned()),
    }
}

fn wasi_kv(method: &Method, bucket: &str, rest: &[&str], body: &[u8]) -> Result<String, String> {
    use spin_sdk::wit::wasi::keyvalue::{atomics, batch, store};
    let text = |e: store::Error| format!("{e:?}");
    let bucket = store::open(bucket).map_err(text)?;
    let value = String::from_utf8_lossy(body).into_owned();
    match (method, rest) {
        (Method::Get, ["get", key]) => Ok(bucket
            .get(key)
            .map_err(text)?
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .unwrap_or_else(|| "<none>".to_owned())),
        (Method::Put, ["set", key]) => bucket.set(key, body).map(|()| "stored".to_owned()).map_err(text),
        (Method::Get, ["keys"]) => {
            let page = bucket.list_keys(None).map_err(text)?;
            Ok(format!("{} cursor={:?}", page.keys.join(","), page.cursor))
        }
        (Method::Post, ["incr", key, delta]) => {
            let delta: i64 = delta.parse().map_err(|e| format!("bad delta: {e}"))?;
            atomics::increment(&bucket, key, delta).map(|n| n.to_string()).map_err(text)
        }
        (Method::Put, ["cas", key]) => {
            let cas = atomics::Cas::new(&bucket, key).map_err(text)?;
            let seen = cas.current().map_err(text)?;
            // Another writer changes the key before the swap.
            bucket.set(key, b"interloper").map_err(text)?;
            match atomics::swap(cas, body) {
                Ok(()) => Ok(format!("swapped (read {:?})", seen.map(|v| String::from_utf8_lossy(&v).into_owned()))),
                Err(atomics::CasError::CasFailed(again)) => {
                    let now = again.current().map_err(text)?.map(|v| String::from_utf8_lossy(&v).into_owned());
                    atomics::swap(again, body).map_err(|e| format!("{e:?}"))?;
                    Ok(format!("cas failed, then read {now:?} and swapped"))
                }
                Err(atomics::CasError::StoreError(e)) => Err(text(e)),
            }
        }
        (Method::Put, ["many"]) => {
            let pairs: Vec<(String, Vec<u8>)> = value
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.as_bytes().to_vec()))
                .collect();
            batch::set_many(&bucket, &pairs).map_err(text)?;
            let mut keys: Vec<String> = pairs.into_iter().map(|(k, _)| k).collect();
            keys.push("absent".to_owned());
            let got = batch::get_many(&bucket, &keys).map_err(text)?;
            Ok(got
                .into_iter()
                .map(|(k, v)| format!("{k}={}", v.map(|v| String::from_utf8_lossy(&v).into_owned()).unwrap_or_else(|| "<none>".into())))
                .collect::<Vec<_>>()
                .join("&"))
        }
        (Method::Delete, ["many", keys]) => {
            let keys: Vec<String> = keys.split(',').map(str::to_owned).collect();
            batch::delete_many(&bucket, &keys).map(|()| "deleted".to_owned()).map_err(text)
        }
        _ => Err("unknown wasi:keyvalue operation".to_owned()),
    }
}

fn sql(database: &str, query: &str, body: &[u8]) -> Result<String, String> {
    use spin_sdk::sqlite::{Connection, Value};
    let db = Connection::open(database).map_err(|e| format!("{e:?}"))?;
    let params: Vec<Value> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.parse::<i64>() {
            Ok(i) => Value::Integer(i),
            Err(_) => Value::Text(p.to_owned()),
        })
        .collect();
    let statement = String::from_utf8_lossy(body);
    let result = db.execute(&statement, &params).map_err(|e| format!("{e:?}"))?;
    let mut out = result.columns.join(",");
    for row in &result.rows {
        let values: Vec<String> = row.values.iter().map(|v| format!("{v:?}")).collect();
        out.push('\n');
        out.push_str(&values.join("|"));
    }
    Ok(out)
}

fn row(database: &str, table: &str, id: &str) -> Result<String, String> {
    let id: i64 = id.parse().map_err(|e| format!("bad rowid: {e}"))?;
    let statement = format!("SELECT * FROM {table} WHERE rowid = ?");
    let answer = sql(database, &id.to_string(), statement.as_bytes())?;
    Ok(answer.lines().skip(1).collect::<Vec<_>>().join("\n"))
}

fn redis(method: &Method, address: &str, rest: &[&str], body: &[u8]) -> Result<String, String> {
    use spin_sdk::redis::{Connection, RedisParameter};
    let text = |e: spin_sdk::redis::Error| format!("{e:?}");
    let conn = Connection::open(address).map_err(text)?;
    let list = |body: &[u8]| -> Vec<String> {
        String::from_utf8_lossy(body).split(',').map(str::to_owned).collect()
    };
    match (method, rest) {
        (Method::Put, ["set", key]) => conn.set(key, &body.to_vec()).map(|()| "stored".to_owned()).map_err(text),
        (Method::Get, ["get", key]) => Ok(conn
            .get(key)
            .map_err(text)?
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .unwrap_or_else(|| "<none>".to_owned())),
        (Method::Post, ["incr", key]) => conn.incr(key).map(|n| n.to_string()).map_err(text),
        (Method::Delete, ["del", keys]) => {
            let keys: Vec<String> = keys.split(',').map(str::to_owned).collect();
            conn.del(&keys).map(|n| n.to_string()).map_err(text)
        }
        (Method::Post, ["sadd", key]) => conn.sadd(key, &list(body)).map(|n| n.to_string()).map_err(text),
        (Method::Post, ["srem", key]) => conn.srem(key, &list(body)).map(|n| n.to_string()).map_err(text),
        (Method::Get, ["smembers", key]) => {
            let mut members = conn.smembers(key).map_err(text)?;
            members.sort();
            Ok(members.join(","))
        }
        (Method::Post, ["publish", channel]) => conn
            .publish(channel, &body.to_vec())
            .map(|()| "published".to_owned())
            .map_err(text),
        (Method::Post, ["execute"]) => {
            let body = String::from_utf8_lossy(body).into_owned();
            let mut words = body.split(' ');
            let command = words.next().unwrap_or_default();
            let params: Vec<RedisParameter> = words
                .map(|w| match w.parse::<i64>() {
                    Ok(i) => RedisParameter::Int64(i),
                    Err(_) => RedisParameter::Binary(w.as_bytes().to_vec()),
                })
                .collect();
            let results = conn.execute(command, &params).map_err(text)?;
            Ok(results.iter().map(|r| format!("{r:?}")).collect::<Vec<_>>().join("|"))
        }
        _ => Err("unknown Redis operation".to_owned()),
    }
}

/// Opens `$address` with `$pg` (`spin_sdk::pg` or `pg3`), runs `$op` and
/// renders the result: rows changed, or `name:Type` columns and `|`-joined
/// rows.
macro_rules! pg_run {
    ($pg:ident, $address:expr, $op:expr, $statement:expr, $params:expr) => {{
        let text = |e: spin_sdk::$pg::PgError| format!("{e:?}");
        let conn = spin_sdk::$pg::Connection::open($address).map_err(text)?;
        match $op {
            "execute" => conn.execute($statement, &$params).map(|n| n.to_string()).map_err(text),
            _ => {
                let set = conn.query($statement, &$params).map_err(text)?;
                let columns: Vec<String> =
                    set.columns.iter().map(|c| format!("{}:{}", c.name, type_name(&c.data_type))).collect();
                let rows = set
                    .rows
                    .iter()
                    .map(|r| r.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>().join("|"));
                Ok(std::iter::once(columns.join(",")).chain(rows).collect::<Vec<_>>().join("\n"))
            }
        }
    }};
}

fn pg2(address: &str, op: &str, statement: &str, params: &[&str]) -> Result<String, String> {
    use spin_sdk::pg::ParameterValue;
    let params: Vec<ParameterValue> = params
        .iter()
        .map(|p| match (p.parse::<i32>(), *p) {
            (Ok(i), _) => ParameterValue::Int32(i),
            (_, "null") => ParameterValue::DbNull,
            (_, "u8") => ParameterValue::Uint8(8),
            _ => ParameterValue::Str(p.to_string()),
        })
        .collect();
    pg_run!(pg, address, op, statement, params)
}

fn pg3(address: &str, op: &str, statement: &str, params: &[&str]) -> Result<String, String> {
    use spin_sdk::pg3::ParameterValue;
    let params: Vec<ParameterValue> = params
        .iter()
        .map(|p| {
            if let Some(date) = p.strip_prefix("date:") {
                let parts: Vec<i32> = date.split('-').filter_map(|n| n.parse().ok()).collect();
                return ParameterValue::Date((parts[0], parts[1] as u8, parts[2] as u8));
            }
            match (p.parse::<i32>(), *p) {
                (Ok(i), _) => ParameterValue::Int32(i),
                (_, "null") => ParameterValue::DbNull,
                _ => ParameterValue::Str(p.to_string()),
            }
        })
        .collect();
    pg_run!(pg3, address, op, statement, params)
}

/// One `pg-params` entry as a spin:postgres@4 parameter: `kind:value`
/// (`uuid:`, `json:`, `dec:`, `int8:`; `i32range:`, `i64range:`,
/// `decrange:` with `lo,hi` where `[`/`(` and `]`/`)` mark inclusive or
/// exclusive bounds and an empty side is unbounded; `i32s:`, `i64s:`,
/// `decs:`, `strs:` with `,`-joined elements, `null` for NULL;
/// `interval:micros,days,months`), else an integer, `null`, or text.
fn pg4_param(p: &str) -> spin_sdk::pg4::ParameterValue {
    use spin_sdk::pg4::{Interval, ParameterValue as P, RangeBoundKind as K};
    fn list<T>(v: &str, f: impl Fn(&str) -> T) -> Vec<Option<T>> {
        v.split(',').map(|e| (e != "null").then(|| f(e))).collect()
    }
    fn range<T>(v: &str, f: impl Fn(&str) -> T) -> (Option<(T, K)>, Option<(T, K)>) {
        let (lo, hi) = v.split_once(',').unwrap_or((v, ""));
        let lower = lo.strip_prefix('[').map(|n| (n, K::Inclusive)).or_else(|| lo.strip_prefix('(').map(|n| (n, K::Exclusive)));
        let upper = hi.strip_suffix(']').map(|n| (n, K::Inclusive)).or_else(|| hi.strip_suffix(')').map(|n| (n, K::Exclusive)));
        let bound = |b: Option<(&str, K)>| b.filter(|(n, _)| !n.is_empty()).map(|(n, k)| (f(n), k));
        (bound(lower), bound(upper))
    }
    let Some((kind, v)) = p.split_once(':') else {
        return match (p.parse::<i32>(), p) {
            (Ok(i), _) => P::Int32(i),
            (_, "null") => P::DbNull,
            _ => P::Str(p.to_owned()),
        };
    };
    match kind {
        "uuid" => P::Uuid(v.to_owned()),
        "json" => P::Jsonb(v.as_bytes().to_vec()),
        "dec" => P::Decimal(v.to_owned()),
        "int8" => P::Int64(v.parse().unwrap()),
        "i32range" => P::RangeInt32(range(v, |n| n.parse().unwrap())),
        "i64range" => P::RangeInt64(range(v, |n| n.parse().unwrap())),
        "decrange" => P::RangeDecimal(range(v, str::to_owned)),
        "i32s" => P::ArrayInt32(list(v, |n| n.parse().unwrap())),
        "i64s" => P::ArrayInt64(list(v, |n| n.parse().unwrap())),
        "decs" => P::ArrayDecimal(list(v, str::to_owned)),
        "strs" => P::ArrayStr(list(v, str::to_owned)),
        "interval" => {
            let n: Vec<i64> = v.split(',').map(|n| n.parse().unwrap()).collect();
            P::Interval(Interval { micros: n[0], days: n[1] as i32, months: n[2] as i32 })
        }
        _ => P::Str(p.to_owned()),
    }
}

/// `spin_sdk::pg4` (spin:postgres@4.0.0): as [`pg_run!`], with JSONB
/// values shown as text and a server error's parts.
fn pg4(address: &str, op: &str, statement: &str, params: &[&str]) -> Result<String, String> {
    use spin_sdk::pg4::{Connection, DbValue, PgError as Error, QueryError};
    let text = |e: Error| match e {
        Error::QueryFailed(QueryError::DbError(db)) => format!(
            "DbError code={} severity={} message={} detail={:?} extras={:?}",
            db.code, db.severity, db.message, db.detail, db.extras
        ),
        e => format!("{e:?}"),
    };
    let params: Vec<_> = params.iter().map(|p| pg4_param(p)).collect();
    let conn = Connection::open(address).map_err(text)?;
    if op == "execute" {
        return conn.execute(statement, &params).map(|n| n.to_string()).map_err(text);
    }
    let set = conn.query(statement, &params).map_err(text)?;
    let columns: Vec<String> = set.columns.iter().map(|c| format!("{}:{}", c.name, type_name(&c.data_type))).collect();
    let show = |v: &DbValue| match v {
        DbValue::Jsonb(b) => format!("Jsonb({})", String::from_utf8_lossy(b)),
        v => format!("{v:?}"),
    };
    let rows = set.rows.iter().map(|r| r.iter().map(show).collect::<Vec<_>>().join("|"));
    Ok(std::iter::once(columns.join(",")).chain(rows).collect::<Vec<_>>().join("\n"))
}

/// `Int32` for `DbDataType::Int32`.
fn type_name(t: &impl std::fmt::Debug) -> String {
    format!("{t:?}").trim_start_matches("DbDataType::").to_owned()
}

fn tcp(address: &str, body: &[u8]) -> Result<String, String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).map_err(|e| format!("connect: {e}"))?;
    stream.write_all(body).map_err(|e| format!("write: {e}"))?;
    stream.shutdown(std::net::Shutdown::Write).map_err(|e| format!("shutdown: {e}"))?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply).map_err(|e| format!("read: {e}"))?;
    Ok(reply)
}

fn udp(address: &str, body: &[u8]) -> Result<String, String> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").map_err(|e| format!("bind: {e}"))?;
    socket.send_to(body, address).map_err(|e| format!("send: {e}"))?;
    Ok("sent".to_owned())
}

fn hoard(n: usize) -> String {
    use wasi::sockets::network::IpAddressFamily;
    let mut held = Vec::new();
    for _ in 0..n {
        match wasi::sockets::tcp_create_socket::create_tcp_socket(IpAddressFamily::Ipv4) {
            Ok(socket) => held.push(socket),
            Err(e) => return format!("created {}, then {e:?}", held.len()),
        }
    }
    format!("created {}", held.len())
}

/// Starts `n` lookups of `name` (wasi:sockets ip-name-lookup), dropping
/// each at once: `started <s> refused <r>` (refused: the host's
/// `temporary-resolver-failure`).
fn lookups(name: &str, n: usize) -> Result<String, String> {
    use wasi::sockets::network::ErrorCode;
    let network = wasi::sockets::instance_network::instance_network();
    let (mut started, mut refused) = (0, 0);
    for _ in 0..n {
        match wasi::sockets::ip_name_lookup::resolve_addresses(&network, name) {
            Ok(lookup) => {
                drop(lookup);
                started += 1;
            }
            Err(ErrorCode::TemporaryResolverFailure) => refused += 1,
            Err(e) => return Err(format!("after {started}: {e:?}")),
        }
    }
    Ok(format!("started {started} refused {refused}"))
}

fn sql_hoard(n: usize) -> String {
    let mut held = Vec::new();
    for _ in 0..n {
        match spin_sdk::sqlite::Connection::open_default() {
            Ok(conn) => held.push(conn),
            Err(e) => return format!("opened {}, then {e:?}", held.len()),
        }
    }
    format!("opened {}", held.len())
}
