//! Fuzz target: the HTTP/1 framing guard against hyper.
//!
//! The same bytes go to a [`Framer`] (in pieces whose sizes the input
//! chooses) and to a hyper HTTP/1 server with the daemon's settings. For
//! every request hyper hands to the service, either the guard has already
//! refused it (it, or an earlier one, was ambiguous or could not be
//! followed: the daemon answers 400 and closes), or the guard read the
//! same request head there (same method, same target URI). Feeding the guard
//! the bytes in other pieces must not change what it read.

#![no_main]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use libfuzzer_sys::fuzz_target;
use tokio::io::AsyncWriteExt;
use wasi_httpd::fuzzing::{Feed, Framer, Stopwatch, Verdict};

/// hyper's read buffer in the daemon with the default limits.
const MAX_HEAD: usize = 16 * 1024;

/// What the guard read: the heads, the verdict, and where it closed.
fn guard(bytes: &[u8], piece: usize) -> (Vec<(String, String)>, Arc<Verdict>, Option<usize>) {
    let verdict = Verdict::new();
    let mut framer = Framer::new(verdict.clone(), Stopwatch::stopped(), MAX_HEAD);
    let mut closed = None;
    for (i, chunk) in bytes.chunks(piece.max(1)).enumerate() {
        if framer.feed(chunk) == Feed::Close {
            closed = Some(i * piece.max(1) + chunk.len());
            break;
        }
    }
    // Targets compared as URIs, as hyper parses them (`/a#b` is `/a`;
    // `http://h` is `http://h/`). One that does not parse, hyper refuses.
    let heads = framer
        .heads
        .iter()
        .map(|(method, target)| {
            let target = target
                .parse::<http::Uri>()
                .map_or_else(|_| format!("unparsed {target}"), |uri| uri.to_string());
            (method.clone(), target)
        })
        .collect();
    (heads, verdict, closed)
}

/// What hyper read: (method, target) of each request it handed over.
fn hyper_reads(bytes: &[u8]) -> Vec<(String, String)> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let input = Bytes::copy_from_slice(bytes);
    let record = seen.clone();
    runtime.block_on(async move {
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let writer = tokio::spawn(async move {
            let _ = client.write_all(&input).await;
            let _ = client.shutdown().await;
            // Read and drop the responses so the server never blocks.
            let mut sink = tokio::io::sink();
            let _ = tokio::io::copy(&mut client, &mut sink).await;
        });
        let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            let record = record.clone();
            async move {
                let target = request.uri().to_string();
                record
                    .lock()
                    .unwrap()
                    .push((request.method().as_str().to_owned(), target));
                let _ = request.into_body().collect().await;
                Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(b"ok"))))
            }
        });
        let _ = hyper::server::conn::http1::Builder::new()
            .max_buf_size(MAX_HEAD)
            .keep_alive(true)
            .serve_connection(TokioIo::new(server), service)
            .await;
        let _ = writer.await;
    });
    let seen = seen.lock().unwrap().clone();
    seen
}

fuzz_target!(|input: &[u8]| {
    let Some((&piece, bytes)) = input.split_first() else {
        return;
    };
    // HTTP/2 is hyper's alone (the daemon's auto builder detects it).
    if bytes.starts_with(b"PRI * HTTP/2.0") {
        return;
    }
    let (heads, verdict, _closed) = guard(bytes, usize::from(piece));
    let (whole, _, _) = guard(bytes, bytes.len());
    assert_eq!(
        heads, whole,
        "the guard read differently in pieces of {piece}"
    );
    for (index, request) in hyper_reads(bytes).into_iter().enumerate() {
        if verdict.next_request_is_ambiguous() {
            return;
        }
        assert_eq!(
            heads.get(index),
            Some(&request),
            "hyper read request {index} as {request:?}; the guard read {:?}",
            heads.get(index)
        );
    }
});
