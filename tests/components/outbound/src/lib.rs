//! `outbound` test guest: makes the outgoing request its path asks for and
//! reports what came back.
//!
//! - `GET /fetch/<scheme>/<authority>/<path...>`: requests
//!   `<scheme>://<authority>/<path...>` and answers `200` with
//!   `<status> <body>`, or `200` with `error: ErrorCode::<Code>` when the host
//!   refused or failed the request (e.g. `HttpRequestDenied`).
//! - `GET /loop`: requests `http://outbound.spin.internal/loop` (itself),
//!   to show that a chaining loop ends with an error instead of a hang.
//!
//! Used by the outbound HTTP, chaining and variables tests.

use wasi::http::outgoing_handler;
use wasi::http::types::{
    Fields, IncomingRequest, OutgoingBody, OutgoingRequest, OutgoingResponse, ResponseOutparam,
    Scheme,
};

struct Outbound;

impl wasi::exports::http::incoming_handler::Guest for Outbound {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let path = request.path_with_query().unwrap_or_default();
        let (scheme, authority, target) = if path == "/loop" {
            ("http".to_string(), "outbound.spin.internal".to_string(), "/loop".to_string())
        } else {
            let rest = path.strip_prefix("/fetch/").unwrap_or_default();
            let mut parts = rest.splitn(3, '/');
            let scheme = parts.next().unwrap_or("http").to_string();
            let authority = parts.next().unwrap_or_default().to_string();
            let target = format!("/{}", parts.next().unwrap_or_default());
            (scheme, authority, target)
        };
        let answer = fetch(&scheme, &authority, &target);
        let response = OutgoingResponse::new(Fields::new());
        let body = response.body().expect("response body");
        ResponseOutparam::set(response_out, Ok(response));
        let out = body.write().expect("body stream");
        for chunk in answer.as_bytes().chunks(4096) {
            out.blocking_write_and_flush(chunk).expect("write body");
        }
        drop(out);
        OutgoingBody::finish(body, None).expect("finish body");
    }
}

fn fetch(scheme: &str, authority: &str, target: &str) -> String {
    let request = OutgoingRequest::new(Fields::new());
    let scheme = match scheme {
        "https" => Scheme::Https,
        _ => Scheme::Http,
    };
    request.set_scheme(Some(&scheme)).expect("scheme");
    request.set_authority(Some(authority)).expect("authority");
    request.set_path_with_query(Some(target)).expect("path");
    let future = match outgoing_handler::handle(request, None) {
        Ok(future) => future,
        Err(code) => return format!("error: {code:?}"),
    };
    future.subscribe().block();
    let response = match future.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(code))) => return format!("error: {code:?}"),
        other => return format!("error: {other:?}"),
    };
    let status = response.status();
    let body = response.consume().expect("incoming body");
    let stream = body.stream().expect("body stream");
    let mut bytes = Vec::new();
    while let Ok(chunk) = stream.blocking_read(64 * 1024) {
        bytes.extend_from_slice(&chunk);
    }
    format!("{status} {}", String::from_utf8_lossy(&bytes))
}

wasi::http::proxy::export!(Outbound);
