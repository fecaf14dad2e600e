//! Making a request's store (or a reused instance's state) in one place:
//! the component's setup, the request's context, the memory limit and the
//! epoch deadline. Every executor gets its stores from a [`StoreMaker`].

use std::sync::Arc;

use anyhow::Result;
use wasmtime::{Engine, Store};
use wasmtime_wasi::p2::pipe::MemoryInputPipe;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use super::guest_output::{GuestOutput, OutputBudget, Stream};
use super::wagi::WagiInput;
use super::{GuestError, RequestEnv, sockets, task, wagi_stdout};
use crate::base::metrics::ComponentMetrics;
use crate::guest::host::{HostState, OutboundPolicy, Requests, Stores};
use crate::model::mounts::FilesRoot;
use crate::model::outbound_hosts::AllowedHosts;
use crate::model::variables::ComponentVariables;

/// Makes the store of a new instance that serves many requests.
pub(super) type MakeStore = Arc<dyn Fn() -> Result<Store<HostState>> + Send + Sync>;

/// What a component's stores are made of, besides the request.
pub(super) struct StoreMaker {
    pub(super) engine: Engine,
    /// Shared by every store it makes: a request's store borrows them (the
    /// environment and the files root are not copied per request).
    pub(super) parts: Arc<StoreParts>,
}

/// The component's part of every store's data.
pub(super) struct StoreParts {
    pub(super) id: Arc<str>,
    pub(super) environment: Vec<(String, String)>,
    pub(super) files_root: Option<FilesRoot>,
    pub(super) allowed: Arc<AllowedHosts>,
    pub(super) variables: ComponentVariables,
    /// Its key-value stores and SQLite databases.
    pub(super) data: Stores,
    /// Its guests' output budget (`--guest-log-limit`).
    pub(super) output: Arc<OutputBudget>,
    /// Its counters (guest errors, outbound requests, instances).
    pub(super) metrics: Arc<ComponentMetrics>,
}

impl StoreMaker {
    /// The component's id.
    pub(super) fn id(&self) -> &Arc<str> {
        &self.parts.id
    }

    /// A store for one request: memory limit, epoch deadline, WASI context.
    pub(super) fn store(
        &self,
        env: &RequestEnv,
        wagi: Option<WagiStdio>,
    ) -> Result<Store<HostState>, GuestError> {
        let state = self
            .parts
            .state(
                &env.context.request_id,
                env.max_memory,
                Requests::One(env.context.clone()),
                wagi,
            )
            .map_err(GuestError::Instantiate)?;
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limits);
        // Guests spinning in Wasm yield at every tick and trap at the deadline.
        task::yield_every_tick(&mut store, Some(env.context.deadline));
        Ok(store)
    }

    /// Stores for instances that outlive one request (wasi:http 0.3): no
    /// request's context (each request brings its own, see [`Requests`]),
    /// logs tagged with the instance, and no deadline of their own (a
    /// guest spinning in Wasm still yields at every tick, so that the
    /// instance's expirations are polled and other guests run).
    pub(super) fn instance_stores(&self, max_memory: usize) -> MakeStore {
        let tag: Arc<str> = format!("{}-instance", self.parts.id).into();
        let parts = self.parts.clone();
        let engine = self.engine.clone();
        Arc::new(move || {
            let state = parts.state(&tag, max_memory, Requests::instance(), None)?;
            let mut store = Store::new(&engine, state);
            store.limiter(|state| &mut state.limits);
            task::yield_every_tick(&mut store, None);
            Ok(store)
        })
    }
}

/// WAGI's stdin, stdout and argv/environment.
pub(super) type WagiStdio = (MemoryInputPipe, wagi_stdout::WagiStdout, WagiInput);

impl StoreParts {
    /// A store's data, for one request or one instance. `tag` marks guest
    /// output and outbound logs: the request id, or `<component>-instance`
    /// for an instance that serves several requests.
    fn state(
        &self,
        tag: &Arc<str>,
        max_memory: usize,
        requests: Requests,
        wagi: Option<WagiStdio>,
    ) -> Result<HostState> {
        let output = |stream| GuestOutput::new(self.output.clone(), tag.clone(), stream);
        let mut wasi = WasiCtxBuilder::new();
        wasi.stderr(output(Stream::Stderr)).envs(&self.environment);
        match wagi {
            // WAGI: the body on stdin, the CGI response from stdout.
            Some((stdin, stdout, input)) => {
                wasi.stdin(stdin)
                    .stdout(stdout)
                    .args(&input.args)
                    .envs(&input.env);
            }
            None => {
                wasi.stdout(output(Stream::Stdout));
            }
        }
        if let Some(root) = &self.files_root {
            wasi.preopened_dir(root.path(), "/", FsPerms::ReadOnly)?;
        }
        sockets::configure(&mut wasi, &self.allowed);
        let outbound = OutboundPolicy {
            component: self.id.clone(),
            tag: tag.clone(),
            allowed: self.allowed.clone(),
            requests,
            metrics: self.metrics.clone(),
        };
        Ok(HostState::new(
            wasi.build(),
            outbound,
            max_memory,
            self.variables.clone(),
            self.data.clone(),
        ))
    }
}
