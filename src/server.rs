//! The accept loops and connections: one task per listener accepting, one
//! task per connection serving HTTP/1.1 and HTTP/2 (hyper-util's auto
//! builder), and a graceful drain when the shutdown signal comes.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

use crate::http::{self, Peer};
use crate::listen::{Listener, Socket};
use crate::state::Shared;

/// Serves on `listeners` until `shutdown` resolves, then stops accepting and
/// lets in-flight requests finish for up to `drain_timeout`.
pub async fn serve(
    shared: Arc<Shared>,
    listeners: Vec<Listener>,
    shutdown: impl Future<Output = ()>,
    drain_timeout: Duration,
) -> Result<()> {
    let graceful = Arc::new(GracefulShutdown::new());
    let builder = Arc::new(auto::Builder::new(TokioExecutor::new()));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut accept_tasks = Vec::with_capacity(listeners.len());
    for listener in listeners {
        let ctx = AcceptContext {
            shared: shared.clone(),
            graceful: graceful.clone(),
            builder: builder.clone(),
        };
        let stop = stop_rx.clone();
        let task = match listener.socket {
            Socket::Tcp(l) => {
                let l = tokio::net::TcpListener::from_std(l)
                    .context("cannot register a TCP listener")?;
                tokio::spawn(accept_tcp(l, ctx, stop))
            }
            Socket::Unix(l) => {
                let l = tokio::net::UnixListener::from_std(l)
                    .context("cannot register a Unix listener")?;
                tokio::spawn(accept_unix(l, ctx, stop))
            }
        };
        accept_tasks.push(task);
    }
    drop(stop_rx);

    shutdown.await;
    tracing::info!("shutting down: no new connections; draining in-flight requests");
    let _ = stop_tx.send(true);
    for task in accept_tasks {
        let _ = task.await;
    }
    let Ok(graceful) = Arc::try_unwrap(graceful) else {
        anyhow::bail!(
            "internal error: connection tracker still shared after the accept loops ended"
        );
    };
    match tokio::time::timeout(drain_timeout, graceful.shutdown()).await {
        Ok(()) => tracing::info!("all connections closed"),
        Err(_) => tracing::warn!(
            timeout_s = drain_timeout.as_secs_f64(),
            "drain deadline passed; closing the remaining connections"
        ),
    }
    Ok(())
}

struct AcceptContext {
    shared: Arc<Shared>,
    graceful: Arc<GracefulShutdown>,
    builder: Arc<auto::Builder<TokioExecutor>>,
}

async fn accept_tcp(
    listener: tokio::net::TcpListener,
    ctx: AcceptContext,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    spawn_connection(&ctx, stream, Some(addr));
                }
                Err(error) => accept_error(error).await,
            }
        }
    }
}

async fn accept_unix(
    listener: tokio::net::UnixListener,
    ctx: AcceptContext,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => spawn_connection(&ctx, stream, None),
                Err(error) => accept_error(error).await,
            }
        }
    }
}

/// Accept errors (EMFILE, ECONNABORTED, ...) never end the loop; a short
/// pause keeps a persistent one from spinning.
async fn accept_error(error: std::io::Error) {
    tracing::warn!(error = %error, "accept failed");
    tokio::time::sleep(Duration::from_millis(50)).await;
}

fn spawn_connection<I>(ctx: &AcceptContext, io: I, addr: Option<SocketAddr>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let shared = ctx.shared.clone();
    let builder = ctx.builder.clone();
    let watcher = ctx.graceful.watcher();
    let peer = Peer { addr, https: false };
    tokio::spawn(async move {
        let service = service_fn(move |request| {
            let shared = shared.clone();
            let peer = peer.clone();
            async move { Ok::<_, Infallible>(http::handle(shared, request, &peer).await) }
        });
        let connection = builder
            .serve_connection(TokioIo::new(io), service)
            .into_owned();
        if let Err(error) = watcher.watch(connection).await {
            tracing::debug!(peer = ?addr, error = %error, "connection ended with an error");
        }
    });
}
