//! `mwauth` test guest: wasi:http 0.3 middleware (the `wasi:http/middleware`
//! world, WIT in `../wit/http-0.3.2`) that answers `401` with
//! `unauthorized (mwauth)` when the request has no `authorization` header,
//! and otherwise passes the request to the handler it imports, returning
//! that handler's response unchanged.

wit_bindgen::generate!({
    world: "test:middleware/middleware",
    path: "../wit/http-0.3.2",
    generate_all,
});

use wasi::http::handler;
use wasi::http::types::{ErrorCode, Fields, Request, Response};

struct Auth;

impl exports::wasi::http::handler::Guest for Auth {
    async fn handle(request: Request) -> Result<Response, ErrorCode> {
        if !request.get_headers().has("authorization") {
            let (mut body_tx, body_rx) = wit_stream::new();
            let (_trailers_tx, trailers_rx) = wit_future::new(|| Ok(None));
            let (response, _sent) = Response::new(Fields::new(), Some(body_rx), trailers_rx);
            let _ = response.set_status_code(401);
            wit_bindgen::spawn_local(async move {
                let rest = body_tx.write_all(b"unauthorized (mwauth)".to_vec()).await;
                assert!(rest.is_empty());
            });
            return Ok(response);
        }
        handler::handle(request).await
    }
}

export!(Auth);
