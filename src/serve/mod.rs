//! The accept path, socket → connection → request → route: [`listen`]
//! (sockets from systemd or `--listen`), [`server`] (accept loops, TLS,
//! HTTP/1.1 and HTTP/2, drain), [`connection`] (timers, I/O, the framing
//! guard), [`http`] (Spin's routes and headers, static responses, the
//! access log, the dispatch to a component) over the [`state`] every
//! request shares; and the operators' [`admin`] listener.

pub(crate) mod admin;
pub(crate) mod connection;
pub(crate) mod http;
pub(crate) mod listen;
pub(crate) mod server;
pub(crate) mod state;
