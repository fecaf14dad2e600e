//! wasi:sockets name lookups (`ip-name-lookup` 0.2 and 0.3) in place of
//! wasmtime-wasi's, with the same answers (an IP address as itself, a name
//! checked and made punycode, then the system resolver) but bounded: a
//! lookup holds a blocking thread until the resolver answers, whether or
//! not the guest still waits, so at most [`crate::guest::data::MAX_LOOKUPS`] run
//! at once in the process (these and the checks of Redis and PostgreSQL
//! addresses) and [`MAX_LOOKUPS_PER_INSTANCE`] for one instance; past
//! either, a lookup fails with `temporary-resolver-failure` at once.
//! Without them, a guest starting and dropping lookups in a loop queued
//! work without end on the blocking pool that SQLite shares.
//!
//! Only a component whose `allowed_outbound_hosts` has `tcp://` or
//! `udp://` entries may look names up (else `permanent-resolver-failure`,
//! as wasmtime-wasi answers).

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;

use anyhow::Result;
use tokio::task::JoinHandle;
use wasmtime::component::{Accessor, Linker, Resource, ResourceType};
use wasmtime_wasi::p2::bindings::sockets::network::{ErrorCode, IpAddress};
use wasmtime_wasi::p2::{DynPollable, Network, Pollable};
use wasmtime_wasi::p3::bindings::sockets::ip_name_lookup::ErrorCode as P3Code;
use wasmtime_wasi::p3::bindings::sockets::types::IpAddress as P3Address;

use crate::guest::host::{Held, HostState, MAX_LOOKUPS_PER_INSTANCE};

/// Why a lookup failed (the codes both versions share).
#[derive(Debug, Clone, Copy)]
enum LookupError {
    InvalidArgument,
    NameUnresolvable,
    TemporaryResolverFailure,
    PermanentResolverFailure,
}

type Answer = Result<Vec<IpAddr>, LookupError>;

/// How a lookup started: answered at once (an IP address, or refused),
/// or running on a task of its own, which keeps the instance's and the
/// process's slots until the resolver answers, even if the guest stops
/// waiting.
enum Started {
    Ready(Answer),
    Running(JoinHandle<std::io::Result<Vec<SocketAddr>>>),
}

/// Starts looking `name` up for the instance.
fn start(state: &mut HostState, name: String) -> Started {
    if !state.outbound.allowed.allows_sockets() {
        return Started::Ready(Err(LookupError::PermanentResolverFailure));
    }
    let domain = match url::Host::parse(&name) {
        Ok(url::Host::Domain(domain)) => domain,
        Ok(url::Host::Ipv4(ip)) => return Started::Ready(Ok(vec![ip.into()])),
        Ok(url::Host::Ipv6(ip)) => return Started::Ready(Ok(vec![ip.into()])),
        // `url` wants brackets around an IPv6 address; a bare one is fine.
        Err(_) => {
            return Started::Ready(
                name.parse::<std::net::Ipv6Addr>()
                    .map(|ip| vec![ip.into()])
                    .map_err(|_| LookupError::InvalidArgument),
            );
        }
    };
    let (Some(mine), Ok(process)) = (
        state.slot(Held::Lookup),
        crate::guest::data::lookup_slots().try_acquire_owned(),
    ) else {
        if state.first_warning(crate::guest::host::Warning::LookupLimit) {
            tracing::warn!(
                component = %state.outbound.component,
                request_id = %state.outbound.request_id(),
                "name lookup refused: {MAX_LOOKUPS_PER_INSTANCE} running for the instance \
                 or {} in the process (logged once per instance)",
                crate::guest::data::MAX_LOOKUPS
            );
        }
        return Started::Ready(Err(LookupError::TemporaryResolverFailure));
    };
    Started::Running(crate::guest::data::spawn_lookup(domain, 0, (mine, process)))
}

/// The answer of a finished lookup task.
fn answer(done: Result<std::io::Result<Vec<SocketAddr>>, tokio::task::JoinError>) -> Answer {
    match done {
        Ok(Ok(found)) => Ok(found.into_iter().map(|a| a.ip().to_canonical()).collect()),
        Ok(Err(e)) => {
            tracing::debug!("name lookup failed: {e}");
            Err(LookupError::NameUnresolvable)
        }
        Err(_) => Err(LookupError::TemporaryResolverFailure),
    }
}

/// A 0.2 `resolve-address-stream`: the lookup, then its addresses.
pub struct Lookup(State);

enum State {
    Running(JoinHandle<std::io::Result<Vec<SocketAddr>>>),
    Done(Result<std::vec::IntoIter<IpAddr>, LookupError>),
}

impl Lookup {
    /// Takes the task's answer if it has one.
    fn settle(&mut self, done: Answer) {
        self.0 = State::Done(done.map(Vec::into_iter));
    }
}

impl Pollable for Lookup {
    fn ready<'a, 'b>(&'a mut self) -> Pin<Box<dyn Future<Output = ()> + Send + 'b>>
    where
        'a: 'b,
        Self: 'b,
    {
        Box::pin(async move {
            if let State::Running(task) = &mut self.0 {
                let done = answer(task.await);
                self.settle(done);
            }
        })
    }
}

fn p2_code(f: LookupError) -> ErrorCode {
    match f {
        LookupError::InvalidArgument => ErrorCode::InvalidArgument,
        LookupError::NameUnresolvable => ErrorCode::NameUnresolvable,
        LookupError::TemporaryResolverFailure => ErrorCode::TemporaryResolverFailure,
        LookupError::PermanentResolverFailure => ErrorCode::PermanentResolverFailure,
    }
}

fn p3_code(f: LookupError) -> P3Code {
    match f {
        LookupError::InvalidArgument => P3Code::InvalidArgument,
        LookupError::NameUnresolvable => P3Code::NameUnresolvable,
        LookupError::TemporaryResolverFailure => P3Code::TemporaryResolverFailure,
        LookupError::PermanentResolverFailure => P3Code::PermanentResolverFailure,
    }
}

/// Puts these lookups in place of wasmtime-wasi's, for 0.2 (`p2`, the
/// version wasmtime-wasi links) and 0.3.
pub fn add_to_linker(linker: &mut Linker<HostState>, p2: &str) -> Result<()> {
    linker.allow_shadowing(true);
    let mut v2 = linker.instance(&format!("wasi:sockets/ip-name-lookup@{p2}"))?;
    v2.resource(
        "resolve-address-stream",
        ResourceType::host::<Lookup>(),
        |mut store, rep| {
            store
                .data_mut()
                .table
                .delete(Resource::<Lookup>::new_own(rep))?;
            Ok(())
        },
    )?;
    v2.func_wrap(
        "resolve-addresses",
        |mut store: wasmtime::StoreContextMut<'_, HostState>,
         (network, name): (Resource<Network>, String)|
         -> wasmtime::Result<(Result<Resource<Lookup>, ErrorCode>,)> {
            let state = store.data_mut();
            state.table.get(&network)?;
            Ok((match start(state, name) {
                Started::Running(task) => Ok(state.table.push(Lookup(State::Running(task)))?),
                // Errors surface at once, as wasmtime-wasi's do.
                Started::Ready(Err(f)) => Err(p2_code(f)),
                Started::Ready(Ok(found)) => {
                    let lookup = Lookup(State::Done(Ok(found.into_iter())));
                    Ok(state.table.push(lookup)?)
                }
            },))
        },
    )?;
    v2.func_wrap(
        "[method]resolve-address-stream.resolve-next-address",
        |mut store: wasmtime::StoreContextMut<'_, HostState>,
         (lookup,): (Resource<Lookup>,)|
         -> wasmtime::Result<(Result<Option<IpAddress>, ErrorCode>,)> {
            let lookup = store.data_mut().table.get_mut(&lookup)?;
            if let State::Running(task) = &mut lookup.0 {
                // Outside tokio's budget, so a finished task always answers.
                let polled =
                    futures_util::FutureExt::now_or_never(tokio::task::unconstrained(task));
                let Some(done) = polled else {
                    return Ok((Err(ErrorCode::WouldBlock),));
                };
                lookup.settle(answer(done));
            }
            let State::Done(found) = &mut lookup.0 else {
                return Ok((Err(ErrorCode::WouldBlock),));
            };
            Ok((match found {
                Ok(addresses) => Ok(addresses.next().map(Into::into)),
                Err(f) => Err(p2_code(*f)),
            },))
        },
    )?;
    v2.func_wrap(
        "[method]resolve-address-stream.subscribe",
        |mut store: wasmtime::StoreContextMut<'_, HostState>,
         (lookup,): (Resource<Lookup>,)|
         -> wasmtime::Result<(Resource<DynPollable>,)> {
            let table = &mut store.data_mut().table;
            Ok((wasmtime_wasi::p2::subscribe(table, lookup)?,))
        },
    )?;
    let mut v3 = linker.instance("wasi:sockets/ip-name-lookup@0.3.0")?;
    v3.func_wrap_concurrent(
        "resolve-addresses",
        |accessor: &Accessor<HostState>, (name,): (String,)| {
            Box::pin(async move {
                let answered = match accessor.with(|mut access| start(access.data_mut(), name)) {
                    Started::Ready(answer) => answer,
                    Started::Running(task) => answer(task.await),
                };
                Ok((answered
                    .map(|found| found.into_iter().map(P3Address::from).collect::<Vec<_>>())
                    .map_err(p3_code),))
            })
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}
