//! The accept loops and connections: one task per listener accepting (a
//! connection slot is taken before accept, so a full server makes clients
//! wait in the kernel's queue rather than fail), one task per connection
//! doing the TLS handshake under a timeout and serving HTTP/1.1 and HTTP/2
//! (hyper-util's auto builder) with the header, stream and idle limits, and
//! a graceful drain when the shutdown signal comes.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};

use crate::base::limits::Limits;
use crate::base::metrics::{Phase, Reject};
use crate::serve::connection::{Activity, ConnIo, Framer, Stopwatch, Verdict};
use crate::serve::http::{self, Peer};
use crate::serve::listen::{Listener, Socket};
use crate::serve::state::Shared;

/// HTTP/2 streams one connection may have open at once.
const H2_MAX_STREAMS: u32 = 100;
/// Streams a client may reset before their handling is accepted (rapid reset).
const H2_MAX_PENDING_RESETS: usize = 20;
/// How long a connection accepted just before a drain has to begin its
/// first request, which is then served (a client that connected has its
/// request on the way; a preconnected socket that never sends is closed).
const FIRST_REQUEST_GRACE: Duration = Duration::from_secs(1);
/// Streams the server may reset for protocol errors before closing.
const H2_MAX_LOCAL_RESETS: usize = 256;

/// Serves on `listeners` until `shutdown` resolves, then stops accepting and
/// lets in-flight requests finish for up to `drain_timeout`.
pub async fn serve(
    shared: Arc<Shared>,
    listeners: Vec<Listener>,
    shutdown: impl Future<Output = ()>,
    drain_timeout: Duration,
) -> Result<()> {
    // Every connection task holds a clone of `open_tx`; when the last one is
    // dropped, `open_rx` says all connections are closed.
    let (open_tx, mut open_rx) = mpsc::channel::<()>(1);
    let builder = Arc::new(http_builder(&shared.limits));
    let slots = Arc::new(Semaphore::new(shared.limits.max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut accept_tasks = Vec::with_capacity(listeners.len());
    for listener in listeners {
        let ctx = AcceptContext {
            stop: stop_rx.clone(),
            shared: shared.clone(),
            open: open_tx.clone(),
            builder: builder.clone(),
            slots: slots.clone(),
            https: listener.name == "https",
            open_on_listener: shared.metrics.listener(&listener.name),
        };
        let stop = stop_rx.clone();
        let task = match listener.socket {
            Socket::Tcp(l) => {
                let l = Arc::new(
                    tokio::net::TcpListener::from_std(l)
                        .context("cannot register a TCP listener")?,
                );
                tokio::spawn(accept_loop(ctx, stop, move || {
                    let l = l.clone();
                    async move {
                        l.accept().await.map(|(stream, addr)| {
                            let _ = stream.set_nodelay(true);
                            (stream, Some(addr))
                        })
                    }
                }))
            }
            Socket::Unix(l) => {
                let l = Arc::new(
                    tokio::net::UnixListener::from_std(l)
                        .context("cannot register a Unix listener")?,
                );
                tokio::spawn(accept_loop(ctx, stop, move || {
                    let l = l.clone();
                    async move { l.accept().await.map(|(stream, _)| (stream, None)) }
                }))
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
    drop(open_tx);
    match tokio::time::timeout(drain_timeout, open_rx.recv()).await {
        Ok(_) => tracing::info!("all connections closed"),
        Err(_) => tracing::warn!(
            timeout_s = drain_timeout.as_secs_f64(),
            "drain deadline passed; closing the remaining connections"
        ),
    }
    Ok(())
}

/// hyper's HTTP/1.1 and HTTP/2 settings from the limits.
fn http_builder(limits: &Limits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        // --header-read-timeout is the connection's own HeadTimer: hyper's
        // would also run while a keep-alive connection waits between
        // requests.
        .header_read_timeout(None)
        // hyper answers 431 when the request head outgrows its buffer
        // (the command line keeps the limit at hyper's 8 KiB minimum or more).
        .max_buf_size(limits.max_header_size)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(H2_MAX_STREAMS)
        .max_header_list_size(u32::try_from(limits.max_header_size).unwrap_or(u32::MAX))
        .max_pending_accept_reset_streams(H2_MAX_PENDING_RESETS)
        .max_local_error_reset_streams(H2_MAX_LOCAL_RESETS)
        .keep_alive_interval(limits.idle_timeout / 2)
        .keep_alive_timeout(limits.header_read_timeout);
    builder
}

struct AcceptContext {
    shared: Arc<Shared>,
    /// Held by every connection task: the drain waits for all to drop it.
    open: mpsc::Sender<()>,
    /// Turns true when the server stops: connections finish and close.
    stop: watch::Receiver<bool>,
    builder: Arc<auto::Builder<TokioExecutor>>,
    /// One permit per open connection (--max-connections).
    slots: Arc<Semaphore>,
    https: bool,
    /// The listener's open-connection gauge.
    open_on_listener: Arc<std::sync::atomic::AtomicI64>,
}

async fn accept_loop<F, Fut, S>(ctx: AcceptContext, mut stop: watch::Receiver<bool>, accept: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = std::io::Result<(S, Option<SocketAddr>)>>,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    loop {
        // The slot is taken before accept: when every slot is in use, new
        // clients wait in the kernel's backlog instead of being refused.
        let slot = match ctx.slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                // Every slot in use: the next client waits (counted once
                // per wait).
                ctx.shared.metrics.rejected(Reject::ConnectionLimit);
                tokio::select! {
                    _ = stop.changed() => return,
                    slot = ctx.slots.clone().acquire_owned() => match slot {
                        Ok(slot) => slot,
                        Err(_) => return,
                    },
                }
            }
        };
        tokio::select! {
            _ = stop.changed() => return,
            accepted = accept() => match accepted {
                Ok((stream, addr)) => spawn_connection(&ctx, stream, addr, slot),
                Err(error) => {
                    // EMFILE, ECONNABORTED, ...: never end the loop; a short
                    // pause keeps a persistent error from spinning.
                    tracing::warn!(error = %error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

fn spawn_connection<S>(
    ctx: &AcceptContext,
    stream: S,
    addr: Option<SocketAddr>,
    slot: OwnedSemaphorePermit,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let shared = ctx.shared.clone();
    let builder = ctx.builder.clone();
    let open = ctx.open.clone();
    let stop = ctx.stop.clone();
    let https = ctx.https;
    let on_listener = ctx.open_on_listener.clone();
    tokio::spawn(async move {
        let _slot = slot;
        let _open = open;
        let _counted = shared.metrics.stats.connection_opened(&on_listener);
        let limits = &shared.limits;
        if !https {
            return serve_connection(shared.clone(), &builder, stop, stream, Peer { addr, https })
                .await;
        }
        let Some(tls) = &shared.tls else {
            return;
        };
        // The handshake runs here, in the connection's own task and under a
        // timeout, so a stalled client delays nobody else.
        let acceptor = tls.acceptor();
        match tokio::time::timeout(limits.header_read_timeout, acceptor.accept(stream)).await {
            Ok(Ok(stream)) => {
                serve_connection(shared.clone(), &builder, stop, stream, Peer { addr, https }).await
            }
            Ok(Err(error)) => {
                shared.metrics.tls_handshake_failed();
                tracing::debug!(peer = ?addr, error = %error, "TLS handshake failed")
            }
            Err(_) => {
                shared.metrics.tls_handshake_failed();
                tracing::debug!(peer = ?addr, "TLS handshake timed out")
            }
        }
    });
}

async fn serve_connection<S>(
    shared: Arc<Shared>,
    builder: &auto::Builder<TokioExecutor>,
    mut stop: watch::Receiver<bool>,
    stream: S,
    peer: Peer,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let verdict = Verdict::new();
    let activity = Activity::new();
    let head_timer = Stopwatch::for_heads(activity.clone());
    let write_stall = Stopwatch::stopped();
    let framer = Framer::new(
        verdict.clone(),
        head_timer.clone(),
        shared.limits.max_header_size,
    );
    let io = ConnIo::new(stream, framer, write_stall.clone());
    let (idle_timeout, header_read_timeout) = (
        shared.limits.idle_timeout,
        shared.limits.header_read_timeout,
    );
    let addr = peer.addr;
    let metrics = shared.metrics.clone();
    let requests = activity.clone();
    let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
        let shared = shared.clone();
        let peer = peer.clone();
        let in_flight = requests.begin();
        let http1 = request.version() < hyper::Version::HTTP_2;
        let ambiguous = http1 && verdict.next_request_is_ambiguous();
        async move {
            let metrics = shared.metrics.clone();
            let mut response = if ambiguous {
                shared.metrics.rejected(Reject::AmbiguousFraming);
                http::reject_ambiguous_framing(&peer)
            } else {
                http::handle(shared, request, peer.clone()).await
            };
            // A response sent while draining tells the client the
            // connection ends with it (hyper then closes after it). The
            // phase turns to draining before STOPPING=1 is sent, so every
            // response after it says so.
            if http1 && metrics.phase() == Phase::Draining {
                response.headers_mut().insert(
                    ::http::header::CONNECTION,
                    ::http::HeaderValue::from_static("close"),
                );
            }
            // The request is in flight until hyper is done with its body.
            Ok::<_, Infallible>(
                response.map(|body| crate::base::body::Holding::new(body, in_flight)),
            )
        }
    });
    let mut connection = std::pin::pin!(builder.serve_connection(TokioIo::new(io), service));
    let mut closing = false;
    // Draining began before the connection's first request did: that
    // request is still served, if it comes within FIRST_REQUEST_GRACE.
    let mut awaiting_first = false;
    let mut first_grace = std::pin::pin!(tokio::time::sleep(Duration::ZERO));
    let result = loop {
        tokio::select! {
            result = connection.as_mut() => break result,
            // Draining, or no request for --idle-timeout: finish the request
            // in flight (HTTP/2 gets GOAWAY), then close. A connection
            // accepted just before the drain whose request is on its way
            // gets its answer: closing it unread would lose that request
            // (the client sees a reset, not a retryable refusal).
            _ = stop.wait_for(|stopped| *stopped), if !closing && !awaiting_first => {
                if activity.served_any() {
                    closing = true;
                    connection.as_mut().graceful_shutdown();
                } else {
                    awaiting_first = true;
                    first_grace
                        .as_mut()
                        .reset(tokio::time::Instant::now() + FIRST_REQUEST_GRACE);
                }
            }
            () = activity.first_request(), if !closing && awaiting_first => {
                closing = true;
                connection.as_mut().graceful_shutdown();
            }
            () = &mut first_grace, if !closing && awaiting_first => {
                tracing::debug!(peer = ?addr, "draining: no request within the grace for a new connection; closing");
                break Ok(());
            }
            () = activity.idle(idle_timeout), if !closing => {
                tracing::debug!(peer = ?addr, "closing an idle connection");
                closing = true;
                connection.as_mut().graceful_shutdown();
            }
            // A head arriving too slowly (slowloris): no answer, just
            // close; but a request in flight (pipelining) finishes first.
            () = head_timer.expired(header_read_timeout) => {
                head_timer.stop();
                tracing::debug!(peer = ?addr, "request head not complete within --header-read-timeout; closing");
                if !activity.busy() {
                    break Ok(());
                }
                closing = true;
                connection.as_mut().graceful_shutdown();
            }
            // A client that stopped taking its response.
            () = write_stall.expired(idle_timeout) => {
                tracing::debug!(peer = ?addr, "the client took no response bytes for --idle-timeout; closing");
                break Ok(());
            }
        }
    };
    if let Err(error) = result {
        // hyper answered 431 itself: the head outgrew its buffer.
        if error
            .downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_parse_too_large)
        {
            metrics.rejected(Reject::HeaderTooLarge);
        }
        tracing::debug!(peer = ?addr, error = %error, "connection ended with an error");
    }
}
