//! The client for guests' outgoing HTTP(S) requests to other hosts: TLS
//! verified against the system's root store ([`crate::base::tls::client_config`]), connect, first-byte and between-bytes
//! timeouts, errors mapped to the wasi:http error codes.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http::uri::Scheme;
use http::{Request, Response};
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::ClientConfig;
use tokio_rustls::rustls::pki_types::ServerName;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

/// Waits a guest did not bound itself.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// The response and the future that drives the connection to its end.
pub type Sent = (
    Response<WasiBody>,
    Box<dyn Future<Output = Result<(), Error>> + Send>,
);

/// The TLS configuration of outbound HTTP, built once.
fn tls_config() -> Arc<ClientConfig> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| crate::base::tls::client_config(vec![b"http/1.1".to_vec()], &[]))
        .clone()
}

/// Sends `request` (an absolute URL) over a new connection, to an address
/// of its host that `may_connect` accepts (the reason it gives for each it
/// refuses is logged by it; none left: `destination-IP-prohibited`).
pub async fn send(
    mut request: Request<WasiBody>,
    options: RequestOptions,
    may_connect: impl Fn(std::net::IpAddr, u16) -> Result<(), String>,
) -> Result<Sent, Error> {
    let uri = request.uri().clone();
    let authority = uri.authority().ok_or(Error::HttpRequestUriInvalid)?;
    let tls = uri.scheme() == Some(&Scheme::HTTPS);
    let port = authority.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let connect_timeout = options.connect_timeout.unwrap_or(DEFAULT_TIMEOUT);
    let first_byte_timeout = options.first_byte_timeout.unwrap_or(DEFAULT_TIMEOUT);
    let between_bytes = options
        .between_bytes_timeout
        .unwrap_or(DEFAULT_TIMEOUT)
        .max(Duration::from_nanos(1));

    // Resolved here, and connected to exactly the addresses checked, so a
    // second lookup (DNS rebinding) cannot lead elsewhere.
    let resolved = match tokio::time::timeout(
        connect_timeout,
        tokio::net::lookup_host((host.as_str(), port)),
    )
    .await
    {
        Ok(Ok(addrs)) => addrs.collect::<Vec<_>>(),
        Ok(Err(e)) => {
            return Err(Error::DnsError {
                rcode: Some(e.to_string()),
                info_code: None,
            });
        }
        Err(_) => return Err(Error::ConnectionTimeout),
    };
    let allowed: Vec<std::net::SocketAddr> = resolved
        .iter()
        .copied()
        .filter(|addr| may_connect(addr.ip(), port).is_ok())
        .collect();
    if allowed.is_empty() {
        return Err(if resolved.is_empty() {
            Error::DnsError {
                rcode: Some("no address".into()),
                info_code: None,
            }
        } else {
            Error::DestinationIpProhibited
        });
    }
    let tcp = match tokio::time::timeout(connect_timeout, TcpStream::connect(&allowed[..])).await {
        Ok(stream) => stream.map_err(Error::Connect)?,
        Err(_) => return Err(Error::ConnectionTimeout),
    };
    let _ = tcp.set_nodelay(true);
    let handshake = async {
        if tls {
            let name =
                ServerName::try_from(host.clone()).map_err(|_| Error::HttpRequestUriInvalid)?;
            let stream = TlsConnector::from(tls_config())
                .connect(name, tcp)
                .await
                .map_err(|e| tls_error(&e))?;
            let (sender, conn) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            Ok::<_, Error>((
                sender,
                Box::pin(conn) as Pin<Box<dyn Future<Output = hyper::Result<()>> + Send>>,
            ))
        } else {
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
            Ok((
                sender,
                Box::pin(conn) as Pin<Box<dyn Future<Output = hyper::Result<()>> + Send>>,
            ))
        }
    };
    let (mut sender, conn) = tokio::time::timeout(connect_timeout, handshake)
        .await
        .map_err(|_| Error::ConnectionTimeout)??;
    let connection = tokio::spawn(conn);

    // The request line carries the path only; Host says where it goes.
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    *request.uri_mut() = path.parse().map_err(|_| Error::HttpRequestUriInvalid)?;
    let response = tokio::time::timeout(first_byte_timeout, sender.send_request(request))
        .await
        .map_err(|_| Error::ConnectionReadTimeout)??;
    let response = response.map(|incoming| {
        TimedBody {
            incoming,
            between_bytes,
            timer: Box::pin(tokio::time::sleep(between_bytes)),
        }
        .boxed_unsync()
    });
    let io = async move {
        match connection.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Error::from(e)),
            Err(_) => Err(Error::ConnectionTerminated),
        }
    };
    Ok((response, Box::new(io)))
}

/// Maps a TLS failure to wasi:http's codes: a certificate the roots do not
/// vouch for is TLS-certificate-error.
fn tls_error(error: &std::io::Error) -> Error {
    let text = error.to_string();
    tracing::debug!(error = %text, "outbound TLS handshake failed");
    if text.contains("certificate") {
        Error::TlsCertificateError
    } else {
        Error::TlsProtocolError
    }
}

/// A response body that fails when no byte comes for `between_bytes`.
struct TimedBody {
    incoming: hyper::body::Incoming,
    between_bytes: Duration,
    timer: Pin<Box<tokio::time::Sleep>>,
}

impl HttpBody for TimedBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        match Pin::new(&mut self.incoming).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let next = tokio::time::Instant::now() + self.between_bytes;
                self.timer.as_mut().reset(next);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(Error::from(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                ready!(self.timer.as_mut().poll(cx));
                Poll::Ready(Some(Err(Error::ConnectionReadTimeout)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.incoming.size_hint()
    }
}
