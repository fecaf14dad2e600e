//! The body and error types of every response the daemon sends, and of
//! every request it hands on: the project's own, so that the HTTP layer,
//! the limits and the executors share them without naming each other.

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;

/// Errors a response body may end with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The body of every response wasi-httpd sends.
pub type Body = UnsyncBoxBody<Bytes, BoxError>;

/// A response body that holds something (a guard: the request in flight,
/// its admission slot) until hyper is done with the body.
pub struct Holding<K> {
    inner: Body,
    _keep: K,
}

impl<K> Holding<K> {
    pub fn new(inner: Body, keep: K) -> Self {
        Self { inner, _keep: keep }
    }
}

impl<K: Unpin> http_body::Body for Holding<K> {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        std::pin::Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
