//! `mwtag` test guest: wasi:http 0.3 middleware (the `wasi:http/middleware`
//! world, WIT in `../wit/http-0.3.2`) that passes every request to the
//! handler it imports and answers that handler's response (status, body,
//! trailers) with `x-middleware: mwtag` added to its headers, so a test can
//! see which layers a response went through.

wit_bindgen::generate!({
    world: "test:middleware/middleware",
    path: "../wit/http-0.3.2",
    generate_all,
});

use wasi::http::handler;
use wasi::http::types::{ErrorCode, Fields, Request, Response};

struct Tag;

impl exports::wasi::http::handler::Guest for Tag {
    async fn handle(request: Request) -> Result<Response, ErrorCode> {
        let inner = handler::handle(request).await?;
        let status = inner.get_status_code();
        let mut headers = inner.get_headers().copy_all();
        headers.push(("x-middleware".to_owned(), b"mwtag".to_vec()));
        let (_result_tx, result_rx) = wit_future::new(|| Ok(()));
        let (body, trailers) = Response::consume_body(inner, result_rx);
        let headers = Fields::from_list(&headers).map_err(|_| ErrorCode::InternalError(None))?;
        let (response, _sent) = Response::new(headers, Some(body), trailers);
        let _ = response.set_status_code(status);
        Ok(response)
    }
}

export!(Tag);
