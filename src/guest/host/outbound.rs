//! A guest's outgoing HTTP requests: checked against the component's
//! `allowed_outbound_hosts` as Spin checks them, then served in process
//! (chained and self requests, through the request's [`RequestContext`])
//! or sent over the network ([`crate::guest::host::outbound_client`]); and the
//! conversions between the project's [`Body`] and wasi:http's.

use std::sync::{Arc, Weak};
use std::time::Duration;

use http_body_util::BodyExt;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

use crate::base::body::{Body, BoxError};
use crate::base::limits::BodyTooLarge;
use crate::base::metrics::{ComponentMetrics, OutboundResult};
use crate::guest::host::outbound_client;
use crate::guest::request_context::{Refused, RequestContext};
use crate::model::outbound_hosts::{AllowedHosts, chained_component, is_self_request};

/// Decides what a guest's outgoing HTTP requests may reach, as Spin does:
/// only destinations in the component's `allowed_outbound_hosts`; the guest
/// sees `HTTP-request-denied` for the rest. Chained (`*.spin.internal`) and
/// self (`self.alt`) requests are served in process, under the request the
/// guest is serving.
pub struct OutboundPolicy {
    pub component: Arc<str>,
    /// Tags logs: the request id, or `<component>-instance`.
    pub tag: Arc<str>,
    pub allowed: Arc<AllowedHosts>,
    pub requests: Requests,
    /// The component's counters (outbound requests, instances).
    pub metrics: Arc<ComponentMetrics>,
}

impl OutboundPolicy {
    /// The id of the request the guest serves now, for logs.
    pub fn request_id(&self) -> Arc<str> {
        match self.requests.current() {
            Some(context) => context.request_id.clone(),
            None => self.tag.clone(),
        }
    }
}

/// The requests a store serves: exactly one (a fresh instance per request),
/// or those in flight in a reused wasi:http 0.3 instance, held weakly so
/// that an instance never keeps a request (or its app generation) alive.
pub enum Requests {
    One(Arc<RequestContext>),
    Instance(Vec<Weak<RequestContext>>),
}

impl Requests {
    /// A reused instance, serving no request yet.
    pub fn instance() -> Self {
        Requests::Instance(Vec::new())
    }

    /// A reused instance starts serving `env`.
    pub fn add(&mut self, env: &Arc<RequestContext>) {
        if let Requests::Instance(list) = self {
            list.retain(|w| w.strong_count() > 0);
            list.push(Arc::downgrade(env));
        }
    }

    /// The request an outgoing request counts under. In a reused instance
    /// serving several requests at once, the host cannot tell which one a
    /// call comes from, so it takes the strictest: the deepest chain and
    /// the earliest deadline (a loop still ends, no deadline is exceeded).
    /// `None` when no request is in flight.
    pub fn current(&self) -> Option<Arc<RequestContext>> {
        match self {
            Requests::One(env) => Some(env.clone()),
            Requests::Instance(list) => {
                let mut live = list.iter().filter_map(Weak::upgrade);
                let first = live.next()?;
                Some(live.fold(first, |acc, env| {
                    if env.depth == acc.depth && env.deadline == acc.deadline {
                        return acc;
                    }
                    Arc::new(RequestContext {
                        request_id: acc.request_id.clone(),
                        depth: acc.depth.max(env.depth),
                        deadline: acc.deadline.min(env.deadline),
                        buffers: env.buffers.clone(),
                        app: env.app.clone(),
                    })
                }))
            }
        }
    }
}

/// Connect and first-byte limits for outbound requests that set none.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(30);

type SendResult = wasmtime_wasi_http::Result<(
    http::Response<WasiBody>,
    Box<dyn Future<Output = Result<(), HttpError>> + Send>,
)>;

impl WasiHttpHooks for OutboundPolicy {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        let metrics = self.metrics.clone();
        let sending = Box::into_pin(self.route(request, options));
        Box::new(async move {
            let result = sending.await;
            metrics.outbound(match &result {
                Ok(_) => OutboundResult::Allowed,
                Err(HttpError::HttpRequestDenied | HttpError::DestinationIpProhibited) => {
                    OutboundResult::Denied
                }
                Err(_) => OutboundResult::Failed,
            });
            result
        })
    }
}

impl OutboundPolicy {
    /// Where the request goes: denied, chained or self (in process), or
    /// out over the network.
    fn route(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        let url = request.uri().clone();
        let host = url.host().unwrap_or_default().to_ascii_lowercase();
        let component = self.component.clone();
        let request_id = self.request_id();
        // Logged without the query, which may carry secrets.
        let shown = format!(
            "{}://{}{}",
            url.scheme_str().unwrap_or("http"),
            url.authority().map_or("", |a| a.as_str()),
            url.path()
        );
        let denied = |why: &str| {
            tracing::warn!(%component, %request_id, url = %shown, "outbound request denied: {why}");
            Box::new(async { Err(HttpError::HttpRequestDenied) })
                as Box<dyn Future<Output = SendResult> + Send>
        };
        let done = |response: Result<http::Response<Body>, Refused>| {
            let response = response.map_err(|refused| match refused {
                Refused::TooDeep => HttpError::LoopDetected,
                Refused::UnknownComponent => HttpError::DestinationNotFound,
            })?;
            Ok((
                response.map(wasi_body),
                Box::new(async { Ok(()) })
                    as Box<dyn Future<Output = Result<(), HttpError>> + Send>,
            ))
        };
        let Some(env) = self.requests.current() else {
            return denied("the instance serves no request now");
        };
        if let Some(target) = chained_component(&host) {
            // The URL is checked as any other (its scheme and port against
            // the entries), as Spin does; then it is served in process,
            // whatever its scheme.
            if !self.allowed.allows(&url) {
                return denied(&format!(
                    "add {}://<component>.spin.internal (or {0}://*.spin.internal) to allowed_outbound_hosts",
                    url.scheme_str().unwrap_or("http")
                ));
            }
            let target = target.to_owned();
            let request = request.map(body);
            return Box::new(async move {
                done(env.app.clone().to_component(&env, &target, request).await)
            });
        }
        if is_self_request(&url) || host == "self" {
            if !self.allowed.allows_self() {
                return denied("add http://self to allowed_outbound_hosts");
            }
            let request = request.map(body);
            return Box::new(async move { done(env.app.clone().to_self(&env, request).await) });
        }
        if !self.allowed.allows(&url) {
            return denied("the destination is not in the component's allowed_outbound_hosts");
        }
        let mut options = options.unwrap_or_default();
        options.connect_timeout.get_or_insert(CONNECT_TIMEOUT);
        options.first_byte_timeout.get_or_insert(FIRST_BYTE_TIMEOUT);
        // The address connected to is checked too (loopback, private and
        // link-local ones need an entry naming them).
        let allowed = self.allowed.clone();
        let scheme = url.scheme_str().unwrap_or("http").to_owned();
        let url_host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let may_connect = move |ip, port| {
            allowed
                .may_connect(&scheme, &url_host, ip, port)
                .inspect_err(|why| {
                    tracing::warn!(%component, %request_id, url = %shown, "outbound request denied: {why}");
                })
        };
        Box::new(outbound_client::send(request, options, may_connect))
    }
}

/// A wasi:http body as the project's.
fn body(body: WasiBody) -> Body {
    body.map_err(|e| Box::new(e) as BoxError).boxed_unsync()
}

/// The project's body as wasi:http's, for a guest to read.
pub fn wasi_body<B>(body: B) -> WasiBody
where
    B: http_body::Body<Data = bytes::Bytes, Error = BoxError> + Send + 'static,
{
    body.map_err(wasi_error).boxed_unsync()
}

/// What a body's error is in wasi:http's terms: a body over its limit is
/// `HTTP-request-body-size`, a client's broken stream hyper's error, one
/// of wasi:http's own (a chained guest's body) itself.
pub fn wasi_error(error: BoxError) -> HttpError {
    let error = match error.downcast::<HttpError>() {
        Ok(error) => return *error,
        Err(other) => other,
    };
    let error = match error.downcast::<hyper::Error>() {
        Ok(error) => return HttpError::Hyper(*error),
        Err(other) => other,
    };
    match error.downcast::<BodyTooLarge>() {
        Ok(too_large) => HttpError::HttpRequestBodySize(Some(too_large.seen)),
        Err(other) => HttpError::InternalError(Some(other.to_string())),
    }
}
