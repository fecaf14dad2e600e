//! Runtime limits on the request path: admission (a bounded number of
//! requests in guests, a bounded wait queue, 503 beyond it), the request
//! body size (413), the one budget for the bytes the host buffers for
//! requests (503 when spent) and the request deadline for response bodies.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

use crate::base::body::BoxError;

/// The limits in force, from the command line.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_header_size: usize,
    pub max_body_size: u64,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub max_concurrent_requests: usize,
    pub max_pending_requests: u32,
    pub request_timeout: Duration,
    pub max_instance_memory: usize,
    pub max_host_buffers: usize,
}

/// At most `max_concurrent_requests` requests run in guests; up to
/// `max_pending_requests` more wait for a slot; the rest are refused.
pub struct Admission {
    running: Arc<Semaphore>,
    /// Requests queued now (also read by the metrics).
    waiting: Arc<AtomicU32>,
    max_waiting: u32,
}

/// The queue is full: answer 503.
pub struct QueueFull;

impl Admission {
    /// `waiting` counts the queued requests.
    pub fn new(limits: &Limits, waiting: Arc<AtomicU32>) -> Self {
        Self {
            running: Arc::new(Semaphore::new(limits.max_concurrent_requests)),
            waiting,
            max_waiting: limits.max_pending_requests,
        }
    }

    /// A slot in a guest, held until the guest is done with the request.
    /// A request waiting for one holds a place in the queue until it gets
    /// the slot or gives up (its deadline, its client gone): the place is
    /// a guard, given back however the wait ends.
    pub async fn admit(&self) -> Result<OwnedSemaphorePermit, QueueFull> {
        if let Ok(permit) = self.running.clone().try_acquire_owned() {
            return Ok(permit);
        }
        let _place = QueuePlace::take(&self.waiting, self.max_waiting).ok_or(QueueFull)?;
        tracing::debug!("all request slots busy; queued for one");
        self.running
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| QueueFull)
    }
}

/// A place in the admission queue, given back when dropped.
struct QueuePlace<'a>(&'a AtomicU32);

impl<'a> QueuePlace<'a> {
    fn take(waiting: &'a AtomicU32, max: u32) -> Option<Self> {
        waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Self(waiting))
    }
}

impl Drop for QueuePlace<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The bytes the host holds in its own memory for all requests at once
/// (`--max-host-buffers`): whole request bodies for the executors that take
/// them whole, WAGI output, responses collected for Spin's old outbound
/// interface. Each holder takes a [`Reservation`] and grows it as it
/// buffers; what it held comes back when it drops.
pub struct BufferBudget {
    max: usize,
    used: AtomicUsize,
}

/// The budget is spent: the request is answered 503 (the guest's own
/// outgoing request gets an error).
#[derive(Debug)]
pub struct BudgetSpent;

impl BufferBudget {
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            max,
            used: AtomicUsize::new(0),
        })
    }

    /// An empty reservation, to grow as bytes are buffered.
    pub fn reserve(self: &Arc<Self>) -> Reservation {
        Reservation {
            budget: self.clone(),
            held: 0,
        }
    }

    /// Bytes held now, by every request.
    pub fn in_use(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }
}

/// Bytes of the [`BufferBudget`] one holder has; given back on drop.
pub struct Reservation {
    budget: Arc<BufferBudget>,
    held: usize,
}

impl Reservation {
    /// Takes `bytes` more, or nothing if that would pass the budget.
    pub fn grow(&mut self, bytes: usize) -> Result<(), BudgetSpent> {
        let max = self.budget.max;
        self.budget
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|&total| total <= max)
            })
            .map_err(|_| BudgetSpent)?;
        self.held += bytes;
        Ok(())
    }

    /// Gives back everything held so far (the holder keeps the reservation,
    /// empty).
    pub fn release(&mut self) {
        self.budget.used.fetch_sub(self.held, Ordering::AcqRel);
        self.held = 0;
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.held, Ordering::AcqRel);
    }
}

/// Why a body could not be collected whole by [`collect_within`].
pub enum CollectError<E> {
    /// Longer than the `max` given.
    TooLarge,
    /// The buffer budget could not hold the next bytes.
    BudgetSpent,
    /// The body itself failed.
    Body(E),
}

/// Reads `body` whole into host memory, at most `max` bytes, each taken
/// from `held` before it is kept; reading stops (the rest is never read)
/// at the first byte that does not fit.
pub async fn collect_within<B>(
    mut body: B,
    max: usize,
    held: &mut Reservation,
) -> Result<Bytes, CollectError<B::Error>>
where
    B: HttpBody<Data = Bytes> + Unpin,
{
    use http_body_util::BodyExt;
    let mut collected = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(CollectError::Body)?;
        if let Some(data) = frame.data_ref() {
            if data.len() > max - collected.len() {
                return Err(CollectError::TooLarge);
            }
            held.grow(data.len())
                .map_err(|BudgetSpent| CollectError::BudgetSpent)?;
            collected.extend_from_slice(data);
        }
    }
    Ok(collected.freeze())
}

/// The error a [`LimitedBody`] ends with: `seen` bytes came, more than
/// its limit.
#[derive(Debug)]
pub struct BodyTooLarge {
    pub seen: u64,
}

impl std::fmt::Display for BodyTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "request body too large ({} bytes so far)", self.seen)
    }
}

impl std::error::Error for BodyTooLarge {}

/// A request body that fails with [`BodyTooLarge`] once more than `max`
/// bytes have come, and says so through `exceeded` so that the answer can
/// be 413.
pub struct LimitedBody<B> {
    inner: B,
    seen: u64,
    max: u64,
    pub exceeded: Arc<AtomicBool>,
}

impl<B> LimitedBody<B> {
    pub fn new(inner: B, max: u64) -> Self {
        Self {
            inner,
            seen: 0,
            max,
            exceeded: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl<B> HttpBody for LimitedBody<B>
where
    B: HttpBody<Data = Bytes, Error = BoxError> + Unpin,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.seen += data.len() as u64;
                    if this.seen > this.max {
                        this.exceeded.store(true, Ordering::Release);
                        return Poll::Ready(Some(Err(Box::new(BodyTooLarge { seen: this.seen }))));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that is cut (ends with an error, so the client sees an
/// incomplete response) when the request deadline passes.
pub struct DeadlineBody<B> {
    inner: B,
    deadline: Pin<Box<Sleep>>,
    request_id: Arc<str>,
}

impl<B> DeadlineBody<B> {
    pub fn new(inner: B, deadline: Instant, request_id: Arc<str>) -> Self {
        Self {
            inner,
            deadline: Box::pin(tokio::time::sleep_until(deadline)),
            request_id,
        }
    }
}

impl<B> HttpBody for DeadlineBody<B>
where
    B: HttpBody<Data = Bytes, Error = BoxError> + Unpin,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            tracing::error!(request_id = %self.request_id, "request deadline passed while sending the body; the body was cut");
            return Poll::Ready(Some(Err("request deadline passed".into())));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
