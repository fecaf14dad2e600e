//! Request-smuggling guard for HTTP/1 connections.
//!
//! hyper resolves a request that carries both Content-Length and
//! Transfer-Encoding by reading it as chunked and closing the connection
//! afterwards, and it hides the conflict from the service. RFC 9112 §6.1
//! lets a server reject such a request instead, which is what a server that
//! does not want to be a smuggling target should do. A [`Framer`], fed the
//! bytes a connection reads (by [`crate::conn_io::ConnIo`]), follows the
//! request framing and records which request on the connection carried
//! both headers; the service answers that one 400 and closes the
//! connection. Knowing where each request head starts and ends, it also
//! runs the connection's head [`Stopwatch`] (`--header-read-timeout`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::conn_io::Stopwatch;

/// Index of the first request on the connection that carried both headers
/// (`u64::MAX`: none), shared between the reader and the service.
#[derive(Default)]
pub struct Verdict {
    offending: AtomicU64,
    served: AtomicU64,
}

impl Verdict {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            offending: AtomicU64::new(u64::MAX),
            served: AtomicU64::new(0),
        })
    }

    /// Called once per request, in order: is this one a smuggling attempt?
    pub fn next_request_is_ambiguous(&self) -> bool {
        let index = self.served.fetch_add(1, Ordering::AcqRel);
        self.offending.load(Ordering::Acquire) == index
    }
}

/// Where the reader is in the byte stream.
enum State {
    Head(Vec<u8>),
    Body(u64),
    ChunkSize(Vec<u8>),
    ChunkData(u64),
    ChunkEnd(u8),
    Trailers(Vec<u8>),
    /// HTTP/2, an unparsable head or the end of an ambiguous request: hyper
    /// handles (or closes) the rest.
    Done,
}

/// Where a head (or trailer section) ends: just past its empty line. Lines
/// end in CRLF or, as httparse and so hyper accept, a bare LF.
fn head_end(buf: &[u8]) -> Option<usize> {
    buf.iter()
        .enumerate()
        .find_map(|(i, &b)| match (b, buf.get(i + 1..)) {
            (b'\n', Some([b'\n', ..])) => Some(i + 2),
            (b'\n', Some([b'\r', b'\n', ..])) => Some(i + 3),
            _ => None,
        })
}

/// Largest head or chunk line followed; beyond it hyper rejects the request.
const MAX_LINE: usize = 1 << 20;

pub struct Framer {
    state: State,
    requests: u64,
    verdict: Arc<Verdict>,
    head_timer: Arc<Stopwatch>,
}

impl Framer {
    /// `head_timer` is running already: the first head is timed from accept.
    pub fn new(verdict: Arc<Verdict>, head_timer: Arc<Stopwatch>) -> Self {
        Self {
            state: State::Head(Vec::new()),
            requests: 0,
            verdict,
            head_timer,
        }
    }

    pub fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let (state, used) = match std::mem::replace(&mut self.state, State::Done) {
                State::Done => return,
                State::Head(mut buf) => {
                    let keep = buf.len();
                    if keep == 0 && self.requests > 0 {
                        self.head_timer.start();
                    }
                    buf.extend_from_slice(bytes);
                    match head_end(&buf) {
                        Some(end) => {
                            self.head_timer.stop();
                            let next = self.head(&buf[..end]);
                            (next, end - keep)
                        }
                        None if buf.len() > MAX_LINE || buf.starts_with(b"PRI * HTTP/2.0") => {
                            self.head_timer.stop();
                            (State::Done, bytes.len())
                        }
                        None => (State::Head(buf), bytes.len()),
                    }
                }
                State::Body(left) => {
                    let n = left.min(bytes.len() as u64);
                    let next = if n == left {
                        State::Head(Vec::new())
                    } else {
                        State::Body(left - n)
                    };
                    (next, n as usize)
                }
                State::ChunkSize(mut line) => {
                    let keep = line.len();
                    line.extend_from_slice(bytes);
                    match line.windows(2).position(|w| w == b"\r\n") {
                        Some(end) => match httparse::parse_chunk_size(&line[..end + 2]) {
                            Ok(httparse::Status::Complete((_, 0))) => {
                                (State::Trailers(Vec::new()), end + 2 - keep)
                            }
                            Ok(httparse::Status::Complete((_, size))) => {
                                (State::ChunkData(size), end + 2 - keep)
                            }
                            _ => (State::Done, bytes.len()),
                        },
                        None if line.len() > MAX_LINE => (State::Done, bytes.len()),
                        None => (State::ChunkSize(line), bytes.len()),
                    }
                }
                State::ChunkData(left) => {
                    let n = left.min(bytes.len() as u64);
                    let next = if n == left {
                        State::ChunkEnd(2)
                    } else {
                        State::ChunkData(left - n)
                    };
                    (next, n as usize)
                }
                State::ChunkEnd(left) => {
                    let n = usize::from(left).min(bytes.len());
                    let next = if n == usize::from(left) {
                        State::ChunkSize(Vec::new())
                    } else {
                        State::ChunkEnd(left - n as u8)
                    };
                    (next, n)
                }
                State::Trailers(mut buf) => {
                    let keep = buf.len();
                    buf.extend_from_slice(bytes);
                    // The trailer section ends with an empty line; with no
                    // trailers that is the very next CRLF.
                    let end = if buf.starts_with(b"\r\n") {
                        Some(2)
                    } else if buf.starts_with(b"\n") {
                        Some(1)
                    } else {
                        head_end(&buf)
                    };
                    match end {
                        Some(end) => (State::Head(Vec::new()), end - keep),
                        None if buf.len() > MAX_LINE => (State::Done, bytes.len()),
                        None => (State::Trailers(buf), bytes.len()),
                    }
                }
            };
            self.state = state;
            bytes = &bytes[used..];
        }
    }

    /// A complete request head: decide how its body is framed.
    fn head(&mut self, head: &[u8]) -> State {
        if head.starts_with(b"PRI * HTTP/2.0") {
            return State::Done;
        }
        let mut headers = [httparse::EMPTY_HEADER; 256];
        let mut request = httparse::Request::new(&mut headers);
        if !matches!(request.parse(head), Ok(httparse::Status::Complete(_))) {
            return State::Done;
        }
        let index = self.requests;
        self.requests += 1;
        let find = |name: &str| {
            request
                .headers
                .iter()
                .filter(|h| h.name.eq_ignore_ascii_case(name))
                .map(|h| h.value)
                .collect::<Vec<_>>()
        };
        let te = find("transfer-encoding");
        let cl = find("content-length");
        if !te.is_empty() && !cl.is_empty() {
            let _ = self.verdict.offending.compare_exchange(
                u64::MAX,
                index,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
            return State::Done;
        }
        if !te.is_empty() {
            return State::ChunkSize(Vec::new());
        }
        if cl.is_empty() {
            return State::Head(Vec::new());
        }
        match std::str::from_utf8(cl[0])
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            Some(0) => State::Head(Vec::new()),
            Some(len) => State::Body(len),
            None => State::Done,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in pieces of `step` bytes; returns the verdicts of the
    /// first `n` requests.
    fn verdicts(input: &str, step: usize, n: usize) -> Vec<bool> {
        let verdict = Verdict::new();
        let mut framer = Framer::new(verdict.clone(), Stopwatch::stopped());
        for piece in input.as_bytes().chunks(step) {
            framer.feed(piece);
        }
        (0..n)
            .map(|_| verdict.next_request_is_ambiguous())
            .collect()
    }

    const PLAIN: &str = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
    const SIZED: &str = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";
    const CHUNKED: &str = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n";
    const BOTH: &str = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";

    #[test]
    fn flags_only_the_request_carrying_both_headers() {
        for step in [1, 3, 7, 1000] {
            let input = format!("{PLAIN}{SIZED}{CHUNKED}{BOTH}{PLAIN}");
            assert_eq!(
                verdicts(&input, step, 4),
                [false, false, false, true],
                "step {step}"
            );
        }
    }

    #[test]
    fn body_bytes_that_look_like_headers_are_not_heads() {
        let body = "GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: x\r\n\r\n";
        let tricky = format!(
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        assert_eq!(verdicts(&format!("{tricky}{PLAIN}"), 5, 2), [false, false]);
    }

    #[test]
    fn bare_lf_heads_are_followed_like_crlf_ones() {
        let lf = "GET / HTTP/1.1\nHost: h\n\n";
        for step in [1, 2, 1000] {
            let input = format!("{lf}{BOTH}{PLAIN}");
            assert_eq!(
                verdicts(&input, step, 3),
                [false, true, false],
                "step {step}"
            );
        }
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: h\r\n\r\nrest"), Some(27));
        assert_eq!(head_end(b"GET / HTTP/1.1\nHost: h\r\n\nrest"), Some(25));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: h\r\n"), None);
    }

    #[test]
    fn http2_preface_stops_sniffing() {
        let input = format!("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n{BOTH}");
        assert_eq!(verdicts(&input, 4, 1), [false]);
    }
}
