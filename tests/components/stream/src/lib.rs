//! `stream` test guest: sends the response headers at once (no
//! content-length), then writes the body as 5 chunks of 1000 bytes each,
//! flushing after every chunk (chunk `i` is 1000 copies of the digit `i`,
//! `0`..=`4`, so the body is 5000 bytes).
//!
//! Used by the integration test of streamed (chunked) responses.

use wasi::http::types::{
    Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

const CHUNKS: u8 = 5;
const CHUNK_LEN: usize = 1000;

struct Stream;

impl wasi::exports::http::incoming_handler::Guest for Stream {
    fn handle(_request: IncomingRequest, response_out: ResponseOutparam) {
        let headers = Fields::from_list(&[(
            "content-type".to_string(),
            b"application/octet-stream".to_vec(),
        )])
        .expect("valid headers");
        let response = OutgoingResponse::new(headers);
        let body = response.body().expect("response body");
        // Headers go out now, before any body byte is written.
        ResponseOutparam::set(response_out, Ok(response));

        let out = body.write().expect("body stream");
        for i in 0..CHUNKS {
            let chunk = [b'0' + i; CHUNK_LEN];
            // blocking_write_and_flush takes at most 4096 bytes per call.
            out.blocking_write_and_flush(&chunk).expect("write chunk");
        }
        drop(out);
        OutgoingBody::finish(body, None).expect("finish body");
    }
}

wasi::http::proxy::export!(Stream);
