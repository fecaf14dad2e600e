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

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime, Timeouts};
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::types::ToSql;
use tokio_rustls::rustls::pki_types::CertificateDer;

use crate::model::outbound_hosts::AllowedHosts;

mod ranges;
mod types;

pub use types::{BoundKind, Interval, PgRange, PgType, PgValue};
use types::{data_type, to_sql, value};

/// Connections one address's pool keeps (Spin keeps 64).
pub const POOL_SIZE: usize = 16;

/// Addresses whose pools are kept; past it, the least recently used goes.
pub const MAX_POOLS: usize = 16;

/// The most a result may take in the host.
pub const MAX_RESULT_BYTES: usize = crate::guest::data::sqlite::MAX_RESULT_BYTES;

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
    QueryFailed(QueryError),
    ValueConversionFailed(String),
    Other(String),
}

impl PgError {
    fn query(text: String) -> Self {
        PgError::QueryFailed(QueryError::Text(text))
    }
}

/// Why a query failed: the server's structured error, or text.
#[derive(Debug)]
pub enum QueryError {
    Text(String),
    Db(Box<DbError>),
}

impl QueryError {
    /// The error as one line (what the 2.0 and 3.0 interfaces carry).
    pub fn into_text(self) -> String {
        match self {
            QueryError::Text(text) => text,
            QueryError::Db(db) => db.as_text,
        }
    }
}

/// An error the server reported, in its parts (SQLSTATE `code`, ...).
#[derive(Debug)]
pub struct DbError {
    pub as_text: String,
    pub severity: String,
    pub code: String,
    pub message: String,
    pub detail: Option<String>,
    /// The other fields the server gave (`hint`, `table`, `column`, ...).
    pub extras: Vec<(String, String)>,
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
    /// The process's place for it, and the instance's.
    _slots: Arc<(
        tokio::sync::OwnedSemaphorePermit,
        tokio::sync::OwnedSemaphorePermit,
    )>,
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
    crate::guest::data::process_slots(&SLOTS, MAX_CONNECTIONS)
}

/// A pool's address and the digest of its guest root, if any.
type PoolKey = (String, Option<[u8; 32]>);

/// The pools, least recently used first.
fn pools() -> &'static Mutex<Vec<(PoolKey, Pool)>> {
    static POOLS: OnceLock<Mutex<Vec<(PoolKey, Pool)>>> = OnceLock::new();
    POOLS.get_or_init(|| Mutex::new(Vec::new()))
}

fn pool_for(
    address: &str,
    config: tokio_postgres::Config,
    ca_root: Option<&CaRoot>,
) -> Result<Pool, PgError> {
    let key: PoolKey = (address.to_owned(), ca_root.map(|r| r.digest));
    let mut pools = pools()
        .lock()
        .map_err(|_| PgError::Other("the PostgreSQL pools are unavailable".into()))?;
    if let Some(i) = pools.iter().position(|(k, _)| *k == key) {
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
        let extra = ca_root.map_or(&[][..], |r| &r.certs[..]);
        let tls = crate::base::tls::client_config(Vec::new(), extra);
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
    pools.push((key, pool.clone()));
    Ok(pool)
}

impl PgConnection {
    /// Connects to `address`, every host of which `allowed` must allow;
    /// TLS trusts the system's roots and `ca_root`.
    pub async fn open(
        address: &str,
        allowed: &AllowedHosts,
        ca_root: Option<&CaRoot>,
        held: tokio::sync::OwnedSemaphorePermit,
    ) -> Result<Self, PgError> {
        let (config, targets) = check_allowed(address, allowed)?;
        for (host, port) in &targets {
            crate::guest::data::check_addresses(allowed, "postgres", host, *port)
                .await
                .map_err(PgError::Denied)?;
        }
        let slot = slots().try_acquire_owned().map_err(|_| {
            PgError::ConnectionFailed(format!(
                "too many PostgreSQL connections open in the process (at most {MAX_CONNECTIONS})"
            ))
        })?;
        let pool = pool_for(address, config, ca_root)?;
        let client = pool
            .get()
            .await
            .map_err(|e| PgError::ConnectionFailed(crate::guest::data::error_chain(&e)))?;
        Ok(Self {
            client: Arc::new(client),
            _slots: Arc::new((slot, held)),
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

    /// Runs a query; its columns, and its rows as they come (each at most
    /// [`MAX_RESULT_BYTES`]).
    pub async fn query_rows(&self, statement: &str, params: &[PgValue]) -> Result<Rows, PgError> {
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
        Ok(Rows {
            columns,
            stream: Box::pin(stream),
            _conn: self.clone(),
        })
    }

    /// Runs a query; its columns and rows, stopped past
    /// [`MAX_RESULT_BYTES`] in all.
    pub async fn query(&self, statement: &str, params: &[PgValue]) -> Result<RowSet, PgError> {
        let mut result = self.query_rows(statement, params).await?;
        let mut bytes = 0usize;
        let mut rows = Vec::new();
        while let Some(row) = std::future::poll_fn(|cx| result.poll_row(cx)).await {
            let row = row?;
            bytes += row.iter().map(PgValue::size).sum::<usize>();
            if bytes > MAX_RESULT_BYTES {
                return Err(too_large());
            }
            rows.push(row);
        }
        Ok(RowSet {
            columns: result.columns,
            rows,
        })
    }
}

/// A query's result as it comes from the server; the connection stays
/// the guest's until it is dropped.
pub struct Rows {
    pub columns: Vec<(String, PgType)>,
    stream: std::pin::Pin<Box<tokio_postgres::RowStream>>,
    _conn: PgConnection,
}

impl Rows {
    /// The next row, converted; `None` after the last.
    pub fn poll_row(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Vec<PgValue>, PgError>>> {
        use futures_util::Stream;
        self.stream.as_mut().poll_next(cx).map(|row| {
            let row = match row? {
                Ok(row) => row,
                Err(e) => return Some(Err(query_failed(e))),
            };
            let values = (0..row.len())
                .map(|i| value(&row, i))
                .collect::<Result<Vec<_>, _>>();
            Some(values.and_then(|values| {
                if values.iter().map(PgValue::size).sum::<usize>() > MAX_RESULT_BYTES {
                    return Err(too_large());
                }
                Ok(values)
            }))
        })
    }
}

fn too_large() -> PgError {
    PgError::query(format!(
        "the result is larger than {} MiB; select fewer rows or columns (LIMIT)",
        MAX_RESULT_BYTES >> 20
    ))
}

/// A root certificate a guest gave for a connection's TLS, with its
/// digest (pools are kept by address and root).
#[derive(Clone)]
pub struct CaRoot {
    certs: Vec<CertificateDer<'static>>,
    digest: [u8; 32],
}

impl CaRoot {
    /// The certificates of a PEM text (at least one).
    pub fn from_pem(text: &str) -> Result<Self, PgError> {
        use sha2::Digest;
        use tokio_rustls::rustls::pki_types::pem::PemObject;
        let invalid = |why: String| PgError::Other(format!("invalid root certificate: {why}"));
        let certs = CertificateDer::pem_slice_iter(text.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid(e.to_string()))?;
        if certs.is_empty() {
            return Err(invalid("no PEM CERTIFICATE block".into()));
        }
        let mut roots = tokio_rustls::rustls::RootCertStore::empty();
        for cert in &certs {
            roots
                .add(cert.clone())
                .map_err(|e| invalid(e.to_string()))?;
        }
        Ok(Self {
            certs,
            digest: sha2::Sha256::digest(text.as_bytes()).into(),
        })
    }
}

/// A failed query or statement: the server's error in its parts, or the
/// cause (a parameter of the wrong type, say).
fn query_failed(e: tokio_postgres::Error) -> PgError {
    if let Some(db) = e.as_db_error() {
        let mut extras = Vec::new();
        let mut extra = |name: &str, value: Option<String>| {
            if let Some(value) = value {
                extras.push((name.to_owned(), value));
            }
        };
        extra("column", db.column().map(str::to_owned));
        extra("constraint", db.constraint().map(str::to_owned));
        extra("routine", db.routine().map(str::to_owned));
        extra("hint", db.hint().map(str::to_owned));
        extra("table", db.table().map(str::to_owned));
        extra("datatype", db.datatype().map(str::to_owned));
        extra("schema", db.schema().map(str::to_owned));
        extra("file", db.file().map(str::to_owned));
        extra("line", db.line().map(|l| l.to_string()));
        extra("where_", db.where_().map(str::to_owned));
        return PgError::QueryFailed(QueryError::Db(Box::new(DbError {
            as_text: format!("{}: {}", db.severity(), db.message()),
            severity: db.severity().to_owned(),
            code: db.code().code().to_owned(),
            message: db.message().to_owned(),
            detail: db.detail().map(str::to_owned),
            extras,
        })));
    }
    PgError::query(crate::guest::data::error_chain(&e))
}
