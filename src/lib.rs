//! wasi-httpd: serve Spin apps (spin.toml, manifest version 2) as a
//! socket-activated systemd service.
//!
//! The request path runs one way, socket → connection → request → route →
//! executor → guest:
//!
//! - [`listen`]: sockets inherited from systemd or bound from `--listen`;
//! - [`server`]: accept loops, one task per connection, TLS ([`tls`]),
//!   hyper-util's auto builder (HTTP/1.1 and HTTP/2), graceful drain; below
//!   HTTP, [`connection`]: idle and head timers, the I/O wrapper and the
//!   framing guard against request smuggling;
//! - [`http`]: `/.well-known/spin/*`, Host validation, routing ([`router`]),
//!   Spin's request headers, static responses, the access log, and the
//!   [`limits`] (admission, body size, deadlines), over the [`state`] every
//!   request shares;
//! - [`executor`]: the component call (one fresh instance per request, on
//!   the guests' own runtime, tied to its request and its deadline), its
//!   stores and the [`engine`] they are made in, guest output, and
//!   wasi:sockets under the component's allowed hosts (sockets and name
//!   lookups bounded per instance and per process);
//! - [`host`]: what a guest's store holds and every interface it imports:
//!   outgoing HTTP under the component's [`outbound_hosts`], Spin's
//!   variables, key-value, SQLite, Redis and PostgreSQL interfaces over
//!   [`data`] (stores placed by the runtime configuration, the outbound
//!   Redis and PostgreSQL clients); the 2023 release candidates of WASI 0.2
//!   are in [`wasi_rc`].
//!
//! Each request carries its [`request_context`] down (id, chain depth,
//! deadline, buffer budget). A guest's requests to the app itself go back
//! to the router only through that context's `InProcess` trait, which
//! [`http`] implements: nothing on the guest side names the HTTP layer, the
//! server state or the loaded app. Every layer passes the same [`body`]
//! type. wasmtime is named only in [`engine`], [`executor`], [`host`] and
//! [`wasi_rc`] (`.ci/module-graph` shows the graph and checks it).
//!
//! Loading: [`manifest`] parses and validates spin.toml; [`app`] turns it
//! into a servable generation: core modules made components by
//! [`componentize`], dependencies and middleware composed in by
//! [`compose`], files laid out by [`mounts`], [`variables`] resolved, and
//! the components compiled (or taken from the engine's compile cache) and
//! linked by the executor's `Runtime`.
//!
//! Lifecycle and configuration: [`cli`] declares the command line and
//! [`config`] turns it and the environment into the options passed down;
//! [`daemon`] loads, signals readiness and status through [`systemd`],
//! reloads on SIGHUP and drains on SIGTERM; [`logging`] sets up journald or
//! stderr logs; what happens is counted in [`metrics`] and served on the
//! admin listener ([`admin`]: `/metrics`, `/healthz`, `/readyz`);
//! [`route_table`] prints the start-up table and [`app_build`] runs the
//! components' build commands for `--build`.
//!
//! The crate's public surface is [`entry::main`], which the binary runs, and
//! `fuzzing`, what the fuzz targets drive; every module is `pub(crate)`, so
//! rustc's dead-code lint sees all of the code.

// The map above is for developers (`cargo doc --document-private-items`).
#![allow(rustdoc::private_intra_doc_links)]

pub(crate) mod admin;
pub(crate) mod app;
pub(crate) mod app_build;
pub(crate) mod body;
pub(crate) mod cli;
pub(crate) mod componentize;
pub(crate) mod compose;
pub(crate) mod config;
pub(crate) mod connection;
pub(crate) mod daemon;
pub(crate) mod data;
pub(crate) mod engine;
pub mod entry;
pub(crate) mod executor;
pub(crate) mod host;
pub(crate) mod http;
pub(crate) mod limits;
pub(crate) mod listen;
pub(crate) mod logging;
pub(crate) mod manifest;
pub(crate) mod metrics;
pub(crate) mod mounts;
pub(crate) mod outbound_hosts;
pub(crate) mod request_context;
pub(crate) mod route_table;
pub(crate) mod router;
pub(crate) mod server;
pub(crate) mod state;
pub(crate) mod systemd;
pub(crate) mod tls;
pub(crate) mod variables;
pub(crate) mod wasi_rc;

/// What the fuzz targets (`fuzz/`) drive: the parsers and guards that read
/// untrusted input. Not an API.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::connection::framing_guard::{Feed, Framer, Verdict};
    pub use crate::connection::timers::Stopwatch;
    pub use crate::executor::cgi_response;
    pub use crate::http::headers::{
        SpinHeaderInput, authority, insert_all, spin_headers, strip_inbound,
    };
    pub use crate::manifest::from_text;
    pub use crate::outbound_hosts::{AllowedHosts, is_self_request};
    pub use crate::router::Router;
}
