//! What every layer passes or counts, and names nothing above it: the
//! shared request and response [`body`] type, the [`limits`] (admission,
//! body size, deadlines), the [`metrics`] registry, and the [`tls`]
//! configurations of the server and of the guests' clients.

pub(crate) mod body;
pub(crate) mod limits;
pub(crate) mod metrics;
pub(crate) mod tls;
