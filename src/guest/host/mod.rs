//! Per-request store data: the WASI and WASI-HTTP contexts a guest sees,
//! the outbound HTTP policy applied to its requests, and its limits
//! ([`memory`]). The outbound policy and the in-process requests it
//! hands to the router are in `outbound`.

pub mod memory;
mod outbound;
pub mod outbound_client;
pub mod platform;
pub mod relative_urls;

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::base::metrics::InstanceLive;
use crate::guest::data::kv::KvAccess;
use crate::guest::data::sqlite::SqliteAccess;
use crate::model::variables::ComponentVariables;
use memory::GuestLimits;
pub use outbound::{OutboundPolicy, Requests, wasi_body};

/// Everything one guest instance owns while it serves one request.
pub struct HostState {
    pub table: ResourceTable,
    pub wasi: WasiCtx,
    pub http: WasiHttpCtx,
    pub outbound: OutboundPolicy,
    /// Memory limit: growing past it traps the guest.
    pub limits: GuestLimits,
    /// The component's variables (fermyon:spin/variables, wasi:config).
    pub variables: ComponentVariables,
    /// The key-value stores the component may open.
    pub kv: KvAccess,
    pub sqlite: SqliteAccess,
    /// The warnings this instance has already logged ([`Warning`]).
    warned: u8,
    /// Its places for each [`Held`] kind, made at the first use.
    held: [Option<Arc<tokio::sync::Semaphore>>; Held::KINDS],
    /// Counts the instance as active while it lives.
    _live: InstanceLive,
}

pub use crate::guest::data::Stores;

impl HostState {
    pub fn new(
        wasi: WasiCtx,
        outbound: OutboundPolicy,
        max_memory: usize,
        variables: ComponentVariables,
        stores: Stores,
    ) -> Self {
        let live = outbound.metrics.instance_made();
        Self {
            table: ResourceTable::new(),
            wasi,
            http: WasiHttpCtx::new(),
            outbound,
            variables,
            kv: stores.kv,
            sqlite: stores.sqlite,
            warned: 0,
            held: Default::default(),
            limits: GuestLimits::new(max_memory),
            _live: live,
        }
    }
}

/// Connections of one kind (SQLite, Redis, PostgreSQL) an instance may
/// hold at once; past it, opening another is an error (Spin bounds each
/// instance's tables the same way).
pub const MAX_CONNECTIONS_PER_INSTANCE: usize = 64;

/// Name lookups one instance may have running at once.
pub const MAX_LOOKUPS_PER_INSTANCE: usize = 4;

/// What an instance holds a bounded number of at once
/// ([`HostState::slot`]): connections of each kind (at most
/// [`MAX_CONNECTIONS_PER_INSTANCE`]), PostgreSQL connection builders (as
/// many), and name lookups under way (at most
/// [`MAX_LOOKUPS_PER_INSTANCE`]).
#[derive(Clone, Copy)]
pub enum Held {
    Sqlite = 0,
    Redis = 1,
    Postgres = 2,
    PostgresBuilder = 3,
    Lookup = 4,
}

impl Held {
    const KINDS: usize = 5;

    fn most(self) -> usize {
        match self {
            Held::Lookup => MAX_LOOKUPS_PER_INSTANCE,
            _ => MAX_CONNECTIONS_PER_INSTANCE,
        }
    }
}

/// A warning a guest could otherwise repeat without bound: each is logged
/// once per instance (the guest still gets its error every time).
#[derive(Clone, Copy)]
#[repr(u8)]
pub enum Warning {
    SocketLimit = 1,
    RedisDenied = 2,
    PostgresDenied = 4,
    FdReserve = 8,
    LookupLimit = 16,
    SqliteDenied = 32,
}

impl HostState {
    /// Whether `warning` is logged for the first time in this instance
    /// (then log it).
    pub fn first_warning(&mut self, warning: Warning) -> bool {
        let bit = warning as u8;
        let first = self.warned & bit == 0;
        self.warned |= bit;
        first
    }

    /// A place for one more of `kind`, or `None` when the instance holds
    /// the most it may. What takes it keeps it (and so does what outlives
    /// the guest's handle, such as a query's row stream), so opens and
    /// lookups under way count as well.
    pub fn slot(&mut self, kind: Held) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.held[kind as usize]
            .get_or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(kind.most())))
            .clone()
            .try_acquire_owned()
            .ok()
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            hooks: &mut self.outbound,
            table: &mut self.table,
            ctx: &mut self.http,
        }
    }
}
