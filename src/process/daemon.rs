//! The service lifecycle around the server: load and compile (extending
//! systemd's start timeout while it takes), take the sockets, READY=1, then
//! react to signals (SIGHUP reloads, SIGTERM/SIGINT drain and stop), keep
//! the watchdog fed and STATUS= current.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::oneshot;

use crate::base::limits::Limits;
use crate::base::metrics::{Metrics, Phase};
use crate::base::tls::{Tls, TlsFiles};
use crate::guest::executor::ReuseLimits;
use crate::guest::executor::Starting;
use crate::load::app::{LoadedApp, Loader};
use crate::process::cli::{LimitArgs, ReuseArgs, ServeArgs};
use crate::serve::listen::{self, Listener};
use crate::serve::state::Shared;
use crate::{
    guest::engine, load::app_build, process::config, process::route_table, process::systemd,
    serve::admin, serve::server,
};

/// Why `serve` failed, which decides the exit status.
pub enum Failure {
    /// Bad manifest, component, socket or flag: fix the configuration.
    Config(anyhow::Error),
    /// Something broke while starting the runtime or serving.
    Runtime(anyhow::Error),
}

/// How often STATUS= is refreshed with the request counters.
const STATUS_PERIOD: Duration = Duration::from_secs(5);
/// While compiling, ask systemd for this much more start time, this often.
const EXTEND_BY: Duration = Duration::from_secs(30);
const EXTEND_EVERY: Duration = Duration::from_secs(10);

/// Serves until SIGTERM/SIGINT and the drain are done.
pub async fn serve(args: ServeArgs, inherited: Option<Vec<Listener>>) -> Result<(), Failure> {
    // Signals are taken first so that an early SIGHUP or SIGTERM does not
    // kill the process with the default action.
    let mut signals = Signals::new().map_err(Failure::Runtime)?;
    // The engine is built on a thread of its own from the start, beside
    // everything up to the first component's compile or cache load.
    let limits = Limits::from(&args.limits);
    // Chained requests run on their parent's admission slot, each in an
    // instance of its own: the pool has room for one chained call per
    // request besides the requests themselves (deeper chains past that
    // get an error, never a wait).
    let engine_options = engine::EngineOptions {
        max_instance_memory: limits.max_instance_memory,
        max_instances: u32::try_from(limits.max_concurrent_requests.saturating_mul(2))
            .unwrap_or(u32::MAX),
    };
    let runtime =
        Starting::spawn(move || engine::build(&engine_options)).map_err(Failure::Runtime)?;
    if let Some(period) = systemd::watchdog_period() {
        tokio::spawn(watchdog(period));
    }
    // The admin listener answers from the start (`/readyz` says
    // "loading" until the app is served).
    let metrics = Metrics::new();
    let (admin_sockets, inherited) = match inherited {
        Some(all) => {
            let (admin, app): (Vec<_>, Vec<_>) =
                all.into_iter().partition(|l| l.name == listen::ADMIN);
            (admin, Some(app))
        }
        None => (Vec::new(), None),
    };
    let mut admin_sockets = admin_sockets;
    admin_sockets.extend(listen::bind_admin(&args.admin_listen).map_err(Failure::Config)?);
    if inherited.as_ref().is_some_and(Vec::is_empty) {
        return Err(Failure::Config(anyhow::anyhow!(
            "systemd passed only sockets named `{}` (metrics and health checks); \
             pass a socket for the app too (a .socket unit without FileDescriptorName=admin)",
            listen::ADMIN
        )));
    }
    admin::spawn(metrics.clone(), admin_sockets)
        .context("cannot register an admin listener")
        .map_err(Failure::Runtime)?;
    systemd::status("loading the app");
    crate::guest::executor::guest_output::set_limit(args.limits.guest_log_limit);
    // Guests run on a runtime of their own, one worker per core.
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    crate::guest::executor::task::start_runtime(cores)
        .context("cannot start the guests' runtime")
        .map_err(Failure::Runtime)?;
    let manifest = args.app.manifest.clone();
    let build = args.app.build;
    let environment = config::Environment::from_process();
    let providers = environment.providers(args.app.variables.clone());
    let options = config::load_options(&args.app, &environment, true);
    let reuse = reuse_limits(&args.reuse, &args.limits);
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(
            Tls::load(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            })
            .map_err(Failure::Config)?,
        ),
        _ => None,
    };
    let loader_metrics = metrics.clone();
    let starting = async {
        let loader = blocking(move || {
            if build {
                app_build::run(&manifest)?;
            }
            Loader::new(runtime, manifest, providers, reuse, options, loader_metrics)
        })
        .await?;
        let loader = Arc::new(loader);
        let app = load(&loader).await?;
        Ok::<_, anyhow::Error>((loader, app))
    };
    // A stop request while compiling ends the start at once.
    let (loader, app) = tokio::select! {
        started = starting => started.map_err(Failure::Config)?,
        _ = signals.term.recv() => return Ok(()),
        _ = signals.int.recv() => return Ok(()),
    };

    let from_systemd = inherited.is_some();
    if args.exit_idle_after.is_some() && !from_systemd {
        return Err(Failure::Config(anyhow::anyhow!(
            "--exit-idle-after needs the listening sockets from systemd (socket activation): \
             with sockets bound here, connections would be refused once the daemon exits; \
             drop the option or run under a .socket unit"
        )));
    }
    let listeners = match inherited {
        Some(listeners) => listeners,
        None => listen::bind(&args.listen, args.find_free_port).map_err(Failure::Config)?,
    };
    if tls.is_none()
        && let Some(https) = listeners.iter().find(|l| l.name == "https")
    {
        return Err(Failure::Config(anyhow::anyhow!(
            "inherited socket {} is named `https`, but no certificate was given; \
             pass --tls-cert and --tls-key (or WASI_HTTPD_TLS_CERT / WASI_HTTPD_TLS_KEY)",
            https.describe()
        )));
    }
    let listeners: Vec<Listener> = listeners
        .into_iter()
        .map(|mut l| {
            // With a certificate, --listen sockets serve HTTPS too.
            if tls.is_some() && !from_systemd {
                l.name = "https".to_owned();
            }
            l
        })
        .collect();
    let on = listeners
        .iter()
        .map(Listener::describe)
        .collect::<Vec<_>>()
        .join(", ");
    let base_urls: Vec<String> = listeners
        .iter()
        .map(|l| match l.local_addr() {
            Some(addr) if l.name == "https" => format!("https://{addr}"),
            Some(addr) => format!("http://{addr}"),
            // A Unix socket has no URL of its own: a proxy in front gives it one.
            None => l.describe().replace("http unix:", "http+unix://"),
        })
        .collect();
    route_table::print(&app, &base_urls, args.format);
    tracing::info!(app = %app.name, routes = app.routes().count(), listeners = %on, "serving");

    metrics.set_app(&app.name, app.version.as_deref());
    let shared = Arc::new(Shared::new(app, limits, tls, metrics.clone()));
    metrics.set_phase(Phase::Serving);
    systemd::ready(&serving_status(&shared, &on));
    tokio::spawn(refresh_status(shared.clone(), on.clone()));

    let (stop_tx, stop_rx) = oneshot::channel();
    tokio::spawn(control(
        signals,
        shared.clone(),
        loader,
        on,
        args.exit_idle_after,
        stop_tx,
    ));
    let stopped = async {
        let _ = stop_rx.await;
    };
    server::serve(shared, listeners, stopped, args.shutdown_timeout)
        .await
        .map_err(Failure::Runtime)
}

/// The signals the daemon handles, installed once.
struct Signals {
    hup: Signal,
    term: Signal,
    int: Signal,
}

impl Signals {
    fn new() -> Result<Self> {
        Ok(Self {
            hup: signal(SignalKind::hangup()).context("cannot handle SIGHUP")?,
            term: signal(SignalKind::terminate()).context("cannot handle SIGTERM")?,
            int: signal(SignalKind::interrupt()).context("cannot handle SIGINT")?,
        })
    }
}

/// Reacts to signals: SIGHUP reloads, the first SIGTERM/SIGINT starts the
/// drain, a second one exits at once. With `exit_idle_after`, no connection
/// for that long starts the drain too (scale to zero under socket
/// activation).
async fn control(
    mut signals: Signals,
    shared: Arc<Shared>,
    loader: Arc<Loader>,
    on: String,
    exit_idle_after: Option<Duration>,
    stop: oneshot::Sender<()>,
) {
    let idle = async {
        match exit_idle_after {
            Some(after) => {
                shared.metrics.stats.idle_for(after).await;
                after
            }
            None => std::future::pending().await,
        }
    };
    let mut idle = std::pin::pin!(idle);
    loop {
        tokio::select! {
            after = &mut idle => {
                tracing::info!(
                    idle_s = after.as_secs_f64(),
                    "no connection for --exit-idle-after; exiting (systemd starts the service again on the next connection)"
                );
                break;
            }
            _ = signals.hup.recv() => {
                // A stop request during a reload wins: the reload (still
                // compiling on its blocking thread) is abandoned, the app
                // being served stays, and the drain starts now.
                tokio::select! {
                    () = reload(&shared, &loader, &on) => {}
                    _ = signals.term.recv() => {
                        tracing::warn!("stop requested during a reload; the reload is abandoned");
                        break;
                    }
                    _ = signals.int.recv() => {
                        tracing::warn!("stop requested during a reload; the reload is abandoned");
                        break;
                    }
                }
            }
            _ = signals.term.recv() => break,
            _ = signals.int.recv() => break,
        }
    }
    shared.metrics.set_phase(Phase::Draining);
    systemd::stopping(&format!(
        "stopping: draining {} in-flight requests",
        shared.metrics.stats.in_flight()
    ));
    let _ = stop.send(());
    tokio::select! {
        _ = signals.term.recv() => {}
        _ = signals.int.recv() => {}
    }
    tracing::warn!("second signal: exiting without waiting for in-flight requests");
    crate::process::logging::finish();
    std::process::exit(1);
}

/// Loads a new generation off the request path and swaps it in; a failure
/// keeps the previous app serving and says why.
async fn reload(shared: &Shared, loader: &Arc<Loader>, on: &str) {
    systemd::reloading();
    tracing::info!("reloading the app");
    let mut failures = Vec::new();
    if let Some(tls) = &shared.tls {
        match tls.reload() {
            Ok(()) => tracing::info!("certificate reloaded"),
            Err(error) => {
                tracing::error!(
                    "certificate reload failed, still serving the previous one: {error:#}"
                );
                failures.push(format!("{error:#}; still serving the previous certificate"));
            }
        }
    }
    match load(loader).await {
        Ok(app) => {
            let routes = app.routes().count();
            shared.metrics.set_app(&app.name, app.version.as_deref());
            shared.app.store(Arc::new(app));
            tracing::info!(routes, "reloaded: new requests go to the new app");
        }
        Err(error) => {
            tracing::error!("reload failed, still serving the previous app: {error:#}");
            failures.push(format!("{error:#}; still serving the previous app"));
        }
    }
    shared.metrics.reloaded(failures.is_empty());
    if failures.is_empty() {
        systemd::ready(&serving_status(shared, on));
    } else {
        systemd::ready(&format!("reload failed: {}", failures.join("; ")));
    }
}

/// Runs the loader on a blocking thread, extending systemd's timeout
/// while it compiles.
async fn load(loader: &Arc<Loader>) -> Result<LoadedApp> {
    let loader = loader.clone();
    // Stopped with the load, even when the load is abandoned (a stop
    // request during a reload).
    let _extender = AbortOnDrop(tokio::spawn(async {
        loop {
            systemd::extend_timeout(EXTEND_BY);
            tokio::time::sleep(EXTEND_EVERY).await;
        }
    }));
    blocking(move || loader.load(&|status| systemd::status(status))).await
}

/// A task aborted when this is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .context("the loader thread failed")?
}

fn serving_status(shared: &Shared, on: &str) -> String {
    let app = shared.app.load();
    format!(
        "serving app '{}': {} routes on {on}; {} requests served, {} in flight",
        app.name,
        app.routes().count(),
        shared.metrics.stats.served(),
        shared.metrics.stats.in_flight()
    )
}

async fn refresh_status(shared: Arc<Shared>, on: String) {
    let mut last = (0, 0);
    loop {
        tokio::time::sleep(STATUS_PERIOD).await;
        let now = (
            shared.metrics.stats.served(),
            shared.metrics.stats.in_flight(),
        );
        if now != last {
            systemd::status(&serving_status(&shared, &on));
            last = now;
        }
    }
}

/// WATCHDOG=1 every half period from a task on the async runtime: when the
/// runtime is stuck, the pings stop and systemd restarts the service.
async fn watchdog(period: Duration) {
    let mut tick = tokio::time::interval(period / 2);
    loop {
        tick.tick().await;
        systemd::watchdog();
    }
}

/// Instance reuse limits from the flags.
pub fn reuse_limits(reuse: &ReuseArgs, limits: &LimitArgs) -> ReuseLimits {
    ReuseLimits {
        max_reuse: reuse.max_instance_reuse_count,
        max_concurrent: reuse.max_instance_concurrent_reuse_count,
        idle_timeout: reuse.idle_instance_timeout,
        request_timeout: limits.request_timeout,
    }
}
