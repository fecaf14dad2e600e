//! What an app is, as its files describe it, with no I/O beyond reading
//! them and no wasmtime: the [`manifest`] (spin.toml, validated), its
//! routes ([`router`]), [`variables`], [`outbound_hosts`] and files
//! ([`mounts`]). The guest side and the loader both read these.

pub(crate) mod manifest;
pub(crate) mod mounts;
pub(crate) mod outbound_hosts;
pub(crate) mod router;
pub(crate) mod variables;
