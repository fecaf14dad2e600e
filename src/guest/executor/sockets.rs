//! wasi:sockets as Spin serves them: a guest connects TCP to, and sends
//! UDP to (and hears from), only addresses its `allowed_outbound_hosts`
//! names (`tcp://host:port`, `udp://host:port`, IP ranges such as
//! `tcp://10.0.0.0/8:5432`); it never listens or accepts, and binds only
//! to an ephemeral port (what a connect or a first send does) unless a
//! `udp://` entry allows the local address. Names are looked up only for
//! a component with such entries, and an entry matches the address
//! connected to, not a name (as in Spin).
//!
//! Socket creation is bounded: an instance holds at most [`MAX_SOCKETS`]
//! sockets at once; past that, creating one fails with
//! `new-socket-limit`, so a guest cannot exhaust the process's file
//! descriptors, and none is made when the process is within an eighth of
//! its file descriptor limit (whatever guests hold: a 0.3 guest may keep
//! a socket's streams, and so its descriptor, after dropping it). The
//! create functions of wasi:sockets 0.2 and 0.3 are wrapped over
//! wasmtime's for this.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Result;
use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, Resource, ResourceTable};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::sockets::{SocketAddrUse, WasiSocketsView};

use crate::guest::host::HostState;
use crate::model::outbound_hosts::AllowedHosts;

/// Sockets one instance may hold at once.
pub const MAX_SOCKETS: usize = 64;

/// The wasi:sockets 0.2 version wasmtime-wasi links (guests' older 0.2.x
/// imports resolve to it).
const P2: &str = "0.2.12";

/// Gives the guest sockets (and name lookups) if its entries allow any
/// (`tcp://`, `udp://`), checked by [`allows`]; without, wasmtime-wasi's
/// defaults deny them all and nothing is set up.
pub fn configure(wasi: &mut WasiCtxBuilder, allowed: &Arc<AllowedHosts>) {
    if !allowed.allows_sockets() {
        return;
    }
    let allowed = allowed.clone();
    wasi.socket_addr_check(move |addr, how| {
        let allowed = allows(&allowed, addr, how);
        Box::pin(async move { allowed })
    })
    .allow_tcp(true)
    .allow_udp(true)
    .allow_ip_name_lookup(true);
}

/// Whether the guest may use `addr` for `how`, as Spin decides.
pub fn allows(allowed: &AllowedHosts, addr: SocketAddr, how: SocketAddrUse) -> bool {
    let scheme = match how {
        // The implicit bind of a connect or a first send is to port 0.
        SocketAddrUse::TcpBind => return addr.port() == 0,
        SocketAddrUse::TcpListen | SocketAddrUse::TcpAccept => return false,
        SocketAddrUse::UdpBind if addr.port() == 0 => return true,
        SocketAddrUse::TcpConnect => "tcp",
        SocketAddrUse::UdpBind | SocketAddrUse::UdpSend | SocketAddrUse::UdpReceive => "udp",
    };
    let ip = addr.ip().to_string();
    // As for outbound HTTP: an entry must allow the address, and a
    // link-local, loopback or private one only when an entry names it
    // (so `tcp://*:80` does not reach the metadata service or the host).
    allowed.allows_parts(scheme, &ip, Some(addr.port()))
        && allowed
            .may_connect(scheme, &ip, addr.ip(), addr.port())
            .is_ok()
}

/// The sockets in `table`, of either version.
fn live(table: &mut ResourceTable) -> usize {
    table
        .iter_mut()
        .filter(|entry| {
            entry.is::<wasmtime_wasi::p2::TcpSocket>()
                || entry.is::<wasmtime_wasi::p2::UdpSocket>()
                || entry.is::<wasmtime_wasi::sockets::TcpSocket>()
                || entry.is::<wasmtime_wasi::sockets::UdpSocket>()
        })
        .count()
}

/// File descriptors guests' sockets leave to the daemon (connections,
/// files, databases): an eighth of the process's limit, at least 256.
fn fd_reserve(limit: u64) -> u64 {
    (limit / 8).max(256)
}

/// Whether the process has file descriptors to spare for a guest's
/// socket. A socket's descriptor can outlive the socket (a wasi:sockets
/// 0.3 guest may keep its streams and drop it), which the instance's
/// count does not see; this bound holds whatever guests keep.
fn fds_to_spare() -> bool {
    use nix::sys::resource::{Resource, getrlimit};
    static LIMIT: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    let Some(limit) = *LIMIT.get_or_init(|| getrlimit(Resource::RLIMIT_NOFILE).ok().map(|l| l.0))
    else {
        return true;
    };
    // Not even this directory can be opened: none to spare.
    std::fs::read_dir("/proc/self/fd")
        .is_ok_and(|dir| (dir.count() as u64) + fd_reserve(limit) < limit)
}

/// Whether no socket may be made now: the instance holds [`MAX_SOCKETS`],
/// or the process keeps its last descriptors (each logged once per
/// instance).
fn at_limit(state: &mut HostState) -> bool {
    use crate::guest::host::Warning;
    if live(&mut state.table) >= MAX_SOCKETS {
        if state.first_warning(Warning::SocketLimit) {
            tracing::warn!(
                component = %state.outbound.component,
                request_id = %state.outbound.request_id(),
                limit = MAX_SOCKETS,
                "socket not created: the instance holds the most sockets it may"
            );
        }
        return true;
    }
    if !fds_to_spare() {
        if state.first_warning(Warning::FdReserve) {
            tracing::warn!(
                component = %state.outbound.component,
                request_id = %state.outbound.request_id(),
                "socket not created: the process is near its file descriptor limit \
                 (LimitNOFILE); guests' sockets leave the last eighth to the daemon"
            );
        }
        return true;
    }
    false
}

/// Wraps the socket-creating functions over wasmtime-wasi's.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> Result<()> {
    use wasmtime_wasi::p2::bindings::sockets::network::{ErrorCode, IpAddressFamily};
    use wasmtime_wasi::p2::bindings::sockets::{tcp_create_socket, udp_create_socket};
    use wasmtime_wasi::p3::bindings::sockets::types as p3;

    type P2Tcp = Resource<wasmtime_wasi::p2::TcpSocket>;
    type P2Udp = Resource<wasmtime_wasi::p2::UdpSocket>;
    type P3Tcp = Resource<wasmtime_wasi::sockets::TcpSocket>;
    type P3Udp = Resource<wasmtime_wasi::sockets::UdpSocket>;

    linker.allow_shadowing(true);
    linker
        .instance(&format!("wasi:sockets/tcp-create-socket@{P2}"))?
        .func_wrap(
            "create-tcp-socket",
            |mut store: StoreContextMut<'_, HostState>,
             (family,): (IpAddressFamily,)|
             -> wasmtime::Result<(Result<P2Tcp, ErrorCode>,)> {
                let state = store.data_mut();
                if at_limit(state) {
                    return Ok((Err(ErrorCode::NewSocketLimit),));
                }
                let mut view = state.sockets();
                match tcp_create_socket::Host::create_tcp_socket(&mut view, family) {
                    Ok(socket) => Ok((Ok(socket),)),
                    Err(e) => Ok((Err(e.downcast()?),)),
                }
            },
        )?;
    linker
        .instance(&format!("wasi:sockets/udp-create-socket@{P2}"))?
        .func_wrap_async(
            "create-udp-socket",
            |mut store: StoreContextMut<'_, HostState>, (family,): (IpAddressFamily,)| {
                Box::new(async move {
                    let state = store.data_mut();
                    if at_limit(state) {
                        return Ok((Err(ErrorCode::NewSocketLimit),));
                    }
                    let mut view = state.sockets();
                    let made: Result<P2Udp, _> =
                        udp_create_socket::Host::create_udp_socket(&mut view, family).await;
                    match made {
                        Ok(socket) => Ok((Ok(socket),)),
                        Err(e) => Ok((Err(e.downcast()?),)),
                    }
                })
            },
        )?;
    let mut types = linker.instance("wasi:sockets/types@0.3.0")?;
    types.func_wrap(
        "[static]tcp-socket.create",
        |mut store: StoreContextMut<'_, HostState>,
         (family,): (p3::IpAddressFamily,)|
         -> wasmtime::Result<(Result<P3Tcp, p3::ErrorCode>,)> {
            let state = store.data_mut();
            if at_limit(state) {
                return Ok((Err(p3::ErrorCode::Other(Some("new-socket-limit".into()))),));
            }
            let mut view = state.sockets();
            match p3::HostTcpSocket::create(&mut view, family) {
                Ok(socket) => Ok((Ok(socket),)),
                Err(e) => Ok((Err(e.downcast()?),)),
            }
        },
    )?;
    types.func_wrap_async(
        "[static]udp-socket.create",
        |mut store: StoreContextMut<'_, HostState>, (family,): (p3::IpAddressFamily,)| {
            Box::new(async move {
                let state = store.data_mut();
                if at_limit(state) {
                    return Ok((Err(p3::ErrorCode::Other(Some("new-socket-limit".into()))),));
                }
                let mut view = state.sockets();
                let made: Result<P3Udp, _> = p3::HostUdpSocket::create(&mut view, family).await;
                match made {
                    Ok(socket) => Ok((Ok(socket),)),
                    Err(e) => Ok((Err(e.downcast()?),)),
                }
            })
        },
    )?;
    linker.allow_shadowing(false);
    super::name_lookup::add_to_linker(linker, P2)
}
