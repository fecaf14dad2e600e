//! The program the `wasi-httpd` binary runs: parse the command line, set up logging, take
//! systemd's sockets before any thread starts, then serve (or just check)
//! the app. Errors print once, with their full context, and map to the exit
//! statuses documented in wasi-httpd(8).

use std::process::ExitCode;

use clap::Parser;

use crate::guest::executor::Starting;
use crate::load::app::Loader;
use crate::process::cli::{Cli, Command};
use crate::process::daemon::{self, Failure};
use crate::{
    guest::engine, load::app_build, process::config, process::logging, process::systemd,
    serve::listen,
};

/// Exit status for a configuration error: a bad manifest, component, socket
/// or flag value (sysexits' EX_CONFIG). The units do not restart on it.
const EXIT_CONFIG: u8 = 78;
/// Exit status for a failure while starting the runtime or serving.
const EXIT_RUNTIME: u8 = 1;

/// The whole program: what `wasi-httpd` does with its command line, and
/// its exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // systemd's sockets are taken while the process is single-threaded,
    // before logging starts its writer thread.
    let inherited = match &cli.command {
        Command::Serve(_) => listen::from_systemd(),
        Command::Check(_) | Command::Compile(_) | Command::Completions { .. } => Ok(None),
    };
    if let Err(error) = logging::init(&cli.log) {
        eprintln!("wasi-httpd: {error:#}");
        return ExitCode::from(EXIT_CONFIG);
    }
    let code = match inherited {
        Ok(inherited) => run(cli, inherited),
        Err(error) => fail(EXIT_CONFIG, &error),
    };
    logging::finish();
    code
}

/// Runs the command, with logging set up and systemd's sockets taken.
fn run(cli: Cli, inherited: Option<Vec<listen::Listener>>) -> ExitCode {
    match cli.command {
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, "wasi-httpd", &mut script);
            // A closed pipe (`| head`) is not an error worth a panic.
            let _ = std::io::Write::write_all(&mut std::io::stdout(), &script);
            ExitCode::SUCCESS
        }
        Command::Check(args) => match check(&args, false) {
            Ok(summary) => {
                println!("{summary}");
                ExitCode::SUCCESS
            }
            Err(error) => fail(EXIT_CONFIG, &error),
        },
        Command::Compile(args) => match check(&args, true) {
            Ok(summary) => {
                println!("{summary}");
                ExitCode::SUCCESS
            }
            Err(error) => fail(EXIT_CONFIG, &error),
        },
        Command::Serve(args) => {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(error) => {
                    let error = anyhow::Error::new(error).context("cannot start the async runtime");
                    return fail(EXIT_RUNTIME, &error);
                }
            };
            let result = runtime.block_on(daemon::serve(*args, inherited));
            // Do not wait for a compile still running on a blocking thread
            // (a stop request during start-up).
            runtime.shutdown_background();
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(Failure::Config(error)) => fail(EXIT_CONFIG, &error),
                Err(Failure::Runtime(error)) => fail(EXIT_RUNTIME, &error),
            }
        }
    }
}

/// `check` and `compile`: load and compile everything, serve nothing;
/// `compile` insists on a compile cache to fill.
fn check(args: &crate::process::cli::AppArgs, fill_cache: bool) -> anyhow::Result<String> {
    let environment = config::Environment::from_process();
    // `check` writes no state: `--key-value` and `--sqlite` are for serving.
    let options = config::load_options(args, &environment, false);
    if fill_cache && options.compile_cache.is_none() {
        anyhow::bail!(
            "compile: no compile cache to fill (--no-cache, or no $HOME); pass --cache-dir DIR"
        );
    }
    let cache_dir = options
        .compile_cache
        .as_ref()
        .map(|c| c.dir().display().to_string());
    if args.build {
        app_build::run(&args.manifest)?;
    }
    let runtime = Starting::spawn(|| engine::build(&engine::EngineOptions::default()))?;
    let providers = environment.providers(args.variables.clone());
    let reuse = daemon::reuse_limits(&Default::default(), &Default::default());
    let metrics = crate::base::metrics::Metrics::new();
    let app = Loader::new(
        runtime,
        args.manifest.clone(),
        providers,
        reuse,
        options,
        metrics,
    )?
    .load(&|_| {})?;
    let summary = format!(
        "{}: app '{}' is valid: {} routes, {} components compiled",
        app.manifest_path.display(),
        app.name,
        app.routes().count(),
        app.component_count()
    );
    Ok(match (fill_cache, cache_dir) {
        (true, Some(dir)) => format!("{summary}, in the compile cache {dir}"),
        _ => summary,
    })
}

/// Reports a fatal error: STATUS= first (for `systemctl status`), then one
/// error record, then the exit status.
fn fail(code: u8, error: &anyhow::Error) -> ExitCode {
    systemd::status(&format!("failed: {error:#}"));
    tracing::error!("{error:#}");
    ExitCode::from(code)
}
