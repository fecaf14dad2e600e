//! The 2023 release candidates of WASI 0.2 that Spin still serves:
//! `0.2.0-rc-2023-10-18` (spin-sdk 2.x) and `0.2.0-rc-2023-11-10`; and
//! wasi:http 0.3's `0.3.0-rc-2026-03-15` (spin-sdk 6), in [`p3_candidate`].
//!
//! wasmtime 48 implements only WASI 0.2.x, and never matches a pre-release
//! name against it. Most RC interfaces are, apart from their name, the same
//! as 0.2 (the linker checks function types structurally, and resources by
//! host type), so the 0.2 implementations are registered again under the RC
//! names; the functions that differ are then replaced, under the same
//! names, by adapters over the 0.2 implementations
//! ([`rc_2023_10_18`], [`rc_2023_11_10`]).
//!
//! Covered: wasi:http (types, outgoing-handler; the incoming-handler export
//! is called by [`crate::guest::executor`]), wasi:io, wasi:clocks, wasi:random,
//! wasi:cli and wasi:filesystem ([`fs_2023_10_18`]) of both. Not covered:
//! wasi:sockets of either (a component importing them loads; a call traps,
//! see [`crate::guest::executor`]'s `unprovided`). Components from `spin build`, which are core
//! modules adapted at load with today's adapter, import only the RC's
//! wasi:http and wasi:io.

mod fs_2023_10_18;
pub mod p3_candidate;
mod rc_2023_10_18;
mod rc_2023_11_10;

use anyhow::Result;
use wasmtime::component::{HasData, Linker, LinkerInstance, ResourceTable};
use wasmtime_wasi::cli::{WasiCli, WasiCliView};
use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView};
use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView};
use wasmtime_wasi::p2::bindings::io::{error, poll, streams};
use wasmtime_wasi::p2::bindings::{cli, clocks, filesystem, random};
use wasmtime_wasi::random::WasiRandom;
use wasmtime_wasi_http::p2::bindings::http::{outgoing_handler, types};
use wasmtime_wasi_http::{WasiHttp, WasiHttpView};

use crate::guest::host::HostState;

/// The HTTP handler exports of the release candidates.
pub const INCOMING_HANDLERS: &[&str] = &[
    "wasi:http/incoming-handler@0.2.0-rc-2023-10-18",
    "wasi:http/incoming-handler@0.2.0-rc-2023-11-10",
];

/// The 0.2 wasi:io implementations' store data: the resource table.
struct Io;

impl HasData for Io {
    type Data<'a> = &'a mut ResourceTable;
}

fn table(state: &mut HostState) -> &mut ResourceTable {
    &mut state.table
}

fn random_ctx(state: &mut HostState) -> &mut wasmtime_wasi::random::WasiRandomCtx {
    state.wasi.random()
}

/// Adds both release candidates' interfaces to the linker. Their adapters
/// replace 0.2 functions of the same name, so shadowing is on meanwhile
/// (and off after).
pub fn add_to_linker(linker: &mut Linker<HostState>) -> Result<()> {
    linker.allow_shadowing(true);
    rc_2023_11_10::add_to_linker(linker)?;
    rc_2023_10_18::add_to_linker(linker)?;
    linker.allow_shadowing(false);
    Ok(())
}

/// The instance `wasi:<name>@<version>` of the linker.
fn instance<'a>(
    linker: &'a mut Linker<HostState>,
    name: &str,
    version: &str,
) -> Result<LinkerInstance<'a, HostState>> {
    Ok(linker.instance(&format!("wasi:{name}@{version}"))?)
}

/// The instance of monotonic-clock at `version`, with 0.2's functions.
fn monotonic_clock<'a>(
    linker: &'a mut Linker<HostState>,
    version: &str,
) -> Result<LinkerInstance<'a, HostState>> {
    let mut clock = instance(linker, "clocks/monotonic-clock", version)?;
    clocks::monotonic_clock::add_to_linker_instance::<_, WasiClocks>(
        &mut clock,
        HostState::clocks,
    )?;
    Ok(clock)
}

/// wasi:filesystem's preopens and types at `version`, with 0.2's functions;
/// returns the instance of types.
fn filesystem<'a>(
    linker: &'a mut Linker<HostState>,
    version: &str,
) -> Result<LinkerInstance<'a, HostState>> {
    filesystem::preopens::add_to_linker_instance::<_, WasiFilesystem>(
        &mut instance(linker, "filesystem/preopens", version)?,
        HostState::filesystem,
    )?;
    let mut types = instance(linker, "filesystem/types", version)?;
    filesystem::types::add_to_linker_instance::<_, WasiFilesystem>(
        &mut types,
        HostState::filesystem,
    )?;
    Ok(types)
}

/// The instance of wasi:http/types at `version`, with 0.2's functions.
fn http_types<'a>(
    linker: &'a mut Linker<HostState>,
    version: &str,
) -> Result<LinkerInstance<'a, HostState>> {
    let mut http = instance(linker, "http/types", version)?;
    let options = wasmtime_wasi_http::p2::bindings::LinkOptions::default();
    types::add_to_linker_instance::<_, WasiHttp>(&mut http, &(&options).into(), HostState::http)?;
    Ok(http)
}

/// Registers the 0.2 interfaces that are the same in both release
/// candidates under `version`: wasi:random, wasi:cli and wall-clock.
fn add_unchanged(linker: &mut Linker<HostState>, version: &str) -> Result<()> {
    use cli::{
        environment, exit, stderr, stdin, stdout, terminal_input, terminal_output, terminal_stderr,
        terminal_stdin, terminal_stdout,
    };
    macro_rules! same {
        ($name:literal, $iface:path, $data:ty, $getter:expr) => {{
            use $iface as iface;
            iface::add_to_linker_instance::<HostState, $data>(
                &mut instance(linker, $name, version)?,
                $getter,
            )?;
        }};
    }
    same!("random/random", random::random, WasiRandom, random_ctx);
    same!("random/insecure", random::insecure, WasiRandom, random_ctx);
    same!(
        "random/insecure-seed",
        random::insecure_seed,
        WasiRandom,
        random_ctx
    );
    same!("cli/environment", environment, WasiCli, HostState::cli);
    same!("cli/exit", exit, WasiCli, HostState::cli);
    same!("cli/stdin", stdin, WasiCli, HostState::cli);
    same!("cli/stdout", stdout, WasiCli, HostState::cli);
    same!("cli/stderr", stderr, WasiCli, HostState::cli);
    same!(
        "cli/terminal-input",
        terminal_input,
        WasiCli,
        HostState::cli
    );
    same!(
        "cli/terminal-output",
        terminal_output,
        WasiCli,
        HostState::cli
    );
    same!(
        "cli/terminal-stdin",
        terminal_stdin,
        WasiCli,
        HostState::cli
    );
    same!(
        "cli/terminal-stdout",
        terminal_stdout,
        WasiCli,
        HostState::cli
    );
    same!(
        "cli/terminal-stderr",
        terminal_stderr,
        WasiCli,
        HostState::cli
    );
    same!(
        "clocks/wall-clock",
        clocks::wall_clock,
        WasiClocks,
        HostState::clocks
    );
    Ok(())
}
