//! The `wasi-httpd` binary: its allocator, and [`wasi_httpd::entry::main`],
//! which does the rest.

use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: every request makes and drops a store,
/// an instance and their WASI and HTTP contexts (thousands of small
/// allocations across the runtime's threads), where glibc's allocator showed
/// as an eighth of the daemon's profile under load (README, "Benchmark").
/// Built with `no_thp`: with transparent huge pages its arenas kept 12 MiB
/// more resident in an idle daemon.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    wasi_httpd::entry::main()
}
