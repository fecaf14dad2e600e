//! The baseline server: a minimal hyper HTTP/1.1 server that answers every
//! request with `200 OK` and `hello\n`, run as a process of its own (the
//! bench binary started with `--baseline-server ADDR`).
//!
//! It has nothing of the daemon's request path (no routing, limits, access
//! log, Wasm, nor hyper-util's HTTP/1-or-2 detection), so it shows what the
//! same client gets from the same machine with hyper alone. Like the daemon
//! it runs on its own multi-thread tokio runtime (one worker per core) and
//! sets `TCP_NODELAY` on accepted sockets.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// Serves on `addr` until the process is stopped.
pub fn serve(addr: SocketAddr) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("baseline")
        .build()?;
    let listener = runtime.block_on(TcpListener::bind(addr))?;
    runtime.block_on(accept_loop(listener));
    Ok(())
}

async fn accept_loop(listener: TcpListener) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of descriptors or similar: do not spin.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(hello))
                .await;
        });
    }
}

async fn hello(_request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut response = Response::new(Full::new(Bytes::from_static(b"hello\n")));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Ok(response)
}
