//! The process around the server: the command line ([`cli`]) and the
//! typed configuration made from it and the environment ([`config`]),
//! [`logging`] (journald or stderr), the [`systemd`] protocols, the
//! serving [`daemon`] (load, readiness, reload on SIGHUP, drain on
//! SIGTERM) and the start-up [`route_table`].

pub(crate) mod cli;
pub(crate) mod config;
pub(crate) mod daemon;
pub(crate) mod logging;
pub(crate) mod route_table;
pub(crate) mod systemd;
