//! `noresponse` test guest: returns from the handler without ever calling
//! `response-outparam.set`, dropping the outparam.
//!
//! Used by the integration test that checks the daemon answers such a
//! request with an error status (instead of hanging) and keeps serving.

use wasi::http::types::{IncomingRequest, ResponseOutparam};

struct NoResponse;

impl wasi::exports::http::incoming_handler::Guest for NoResponse {
    fn handle(_request: IncomingRequest, _response_out: ResponseOutparam) {
        // Deliberately do nothing.
    }
}

wasi::http::proxy::export!(NoResponse);
