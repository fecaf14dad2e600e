//! wasi-httpd: serve Spin apps (spin.toml, manifest version 2) as a
//! socket-activated systemd service.
//!
//! `src/` has one folder per layer, and each layer uses only the layers
//! below it (`.ci/module-graph --check` enforces the order and that
//! nothing outside [`guest`] names wasmtime):
//!
//! | layer | what it holds |
//! |---|---|
//! | [`entry`] | the commands: `serve`, `check`, `compile` |
//! | [`process`] | command line, configuration, logging, systemd, the serving daemon |
//! | [`serve`] | the accept path: listeners, connections, HTTP, routing to a component |
//! | [`load`] | spin.toml to a servable generation: build, componentize, compose, compile |
//! | [`guest`] | the wasmtime side: engine, executors, host interfaces, data stores |
//! | [`model`] | what an app is: manifest, routes, variables, outbound hosts, files |
//! | [`base`] | what every layer passes: bodies, limits, metrics, TLS configurations |
//!
//! The request path runs one way, socket → connection → request → route →
//! executor → guest:
//!
//! - [`serve::listen`]: sockets inherited from systemd or bound from
//!   `--listen`;
//! - [`serve::server`]: accept loops, one task per connection, TLS
//!   ([`base::tls`]), hyper-util's auto builder (HTTP/1.1 and HTTP/2),
//!   graceful drain; below HTTP, [`serve::connection`]: idle and head
//!   timers, the I/O wrapper and the framing guard against request
//!   smuggling;
//! - [`serve::http`]: `/.well-known/spin/*`, Host validation, routing
//!   ([`model::router`]), Spin's request headers, static responses, the
//!   access log, and the [`base::limits`] (admission, body size,
//!   deadlines), over the [`serve::state`] every request shares;
//! - [`guest::executor`]: the component call (one fresh instance per
//!   request, on the guests' own runtime, tied to its request and its
//!   deadline), its stores and the [`guest::engine`] they are made in,
//!   guest output, and wasi:sockets under the component's allowed hosts
//!   (sockets and name lookups bounded per instance and per process);
//! - [`guest::host`]: what a guest's store holds and every interface it
//!   imports: outgoing HTTP under the component's [`model::outbound_hosts`],
//!   Spin's variables, key-value, SQLite, Redis and PostgreSQL interfaces
//!   over [`guest::data`] (stores placed by the runtime configuration, the
//!   outbound Redis and PostgreSQL clients); the 2023 release candidates of
//!   WASI 0.2 are in [`guest::wasi_rc`].
//!
//! Each request carries its [`guest::request_context`] down (id, chain
//! depth, deadline, buffer budget). A guest's requests to the app itself go
//! back to the router only through that context's `InProcess` trait, which
//! [`serve::http`] implements: nothing on the guest side names the HTTP
//! layer, the server state or the loaded app. Every layer passes the same
//! [`base::body`] type.
//!
//! Loading: [`model::manifest`] parses and validates spin.toml;
//! [`load::app`] turns it into a servable generation: core modules made
//! components by [`load::componentize`], dependencies and middleware
//! composed in by [`load::compose`], files laid out by [`model::mounts`],
//! [`model::variables`] resolved, and the components compiled (or taken
//! from the engine's compile cache) and linked by the executor's `Runtime`.
//!
//! Lifecycle and configuration: [`process::cli`] declares the command line
//! and [`process::config`] turns it and the environment into the options
//! passed down; [`process::daemon`] loads, signals readiness and status
//! through [`process::systemd`], reloads on SIGHUP and drains on SIGTERM;
//! [`process::logging`] sets up journald or stderr logs; what happens is
//! counted in [`base::metrics`] and served on the admin listener
//! ([`serve::admin`]: `/metrics`, `/healthz`, `/readyz`);
//! [`process::route_table`] prints the start-up table and
//! [`load::app_build`] runs the components' build commands for `--build`.
//!
//! The crate's public surface is [`entry::main`], which the binary runs, and
//! `fuzzing`, what the fuzz targets drive; every module is `pub(crate)`, so
//! rustc's dead-code lint sees all of the code.

// The map above is for developers (`cargo doc --document-private-items`).
#![allow(rustdoc::private_intra_doc_links)]

pub(crate) mod base;
pub mod entry;
pub(crate) mod guest;
pub(crate) mod load;
pub(crate) mod model;
pub(crate) mod process;
pub(crate) mod serve;

/// What the fuzz targets (`fuzz/`) drive: the parsers and guards that read
/// untrusted input. Not an API.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::guest::executor::cgi_response;
    pub use crate::model::manifest::from_text;
    pub use crate::model::outbound_hosts::{AllowedHosts, is_self_request};
    pub use crate::model::router::Router;
    pub use crate::serve::connection::framing_guard::{Feed, Framer, Verdict};
    pub use crate::serve::connection::timers::Stopwatch;
    pub use crate::serve::http::headers::{
        SpinHeaderInput, authority, insert_all, spin_headers, strip_inbound,
    };
}
