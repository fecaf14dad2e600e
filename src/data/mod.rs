//! Where apps keep data: key-value stores ([`kv`]) and SQLite databases
//! ([`sqlite`]), placed by the runtime configuration file
//! ([`runtime_config`]) or, without one, in the state directory
//! ([`state_dir`]) as Spin places them; and the Redis and PostgreSQL
//! servers a guest connects to itself ([`outbound_redis`],
//! [`outbound_pg`]). Nothing here names wasmtime: the
//! guest-facing bindings are in [`crate::platform`].

pub mod kv;
pub mod outbound_pg;
pub mod outbound_redis;
pub mod runtime_config;
pub mod sqlite;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use tokio::sync::Semaphore;

/// Database calls running on the blocking pool at once, process-wide
/// (each holds a blocking thread).
pub const MAX_BLOCKING: usize = 16;

/// The process's bound on database calls running at once: SQLite
/// statements and SQLite key-value calls take a slot each.
pub fn blocking_slots() -> Arc<Semaphore> {
    static SLOTS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    SLOTS
        .get_or_init(|| Arc::new(Semaphore::new(MAX_BLOCKING)))
        .clone()
}

/// The directory of the state: `flag` (`--state-dir`), else the runtime
/// configuration's `state_dir`, else the first of systemd's
/// `$STATE_DIRECTORY`, else `.wasi-httpd/` in `base_dir`.
pub fn state_dir(flag: Option<&Path>, configured: Option<&Path>, base_dir: &Path) -> PathBuf {
    if let Some(dir) = flag.or(configured) {
        return dir.to_path_buf();
    }
    match std::env::var_os("STATE_DIRECTORY") {
        Some(dirs) => std::env::split_paths(&dirs).next().unwrap_or_default(),
        None => base_dir.join(".wasi-httpd"),
    }
}

/// Whether every address `host` resolves to may be reached, as for
/// outbound HTTP ([`crate::outbound_hosts::AllowedHosts::may_connect`]):
/// a link-local address never, a loopback or private one only when an
/// entry names it. The reason when not.
pub async fn check_addresses(
    allowed: &crate::outbound_hosts::AllowedHosts,
    scheme: &str,
    host: &str,
    port: u16,
) -> Result<(), String> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<std::net::SocketAddr> = match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => vec![std::net::SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((bare, port))
            .await
            .map_err(|e| format!("cannot resolve {host}: {e}"))?
            .collect(),
    };
    for address in addresses {
        allowed.may_connect(scheme, host, address.ip(), port)?;
    }
    Ok(())
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
        base_dir: &Path,
    ) -> Self {
        let dir = state_dir(state_dir_flag, config.state_dir.as_deref(), base_dir);
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
