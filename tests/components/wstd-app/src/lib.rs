//! `wstd-app` test guest (`wstd_app.wasm`): a component written with the
//! `wstd` async runtime and its `#[wstd::http_server]` macro.
//!
//! Answers every request with `200 OK` and a body streamed in three chunks,
//! each produced after a short async sleep (so the host sees separate
//! writes): `hello from wstd\n`, `chunk 2\n`, `chunk 3\n`. Used by the
//! integration tests of wstd compatibility and streamed response bodies.

use std::convert::Infallible;

use futures_lite::stream;
use wstd::http::body::{Body, Bytes};
use wstd::http::{Error, Request, Response};
use wstd::time::Duration;

const CHUNKS: [&str; 3] = ["hello from wstd\n", "chunk 2\n", "chunk 3\n"];

#[wstd::http_server]
async fn main(_request: Request<Body>) -> Result<Response<Body>, Error> {
    let chunks = stream::unfold(0, |i| async move {
        let chunk = CHUNKS.get(i)?;
        if i > 0 {
            wstd::task::sleep(Duration::from_millis(20)).await;
        }
        Some((
            Ok::<_, Infallible>(Bytes::from_static(chunk.as_bytes())),
            i + 1,
        ))
    });
    Ok(Response::builder()
        .header("content-type", "text/plain")
        .body(Body::from_try_stream(chunks))?)
}
