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

use crate::app::{LoadedApp, Target};

use crate::body::Body;
use crate::manifest::StaticResponse;
use crate::metrics::Reject;
use crate::router::WELL_KNOWN_PREFIX;
use crate::state::Shared;
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
pub async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
    peer: &Peer,
) -> Response<Body> {
    let app = shared.app.load_full();
    let record = AccessRecord::start(&request, peer, shared.clone());
    let response = Dispatch {
        shared: &shared,
        app: &app,
    }
    .run(request, peer, &record)
    .await;
    record.finish(response)
}

struct Dispatch<'a> {
    shared: &'a Arc<Shared>,
    app: &'a Arc<LoadedApp>,
}

impl Dispatch<'_> {
    async fn run(
        &self,
        mut request: Request<Incoming>,
        peer: &Peer,
        record: &AccessRecord,
    ) -> Response<Body> {
        let path = request.uri().path();
        if let Some(rest) = path.strip_prefix(WELL_KNOWN_PREFIX) {
            record.set_route(self.shared.metrics.well_known(rest));
            return well_known::respond(rest, self.app);
        }
        let authority = match headers::authority(request.uri(), request.headers()) {
            Ok(authority) => authority,
            Err(reason) => {
                tracing::debug!(request_id = %record.id, reason, "bad request");
                self.shared.metrics.rejected(Reject::BadHost);
                return text(StatusCode::BAD_REQUEST, reason);
            }
        };
        let declared = request
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > self.shared.limits.max_body_size) {
            self.shared.metrics.rejected(Reject::BodyTooLarge);
            return text(StatusCode::PAYLOAD_TOO_LARGE, "request body too large");
        }
        let Some(matched) = self.app.router.route(path) else {
            if self.app.first_not_found() {
                tracing::info!(
                    path,
                    "no route matches; add a catch-all route such as `route = \"/...\"` to answer every path"
                );
            }
            return empty(StatusCode::NOT_FOUND);
        };
        let trigger = &self.app.triggers[*matched.target];
        record.set_route(&trigger.metrics);
        match &trigger.target {
            Target::Static(response) => static_response(response),
            Target::Component(component) => {
                let scheme = if peer.https { "https" } else { "http" };
                let path_and_query = request
                    .uri()
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/");
                let full_url = format!("{scheme}://{authority}{path_and_query}");
                let client_addr = peer
                    .addr
                    .map(|a| a.to_string())
                    .unwrap_or_else(|| "0.0.0.0:0".to_owned());
                let spin = headers::spin_headers(&headers::SpinHeaderInput {
                    full_url: &full_url,
                    client_addr: &client_addr,
                    route: &matched,
                });
                // The guest sees the absolute URI `scheme://authority/path?query`.
                match full_url.parse::<Uri>() {
                    Ok(uri) => *request.uri_mut() = uri,
                    Err(_) => return text(StatusCode::BAD_REQUEST, "invalid request target"),
                }
                headers::strip_inbound(request.headers_mut());
                headers::insert_all(request.headers_mut(), spin);
                let deadline = tokio::time::Instant::from_std(record.started)
                    + self.shared.limits.request_timeout;
                let invocation = invoke::Invocation {
                    shared: self.shared.clone(),
                    app: self.app.clone(),
                    component: component.clone(),
                    request_id: record.id.clone(),
                    https: peer.https,
                    deadline,
                    depth: 0,
                    admission: invoke::Admitted::Needed,
                };
                invoke::invoke(
                    invocation,
                    request.map(|body| body.map_err(Into::into).boxed_unsync()),
                )
                .await
            }
        }
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
