//! The runtime components are compiled and linked in: wasmtime's engine,
//! and the linker that holds every host interface. The loader reaches
//! wasmtime only through it.

use std::sync::{Mutex, OnceLock, mpsc};

use anyhow::{Context, Result};
use wasmtime::Engine;
use wasmtime::component::{Component, Linker};

use super::{ComponentSetup, LoadedComponent, ReuseLimits, sockets};
use crate::guest::engine::compile_cache::{CompileCache, Outcome};
use crate::guest::host::HostState;
use crate::model::manifest::WagiExecutor;

/// The engine and the linker components are instantiated against.
pub struct Runtime {
    engine: Engine,
    linker: Linker<HostState>,
}

/// A compiled component, not yet linked: what a reload keeps of the last
/// generation.
#[derive(Clone)]
pub struct Compiled(Component);

/// A [`Runtime`] that may still be being built on a thread of its own, so
/// that the start-up work that does not need it (the manifest, the runtime
/// configuration, the components' files) runs meanwhile. Building it is
/// mostly reserving the pooling allocator's address space (the engine),
/// then linking the host interfaces; the engine is handed out as soon as
/// it is made, so that components are compiled or taken from the cache
/// while the linker is still being built.
pub struct Starting {
    engine: OnceLock<Engine>,
    engine_sent: Mutex<Option<mpsc::Receiver<Engine>>>,
    ready: OnceLock<Runtime>,
    building: Mutex<Option<std::thread::JoinHandle<Result<Runtime>>>>,
}

impl Starting {
    /// Builds the runtime (`build` makes its engine) on a new thread.
    pub fn spawn(build: impl FnOnce() -> Result<Engine> + Send + 'static) -> Result<Self> {
        let (send, sent) = mpsc::sync_channel(1);
        let building = std::thread::Builder::new()
            .name("engine-start".into())
            .spawn(move || {
                let engine = build()?;
                let _ = send.send(engine.clone());
                Runtime::new(engine)
            })
            .context("cannot start the thread that builds the engine")?;
        Ok(Self {
            engine: OnceLock::new(),
            engine_sent: Mutex::new(Some(sent)),
            ready: OnceLock::new(),
            building: Mutex::new(Some(building)),
        })
    }

    /// The engine, waiting for it (not for the linker) the first time.
    fn engine(&self) -> Result<&Engine> {
        if let Some(engine) = self.engine.get() {
            return Ok(engine);
        }
        let mut sent = self
            .engine_sent
            .lock()
            .map_err(|_| anyhow::anyhow!("the engine is unavailable"))?;
        if let Some(receiver) = sent.take() {
            match receiver.recv() {
                Ok(engine) => {
                    let _ = self.engine.set(engine);
                }
                // The build failed before making the engine: its error.
                Err(_) => {
                    drop(sent);
                    self.get()?;
                }
            }
        }
        self.engine
            .get()
            .ok_or_else(|| anyhow::anyhow!("the engine could not be built (see above)"))
    }

    /// The runtime, waiting for it the first time. Its build's error is
    /// returned to the first caller.
    pub fn get(&self) -> Result<&Runtime> {
        if let Some(runtime) = self.ready.get() {
            return Ok(runtime);
        }
        let mut building = self
            .building
            .lock()
            .map_err(|_| anyhow::anyhow!("the engine is unavailable"))?;
        if let Some(handle) = building.take() {
            let runtime = handle
                .join()
                .map_err(|_| anyhow::anyhow!("building the engine panicked"))??;
            let _ = self.ready.set(runtime);
        }
        self.ready
            .get()
            .ok_or_else(|| anyhow::anyhow!("the engine could not be built (see above)"))
    }

    /// Compiles `binary` (`what` names it in the log), through `cache` when
    /// there is one: the outcome says whether it was there (`None`: no
    /// cache). A binary wasmtime cannot compile is `invalid`'s error. Needs
    /// only the engine, not the linker.
    pub fn compile(
        &self,
        binary: &[u8],
        what: &str,
        cache: Option<&CompileCache>,
        invalid: impl FnOnce(anyhow::Error) -> anyhow::Error,
    ) -> Result<(Compiled, Option<Outcome>)> {
        let engine = self.engine()?;
        let compile = || Component::new(engine, binary).map_err(|e| invalid(e.into()));
        match cache {
            Some(cache) => {
                let (component, outcome) = cache.get_or_compile(engine, binary, what, compile)?;
                Ok((Compiled(component), Some(outcome)))
            }
            None => Ok((Compiled(compile()?), None)),
        }
    }
}

impl Runtime {
    pub fn new(engine: Engine) -> Result<Self> {
        let started = std::time::Instant::now();
        let linker = linker(&engine)?;
        tracing::debug!(
            duration_us = started.elapsed().as_micros() as u64,
            "host interfaces linked"
        );
        Ok(Self { engine, linker })
    }

    /// The compiled component `id`, linked and pre-instantiated with its
    /// setup, ready to serve (as WAGI when `wagi` says so).
    pub fn load(
        &self,
        id: &str,
        compiled: &Compiled,
        setup: ComponentSetup,
        wagi: Option<&WagiExecutor>,
        reuse: &ReuseLimits,
    ) -> Result<LoadedComponent> {
        LoadedComponent::new(
            &self.engine,
            &self.linker,
            id,
            &compiled.0,
            setup,
            wagi,
            reuse,
        )
    }
}

/// The linker every component is instantiated against: the WASI imports
/// Spin gives components (CLI environment, clocks, random, stdio,
/// filesystem, sockets denied by default), wasi:http, and Spin's variables
/// and key-value interfaces.
fn linker(engine: &Engine) -> Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    define_host(&mut linker)?;
    Ok(linker)
}

pub(super) fn define_host(linker: &mut Linker<HostState>) -> Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)?;
    wasmtime_wasi::p3::add_to_linker(linker)?;
    wasmtime_wasi_http::p3::add_to_linker(linker)?;
    crate::guest::host::platform::add_to_linker(linker)?;
    crate::guest::wasi_rc::add_to_linker(linker)?;
    crate::guest::host::relative_urls::add_to_linker(linker)?;
    sockets::add_to_linker(linker)?;
    Ok(())
}
