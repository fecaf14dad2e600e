//! The executor for components exporting `wasi:http/handler@0.3.x`
//! (spin-sdk 6 and later, the `wasip3` crate), through wasmtime-wasi-http's
//! `ProxyHandler`: an instance may serve several requests, concurrently and
//! one after another, within the reuse limits (`--max-instance-reuse-count`,
//! `--max-instance-concurrent-reuse-count`, `--idle-instance-timeout`,
//! each `N` or a range `a..b` sampled per instance, as Spin does), under
//! the same request deadline as every executor.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use http_body_util::BodyExt;
use wasmtime::component::{GuestTaskId, InstancePre};
use wasmtime::{Store, StoreContextMut};
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::handler::{
    ExpirationError, HandlerState, Instance, ProxyHandler, ProxyPre, ShouldAccept,
    WorkerExpiration, WorkerState, WorkerStatus,
};
use wasmtime_wasi_http::p3::bindings::ServicePre;

use super::stores::{MakeStore, StoreMaker};
use super::task::{DeadlinePassed, GuestTask};
use super::{Answer, Execute, GuestError, RequestBody, RequestEnv};
use crate::base::body::{Body, BoxError, Holding};
use crate::base::metrics::ComponentMetrics;
use crate::guest::host::HostState;
use crate::guest::request_context::RequestContext;

const EXPORT_PREFIX: &str = "wasi:http/handler@0.3.";

/// A count, or a range `low..high` (high excluded) to sample from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reuse {
    pub low: u64,
    pub high: u64,
}

/// How instances are reused.
#[derive(Debug, Clone)]
pub struct ReuseLimits {
    pub max_reuse: Reuse,
    pub max_concurrent: Reuse,
    pub idle_timeout: (Duration, Duration),
    pub request_timeout: Duration,
}

pub struct P3Executor {
    pre: ServicePre<HostState>,
    export: String,
    limits: ReuseLimits,
    /// Counts reuses (a request given to an instance that served one).
    metrics: Arc<ComponentMetrics>,
    /// Made at the first request: the store data of workers needs the
    /// request path's shared state, which exists only once serving.
    handler: OnceLock<ProxyHandler<Instances>>,
}

impl Execute for P3Executor {
    fn export(&self) -> &str {
        &self.export
    }

    fn handle<'a>(
        &'a self,
        stores: &'a StoreMaker,
        env: RequestEnv,
        request: http::Request<RequestBody>,
    ) -> Answer<'a> {
        Box::pin(self.serve(stores, env, request))
    }
}

impl P3Executor {
    /// True for the exports this executor serves: 0.3.x releases.
    pub fn handles(export: &str) -> bool {
        export
            .strip_prefix(EXPORT_PREFIX)
            .is_some_and(|patch| !patch.contains('-'))
    }

    pub fn new(
        instance_pre: InstancePre<HostState>,
        export: &str,
        limits: ReuseLimits,
        metrics: Arc<ComponentMetrics>,
    ) -> Result<Self> {
        let pre = ServicePre::new(instance_pre)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("cannot find the `{export}` handle function"))?;
        Ok(Self {
            pre,
            export: export.to_owned(),
            limits,
            metrics,
            handler: OnceLock::new(),
        })
    }

    async fn serve(
        &self,
        stores: &StoreMaker,
        env: RequestEnv,
        request: http::Request<RequestBody>,
    ) -> Result<http::Response<Body>, GuestError> {
        let handler = self.handler.get_or_init(|| {
            ProxyHandler::new(Instances {
                pre: ProxyPre::P3(self.pre.clone()),
                make_store: stores.instance_stores(env.max_memory),
                limits: self.limits.clone(),
                metrics: self.metrics.clone(),
            })
        });
        let handler = handler.clone();
        let deadline = env.context.deadline;
        // The request's context reaches the instance through
        // `on_request_start`, held weakly there: it lives as long as this
        // request (its response body included), with the admission slot.
        // `alive` is dropped with the request: when that happens before the
        // response (the client went away), the request expires in the
        // instance, which then takes no new request and is retired.
        let (alive, abandoned) = tokio::sync::oneshot::channel::<()>();
        let keep = (env.permit, env.context.clone(), alive);
        // Run on the guests' runtime, so that the handler's workers (the
        // instances) are spawned there.
        let handled = GuestTask::spawn(deadline, async move {
            handler
                .handle(
                    RequestData {
                        deadline,
                        env: env.context,
                        abandoned,
                    },
                    request,
                )
                .await
        });
        match handled.await {
            // The body keeps what the request holds until hyper is done.
            Ok(Ok(Ok(response))) => Ok(response.map(|body| {
                Holding::new(
                    body.map_err(|e| Box::new(e) as BoxError).boxed_unsync(),
                    keep,
                )
                .boxed_unsync()
            })),
            Ok(Err(DeadlinePassed)) => Err(GuestError::Timeout),
            Ok(Ok(Err(error))) if error.is::<ExpirationError>() => Err(GuestError::Timeout),
            Ok(Ok(Err(error))) => Err(super::trap(error)),
            Err(join) => Err(super::task_failed(join)),
        }
    }
}

/// How the handler makes and retires the instances it reuses.
struct Instances {
    pre: ProxyPre<HostState>,
    make_store: MakeStore,
    limits: ReuseLimits,
    metrics: Arc<ComponentMetrics>,
}

impl HandlerState for Instances {
    type StoreData = HostState;
    type WorkerExpiration = Expiration;
    type WorkerState = Worker;

    async fn instantiate(&self) -> wasmtime::Result<Instance<HostState, Expiration, Worker>> {
        let mut store = (self.make_store)().map_err(wasmtime::Error::from_anyhow)?;
        let proxy = self.pre.instantiate_async(&mut store).await?;
        Ok(Instance {
            store,
            proxy,
            view: |state: &mut HostState| state.http(),
            expiration: Expiration {
                idle: sample_duration(self.limits.idle_timeout),
                request_timeout: self.limits.request_timeout,
                timer: None,
            },
            state: Worker {
                max_reuse: sample_count(self.limits.max_reuse),
                max_concurrent: sample_count(self.limits.max_concurrent),
                started: AtomicU64::new(0),
                metrics: self.metrics.clone(),
            },
        })
    }
}

/// What each request brings to the instance that serves it.
struct RequestData {
    deadline: tokio::time::Instant,
    env: Arc<RequestContext>,
    /// Resolves when the request is dropped.
    abandoned: tokio::sync::oneshot::Receiver<()>,
}

struct Worker {
    max_reuse: u64,
    max_concurrent: u64,
    /// Requests given to this instance so far.
    started: AtomicU64,
    metrics: Arc<ComponentMetrics>,
}

impl WorkerState for Worker {
    type StoreData = HostState;
    type RequestData = RequestData;

    fn should_accept_request(&self, concurrent: usize, total: usize) -> ShouldAccept {
        if total as u64 >= self.max_reuse {
            ShouldAccept::Never
        } else if concurrent as u64 >= self.max_concurrent {
            ShouldAccept::No
        } else {
            ShouldAccept::Yes
        }
    }

    fn on_request_start(
        &self,
        mut store: StoreContextMut<'_, HostState>,
        request: RequestData,
        _task: GuestTaskId,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + Sync>> {
        store.data_mut().outbound.requests.add(&request.env);
        if self.started.fetch_add(1, Ordering::Relaxed) > 0 {
            self.metrics.instance_reused();
        }
        // The request expires at its deadline, or when it is abandoned.
        Box::pin(async move {
            tokio::select! {
                () = tokio::time::sleep_until(request.deadline) => {}
                _ = request.abandoned => {}
            }
        })
    }

    fn drop(&self, _store: Store<HostState>, result: wasmtime::Result<()>) {
        if let Err(error) = result {
            tracing::error!(error = %super::error_text(&error), "wasi:http 0.3 instance ended with an error");
        }
    }
}

/// Ends an instance idle for longer than its idle timeout, or one whose
/// oldest outstanding request is past the request timeout.
struct Expiration {
    idle: Duration,
    request_timeout: Duration,
    timer: Option<(Instant, Pin<Box<tokio::time::Sleep>>)>,
}

impl WorkerExpiration for Expiration {
    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        status: WorkerStatus,
        start: Instant,
    ) -> Poll<()> {
        let due = match status {
            WorkerStatus::Idle => start + self.idle,
            WorkerStatus::Requests | WorkerStatus::PostReturn => start + self.request_timeout,
        };
        if Instant::now() >= due {
            return Poll::Ready(());
        }
        let timer = match &mut self.timer {
            Some((at, timer)) if *at == due => timer,
            slot => {
                *slot = Some((due, Box::pin(tokio::time::sleep_until(due.into()))));
                &mut slot.as_mut().expect("just set").1
            }
        };
        timer.as_mut().poll(cx)
    }
}

/// A count from a `low..=high` range.
fn sample_count(range: Reuse) -> u64 {
    if range.high <= range.low {
        return range.low;
    }
    range.low + random() % (range.high - range.low + 1)
}

/// A duration from a `(low, high)` range (equal ends: that value).
fn sample_duration((low, high): (Duration, Duration)) -> Duration {
    if high <= low {
        return low;
    }
    let span = (high - low).as_nanos() as u64;
    low + Duration::from_nanos(random() % span)
}

/// A cheap, non-cryptographic random number for sampling ranges.
fn random() -> u64 {
    static SEED: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    let mut x = SEED.fetch_add(0x9E37_79B9_7F4A_7C15 ^ nanos, Ordering::Relaxed);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x
}
