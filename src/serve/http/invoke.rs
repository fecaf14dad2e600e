//! Calling a component for one request, from outside or chained from
//! another component: admission (503 when the queue is full), the body
//! limit (413), the deadline (504, or a cut body), and a guest failure
//! (500 with an empty body, the reason in the log).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

use super::AppRouter;
use super::{empty, text};
use crate::base::body::Body;
use crate::base::limits::{DeadlineBody, LimitedBody};
use crate::base::metrics::{GuestFailure, Reject};
use crate::guest::executor::{GuestError, LoadedComponent, RequestEnv};
use crate::guest::request_context::RequestContext;
use crate::serve::state::Shared;

/// Who calls which component, and under which deadline.
pub struct Invocation {
    /// The app generation the request arrived under, with the server state.
    pub router: Arc<AppRouter>,
    pub component: Arc<LoadedComponent>,
    pub request_id: Arc<str>,
    pub https: bool,
    pub deadline: Instant,
    /// How many chained calls led here (0 for a request from a client).
    pub depth: u32,
    pub admission: Admitted,
}

/// Whether the call needs an admission slot of its own.
pub enum Admitted {
    /// A client's request: it waits for a slot (or is refused with 503).
    Needed,
    /// A chained request: it runs on the slot of the request it serves.
    Parent,
}

/// A slot for a client's request, or the answer when none comes: 504 when
/// the deadline passes while queued (the wait counts against it), 503 when
/// the queue is full.
async fn admit(
    shared: Arc<Shared>,
    deadline: Instant,
    request_id: Arc<str>,
    component: Arc<str>,
) -> Result<OwnedSemaphorePermit, Response<Body>> {
    match tokio::time::timeout_at(deadline, shared.admission.admit()).await {
        Ok(Ok(permit)) => Ok(permit),
        Err(_) => {
            tracing::error!(%request_id, %component, "request deadline passed while queued; answering 504");
            Err(text(
                StatusCode::GATEWAY_TIMEOUT,
                "the app did not answer in time",
            ))
        }
        Ok(Err(_)) => {
            tracing::warn!(%request_id, %component, "request queue full; answering 503");
            shared.metrics.rejected(Reject::QueueFull);
            Err(busy())
        }
    }
}

/// 503 with Retry-After: the server is out of room for the request now.
fn busy() -> Response<Body> {
    let mut response = text(
        StatusCode::SERVICE_UNAVAILABLE,
        "server busy, retry shortly",
    );
    response.headers_mut().insert(
        http::header::RETRY_AFTER,
        http::HeaderValue::from_static("1"),
    );
    response
}

/// Serves `request` with the component; never fails (errors become status
/// codes).
pub async fn invoke(call: Invocation, request: Request<Body>) -> Response<Body> {
    let shared = call.router.shared.clone();
    let limits = &shared.limits;
    let component = call.component.clone();
    let request_id = call.request_id.clone();
    let permit = match call.admission {
        Admitted::Parent => None,
        Admitted::Needed => match admit(
            shared.clone(),
            call.deadline,
            request_id.clone(),
            component.id().clone(),
        )
        .await
        {
            Ok(permit) => Some(permit),
            Err(response) => return response,
        },
    };
    let deadline = call.deadline;
    let env = RequestEnv {
        https: call.https,
        max_memory: limits.max_instance_memory,
        permit,
        context: Arc::new(RequestContext {
            request_id: request_id.clone(),
            depth: call.depth,
            deadline,
            buffers: shared.buffers.clone(),
            app: call.router.clone(),
        }),
    };
    let request = request.map(|body| LimitedBody::new(body, limits.max_body_size));
    let too_large = request.body().exceeded.clone();
    let result = component.handle(env, request).await;
    if too_large.load(Ordering::Acquire) {
        shared.metrics.rejected(Reject::BodyTooLarge);
        return text(StatusCode::PAYLOAD_TOO_LARGE, "request body too large");
    }
    let failed = |failure| component.metrics().guest_failed(failure);
    match result {
        Ok(response) => {
            response.map(|body| DeadlineBody::new(body, deadline, request_id).boxed_unsync())
        }
        Err(GuestError::Timeout) => {
            failed(GuestFailure::Timeout);
            tracing::error!(component = %component.id(), %request_id, timeout_s = limits.request_timeout.as_secs_f64(), "request deadline passed; answering 504");
            text(
                StatusCode::GATEWAY_TIMEOUT,
                "the app did not answer in time",
            )
        }
        Err(GuestError::Busy) => {
            shared.metrics.rejected(Reject::HostBuffers);
            tracing::warn!(component = %component.id(), %request_id, in_use = shared.buffers.in_use(), "the host buffer budget (--max-host-buffers) is spent; answering 503");
            busy()
        }
        Err(error) => {
            failed(match &error {
                GuestError::Instantiate(_) => GuestFailure::Instantiate,
                GuestError::NoResponse => GuestFailure::NoResponse,
                GuestError::ErrorCode(_) => GuestFailure::ErrorCode,
                GuestError::Memory(_) => GuestFailure::Memory,
                GuestError::Trap(_) | GuestError::Timeout | GuestError::Busy => GuestFailure::Trap,
            });
            tracing::error!(component = %component.id(), %request_id, error = %error, "request failed");
            empty(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}
