//! What one request carries down to its guest, and the one narrow way back
//! up: a guest's in-process requests (service chaining to
//! `<component>.spin.internal`, self requests) go to the router through
//! [`InProcess`], which the HTTP layer implements. The guest side sees this
//! context and that trait, never the server state or the loaded app, so the
//! request path runs one way: socket → connection → request → route →
//! executor → guest.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use http::{Request, Response};
use tokio::time::Instant;

use crate::base::body::Body;
use crate::base::limits::BufferBudget;

/// One request as its guest sees it: who it is (for logs), how deep in a
/// chain, its deadline, and where its in-process requests go. A chained
/// request runs on the admission slot of the request at the head of its
/// chain. It lives as long as the request, never in a reused instance.
pub struct RequestContext {
    pub request_id: Arc<str>,
    /// How many chained calls led to this request (0 from a client).
    pub depth: u32,
    /// The deadline of the client request at the head of the chain.
    pub deadline: Instant,
    /// The budget the host buffers this request's bytes under
    /// (--max-host-buffers, shared by every request).
    pub buffers: Arc<BufferBudget>,
    /// Serves the guest's chained and self requests: the app generation
    /// the request arrived under.
    pub app: Arc<dyn InProcess>,
}

/// Why an in-process request got no response.
#[derive(Debug)]
pub enum Refused {
    /// The chain is [`MAX_DEPTH`] calls deep: probably a loop.
    TooDeep,
    /// No component has the id the chained request names.
    UnknownComponent,
}

/// The answer to an in-process request.
pub type Answer<'a> = Pin<Box<dyn Future<Output = Result<Response<Body>, Refused>> + Send + 'a>>;

/// The router side of in-process requests. Both calls run on the caller's
/// admission slot, one level deeper in the chain, under its deadline.
pub trait InProcess: Send + Sync {
    /// Serves a chained request with component `id` (private ones too).
    fn to_component<'a>(
        self: Arc<Self>,
        context: &'a RequestContext,
        id: &'a str,
        request: Request<Body>,
    ) -> Answer<'a>;

    /// Serves a self request through the app's routes.
    fn to_self<'a>(
        self: Arc<Self>,
        context: &'a RequestContext,
        request: Request<Body>,
    ) -> Answer<'a>;
}

/// Most chained or self requests one client request may lead to.
pub const MAX_DEPTH: u32 = 10;
