//! The admin listener: `/metrics` (Prometheus text), `/healthz` and
//! `/readyz`, on the sockets named `admin` (systemd's
//! `FileDescriptorName=admin`, or `--admin-listen`) and nowhere else. App
//! routes are never served here, and these paths never on the app's
//! listeners. It runs from before the app is loaded until the process
//! exits, so `/readyz` can say "loading" and "draining".

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::Semaphore;

use crate::base::metrics::{self, Metrics, Phase};
use crate::serve::listen::{Listener, Socket};

/// Admin connections open at once; more wait in the kernel's queue.
const MAX_CONNECTIONS: usize = 16;
/// How long a request head may take, and an idle connection may stay.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves the admin paths on `listeners` until the process exits.
pub fn spawn(metrics: Arc<Metrics>, listeners: Vec<Listener>) -> anyhow::Result<()> {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    for listener in listeners {
        tracing::info!(listener = %listener.describe(), "serving metrics and health checks");
        let (metrics, slots) = (metrics.clone(), slots.clone());
        match listener.socket {
            Socket::Tcp(l) => {
                let l = Arc::new(tokio::net::TcpListener::from_std(l)?);
                tokio::spawn(accept_loop(metrics, slots, move || {
                    let l = l.clone();
                    async move { l.accept().await.map(|(stream, _)| stream) }
                }));
            }
            Socket::Unix(l) => {
                let l = Arc::new(tokio::net::UnixListener::from_std(l)?);
                tokio::spawn(accept_loop(metrics, slots, move || {
                    let l = l.clone();
                    async move { l.accept().await.map(|(stream, _)| stream) }
                }));
            }
        }
    }
    Ok(())
}

/// Accepts while a connection slot is free; each connection on its task.
async fn accept_loop<F, Fut, S>(metrics: Arc<Metrics>, slots: Arc<Semaphore>, accept: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = std::io::Result<S>>,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        match accept().await {
            Ok(stream) => connection(metrics.clone(), stream, slot),
            Err(error) => pause(error).await,
        }
    }
}

/// An accept error (EMFILE, ...): never ends the loop, never spins.
async fn pause(error: std::io::Error) {
    tracing::warn!(%error, "admin accept failed");
    tokio::time::sleep(Duration::from_millis(50)).await;
}

fn connection<S>(metrics: Arc<Metrics>, stream: S, slot: tokio::sync::OwnedSemaphorePermit)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let _slot = slot;
        let service = service_fn(move |request| {
            let metrics = metrics.clone();
            async move { Ok::<_, Infallible>(answer(&metrics, &request)) }
        });
        let serving = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEAD_TIMEOUT)
            .serve_connection(TokioIo::new(stream), service);
        if let Err(error) = serving.await {
            tracing::debug!(%error, "admin connection ended with an error");
        }
    });
}

fn answer<B>(metrics: &Arc<Metrics>, request: &Request<B>) -> Response<Full<Bytes>> {
    let path = request.uri().path();
    if !matches!(path, "/metrics" | "/healthz" | "/readyz") {
        return reply(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "not found; the admin paths are /metrics, /healthz and /readyz\n".into(),
        );
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain; charset=utf-8",
            "use GET\n".into(),
        );
        response
            .headers_mut()
            .insert(header::ALLOW, http::HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let text = "text/plain; charset=utf-8";
    match path {
        "/metrics" => reply(StatusCode::OK, metrics::CONTENT_TYPE, metrics.render()),
        "/healthz" => reply(StatusCode::OK, text, "ok\n".into()),
        _ => match metrics.phase() {
            Phase::Serving => reply(StatusCode::OK, text, "ready\n".into()),
            Phase::Loading => reply(
                StatusCode::SERVICE_UNAVAILABLE,
                text,
                "loading the app\n".into(),
            ),
            Phase::Draining => reply(StatusCode::SERVICE_UNAVAILABLE, text, "draining\n".into()),
        },
    }
}

fn reply(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    response
}
