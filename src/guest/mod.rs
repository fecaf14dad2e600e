//! The wasmtime side: everything that runs or serves a component. The
//! [`engine`] compiles and caches; the [`executor`] calls a component for
//! one request in a store of its own; [`host`] is every interface a guest
//! imports, over the stores and clients in [`data`]; [`wasi_rc`] serves
//! the WASI release candidates. A request arrives with its
//! [`request_context`], whose `InProcess` trait is the only way back up
//! to the router. wasmtime is named in this folder only (in `engine`,
//! `executor`, `host` and `wasi_rc`), so an upgrade touches nothing else.

pub(crate) mod data;
pub(crate) mod engine;
pub(crate) mod executor;
pub(crate) mod host;
pub(crate) mod request_context;
pub(crate) mod wasi_rc;
