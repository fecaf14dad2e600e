//! `trap` test guest: panics (which aborts, i.e. a wasm trap) while handling
//! any request whose path starts with `/trap`, before setting a response;
//! answers `200 OK` with body `ok` for every other path.
//!
//! Used by the integration tests that check a trapping guest turns into a
//! 500 for that request only and that the daemon keeps serving afterwards.

use wasi::http::types::{
    Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

struct Trap;

impl wasi::exports::http::incoming_handler::Guest for Trap {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let path = request.path_with_query().unwrap_or_default();
        if path.starts_with("/trap") {
            panic!("boom: guest asked to trap on {path}");
        }
        let response = OutgoingResponse::new(Fields::new());
        let body = response.body().expect("response body");
        ResponseOutparam::set(response_out, Ok(response));
        let out = body.write().expect("body stream");
        out.blocking_write_and_flush(b"ok").expect("write body");
        drop(out);
        OutgoingBody::finish(body, None).expect("finish body");
    }
}

wasi::http::proxy::export!(Trap);
