//! `trap` test guest: misbehaves on request, before setting a response.
//!
//! - `/trap...`: panics (which aborts, i.e. a wasm trap);
//! - `/loop...`: prints `looping`, then spins in Wasm forever without
//!   calling the host;
//! - `/grow/N`: grows its memory by N MiB, then answers `ok`;
//! - `/flood/N`: writes N lines to stdout, then answers `ok`;
//! - anything else: `200 OK` with body `ok`.
//!
//! Used by the integration tests that check a trapping guest turns into a
//! 500 for that request only, that a spinning guest is stopped by the
//! request deadline (504), that the memory limit holds, and that the daemon
//! keeps serving afterwards.

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
        if path.starts_with("/loop") {
            // Spins in Wasm, never calling the host: only an epoch deadline
            // stops it. Says so first, so a test can wait for it.
            println!("looping");
            let mut n: u64 = 0;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        if let Some(lines) = path.strip_prefix("/flood/") {
            for i in 0..lines.parse::<u32>().unwrap_or(0) {
                println!("flood line {i}");
            }
        }
        if let Some(mib) = path.strip_prefix("/grow/") {
            // Grows linear memory by N MiB and touches it.
            let mib: usize = mib.parse().unwrap_or(1024);
            let mut hog = vec![0u8; mib << 20];
            for page in hog.chunks_mut(65536) {
                page[0] = 1;
            }
            std::hint::black_box(&hog);
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
