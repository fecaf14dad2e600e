//! `echo` test guest: reads the whole request body and answers `200 OK`
//! with `content-type: application/json` and a body describing the request:
//!
//! ```json
//! {"method":"POST","path_with_query":"/a?b=c","scheme":"http",
//!  "authority":"localhost:8080","headers":[["host","localhost:8080"],...],
//!  "body":"..."}
//! ```
//!
//! `scheme` and `authority` are `null` when the host gives none; `headers`
//! keeps the order and repetitions the guest sees; `body` is the request body
//! decoded as UTF-8 lossily. Used by the integration tests that check what the
//! daemon passes to a guest (URL, spin-* headers, request bodies).

use std::fmt::Write as _;

use wasi::http::types::{
    Fields, IncomingBody, IncomingRequest, Method, OutgoingBody, OutgoingResponse,
    ResponseOutparam, Scheme,
};
use wasi::io::streams::StreamError;

struct Echo;

impl wasi::exports::http::incoming_handler::Guest for Echo {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let json = describe(&request);
        let headers = Fields::from_list(&[
            ("content-type".to_string(), b"application/json".to_vec()),
            (
                "content-length".to_string(),
                json.len().to_string().into_bytes(),
            ),
        ])
        .expect("valid headers");
        let response = OutgoingResponse::new(headers);
        let body = response.body().expect("response body");
        ResponseOutparam::set(response_out, Ok(response));
        let out = body.write().expect("body stream");
        // blocking_write_and_flush accepts at most 4096 bytes per call.
        for chunk in json.as_bytes().chunks(4096) {
            out.blocking_write_and_flush(chunk).expect("write body");
        }
        drop(out);
        OutgoingBody::finish(body, None).expect("finish body");
    }
}

fn describe(request: &IncomingRequest) -> String {
    let method = match request.method() {
        Method::Get => "GET".to_string(),
        Method::Head => "HEAD".to_string(),
        Method::Post => "POST".to_string(),
        Method::Put => "PUT".to_string(),
        Method::Delete => "DELETE".to_string(),
        Method::Connect => "CONNECT".to_string(),
        Method::Options => "OPTIONS".to_string(),
        Method::Trace => "TRACE".to_string(),
        Method::Patch => "PATCH".to_string(),
        Method::Other(m) => m,
    };
    let scheme = request.scheme().map(|s| match s {
        Scheme::Http => "http".to_string(),
        Scheme::Https => "https".to_string(),
        Scheme::Other(s) => s,
    });

    let mut json = String::from("{\"method\":");
    push_str(&mut json, &method);
    json.push_str(",\"path_with_query\":");
    push_opt(&mut json, request.path_with_query().as_deref());
    json.push_str(",\"scheme\":");
    push_opt(&mut json, scheme.as_deref());
    json.push_str(",\"authority\":");
    push_opt(&mut json, request.authority().as_deref());
    json.push_str(",\"headers\":[");
    for (i, (name, value)) in request.headers().entries().into_iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        json.push('[');
        push_str(&mut json, &name);
        json.push(',');
        push_str(&mut json, &String::from_utf8_lossy(&value));
        json.push(']');
    }
    json.push_str("],\"body\":");
    push_str(&mut json, &String::from_utf8_lossy(&read_body(request)));
    json.push_str("}\n");
    json
}

/// Reads the whole request body.
fn read_body(request: &IncomingRequest) -> Vec<u8> {
    let mut data = Vec::new();
    let Ok(body) = request.consume() else {
        return data;
    };
    {
        let stream = body.stream().expect("body stream");
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => data.extend_from_slice(&chunk),
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(e)) => {
                    panic!("reading request body: {}", e.to_debug_string())
                }
            }
        }
    }
    drop(IncomingBody::finish(body));
    data
}

fn push_opt(json: &mut String, s: Option<&str>) {
    match s {
        Some(s) => push_str(json, s),
        None => json.push_str("null"),
    }
}

/// Appends `s` as a JSON string literal.
fn push_str(json: &mut String, s: &str) {
    json.push('"');
    for c in s.chars() {
        match c {
            '"' => json.push_str("\\\""),
            '\\' => json.push_str("\\\\"),
            '\n' => json.push_str("\\n"),
            '\r' => json.push_str("\\r"),
            '\t' => json.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(json, "\\u{:04x}", c as u32);
            }
            c => json.push(c),
        }
    }
    json.push('"');
}

wasi::http::proxy::export!(Echo);
