//! Requests a guest sends to this app itself: service chaining to
//! `http://<component-id>.spin.internal/...` (any component, private routes
//! included) and self requests to `http://self.alt/...` (through the
//! router). Both are served in process, without TCP, and a chain is
//! bounded so that a loop ends with an error instead of a hang.

use std::sync::Arc;

use http::{Request, Response};
use http_body_util::BodyExt;
use wasmtime_wasi_http::{Error as HttpError, WasiBody};

use super::headers;
use super::invoke::{Admitted, Invocation, invoke};
use super::static_response;
use crate::app::Target;
use crate::body::Body;
use crate::executor::OutboundEnv;
use crate::router::{ParsedRoute, RouteMatch};

/// Most chained or self requests one client request may lead to.
pub const MAX_DEPTH: u32 = 10;

/// Serves a chained request with component `id`.
pub async fn to_component(
    env: &OutboundEnv,
    request_id: Arc<str>,
    id: &str,
    request: Request<WasiBody>,
) -> Result<Response<WasiBody>, HttpError> {
    if env.depth >= MAX_DEPTH {
        tracing::error!(%request_id, component = id, depth = env.depth, "service chain too deep; is there a loop?");
        return Err(HttpError::LoopDetected);
    }
    let Some(component) = env.app.component(id) else {
        tracing::warn!(%request_id, component = id, "chained request to an unknown component");
        return Err(HttpError::DestinationNotFound);
    };
    // The target sees the wildcard route, the whole path as path-info and
    // no client address, as Spin gives it.
    let route =
        ParsedRoute::parse("/...").map_err(|e| HttpError::InternalError(Some(e.to_string())))?;
    let matched = RouteMatch {
        target: &0usize,
        route: &route,
        path_info: request.uri().path().to_owned(),
        params: Vec::new(),
    };
    let request = with_spin_headers(request, &matched);
    Ok(into_wasi(
        invoke(invocation(env, request_id, component.clone()), request).await,
    ))
}

/// Serves a self request through the app's router.
pub async fn to_self(
    env: &OutboundEnv,
    request_id: Arc<str>,
    request: Request<WasiBody>,
) -> Result<Response<WasiBody>, HttpError> {
    if env.depth >= MAX_DEPTH {
        tracing::error!(%request_id, depth = env.depth, "self requests too deep; is there a loop?");
        return Err(HttpError::LoopDetected);
    }
    let path = request.uri().path().to_owned();
    let Some(matched) = env.app.router.route(&path) else {
        return Ok(into_wasi(super::empty(http::StatusCode::NOT_FOUND)));
    };
    let trigger = &env.app.triggers[*matched.target];
    match &trigger.target {
        Target::Static(response) => Ok(into_wasi(static_response(response))),
        Target::Component(component) => {
            let request = with_spin_headers(request, &matched);
            Ok(into_wasi(
                invoke(invocation(env, request_id, component.clone()), request).await,
            ))
        }
    }
}

/// A chained call runs on the admission slot of the request it serves:
/// waiting for a second slot while holding one could deadlock.
fn invocation(
    env: &OutboundEnv,
    request_id: Arc<str>,
    component: Arc<crate::executor::LoadedComponent>,
) -> Invocation {
    Invocation {
        shared: env.shared.clone(),
        app: env.app.clone(),
        component,
        request_id,
        https: false,
        deadline: env.deadline,
        depth: env.depth + 1,
        admission: Admitted::Parent,
    }
}

fn with_spin_headers(
    mut request: Request<WasiBody>,
    matched: &RouteMatch<'_, usize>,
) -> Request<WasiBody> {
    let full_url = request.uri().to_string();
    let spin = headers::spin_headers(&headers::SpinHeaderInput {
        full_url: &full_url,
        client_addr: "0.0.0.0:0",
        route: matched,
    });
    headers::strip_inbound(request.headers_mut());
    request.headers_mut().remove(http::header::HOST);
    headers::insert_all(request.headers_mut(), spin);
    request
}

fn into_wasi(response: Response<Body>) -> Response<WasiBody> {
    response.map(|body| {
        body.map_err(|e| HttpError::InternalError(Some(e.to_string())))
            .boxed_unsync()
    })
}
