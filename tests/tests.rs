//! Integration tests: the real `wasi-httpd` binary, real guest components
//! built from `tests/components`, real sockets. One test binary; the
//! modules group the behaviours.

#[path = "it/activation.rs"]
mod activation;
#[path = "it/client.rs"]
mod client;
#[path = "it/manifest.rs"]
mod manifest;
#[path = "it/scrape.rs"]
mod scrape;
#[path = "it/support.rs"]
mod support;

#[path = "it/check.rs"]
mod check;
#[path = "it/compile_cache.rs"]
mod compile_cache;
#[path = "it/compose.rs"]
mod compose;
#[path = "it/edge.rs"]
mod edge;
#[path = "it/guests.rs"]
mod guests;
#[path = "it/headers.rs"]
mod headers;
#[path = "it/hostile.rs"]
mod hostile;
#[path = "it/isolation.rs"]
mod isolation;
#[path = "it/lifecycle.rs"]
mod lifecycle;
#[path = "it/metrics.rs"]
mod metrics;
#[path = "it/modules.rs"]
mod modules;
#[path = "it/oldsdk.rs"]
mod oldsdk;
#[path = "it/outbound.rs"]
mod outbound;
#[path = "it/outbound_attacks.rs"]
mod outbound_attacks;
#[path = "it/p3.rs"]
mod p3;
#[path = "it/platform.rs"]
mod platform;
#[path = "it/postgres.rs"]
mod postgres;
#[path = "it/postgres4.rs"]
mod postgres4;
#[path = "it/rc.rs"]
mod rc;
#[path = "it/redis.rs"]
mod redis;
#[path = "it/routing.rs"]
mod routing;
#[path = "it/sdk7.rs"]
mod sdk7;
#[path = "it/serve.rs"]
mod serve;
#[path = "it/servers.rs"]
mod servers;
#[path = "it/sockets.rs"]
mod sockets;
#[path = "it/spin_compat.rs"]
mod spin_compat;
#[path = "it/systemd_e2e.rs"]
mod systemd_e2e;
#[path = "it/tls.rs"]
mod tls;
#[path = "it/units.rs"]
mod units;
#[path = "it/wagi.rs"]
mod wagi;
