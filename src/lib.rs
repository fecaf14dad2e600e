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

pub mod admin;
pub mod app;
pub mod app_build;
pub mod body;
pub mod cli;
pub mod componentize;
pub mod compose;
pub mod config;
pub mod connection;
pub mod daemon;
pub mod data;
pub mod engine;
pub mod executor;
pub mod host;
pub mod http;
pub mod limits;
pub mod listen;
pub mod logging;
pub mod manifest;
pub mod metrics;
pub mod mounts;
pub mod outbound_hosts;
pub mod request_context;
pub mod route_table;
pub mod router;
pub mod server;
pub mod state;
pub mod systemd;
pub mod tls;
pub mod variables;
pub mod wasi_rc;
