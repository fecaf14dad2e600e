//! Where guests run, and for how long.
//!
//! Guests run on a runtime of their own (one worker thread per core), not on
//! the one that accepts connections, reads requests, writes responses and
//! feeds the watchdog: a guest busy in Wasm then slows other guests, never
//! the I/O path. Inside that runtime, guests yield at every epoch tick
//! ([`yield_every_tick`]) so that they share its workers too.
//!
//! A [`GuestTask`] is a guest's task tied to what needs it: dropping it (the
//! request future dropped because the client went away, or a response body
//! abandoned) aborts the guest and so gives back its admission slot. A task
//! that has done its part (its response body was sent whole) may be
//! [`GuestTask::settle`]d: it then runs on, but never past its deadline.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use tokio::runtime::{Handle, Runtime};
use tokio::task::{JoinError, JoinHandle};
use tokio::time::Instant;
use wasmtime::{Store, UpdateDeadline};

/// The guests' runtime, made once.
static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// Starts the guests' runtime (once): `threads` workers named `guest`.
pub fn start_runtime(threads: usize) -> std::io::Result<()> {
    if RUNTIME.get().is_some() {
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .thread_name("guest")
        .enable_all()
        .build()?;
    let _ = RUNTIME.set(runtime);
    Ok(())
}

/// The guests' runtime; the caller's when none was started (unit tests).
fn handle() -> Handle {
    match RUNTIME.get() {
        Some(runtime) => runtime.handle().clone(),
        None => Handle::current(),
    }
}

/// A guest's task; aborted when dropped.
pub struct GuestTask<T> {
    handle: JoinHandle<Option<T>>,
}

/// The guest was still running at its deadline.
pub struct DeadlinePassed;

impl<T: Send + 'static> GuestTask<T> {
    /// Runs `call` on the guests' runtime until it ends or `deadline`
    /// passes, whichever comes first.
    pub fn spawn(deadline: Instant, call: impl Future<Output = T> + Send + 'static) -> Self {
        let handle =
            handle().spawn(async move { tokio::time::timeout_at(deadline, call).await.ok() });
        Self { handle }
    }

    /// Hands how the guest ended to `report`, without making anyone wait:
    /// stopped first when `stop_now`, else left to finish (by its deadline).
    /// Reported at once when it has ended already, else from a small task
    /// that lives no longer than the guest.
    pub fn settle(
        mut self,
        stop_now: bool,
        report: impl FnOnce(<Self as Future>::Output) + Send + 'static,
    ) {
        if stop_now {
            self.handle.abort();
        }
        let mut cx = Context::from_waker(std::task::Waker::noop());
        if let Poll::Ready(ended) = Pin::new(&mut self).poll(&mut cx) {
            return report(ended);
        }
        // Outside a runtime (shutting down) the guest is just stopped.
        if let Ok(runtime) = Handle::try_current() {
            runtime.spawn(async move { report(self.await) });
        }
    }
}

impl<T> Drop for GuestTask<T> {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

impl<T> Future for GuestTask<T> {
    /// The guest's result, `DeadlinePassed`, or how its task failed.
    type Output = Result<Result<T, DeadlinePassed>, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.handle)
            .poll(cx)
            .map(|joined| joined.map(|ended| ended.ok_or(DeadlinePassed)))
    }
}

/// Makes a guest give its thread back at every epoch tick, and (with a
/// `deadline`) trap with an interrupt once the deadline has passed.
pub fn yield_every_tick<T: 'static>(store: &mut Store<T>, deadline: Option<Instant>) {
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_| {
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            Ok(UpdateDeadline::Interrupt)
        } else {
            Ok(UpdateDeadline::Yield(1))
        }
    });
}
