//! One connection below HTTP: its [`timers`] (idleness, the head read,
//! stalled writes), the [`io`] wrapper every byte passes through, and the
//! [`framing_guard`] that follows HTTP/1 request framing to refuse a
//! request with both Content-Length and Transfer-Encoding (request
//! smuggling) and to time request heads.

pub mod framing_guard;
pub mod io;
pub mod timers;

pub use framing_guard::{Framer, Verdict};
pub use io::ConnIo;
pub use timers::{Activity, Stopwatch};
