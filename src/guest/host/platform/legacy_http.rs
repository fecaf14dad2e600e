//! The old Spin SDK's outbound `fermyon:spin/http`, sent under the same
//! `allowed_outbound_hosts` policy (and in-process chaining, and relative
//! URLs as self requests) as wasi:http.
//!
//! The interface hands the whole response over at once, so the host
//! collects it: as Spin does, up to [`MAX_RESPONSE_BYTES`] (headers and
//! body), past which the guest gets `runtime-error` (and nothing more is
//! read). The guest's headers are filtered as wasi:http filters them
//! (no `Host`, no hop-by-hop fields); `Host` is set from the URL.

use std::sync::Arc;

use super::bindings::fermyon::spin::{http as legacy_http, http_types as legacy};
use crate::base::limits::{BufferBudget, CollectError, collect_within};
use crate::guest::host::HostState;

impl legacy::Host for HostState {}

impl legacy_http::Host for HostState {
    async fn send_request(
        &mut self,
        req: legacy::Request,
    ) -> Result<legacy::Response, legacy::HttpError> {
        use http_body_util::BodyExt;
        use wasmtime_wasi_http::WasiHttpHooks;
        let method = match req.method {
            legacy::Method::Get => http::Method::GET,
            legacy::Method::Post => http::Method::POST,
            legacy::Method::Put => http::Method::PUT,
            legacy::Method::Delete => http::Method::DELETE,
            legacy::Method::Patch => http::Method::PATCH,
            legacy::Method::Head => http::Method::HEAD,
            legacy::Method::Options => http::Method::OPTIONS,
        };
        let uri: http::Uri = req.uri.parse().map_err(|_| legacy::HttpError::InvalidUrl)?;
        let mut builder = http::Request::builder().method(method);
        for (name, value) in &req.headers {
            let Ok(name) = http::HeaderName::try_from(name.as_str()) else {
                return Err(legacy::HttpError::RequestError);
            };
            if !wasmtime_wasi_http::DEFAULT_FORBIDDEN_HEADERS.contains(&name) {
                builder = builder.header(name, value);
            }
        }
        if let Some(authority) = uri.authority() {
            builder = builder.header(http::header::HOST, authority.as_str());
        }
        let builder = builder.uri(uri);
        let body = http_body_util::Full::new(bytes::Bytes::from(req.body.unwrap_or_default()))
            .map_err(|e| match e {})
            .boxed_unsync();
        let request = builder
            .body(body)
            .map_err(|_| legacy::HttpError::InvalidUrl)?;
        let sending = self
            .outbound
            .send_request(request, None, Box::new(async { Ok(()) }));
        let (response, io) = std::pin::Pin::from(sending).await.map_err(|e| match e {
            wasmtime_wasi_http::Error::HttpRequestDenied => {
                legacy::HttpError::DestinationNotAllowed
            }
            wasmtime_wasi_http::Error::HttpRequestUriInvalid => legacy::HttpError::InvalidUrl,
            _ => legacy::HttpError::RequestError,
        })?;
        tokio::spawn(std::pin::Pin::from(io));
        let status = response.status().as_u16();
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_owned())))
            .collect();
        let header_bytes = headers
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum::<usize>();
        // A guest of this interface serves one request per instance: its
        // request is always there (the unlimited budget is never used).
        let budget = self.outbound.requests.current().map_or_else(
            || BufferBudget::new(usize::MAX),
            |context| context.buffers.clone(),
        );
        let body = collect_bounded(
            response.into_body(),
            MAX_RESPONSE_BYTES - header_bytes.min(MAX_RESPONSE_BYTES),
            budget,
        )
        .await
        .map_err(|why| {
            tracing::warn!(
                component = %self.outbound.component,
                request_id = %self.outbound.request_id(),
                "fermyon:spin/http response not handed to the guest: {why}"
            );
            legacy::HttpError::RuntimeError
        })?;
        Ok(legacy::Response {
            status,
            headers: Some(headers),
            body: Some(body),
        })
    }
}

/// Most bytes (headers and body) of a response the host collects for the
/// guest: Spin's `MAX_HOST_BUFFERED_BYTES`.
pub const MAX_RESPONSE_BYTES: usize = 128 << 20;

/// The body, read whole unless it is longer than `max` bytes or the host's
/// buffer budget cannot hold it: then reading stops there (the rest is
/// never read) and the answer is why. The budget is held while the body is
/// collected; once handed over, it is in the guest's memory.
async fn collect_bounded(
    body: wasmtime_wasi_http::WasiBody,
    max: usize,
    budget: Arc<BufferBudget>,
) -> Result<Vec<u8>, String> {
    let mut held = budget.reserve();
    match collect_within(body, max, &mut held).await {
        Ok(bytes) => Ok(bytes.to_vec()),
        Err(CollectError::TooLarge) => {
            Err(format!("the response exceeds {MAX_RESPONSE_BYTES} bytes"))
        }
        Err(CollectError::BudgetSpent) => {
            Err("the host buffer budget (--max-host-buffers) is spent".to_owned())
        }
        Err(CollectError::Body(e)) => Err(format!("the response body failed: {e}")),
    }
}
