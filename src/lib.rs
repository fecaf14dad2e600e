//! wasi-httpd: serve Spin apps (spin.toml, manifest version 2) as a
//! socket-activated systemd service.
//!
//! The request path, one direction:
//!
//! - [`listen`]: sockets inherited from systemd or bound from `--listen`;
//! - [`server`]: accept loops, one task per connection, TLS ([`tls`]),
//!   hyper-util's auto builder (HTTP/1.1 and HTTP/2), idle tracking
//!   and the request-framing guard against smuggling ([`connection`]), graceful drain;
//! - [`http`]: `/.well-known/spin/*`, Host validation, routing ([`router`]),
//!   Spin's request headers, static responses, the access log, and the
//!   [`limits`] (admission, body size, deadlines);
//! - [`executor`]: the component call (one fresh instance per request, on
//!   the guests' own runtime, tied to its request and its deadline) with
//!   its store data from [`host`], guest output from [`guest_output`],
//!   wasi:sockets under the component's allowed hosts (sockets and name
//!   lookups bounded per instance and per process), Spin's variables,
//!   key-value, SQLite, Redis and PostgreSQL interfaces from [`platform`]
//!   over [`data`] (stores placed by the runtime configuration, and the
//!   outbound Redis and PostgreSQL clients), and the 2023 release
//!   candidates of WASI 0.2 from [`wasi_rc`].
//!
//! Each request carries its [`request_context`] down (id, chain depth,
//! deadline, buffer budget); a guest's requests to the app itself go back
//! to the router only through its `InProcess` trait, which [`http`]
//! implements, so nothing on the guest side names the HTTP layer, the
//! server state or the loaded app.
//!
//! Every layer passes the same response [`body`] type.
//!
//! Lifecycle: [`daemon`] loads, signals readiness and status through
//! [`systemd`], reloads on SIGHUP into the [`state`] every request shares,
//! and drains on SIGTERM. What happens is counted in [`metrics`] and served
//! on the admin listener ([`admin`]: `/metrics`, `/healthz`, `/readyz`).
//!
//! Loading: [`manifest`] parses and validates spin.toml, [`app`] compiles it
//! into a servable generation (core modules made components by
//! [`componentize`], dependencies and middleware composed in by [`compose`],
//! compiled code kept on disk by [`compile_cache`], files laid out by [`mounts`]) against the [`engine`], resolving [`variables`] and each component's
//! [`outbound_hosts`] (outgoing requests go through [`outbound_client`];
//! relative URLs become self requests in [`relative_urls`]). [`cli`] declares the command line, [`logging`] sets up
//! journald or stderr logs, [`route_table`] prints the start-up table, [`app_build`] runs the
//! components' build commands for `--build`.

pub mod admin;
pub mod app;
pub mod app_build;
pub mod body;
pub mod cli;
pub mod compile_cache;
pub mod componentize;
pub mod compose;
pub mod connection;
pub mod daemon;
pub mod data;
pub mod engine;
pub mod executor;
pub mod guest_output;
pub mod host;
pub mod http;
pub mod limits;
pub mod listen;
pub mod logging;
pub mod manifest;
pub mod metrics;
pub mod mounts;
pub mod outbound_client;
pub mod outbound_hosts;
pub mod platform;
pub mod relative_urls;
pub mod request_context;
pub mod route_table;
pub mod router;
pub mod server;
pub mod state;
pub mod systemd;
pub mod tls;
pub mod variables;
pub mod wasi_rc;
