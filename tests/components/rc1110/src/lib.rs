//! `rc1110` test guest: exports `wasi:http/incoming-handler@0.2.0-rc-2023-11-10`
//! and imports that release candidate's outgoing-handler, bound from its
//! WIT (in `wit/`) with wit-bindgen, as tools of late 2023 built them.
//!
//! - `GET /hello...`: `200`, header `x-rc: 2023-11-10`, body
//!   `hello from rc 2023-11-10 <path>`;
//! - `POST /body`: reads the body, then its trailers
//!   (`future-trailers.get`): `<n> bytes, trailers: none|<count>`;
//! - `GET /timeout?<ms>`: sets `connect-timeout-ms` to `<ms>` on a
//!   request-options and answers what `connect-timeout-ms` reads back;
//! - `GET /outbound?<url>`: GETs `<url>` with `first-byte-timeout-ms` set
//!   to 5000 and answers `<status> <body>`, or `502` with the error code.

wit_bindgen::generate!({ path: "wit", world: "test:rc1110/guest", generate_all });

use exports::wasi::http::incoming_handler::Guest;
use wasi::http::outgoing_handler;
use wasi::http::types::{
    ErrorCode, Fields, IncomingBody, IncomingRequest, Method, OutgoingBody, OutgoingRequest,
    OutgoingResponse, RequestOptions, ResponseOutparam, Scheme,
};

struct Rc1110;

export!(Rc1110);

impl Guest for Rc1110 {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let path = request.path_with_query().unwrap_or_default();
        let (status, body) = if path.starts_with("/hello") {
            (200, format!("hello from rc 2023-11-10 {path}"))
        } else if path == "/body" {
            read_body(request)
        } else if let Some(ms) = path.strip_prefix("/timeout?") {
            let options = RequestOptions::new();
            let ms: u64 = ms.parse().unwrap_or(0);
            options.set_connect_timeout_ms(Some(ms)).unwrap();
            (200, format!("connect-timeout-ms={:?}", options.connect_timeout_ms()))
        } else if let Some(url) = path.strip_prefix("/outbound?") {
            match fetch(url) {
                Ok((status, body)) => (200, format!("{status} {body}")),
                Err(code) => (502, format!("{code:?}")),
            }
        } else {
            (404, "no such path".to_owned())
        };
        let headers = Fields::from_list(&[("x-rc".to_owned(), b"2023-11-10".to_vec())]).unwrap();
        let response = OutgoingResponse::new(headers);
        response.set_status_code(status).unwrap();
        let outgoing = response.body().unwrap();
        ResponseOutparam::set(out, Ok(response));
        let stream = outgoing.write().unwrap();
        stream.blocking_write_and_flush(body.as_bytes()).unwrap();
        drop(stream);
        OutgoingBody::finish(outgoing, None).unwrap();
    }
}

fn read_body(request: IncomingRequest) -> (u16, String) {
    let body = request.consume().unwrap();
    let mut bytes = 0;
    {
        let stream = body.stream().unwrap();
        while let Ok(chunk) = stream.blocking_read(4096) {
            bytes += chunk.len();
        }
    }
    let trailers = IncomingBody::finish(body);
    trailers.subscribe().block();
    let seen = match trailers.get() {
        Some(Ok(None)) => "none".to_owned(),
        Some(Ok(Some(fields))) => fields.entries().len().to_string(),
        Some(Err(code)) => format!("error {code:?}"),
        None => "not ready".to_owned(),
    };
    (200, format!("{bytes} bytes, trailers: {seen}"))
}

fn fetch(url: &str) -> Result<(u16, String), ErrorCode> {
    let (scheme, rest) = url.split_once("://").ok_or(ErrorCode::HttpRequestUriInvalid)?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let request = OutgoingRequest::new(Fields::new());
    request.set_method(&Method::Get).unwrap();
    request
        .set_scheme(Some(&if scheme == "https" { Scheme::Https } else { Scheme::Http }))
        .unwrap();
    request.set_authority(Some(authority)).unwrap();
    request.set_path_with_query(Some(if path.is_empty() { "/" } else { path })).unwrap();
    let options = RequestOptions::new();
    options.set_first_byte_timeout_ms(Some(5000)).unwrap();
    let pending = outgoing_handler::handle(request, Some(options))?;
    pending.subscribe().block();
    let response = pending.get().expect("ready").expect("first get")?;
    let status = response.status();
    let body = response.consume().unwrap();
    let stream = body.stream().unwrap();
    let mut text = Vec::new();
    while let Ok(chunk) = stream.blocking_read(4096) {
        text.extend(chunk);
    }
    Ok((status, String::from_utf8_lossy(&text).into_owned()))
}
