//! `slow` test guest: sleeps in a host call before answering, so a test can
//! hold a request in flight. `GET /...?ms=N` sleeps N milliseconds (default
//! 1000) through `wasi:clocks/monotonic-clock` (saying so on stdout first,
//! so a test can wait for it), then answers `200` with `slept N ms`. Used
//! by the drain-on-SIGTERM, reload and isolation tests.

use wasi::http::types::{Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam};

struct Slow;

impl wasi::exports::http::incoming_handler::Guest for Slow {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let query = request.path_with_query().unwrap_or_default();
        let ms: u64 = query
            .split_once("ms=")
            .and_then(|(_, rest)| rest.split('&').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(1000);
        println!("slow: sleeping {ms} ms");
        wasi::clocks::monotonic_clock::subscribe_duration(ms * 1_000_000).block();
        let response = OutgoingResponse::new(Fields::new());
        let body = response.body().expect("response body");
        ResponseOutparam::set(response_out, Ok(response));
        let out = body.write().expect("body stream");
        out.blocking_write_and_flush(format!("slept {ms} ms").as_bytes())
            .expect("write body");
        drop(out);
        OutgoingBody::finish(body, None).expect("finish body");
    }
}

wasi::http::proxy::export!(Slow);
