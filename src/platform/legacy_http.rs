//! The old Spin SDK's outbound `fermyon:spin/http`, sent under the same
//! `allowed_outbound_hosts` policy (and in-process chaining) as wasi:http.

use super::bindings::fermyon::spin::{http as legacy_http, http_types as legacy};
use crate::host::HostState;

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
        let mut builder = http::Request::builder().method(method).uri(&req.uri);
        for (name, value) in &req.headers {
            builder = builder.header(name, value);
        }
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
        let headers = response
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_owned())))
            .collect();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|_| legacy::HttpError::RuntimeError)?
            .to_bytes();
        Ok(legacy::Response {
            status,
            headers: Some(headers),
            body: Some(body.to_vec()),
        })
    }
}
