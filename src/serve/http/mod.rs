//! The request path after the connection layer: reserved endpoints, host
//! validation, routing, Spin's headers, then a static response or a
//! component; every request ends in one access record.

mod access_log;
pub mod chain;
pub mod headers;
mod invoke;
mod well_known;

use std::net::SocketAddr;
use std::sync::Arc;

use crate::guest::request_context::RequestContext;
use crate::load::app::{LoadedApp, Target};
use crate::model::router::RouteMatch;
use http::uri::Authority;
use invoke::{Admitted, Invocation, invoke};

use crate::base::body::{Body, BoxError};
use crate::base::metrics::Reject;
use crate::model::manifest::StaticResponse;
use crate::model::router::WELL_KNOWN_PREFIX;
use crate::serve::state::Shared;
use access_log::AccessRecord;
use bytes::Bytes;
use http::{Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;

/// Where a request came from.
#[derive(Debug, Clone)]
pub struct Peer {
    /// The client address (`None` on a Unix socket).
    pub addr: Option<SocketAddr>,
    /// True when the connection is TLS.
    pub https: bool,
}

/// Answers one request against the app generation current when it
/// arrived; never fails (errors become status codes).
pub async fn handle(shared: Arc<Shared>, request: Request<Incoming>, peer: Peer) -> Response<Body> {
    let router = Arc::new(AppRouter {
        app: shared.app.load_full(),
        shared: shared.clone(),
    });
    let record = AccessRecord::start(&request, &peer, shared);
    let response = answer(router.route(request, peer, &record)).await;
    record.finish(response)
}

/// Routes the requests of one app generation: its clients' and, through
/// [`InProcess`](crate::guest::request_context::InProcess), its guests' own (see [`chain`]).
pub(crate) struct AppRouter {
    shared: Arc<Shared>,
    app: Arc<LoadedApp>,
}

/// Who sent a routed request, and so under which id, slot, deadline and
/// chain depth it runs.
enum Origin<'a> {
    /// A client, over a connection.
    Client {
        peer: Peer,
        authority: Authority,
        request_id: Arc<str>,
        started: std::time::Instant,
    },
    /// A guest of this app, in process: the request it serves.
    Guest(&'a RequestContext),
}

impl AppRouter {
    /// What a client's request comes to: reserved endpoints, Host
    /// validation, the declared body size, then its route.
    fn route(
        self: &Arc<Self>,
        request: Request<Incoming>,
        peer: Peer,
        record: &AccessRecord,
    ) -> Served {
        let path = request.uri().path();
        if let Some(rest) = path.strip_prefix(WELL_KNOWN_PREFIX) {
            record.set_route(self.shared.metrics.well_known(rest));
            return Served::Now(well_known::respond(rest, &self.app));
        }
        let authority = match headers::authority(request.uri(), request.headers()) {
            Ok(authority) => authority,
            Err(reason) => {
                tracing::debug!(request_id = %record.id, reason, "bad request");
                self.shared.metrics.rejected(Reject::BadHost);
                return Served::Now(text(StatusCode::BAD_REQUEST, reason));
            }
        };
        let declared = request
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > self.shared.limits.max_body_size) {
            self.shared.metrics.rejected(Reject::BodyTooLarge);
            return Served::Now(text(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large",
            ));
        }
        let Some(matched) = self.app.router.route(path) else {
            if self.app.first_not_found() {
                tracing::info!(
                    path,
                    "no route matches; add a catch-all route such as `route = \"/...\"` to answer every path"
                );
            }
            return Served::Now(empty(StatusCode::NOT_FOUND));
        };
        let trigger = &self.app.triggers[*matched.target];
        record.set_route(&trigger.metrics);
        let request = request.map(|body| body.map_err(|e| Box::new(e) as BoxError).boxed_unsync());
        let origin = Origin::Client {
            peer,
            authority,
            request_id: record.id.clone(),
            started: record.started,
        };
        self.serve(&trigger.target, &matched, request, origin)
    }

    /// Serves a routed request: the static response, or the component with
    /// Spin's request headers (see [`answer`]). Client requests and
    /// in-process ones both come through here.
    fn serve(
        self: &Arc<Self>,
        target: &Target,
        matched: &RouteMatch<'_, usize>,
        mut request: Request<Body>,
        origin: Origin<'_>,
    ) -> Served {
        let component = match target {
            Target::Static(response) => return Served::Now(static_response(response)),
            Target::Component(component) => component.clone(),
        };
        let (full_url, client_addr) = match &origin {
            Origin::Client {
                peer, authority, ..
            } => {
                let scheme = if peer.https { "https" } else { "http" };
                let path_and_query = request
                    .uri()
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/");
                let full_url = format!("{scheme}://{authority}{path_and_query}");
                // The guest sees the absolute URI `scheme://authority/path?query`.
                match full_url.parse::<Uri>() {
                    Ok(uri) => *request.uri_mut() = uri,
                    Err(_) => {
                        return Served::Now(text(
                            StatusCode::BAD_REQUEST,
                            "invalid request target",
                        ));
                    }
                }
                let client_addr = peer.addr.map(|a| a.to_string());
                (full_url, client_addr)
            }
            // A guest's request already has its absolute URI, and comes
            // from no client address, as Spin gives it.
            Origin::Guest(_) => {
                request.headers_mut().remove(http::header::HOST);
                (request.uri().to_string(), None)
            }
        };
        let spin = headers::spin_headers(&headers::SpinHeaderInput {
            full_url: &full_url,
            client_addr: client_addr.as_deref().unwrap_or("0.0.0.0:0"),
            route: matched,
        });
        headers::strip_inbound(request.headers_mut());
        headers::insert_all(request.headers_mut(), spin);
        let invocation = match origin {
            Origin::Client {
                peer,
                request_id,
                started,
                ..
            } => Invocation {
                router: self.clone(),
                component,
                request_id,
                https: peer.https,
                deadline: tokio::time::Instant::from_std(started)
                    + self.shared.limits.request_timeout,
                depth: 0,
                admission: Admitted::Needed,
            },
            // A chained call runs on the admission slot of the request it
            // serves: waiting for a second slot while holding one could
            // deadlock.
            Origin::Guest(context) => Invocation {
                router: self.clone(),
                component,
                request_id: context.request_id.clone(),
                https: false,
                deadline: context.deadline,
                depth: context.depth + 1,
                admission: Admitted::Parent,
            },
        };
        Served::Call(invocation, request)
    }
}

/// A routed request: the component call to make, or the answer at once.
enum Served {
    Call(Invocation, Request<Body>),
    Now(Response<Body>),
}

/// The response to a routed request. The call owns all it needs, so that
/// its future borrows nothing.
async fn answer(served: Served) -> Response<Body> {
    match served {
        Served::Call(call, request) => invoke(call, request).await,
        Served::Now(response) => response,
    }
}

/// A request with both Content-Length and Transfer-Encoding: 400, and the
/// connection is closed (RFC 9112 §6.1), so nothing after it is read.
pub fn reject_ambiguous_framing(peer: &Peer) -> Response<Body> {
    tracing::warn!(peer = ?peer.addr, "request with both Content-Length and Transfer-Encoding rejected");
    let mut response = text(
        StatusCode::BAD_REQUEST,
        "both Content-Length and Transfer-Encoding",
    );
    response.headers_mut().insert(
        http::header::CONNECTION,
        http::HeaderValue::from_static("close"),
    );
    response
}

pub(crate) fn static_response(spec: &StaticResponse) -> Response<Body> {
    let mut builder = Response::builder().status(spec.status);
    for (name, value) in &spec.headers {
        builder = builder.header(name, value);
    }
    let body = spec.body.clone().unwrap_or_default();
    builder
        .body(full(body))
        .unwrap_or_else(|_| empty(StatusCode::INTERNAL_SERVER_ERROR))
}

/// A response with no body.
pub fn empty(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Empty::new().map_err(|e| match e {}).boxed_unsync());
    *response.status_mut() = status;
    response
}

/// A short plain-text response.
pub fn text(status: StatusCode, reason: &str) -> Response<Body> {
    let mut response = Response::new(full(format!("{reason}\n")));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn full(body: impl Into<Bytes>) -> Body {
    Full::new(body.into())
        .map_err(|e| match e {})
        .boxed_unsync()
}
