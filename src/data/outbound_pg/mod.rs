//! Spin's outbound PostgreSQL: a guest opens a connection to a server its
//! `allowed_outbound_hosts` names (`postgres://host:port`), by a URL or a
//! key-value connection string, and runs queries and statements with
//! parameters, as Spin's outbound PostgreSQL does: the same checks (every
//! host of the connection string must be allowed; Unix sockets are not),
//! the same type conversions, the same errors.
//!
//! Where the hosts resolve must be reachable as for outbound HTTP (never
//! link-local; loopback or private only when an entry names the address),
//! and a `hostaddr` must be allowed too. Connections come from a pool per
//! address (at most [`POOL_SIZE`] each, [`MAX_POOLS`] addresses kept),
//! with 5-second waits, at most [`MAX_CONNECTIONS`] held by guests at
//! once, and go back rolled back and reset; TLS (unless `sslmode=disable`)
//! is rustls with the system's roots. A result is read as it comes and is
//! an error past [`MAX_RESULT_BYTES`].

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime, Timeouts};
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::types::{ToSql, Type};

use crate::outbound_hosts::AllowedHosts;

/// Connections one address's pool keeps (Spin keeps 64).
pub const POOL_SIZE: usize = 16;

/// Addresses whose pools are kept; past it, the least recently used goes.
pub const MAX_POOLS: usize = 16;

/// The most a result may take in the host.
pub const MAX_RESULT_BYTES: usize = crate::data::sqlite::MAX_RESULT_BYTES;

/// How long waiting for, making or checking a connection may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Why an operation failed, as Spin's interfaces report it.
#[derive(Debug)]
pub enum PgError {
    ConnectionFailed(String),
    /// `allowed_outbound_hosts` does not let the guest reach the address
    /// (`connection-failed` to the guest, logged by the caller).
    Denied(String),
    BadParameter(String),
    QueryFailed(String),
    ValueConversionFailed(String),
    Other(String),
}

/// A value, in a row or as a parameter (the union of what Spin's
/// PostgreSQL interfaces carry).
#[derive(Debug, Clone, PartialEq)]
pub enum PgValue {
    Boolean(bool),
    Int8(i8),
    Int16(i16),
    Int32(i32),
    Int64(i64),
    /// Only as a parameter of the 2.0 interface, which Postgres refuses.
    Unsigned,
    Floating32(f32),
    Floating64(f64),
    Str(String),
    Binary(Vec<u8>),
    Date((i32, u8, u8)),
    Time((u8, u8, u8, u32)),
    Datetime((i32, u8, u8, u8, u8, u8, u32)),
    /// Unix seconds (a parameter only; rows carry `Datetime`).
    Timestamp(i64),
    Null,
    /// A column type with no value of its own here.
    Unsupported,
}

/// A column's type, as Spin names it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PgType {
    Boolean,
    Int16,
    Int32,
    Int64,
    Floating32,
    Floating64,
    Str,
    Binary,
    Date,
    Time,
    Datetime,
    Other,
}

/// What a query returned.
#[derive(Debug, Default)]
pub struct RowSet {
    pub columns: Vec<(String, PgType)>,
    pub rows: Vec<Vec<PgValue>>,
}

/// A guest's open connection (clones share it and its slot).
#[derive(Clone)]
pub struct PgConnection {
    client: Arc<Object>,
    _slot: Arc<tokio::sync::OwnedSemaphorePermit>,
}

/// Whether every host (and `hostaddr`) `address` names is one `allowed`
/// lets the guest reach; the parsed configuration and the targets to
/// check the addresses of.
pub fn check_allowed(
    address: &str,
    allowed: &AllowedHosts,
) -> Result<(tokio_postgres::Config, Vec<(String, u16)>), PgError> {
    let config: tokio_postgres::Config = address
        .parse()
        .map_err(|e: tokio_postgres::Error| PgError::ConnectionFailed(e.to_string()))?;
    let ports = config.get_ports();
    // The port at the host's index, else the only one, else 5432.
    let port_of = |i: usize| {
        ports
            .get(i)
            .or_else(|| (ports.len() == 1).then(|| &ports[0]))
            .copied()
    };
    let denied = |name: &str, port: Option<u16>| {
        let port = port.map(|p| format!(":{p}")).unwrap_or_default();
        PgError::Denied(format!("address postgres://{name}{port} is not permitted"))
    };
    if config.get_hosts().is_empty() {
        return Err(PgError::ConnectionFailed(
            "the address names no host".into(),
        ));
    }
    let mut targets = Vec::new();
    for (i, host) in config.get_hosts().iter().enumerate() {
        let Host::Tcp(name) = host else {
            return Err(PgError::ConnectionFailed(
                "Unix sockets are not supported on WebAssembly".into(),
            ));
        };
        let port = port_of(i);
        if !allowed.allows_parts("postgres", name, port) {
            return Err(denied(name, port));
        }
        // A `hostaddr` is where the client connects (the host name is then
        // only for TLS): it must be allowed too.
        match config.get_hostaddrs().get(i) {
            Some(ip) => {
                if !allowed.allows_parts("postgres", &ip.to_string(), port) {
                    return Err(denied(&ip.to_string(), port));
                }
                targets.push((ip.to_string(), port.unwrap_or(5432)));
            }
            None => targets.push((name.clone(), port.unwrap_or(5432))),
        }
    }
    if config.get_hostaddrs().len() > config.get_hosts().len() {
        return Err(PgError::ConnectionFailed(
            "more hostaddr than host entries in the address".into(),
        ));
    }
    Ok((config, targets))
}

/// Guest connections to PostgreSQL servers open at once, process-wide.
pub const MAX_CONNECTIONS: usize = 256;

fn slots() -> Arc<tokio::sync::Semaphore> {
    static SLOTS: OnceLock<Arc<tokio::sync::Semaphore>> = OnceLock::new();
    SLOTS
        .get_or_init(|| Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS)))
        .clone()
}

/// The pools, by address, least recently used first.
fn pools() -> &'static Mutex<Vec<(String, Pool)>> {
    static POOLS: OnceLock<Mutex<Vec<(String, Pool)>>> = OnceLock::new();
    POOLS.get_or_init(|| Mutex::new(Vec::new()))
}

fn pool_for(address: &str, config: tokio_postgres::Config) -> Result<Pool, PgError> {
    let mut pools = pools()
        .lock()
        .map_err(|_| PgError::Other("the PostgreSQL pools are unavailable".into()))?;
    if let Some(i) = pools.iter().position(|(a, _)| a == address) {
        let entry = pools.remove(i);
        let pool = entry.1.clone();
        pools.push(entry);
        return Ok(pool);
    }
    // A connection goes back with no transaction the last guest left
    // open, and no session state (Spin's `Clean` does not roll back).
    let clean = RecyclingMethod::Clean.query().unwrap_or_default();
    let manager_config = ManagerConfig {
        recycling_method: RecyclingMethod::Custom(format!("ROLLBACK; {clean}")),
    };
    let manager = if config.get_ssl_mode() == SslMode::Disable {
        Manager::from_config(config, tokio_postgres::NoTls, manager_config)
    } else {
        let tls = crate::outbound_client::tls_config_for(Vec::new());
        let connector = tokio_postgres_rustls::MakeRustlsConnect::new((*tls).clone());
        Manager::from_config(config, connector, manager_config)
    };
    let pool = Pool::builder(manager)
        .max_size(POOL_SIZE)
        .runtime(Runtime::Tokio1)
        .timeouts(Timeouts {
            wait: Some(TIMEOUT),
            create: Some(TIMEOUT),
            recycle: Some(TIMEOUT),
        })
        .build()
        .map_err(|e| PgError::Other(format!("cannot make a connection pool: {e}")))?;
    if pools.len() >= MAX_POOLS {
        pools.remove(0);
    }
    pools.push((address.to_owned(), pool.clone()));
    Ok(pool)
}

impl PgConnection {
    /// Connects to `address`, every host of which `allowed` must allow.
    pub async fn open(address: &str, allowed: &AllowedHosts) -> Result<Self, PgError> {
        let (config, targets) = check_allowed(address, allowed)?;
        for (host, port) in &targets {
            crate::data::check_addresses(allowed, "postgres", host, *port)
                .await
                .map_err(PgError::Denied)?;
        }
        let slot = slots().try_acquire_owned().map_err(|_| {
            PgError::ConnectionFailed(format!(
                "too many PostgreSQL connections open in the process (at most {MAX_CONNECTIONS})"
            ))
        })?;
        let pool = pool_for(address, config)?;
        let client = pool
            .get()
            .await
            .map_err(|e| PgError::ConnectionFailed(e.to_string()))?;
        Ok(Self {
            client: Arc::new(client),
            _slot: Arc::new(slot),
        })
    }

    /// Runs a statement; the number of rows it changed.
    pub async fn execute(&self, statement: &str, params: &[PgValue]) -> Result<u64, PgError> {
        // A parameter that cannot be converted: value-conversion-failed
        // here, bad-parameter for a query, as in Spin.
        let params = to_sql(params)?;
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref() as _).collect();
        self.client
            .execute(statement, &refs)
            .await
            .map_err(query_failed)
    }

    /// Runs a query; its columns and rows, read as they come and stopped
    /// past [`MAX_RESULT_BYTES`].
    pub async fn query(&self, statement: &str, params: &[PgValue]) -> Result<RowSet, PgError> {
        use futures_util::TryStreamExt;
        let params = to_sql(params).map_err(|e| match e {
            PgError::ValueConversionFailed(why) => PgError::BadParameter(why),
            other => other,
        })?;
        let prepared = self.client.prepare(statement).await.map_err(query_failed)?;
        let columns = prepared
            .columns()
            .iter()
            .map(|c| (c.name().to_owned(), data_type(c.type_())))
            .collect();
        let refs = params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync));
        let stream = self
            .client
            .query_raw(&prepared, refs)
            .await
            .map_err(query_failed)?;
        let mut stream = std::pin::pin!(stream);
        let mut bytes = 0usize;
        let mut rows = Vec::new();
        while let Some(row) = stream.try_next().await.map_err(query_failed)? {
            let values = (0..row.len())
                .map(|i| value(&row, i))
                .collect::<Result<Vec<_>, _>>()?;
            bytes += values.iter().map(size).sum::<usize>();
            if bytes > MAX_RESULT_BYTES {
                return Err(PgError::QueryFailed(format!(
                    "the result is larger than {} MiB; select fewer rows or columns (LIMIT)",
                    MAX_RESULT_BYTES >> 20
                )));
            }
            rows.push(values);
        }
        Ok(RowSet { columns, rows })
    }
}

/// A failed query or statement, with the server's message or the cause
/// (a parameter of the wrong type, say).
fn query_failed(e: tokio_postgres::Error) -> PgError {
    if let Some(db) = e.as_db_error() {
        return PgError::QueryFailed(format!("{}: {}", db.severity(), db.message()));
    }
    match std::error::Error::source(&e) {
        Some(cause) => PgError::QueryFailed(format!("{e}: {cause}")),
        None => PgError::QueryFailed(e.to_string()),
    }
}

fn size(value: &PgValue) -> usize {
    32 + match value {
        PgValue::Str(s) => s.len(),
        PgValue::Binary(b) => b.len(),
        _ => 0,
    }
}

fn data_type(t: &Type) -> PgType {
    match *t {
        Type::BOOL => PgType::Boolean,
        Type::BYTEA => PgType::Binary,
        Type::FLOAT4 => PgType::Floating32,
        Type::FLOAT8 => PgType::Floating64,
        Type::INT2 => PgType::Int16,
        Type::INT4 => PgType::Int32,
        Type::INT8 => PgType::Int64,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR => PgType::Str,
        Type::TIMESTAMP | Type::TIMESTAMPTZ => PgType::Datetime,
        Type::DATE => PgType::Date,
        Type::TIME => PgType::Time,
        _ => PgType::Other,
    }
}

/// Column `i` of `row`, converted as Spin converts it.
fn value(row: &tokio_postgres::Row, i: usize) -> Result<PgValue, PgError> {
    fn get<'a, T: tokio_postgres::types::FromSql<'a>>(
        row: &'a tokio_postgres::Row,
        i: usize,
        make: impl FnOnce(T) -> PgValue,
    ) -> Result<PgValue, PgError> {
        let value: Option<T> = row
            .try_get(i)
            .map_err(|e| PgError::ValueConversionFailed(format!("column {i}: {e}")))?;
        Ok(value.map_or(PgValue::Null, make))
    }
    match *row.columns()[i].type_() {
        Type::BOOL => get(row, i, PgValue::Boolean),
        Type::BYTEA => get(row, i, PgValue::Binary),
        Type::FLOAT4 => get(row, i, PgValue::Floating32),
        Type::FLOAT8 => get(row, i, PgValue::Floating64),
        Type::INT2 => get(row, i, PgValue::Int16),
        Type::INT4 => get(row, i, PgValue::Int32),
        Type::INT8 => get(row, i, PgValue::Int64),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR => get(row, i, PgValue::Str),
        Type::TIMESTAMP => get(row, i, |v: NaiveDateTime| PgValue::Datetime(datetime(v))),
        Type::TIMESTAMPTZ => get(row, i, |v: chrono::DateTime<chrono::Utc>| {
            PgValue::Datetime(datetime(v.naive_utc()))
        }),
        Type::DATE => get(row, i, |v: NaiveDate| PgValue::Date(date(v))),
        Type::TIME => get(row, i, |v: NaiveTime| PgValue::Time(time(v))),
        _ => get(row, i, |Unsupported| PgValue::Unsupported),
    }
}

/// Accepts any column type and reads nothing: Spin's `unsupported` (or
/// `db-null` when the value is NULL).
struct Unsupported;

impl<'a> tokio_postgres::types::FromSql<'a> for Unsupported {
    fn from_sql(_: &Type, _: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Unsupported)
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// A NULL parameter, whatever the column's type.
#[derive(Debug)]
struct Null;

impl ToSql for Null {
    fn to_sql(
        &self,
        _: &Type,
        _: &mut bytes::BytesMut,
    ) -> Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        Ok(tokio_postgres::types::IsNull::Yes)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

fn date(v: NaiveDate) -> (i32, u8, u8) {
    (v.year(), v.month() as u8, v.day() as u8)
}

fn time(v: NaiveTime) -> (u8, u8, u8, u32) {
    (
        v.hour() as u8,
        v.minute() as u8,
        v.second() as u8,
        v.nanosecond(),
    )
}

fn datetime(v: NaiveDateTime) -> (i32, u8, u8, u8, u8, u8, u32) {
    let (y, mo, d) = date(v.date());
    let (h, mi, s, ns) = time(v.time());
    (y, mo, d, h, mi, s, ns)
}

/// The parameters as tokio-postgres takes them.
fn to_sql(params: &[PgValue]) -> Result<Vec<Box<dyn ToSql + Send + Sync>>, PgError> {
    let bad = |what: String| PgError::ValueConversionFailed(what);
    params
        .iter()
        .map(|p| -> Result<Box<dyn ToSql + Send + Sync>, PgError> {
            Ok(match p {
                PgValue::Boolean(v) => Box::new(*v),
                PgValue::Int8(v) => Box::new(*v),
                PgValue::Int16(v) => Box::new(*v),
                PgValue::Int32(v) => Box::new(*v),
                PgValue::Int64(v) => Box::new(*v),
                PgValue::Unsigned => {
                    return Err(bad("Postgres does not support unsigned integers".into()));
                }
                PgValue::Floating32(v) => Box::new(*v),
                PgValue::Floating64(v) => Box::new(*v),
                PgValue::Str(v) => Box::new(v.clone()),
                PgValue::Binary(v) => Box::new(v.clone()),
                PgValue::Date((y, m, d)) => Box::new(
                    NaiveDate::from_ymd_opt(*y, (*m).into(), (*d).into())
                        .ok_or_else(|| bad(format!("invalid date y={y}, m={m}, d={d}")))?,
                ),
                PgValue::Time((h, m, s, ns)) => Box::new(
                    NaiveTime::from_hms_nano_opt((*h).into(), (*m).into(), (*s).into(), *ns)
                        .ok_or_else(|| bad(format!("invalid time {h}:{m}:{s}:{ns}")))?,
                ),
                PgValue::Datetime((y, mo, d, h, mi, s, ns)) => {
                    let date = NaiveDate::from_ymd_opt(*y, (*mo).into(), (*d).into())
                        .ok_or_else(|| bad(format!("invalid date y={y}, m={mo}, d={d}")))?;
                    let time =
                        NaiveTime::from_hms_nano_opt((*h).into(), (*mi).into(), (*s).into(), *ns)
                            .ok_or_else(|| bad(format!("invalid time {h}:{mi}:{s}:{ns}")))?;
                    Box::new(NaiveDateTime::new(date, time))
                }
                PgValue::Timestamp(secs) => Box::new(
                    chrono::DateTime::<chrono::Utc>::from_timestamp(*secs, 0)
                        .ok_or_else(|| bad(format!("invalid epoch timestamp {secs}")))?,
                ),
                PgValue::Null => Box::new(Null),
                PgValue::Unsupported => return Err(bad("unsupported is not a parameter".into())),
            })
        })
        .collect()
}
