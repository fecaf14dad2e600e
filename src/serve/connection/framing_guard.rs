//! The framing guard of HTTP/1 connections, against request smuggling.
//!
//! hyper resolves a request that carries both Content-Length and
//! Transfer-Encoding by reading it as chunked and closing the connection
//! afterwards, and it hides the conflict from the service. RFC 9112 §6.1
//! lets a server reject such a request instead, which is what a server that
//! does not want to be a smuggling target should do. A [`Framer`], fed the
//! bytes a connection reads (by [`super::ConnIo`]), follows the
//! request framing and records which request on the connection carried
//! both headers; the service answers that one 400 and closes the
//! connection. Knowing where each request head starts and ends, it also
//! runs the connection's head [`Stopwatch`] (`--header-read-timeout`).
//!
//! The guard and hyper must never disagree on where a request starts and
//! ends, so the guard reads the stream as hyper does: heads with httparse
//! and hyper's settings (empty lines before a request line skipped, at most
//! 100 headers), bodies by hyper's rules (the last Transfer-Encoding value
//! `chunked`, else one Content-Length of digits only), chunks by the same
//! byte grammar as hyper's decoder. It fails closed: input it cannot follow
//! ends its tracking only by closing the connection (see [`Feed`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::timers::Stopwatch;

/// Index of the first request on the connection the service must refuse
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

    /// Called once per request, in order: must this one be refused (it
    /// carried both framing headers, or the guard could not follow it)?
    pub fn next_request_is_ambiguous(&self) -> bool {
        let index = self.served.fetch_add(1, Ordering::AcqRel);
        self.offending.load(Ordering::Acquire) <= index
    }

    fn flag(&self, index: u64) {
        let _ =
            self.offending
                .compare_exchange(u64::MAX, index, Ordering::AcqRel, Ordering::Acquire);
    }
}

/// What the connection does with the bytes just fed.
#[derive(Debug, PartialEq, Eq)]
pub enum Feed {
    /// Hand them to hyper.
    Pass,
    /// Close the connection now: the guard lost the framing inside a body.
    Close,
}

/// hyper's limit on request headers (and trailers).
const MAX_HEADERS: usize = 100;
/// hyper's limit on chunk extension bytes in one body.
const MAX_EXTENSION_BYTES: u64 = 16 * 1024;

/// Where the reader is in the byte stream.
enum State {
    /// Reading a head; the bytes so far (empty lines before it included).
    Head(Vec<u8>),
    Body(u64),
    Chunked(Chunk),
    /// HTTP/2: hyper handles the rest.
    Http2,
    /// The guard could not follow the stream. The request it was reading
    /// and every later one is refused (400, and the connection closes);
    /// inside a body, the connection is closed at once.
    Lost,
}

/// hyper's chunked-body grammar, one byte at a time.
enum Chunk {
    Start,
    Size(u64),
    SizeLws(u64),
    Extension(u64),
    SizeLf(u64),
    Data(u64),
    DataCr,
    DataLf,
    EndCr,
    EndLf,
    Trailer,
    TrailerLf,
}

pub struct Framer {
    state: State,
    /// Heads seen so far; the index of the one being read.
    requests: u64,
    verdict: Arc<Verdict>,
    head_timer: Arc<Stopwatch>,
    /// hyper's read buffer size: a head longer than that is refused by
    /// hyper (431), and no longer followed here.
    max_head: usize,
    extension_bytes: u64,
    trailers: usize,
    /// The fuzzer's view (`fuzz/`): each head followed, as (method, target),
    /// to compare with what hyper reads from the same bytes.
    #[cfg(fuzzing)]
    pub heads: Vec<(String, String)>,
}

impl Framer {
    /// `head_timer` is running already: the first head is timed from accept.
    pub fn new(verdict: Arc<Verdict>, head_timer: Arc<Stopwatch>, max_head: usize) -> Self {
        Self {
            state: State::Head(Vec::new()),
            requests: 0,
            verdict,
            head_timer,
            max_head,
            extension_bytes: 0,
            trailers: 0,
            #[cfg(fuzzing)]
            heads: Vec::new(),
        }
    }

    /// Whether the stream is between requests with nothing of the next one
    /// read: closing now leaves no request bytes unread by this side.
    pub fn at_boundary(&self) -> bool {
        matches!(&self.state, State::Head(buf) if buf.is_empty())
            || matches!(self.state, State::Http2)
    }

    pub fn feed(&mut self, mut bytes: &[u8]) -> Feed {
        while !bytes.is_empty() {
            let used = match &mut self.state {
                State::Http2 | State::Lost => return Feed::Pass,
                State::Head(_) => self.head_bytes(bytes),
                State::Body(left) => {
                    let n = (*left).min(bytes.len() as u64);
                    *left -= n;
                    if *left == 0 {
                        self.next_head();
                    }
                    n as usize
                }
                // Chunk data is skipped in bulk, the rest byte by byte.
                State::Chunked(Chunk::Data(left)) => {
                    let n = (*left).min(bytes.len() as u64);
                    *left -= n;
                    if *left == 0 {
                        self.state = State::Chunked(Chunk::DataCr);
                    }
                    n as usize
                }
                State::Chunked(_) => {
                    let mut used = 0;
                    for &byte in bytes {
                        used += 1;
                        match self.chunk_byte(byte) {
                            Some(true) => continue,
                            Some(false) => break,
                            None => {
                                self.lose();
                                return Feed::Close;
                            }
                        }
                    }
                    used
                }
            };
            bytes = &bytes[used..];
        }
        Feed::Pass
    }

    /// Takes head bytes; returns how many belonged to the head.
    fn head_bytes(&mut self, bytes: &[u8]) -> usize {
        let State::Head(buf) = &mut self.state else {
            return 0;
        };
        let before = buf.len();
        if before == 0 && self.requests > 0 {
            // A later head is timed from its first byte (an empty line
            // before it included): the wait before it is idle time.
            self.head_timer.start();
        }
        buf.extend_from_slice(bytes);
        if !may_be_complete(buf, before) {
            if buf.len() > self.max_head {
                self.lose();
            }
            return bytes.len();
        }
        if self.requests == 0 && buf.starts_with(b"PRI * HTTP/2.0") {
            self.head_timer.stop();
            self.state = State::Http2;
            return bytes.len();
        }
        let buf = std::mem::take(buf);
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&buf) {
            // Only empty lines so far (RFC 9112 §2.2), or a head still
            // coming: the head timer runs on.
            Ok(httparse::Status::Partial) => {
                let over = buf.len() > self.max_head;
                self.state = State::Head(buf);
                if over {
                    self.lose();
                }
                bytes.len()
            }
            Ok(httparse::Status::Complete(len)) if len <= self.max_head => {
                self.head_timer.stop();
                #[cfg(fuzzing)]
                self.heads.push((
                    request.method.unwrap_or_default().to_owned(),
                    request.path.unwrap_or_default().to_owned(),
                ));
                let next = body_framing(&request);
                let index = self.requests;
                self.requests += 1;
                match next {
                    Framing::Ambiguous | Framing::Invalid => {
                        self.verdict.flag(index);
                        self.state = State::Lost;
                    }
                    Framing::None => self.next_head(),
                    Framing::Length(len) => self.state = State::Body(len),
                    Framing::Chunked => {
                        self.extension_bytes = 0;
                        self.trailers = 0;
                        self.state = State::Chunked(Chunk::Start);
                    }
                }
                len - before
            }
            // A head hyper refuses too (400, 431) or that is too long.
            _ => {
                self.lose();
                bytes.len()
            }
        }
    }

    /// The guard lost the framing at a head: that request is refused and
    /// the connection ends after it.
    fn lose(&mut self) {
        self.verdict.flag(self.requests);
        self.state = State::Lost;
    }

    fn next_head(&mut self) {
        self.state = State::Head(Vec::new());
    }

    /// One byte of a chunked body: `Some(true)` go on byte by byte,
    /// `Some(false)` stop to skip chunk data in bulk, `None` not what hyper
    /// accepts.
    fn chunk_byte(&mut self, byte: u8) -> Option<bool> {
        let State::Chunked(chunk) = &mut self.state else {
            return None;
        };
        let hex = |size: u64, byte: u8| {
            let digit = (byte as char).to_digit(16)?;
            size.checked_mul(16)?.checked_add(u64::from(digit))
        };
        let next = match (&*chunk, byte) {
            (Chunk::Start, _) => Chunk::Size(hex(0, byte)?),
            (Chunk::Size(size), b'\t' | b' ') => Chunk::SizeLws(*size),
            (Chunk::Size(size) | Chunk::SizeLws(size), b';') => Chunk::Extension(*size),
            (Chunk::Size(size) | Chunk::SizeLws(size) | Chunk::Extension(size), b'\r') => {
                Chunk::SizeLf(*size)
            }
            (Chunk::Size(size), _) => Chunk::Size(hex(*size, byte)?),
            (Chunk::SizeLws(size), b'\t' | b' ') => Chunk::SizeLws(*size),
            (Chunk::SizeLws(_), _) | (Chunk::Extension(_), b'\n') => return None,
            (Chunk::Extension(size), _) => {
                self.extension_bytes += 1;
                if self.extension_bytes >= MAX_EXTENSION_BYTES {
                    return None;
                }
                Chunk::Extension(*size)
            }
            (Chunk::SizeLf(0), b'\n') => Chunk::EndCr,
            (Chunk::SizeLf(size), b'\n') => Chunk::Data(*size),
            (Chunk::SizeLf(_), _) => return None,
            (Chunk::Data(_), _) => return None,
            (Chunk::DataCr, b'\r') => Chunk::DataLf,
            (Chunk::DataLf, b'\n') => Chunk::Start,
            (Chunk::DataCr | Chunk::DataLf, _) => return None,
            (Chunk::EndCr, b'\r') => Chunk::EndLf,
            (Chunk::EndCr | Chunk::Trailer, b) if b != b'\r' => Chunk::Trailer,
            (Chunk::Trailer, _) => Chunk::TrailerLf,
            (Chunk::TrailerLf, b'\n') => {
                self.trailers += 1;
                if self.trailers > MAX_HEADERS {
                    return None;
                }
                Chunk::EndCr
            }
            (Chunk::TrailerLf, _) => return None,
            (Chunk::EndLf, b'\n') => {
                self.next_head();
                return Some(false);
            }
            (Chunk::EndLf | Chunk::EndCr, _) => return None,
        };
        let data = matches!(next, Chunk::Data(_));
        *chunk = next;
        Some(!data)
    }
}

/// hyper's quick test for a complete head in `buf` (of which the first
/// `before` bytes were tested already): an empty line after a line end.
fn may_be_complete(buf: &[u8], before: usize) -> bool {
    let tail = &buf[before.saturating_sub(3)..];
    tail.iter()
        .enumerate()
        .any(|(i, &b)| b == b'\n' && matches!(&tail[i + 1..], [b'\n', ..] | [b'\r', b'\n', ..]))
}

/// How a request's body is framed.
enum Framing {
    None,
    Length(u64),
    Chunked,
    /// Both Content-Length and Transfer-Encoding: refused (RFC 9112 §6.1).
    Ambiguous,
    /// Framing hyper refuses (it answers 400 and closes).
    Invalid,
}

/// hyper's reading of a request's framing headers.
fn body_framing(request: &httparse::Request<'_, '_>) -> Framing {
    let http11 = request.version == Some(1);
    let (mut te, mut chunked, mut cl): (bool, bool, Option<u64>) = (false, false, None);
    let mut both = false;
    for header in request.headers.iter() {
        if header.name.eq_ignore_ascii_case("transfer-encoding") {
            if !http11 {
                return Framing::Invalid;
            }
            te = true;
            both |= cl.is_some();
            chunked = std::str::from_utf8(header.value).is_ok_and(|v| {
                v.rsplit(',')
                    .next()
                    .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"))
            });
        } else if header.name.eq_ignore_ascii_case("content-length") {
            both |= te;
            let Some(len) = digits(header.value) else {
                return if te {
                    Framing::Ambiguous
                } else {
                    Framing::Invalid
                };
            };
            match cl {
                Some(prev) if prev != len => return Framing::Invalid,
                _ => cl = Some(len),
            }
        }
    }
    if both {
        Framing::Ambiguous
    } else if te && !chunked {
        Framing::Invalid
    } else if te {
        Framing::Chunked
    } else {
        match cl {
            None | Some(0) => Framing::None,
            Some(len) => Framing::Length(len),
        }
    }
}

/// A Content-Length value: ASCII digits only (no sign, no spaces).
fn digits(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |n, &b| {
        b.is_ascii_digit()
            .then(|| n.checked_mul(10)?.checked_add(u64::from(b - b'0')))
            .flatten()
    })
}

#[cfg(test)]
mod tests;
