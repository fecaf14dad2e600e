//! Requests a guest sends to this app itself, served in process without
//! TCP: service chaining to `http://<component-id>.spin.internal/...` (any
//! component, private routes included) and self requests to
//! `http://self.alt/...` (through the app's routes). The guest side reaches
//! them through [`InProcess`]; a chain is bounded ([`MAX_DEPTH`]) so that a
//! loop ends with an error instead of a hang.

use std::sync::{Arc, LazyLock};

use http::{Request, StatusCode};

use super::{AppRouter, Origin, answer, empty};
use crate::base::body::Body;
use crate::guest::request_context::{Answer, InProcess, MAX_DEPTH, Refused, RequestContext};
use crate::load::app::Target;
use crate::model::router::{ParsedRoute, RouteMatch};

/// The route a chained request's target sees: the wildcard, with the whole
/// path as path-info, as Spin gives it.
static CHAINED_ROUTE: LazyLock<ParsedRoute> =
    LazyLock::new(|| ParsedRoute::parse("/...").expect("`/...` is a valid route"));

impl InProcess for AppRouter {
    fn to_component<'a>(
        self: Arc<Self>,
        context: &'a RequestContext,
        id: &'a str,
        request: Request<Body>,
    ) -> Answer<'a> {
        Box::pin(async move {
            let request_id = &context.request_id;
            if context.depth >= MAX_DEPTH {
                tracing::error!(%request_id, component = id, depth = context.depth, "service chain too deep; is there a loop?");
                return Err(Refused::TooDeep);
            }
            let Some(component) = self.app.component(id) else {
                tracing::warn!(%request_id, component = id, "chained request to an unknown component");
                return Err(Refused::UnknownComponent);
            };
            let target = Target::Component(component.clone());
            let matched = RouteMatch {
                target: &0usize,
                route: &CHAINED_ROUTE,
                path_info: request.uri().path().to_owned(),
                params: Vec::new(),
            };
            let served = self.serve(&target, &matched, request, Origin::Guest(context));
            Ok(answer(served).await)
        })
    }

    fn to_self<'a>(
        self: Arc<Self>,
        context: &'a RequestContext,
        request: Request<Body>,
    ) -> Answer<'a> {
        Box::pin(async move {
            if context.depth >= MAX_DEPTH {
                tracing::error!(request_id = %context.request_id, depth = context.depth, "self requests too deep; is there a loop?");
                return Err(Refused::TooDeep);
            }
            let path = request.uri().path().to_owned();
            let Some(matched) = self.app.router.route(&path) else {
                return Ok(empty(StatusCode::NOT_FOUND));
            };
            let target = &self.app.triggers[*matched.target].target;
            let served = self.serve(target, &matched, request, Origin::Guest(context));
            Ok(answer(served).await)
        })
    }
}
