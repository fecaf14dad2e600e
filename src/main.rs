//! The `wasi-httpd` binary: parse the command line, set up logging, take
//! systemd's sockets before any thread starts, then load and serve (or just
//! check) the app. Errors print once, with their full context, and map to
//! the exit statuses documented in wasi-httpd(8).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use arc_swap::ArcSwap;
use clap::Parser;

use wasi_httpd::app::LoadedApp;
use wasi_httpd::cli::{AppArgs, Cli, Command, ServeArgs};
use wasi_httpd::listen::{self, Listener};
use wasi_httpd::server::{self, Shared};
use wasi_httpd::{app_build, engine, executor, logging, route_table};

/// Exit status for a configuration error: a bad manifest, component or
/// socket (sysexits' EX_CONFIG). systemd units do not restart on it.
const EXIT_CONFIG: u8 = 78;
/// Exit status for a failure while serving.
const EXIT_RUNTIME: u8 = 1;

/// How long in-flight requests may take to finish after SIGTERM/SIGINT.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(error) = logging::init(&cli.log) {
        eprintln!("wasi-httpd: {error:#}");
        return ExitCode::from(EXIT_CONFIG);
    }
    // systemd's sockets are taken while the process is single-threaded.
    let inherited = match &cli.command {
        Command::Serve(_) => match listen::from_systemd() {
            Ok(inherited) => inherited,
            Err(error) => return fail(EXIT_CONFIG, &error),
        },
        Command::Check(_) => None,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            return fail(
                EXIT_RUNTIME,
                &anyhow::Error::new(error).context("cannot start the async runtime"),
            );
        }
    };
    runtime.block_on(async move {
        match cli.command {
            Command::Check(args) => match load(&args).await {
                Ok((_, app)) => {
                    println!(
                        "{}: app '{}' is valid: {} routes, {} components compiled",
                        app.manifest_path.display(),
                        app.name,
                        app.routes().count(),
                        app.component_count()
                    );
                    ExitCode::SUCCESS
                }
                Err(error) => fail(EXIT_CONFIG, &error),
            },
            Command::Serve(args) => serve(args, inherited).await,
        }
    })
}

fn fail(code: u8, error: &anyhow::Error) -> ExitCode {
    tracing::error!("{error:#}");
    if !tracing::enabled!(tracing::Level::ERROR) {
        eprintln!("wasi-httpd: {error:#}");
    }
    ExitCode::from(code)
}

/// Loads and compiles the app off the async threads.
async fn load(args: &AppArgs) -> Result<(wasmtime::Engine, LoadedApp)> {
    let manifest = args.manifest.clone();
    let build = args.build;
    tokio::task::spawn_blocking(move || {
        if build {
            app_build::run(&manifest)?;
        }
        let engine = engine::build(&engine::EngineOptions::default())?;
        let linker = executor::linker(&engine)?;
        let app = LoadedApp::load(&manifest, &engine, &linker)?;
        Ok((engine, app))
    })
    .await
    .context("the loader thread failed")?
}

async fn serve(args: ServeArgs, inherited: Option<Vec<Listener>>) -> ExitCode {
    let (engine, app) = match load(&args.app).await {
        Ok(loaded) => loaded,
        Err(error) => return fail(EXIT_CONFIG, &error),
    };
    let listeners = match inherited {
        Some(listeners) => listeners,
        None => match listen::bind(&args.listen, args.find_free_port) {
            Ok(listeners) => listeners,
            Err(error) => return fail(EXIT_CONFIG, &error),
        },
    };
    let base_urls: Vec<String> = listeners
        .iter()
        .map(|l| match l.local_addr() {
            Some(addr) => format!("http://{addr}"),
            None => "http://localhost".to_owned(),
        })
        .collect();
    tracing::info!(
        app = %app.name,
        routes = app.routes().count(),
        listeners = %listeners.iter().map(Listener::describe).collect::<Vec<_>>().join(", "),
        "serving"
    );
    route_table::print(&app, &base_urls, args.format);
    let shared = Arc::new(Shared {
        engine,
        app: ArcSwap::from_pointee(app),
    });
    match server::serve(shared, listeners, shutdown_signal(), DRAIN_TIMEOUT).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(EXIT_RUNTIME, &error),
    }
}

/// Resolves on the first SIGTERM or SIGINT; a second one exits at once.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!(
            "cannot install signal handlers; SIGTERM will kill the process without draining"
        );
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::warn!("second signal: exiting without waiting for in-flight requests");
        std::process::exit(i32::from(EXIT_RUNTIME));
    });
}
