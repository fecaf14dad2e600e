//! `p3hello` test guest: a wasi:http 0.3 handler (`wasi:http/handler@0.3.2`)
//! written with the `wasip3` crate, as spin-sdk 6 and later produce. Answers
//! `200` with `hello from p3 <path>` and counts the requests this instance
//! has served in the `x-instance-count` header, so the tests can see
//! instance reuse.
//!
//! `/chain` chains to itself (`http://p3hello.spin.internal/chain`) and
//! answers `<status> <inner body>`, or `error: <code>` when the host
//! refused the chained request: a loop that only the host can end.
//!
//! `/resolve/<name>` looks the name up (`wasi:sockets/ip-name-lookup@0.3`)
//! and answers the addresses' `Debug`, or `error: <code>`.
//!
//! `/streams/<port>/<n>` connects up to `n` TCP sockets to
//! 127.0.0.1:`<port>` and keeps only their receive streams, answering
//! `held <k>` or `held <k>, then <error>`.
//!
//! `/hoard/<n>` creates up to `n` TCP sockets (`wasi:sockets/types@0.3`)
//! and holds them until it answers `created <k>` or `created <k>, then
//! <error>`.

use std::sync::atomic::{AtomicU32, Ordering};

use wasip3::http::types::{ErrorCode, Fields, Request, Response, Scheme};
use wasip3::{wit_bindgen, wit_future, wit_stream};

wasip3::http::service::export!(P3Hello);

static SERVED: AtomicU32 = AtomicU32::new(0);

struct P3Hello;

impl wasip3::exports::http::handler::Guest for P3Hello {
    async fn handle(request: Request) -> Result<Response, ErrorCode> {
        let count = SERVED.fetch_add(1, Ordering::Relaxed) + 1;
        let path = request.get_path_with_query().unwrap_or_default();
        let text = if path == "/chain" {
            chain().await
        } else if let Some(n) = path.strip_prefix("/hoard/") {
            hoard(n.parse().unwrap_or(0))
        } else if let Some(name) = path.strip_prefix("/resolve/") {
            match wasip3::sockets::ip_name_lookup::resolve_addresses(name.to_owned()).await {
                Ok(found) => format!("{found:?}"),
                Err(e) => format!("error: {e:?}"),
            }
        } else if let Some(rest) = path.strip_prefix("/streams/") {
            let (port, n) = rest.split_once('/').unwrap_or((rest, "0"));
            streams(port.parse().unwrap_or(0), n.parse().unwrap_or(0)).await
        } else {
            format!("hello from p3 {path}")
        };
        let headers = Fields::from_list(&[("x-instance-count".to_string(), count.to_string().into_bytes())])
            .map_err(|_| ErrorCode::InternalError(None))?;
        let (mut body_tx, body_rx) = wit_stream::new();
        let (body_result_tx, body_result_rx) = wit_future::new(|| Ok(None));
        let (response, _sent) = Response::new(headers, Some(body_rx), body_result_rx);
        drop(body_result_tx);
        wit_bindgen::spawn_local(async move {
            let remaining = body_tx.write_all(text.into_bytes()).await;
            assert!(remaining.is_empty());
        });
        Ok(response)
    }
}

/// Creates up to `n` sockets, holding them all until it returns.
fn hoard(n: usize) -> String {
    use wasip3::sockets::types::{IpAddressFamily, TcpSocket};
    let mut held = Vec::new();
    for _ in 0..n {
        match TcpSocket::create(IpAddressFamily::Ipv4) {
            Ok(socket) => held.push(socket),
            Err(e) => return format!("created {}, then {e:?}", held.len()),
        }
    }
    format!("created {}", held.len())
}

/// Connects up to `n` TCP sockets to 127.0.0.1:`port`, keeps each one's
/// receive stream and drops the socket: the connections stay open.
async fn streams(port: u16, n: usize) -> String {
    use wasip3::sockets::types::{IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, TcpSocket};
    let mut held = Vec::new();
    for _ in 0..n {
        let socket = match TcpSocket::create(IpAddressFamily::Ipv4) {
            Ok(socket) => socket,
            Err(e) => return format!("held {}, then {e:?}", held.len()),
        };
        let address = IpSocketAddress::Ipv4(Ipv4SocketAddress { port, address: (127, 0, 0, 1) });
        if let Err(e) = socket.connect(address).await {
            return format!("held {}, then connect: {e:?}", held.len());
        }
        held.push(socket.receive());
    }
    format!("held {}", held.len())
}

/// Sends `GET http://p3hello.spin.internal/chain`; its status and body.
async fn chain() -> String {
    let (_trailers_tx, trailers_rx) = wit_future::new(|| Ok(None));
    let (request, _sent) = Request::new(Fields::new(), None, trailers_rx, None);
    let _ = request.set_scheme(Some(&Scheme::Http));
    let _ = request.set_authority(Some("p3hello.spin.internal"));
    let _ = request.set_path_with_query(Some("/chain"));
    match wasip3::http::client::send(request).await {
        Ok(response) => {
            let status = response.get_status_code();
            let (_result_tx, result_rx) = wit_future::new(|| Ok(()));
            let (body, _trailers) = Response::consume_body(response, result_rx);
            let body = body.collect().await;
            format!("{status} {}", String::from_utf8_lossy(&body))
        }
        Err(code) => format!("error: {code:?}"),
    }
}
