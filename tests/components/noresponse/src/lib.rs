//! `noresponse` test guest: returns from the handler without ever calling
//! `response-outparam.set`, dropping the outparam.
//!
//! A path ending in `/block` then blocks for an hour in a host sleep, as a guest that
//! dropped its outparam and went on working would.
//!
//! Used by the integration tests that check the daemon answers such a
//! request with an error status at once (instead of hanging), stops the
//! guest at the deadline, and keeps serving.

use wasi::http::types::{IncomingRequest, ResponseOutparam};

struct NoResponse;

impl wasi::exports::http::incoming_handler::Guest for NoResponse {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        // Deliberately never set a response.
        drop(response_out);
        if request.path_with_query().unwrap_or_default().ends_with("/block") {
            wasi::clocks::monotonic_clock::subscribe_duration(3600 * 1_000_000_000).block();
        }
    }
}

wasi::http::proxy::export!(NoResponse);
