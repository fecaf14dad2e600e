//! The `hello` example app (`examples/hello/spin.toml`): the Spin app that
//! the README's first command serves.
//!
//! Answers every request with `200 OK` and a small HTML page that says hello
//! and shows the request's path (and query), with the header
//! `x-served-by: wasi-httpd example`. Built with
//! `cargo build --release --target wasm32-wasip2` into
//! `target/wasm32-wasip2/release/hello_example.wasm`, which `spin.toml` names
//! as the component's `source`.

use wasi::http::types::{
    Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

struct Hello;

impl wasi::exports::http::incoming_handler::Guest for Hello {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let path = request.path_with_query().unwrap_or_else(|| "/".into());
        let page = format!(
            "<!doctype html>\n\
             <html><head><meta charset=\"utf-8\"><title>Hello from wasi-httpd</title></head>\n\
             <body>\n\
             <h1>Hello from wasi-httpd!</h1>\n\
             <p>This page was made by a WebAssembly component for the path <code>{}</code>.</p>\n\
             </body></html>\n",
            escape_html(&path)
        );

        let headers = Fields::from_list(&[
            (
                "content-type".to_string(),
                b"text/html; charset=utf-8".to_vec(),
            ),
            (
                "content-length".to_string(),
                page.len().to_string().into_bytes(),
            ),
            ("x-served-by".to_string(), b"wasi-httpd example".to_vec()),
        ])
        .expect("valid headers");
        let response = OutgoingResponse::new(headers);
        let body = response.body().expect("response body");
        ResponseOutparam::set(response_out, Ok(response));
        let out = body.write().expect("body stream");
        // blocking_write_and_flush accepts at most 4096 bytes per call.
        for chunk in page.as_bytes().chunks(4096) {
            out.blocking_write_and_flush(chunk).expect("write body");
        }
        drop(out);
        OutgoingBody::finish(body, None).expect("finish body");
    }
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

wasi::http::proxy::export!(Hello);
