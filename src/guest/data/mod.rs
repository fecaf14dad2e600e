//! Where apps keep data: key-value stores ([`kv`]) and SQLite databases
//! ([`sqlite`]), placed by the runtime configuration file
//! ([`runtime_config`]) or, without one, in the state directory
//! ([`state_dir`]) as Spin places them; and the Redis and PostgreSQL
//! servers a guest connects to itself ([`outbound_redis`],
//! [`outbound_pg`]). Nothing here names wasmtime: the
//! guest-facing bindings are in [`crate::guest::host::platform`].

pub mod kv;
pub mod outbound_pg;
pub mod outbound_redis;
pub mod runtime_config;
pub mod sqlite;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::Semaphore;

/// Database calls running on the blocking pool at once, process-wide
/// (each holds a blocking thread).
pub const MAX_BLOCKING: usize = 16;

/// A process-wide bound: the semaphore in `cell`, made with `permits`
/// at its first use.
pub fn process_slots(cell: &'static OnceLock<Arc<Semaphore>>, permits: usize) -> Arc<Semaphore> {
    cell.get_or_init(|| Arc::new(Semaphore::new(permits)))
        .clone()
}

/// The process's bound on database calls running at once: SQLite
/// statements and SQLite key-value calls take a slot each.
pub fn blocking_slots() -> Arc<Semaphore> {
    static SLOTS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    process_slots(&SLOTS, MAX_BLOCKING)
}

/// Runs `f` on tokio's blocking pool within [`blocking_slots`]. The slot,
/// and `held` (a caller's own permit), go with the thread: a caller that is
/// dropped frees them only once `f` has returned.
pub async fn run_blocking<T: Send + 'static>(
    held: impl Send + 'static,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let slot = blocking_slots()
        .acquire_owned()
        .await
        .map_err(|_| "the database is shutting down".to_owned())?;
    tokio::task::spawn_blocking(move || {
        let _held = (slot, held);
        f()
    })
    .await
    .map_err(|e| format!("the database call did not finish: {e}"))
}

/// How long a SQLite write waits for another connection's (or process's)
/// lock.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens the SQLite database at `path` (creating its directory), or a new
/// one in memory, with the busy timeout and WAL: how every store and
/// database here opens.
pub fn open_sqlite(path: Option<&Path>) -> Result<rusqlite::Connection, String> {
    let conn = match path {
        Some(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
            rusqlite::Connection::open(path)
        }
        None => rusqlite::Connection::open_in_memory(),
    }
    .map_err(|e| e.to_string())?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| e.to_string())?;
    // Switching to WAL takes the file's exclusive lock without waiting
    // for it: connections opening a new file at once race for it, and
    // the losers' switch fails (`database is locked`) as the winner's
    // succeeds. Only a file not yet in WAL is switched, and a failed
    // switch is an error only if the file is still not in WAL.
    let wal = |conn: &rusqlite::Connection| {
        conn.pragma_query_value(None, "journal_mode", |row| row.get::<_, String>(0))
            .map(|mode| mode.eq_ignore_ascii_case("wal"))
    };
    if !wal(&conn).map_err(|e| e.to_string())?
        && let Err(e) = conn.pragma_update(None, "journal_mode", "WAL")
        && !wal(&conn).unwrap_or(false)
    {
        return Err(e.to_string());
    }
    Ok(conn)
}

/// The directory of the state: `flag` (`--state-dir`), else the runtime
/// configuration's `state_dir`, else systemd's state directory, else
/// `.wasi-httpd/` in `base_dir`.
pub fn state_dir(
    flag: Option<&Path>,
    configured: Option<&Path>,
    systemd: Option<&Path>,
    base_dir: &Path,
) -> PathBuf {
    match flag.or(configured).or(systemd) {
        Some(dir) => dir.to_path_buf(),
        None => base_dir.join(".wasi-httpd"),
    }
}

/// Name lookups running at once in the process (each holds a blocking
/// thread until the system resolver answers): guests' own
/// (`executor::name_lookup`) and the checks of their Redis and PostgreSQL
/// addresses.
pub const MAX_LOOKUPS: usize = 32;

/// The process's slots for [`MAX_LOOKUPS`].
pub fn lookup_slots() -> Arc<Semaphore> {
    static SLOTS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    process_slots(&SLOTS, MAX_LOOKUPS)
}

/// Looks `name` up with the system resolver on a task of its own, which
/// keeps `slots` until the resolver answers, whether or not the caller
/// still waits.
pub fn spawn_lookup(
    name: String,
    port: u16,
    slots: impl Send + 'static,
) -> tokio::task::JoinHandle<std::io::Result<Vec<std::net::SocketAddr>>> {
    tokio::spawn(async move {
        let _slots = slots;
        tokio::net::lookup_host((name.as_str(), port))
            .await
            .map(Iterator::collect)
    })
}

/// Looks `host` up within [`lookup_slots`] (waiting for one).
pub async fn resolve(host: &str, port: u16) -> Result<Vec<std::net::SocketAddr>, String> {
    let slot = lookup_slots()
        .acquire_owned()
        .await
        .map_err(|_| "name lookups are shut down".to_owned())?;
    spawn_lookup(host.to_owned(), port, slot)
        .await
        .map_err(|e| format!("the lookup of {host} did not finish: {e}"))?
        .map_err(|e| format!("cannot resolve {host}: {e}"))
}

/// The addresses `host` leads to, each of which must be one `allowed`
/// lets a guest reach by `scheme` (as for outbound HTTP: never
/// link-local; loopback or private only when an entry names it).
pub async fn check_addresses(
    allowed: &crate::model::outbound_hosts::AllowedHosts,
    scheme: &str,
    host: &str,
    port: u16,
) -> Result<Vec<std::net::SocketAddr>, String> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addresses = match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => vec![std::net::SocketAddr::new(ip, port)],
        Err(_) => resolve(bare, port).await?,
    };
    for address in &addresses {
        allowed.may_connect(scheme, host, address.ip(), port)?;
    }
    Ok(addresses)
}

/// An error and its causes, `: `-joined (a cause its error already
/// shows is not repeated): what a guest is told about a failed connection.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = e.source();
    }
    text
}

/// The stores a component may open: its key-value stores and SQLite
/// databases.
#[derive(Clone, Default)]
pub struct Stores {
    pub kv: kv::KvAccess,
    pub sqlite: sqlite::SqliteAccess,
}

/// The data services of one load: the runtime configuration read for it,
/// resolved against the state directory.
pub struct Load<'a> {
    kv: kv::Resolver<'a>,
    sqlite: Arc<sqlite::Databases>,
}

impl<'a> Load<'a> {
    /// Starts a load: `config` (read now, so that a reload re-reads it)
    /// and the state directory from `--state-dir`, `config` or the
    /// environment.
    pub fn begin(
        backends: &'a mut kv::Backends,
        config: &runtime_config::RuntimeConfig,
        state_dir_flag: Option<&Path>,
        systemd_state_dir: Option<&Path>,
        base_dir: &Path,
    ) -> Self {
        let dir = state_dir(
            state_dir_flag,
            config.state_dir.as_deref(),
            systemd_state_dir,
            base_dir,
        );
        Self {
            kv: backends.resolve(config, &dir),
            sqlite: sqlite::Databases::new(config, &dir),
        }
    }

    /// What component `id` may open, from its declared labels; a label
    /// that is not defined is an error naming the key.
    pub fn stores(&mut self, id: &str, kv: &[String], sqlite: &[String]) -> anyhow::Result<Stores> {
        Ok(Stores {
            kv: self.kv.access(id, kv)?,
            sqlite: self.sqlite.access(id, sqlite)?,
        })
    }

    /// The first load's setup: `--key-value` pairs set in the `default`
    /// store, then `--sqlite` statements run.
    pub fn seed(
        &mut self,
        pairs: &[(String, String)],
        statements: &[String],
    ) -> anyhow::Result<()> {
        if !pairs.is_empty() {
            self.kv.seed(pairs)?;
        }
        self.sqlite.run_statements(statements)
    }

    /// The load succeeded: keep what it uses.
    pub fn commit(self) {
        self.kv.commit();
    }
}
