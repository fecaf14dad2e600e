//! Unit tests of the framing guard: it must read a byte stream exactly as
//! hyper does, in whatever pieces it arrives.

use super::*;

/// Feeds `input` in pieces of `step` bytes; returns the verdicts of the
/// first `n` requests and whether the guard asked to close.
fn run(input: &[u8], step: usize, n: usize) -> (Vec<bool>, bool) {
    let verdict = Verdict::new();
    let mut framer = Framer::new(verdict.clone(), Stopwatch::stopped(), 64 * 1024);
    let mut closed = false;
    for piece in input.chunks(step) {
        closed |= framer.feed(piece) == Feed::Close;
    }
    let verdicts = (0..n)
        .map(|_| verdict.next_request_is_ambiguous())
        .collect();
    (verdicts, closed)
}

fn verdicts(input: &str, step: usize, n: usize) -> Vec<bool> {
    run(input.as_bytes(), step, n).0
}

const PLAIN: &str = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
const SIZED: &str = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";
const CHUNKED: &str = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n";
const BOTH: &str = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";

#[test]
fn flags_the_request_carrying_both_headers_and_all_after_it() {
    for step in [1, 3, 7, 1000] {
        let input = format!("{PLAIN}{SIZED}{CHUNKED}{BOTH}{PLAIN}");
        assert_eq!(
            verdicts(&input, step, 5),
            [false, false, false, true, true],
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
        assert_eq!(verdicts(&input, step, 2), [false, true], "step {step}");
    }
}

#[test]
fn empty_lines_before_a_request_line_are_skipped_as_hyper_does() {
    for prefix in ["\n\n", "\r\n\r\n", "\r\n", "\n\r\n\n"] {
        for step in [1, 2, 1000] {
            let input = format!("{prefix}{BOTH}");
            assert_eq!(verdicts(&input, step, 1), [true], "{prefix:?} step {step}");
            let input = format!("{prefix}{SIZED}{prefix}{BOTH}");
            assert_eq!(
                verdicts(&input, step, 2),
                [false, true],
                "{prefix:?} step {step}"
            );
        }
    }
}

#[test]
fn a_head_the_guard_cannot_parse_is_refused() {
    // hyper refuses these too; the guard never stops tracking on them.
    for bad in [
        "GET / HTTP/1.1\r\nHost h\r\n\r\n",
        "GET / HTTP/9.9\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\nhello",
        "POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\nhello",
        "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
        "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ] {
        let input = format!("{bad}{PLAIN}");
        assert_eq!(verdicts(&input, 4, 2), [true, true], "{bad:?}");
    }
}

#[test]
fn too_many_headers_or_too_long_a_head_is_refused() {
    let many: String = (0..101).map(|i| format!("X-{i}: v\r\n")).collect();
    let input = format!("GET / HTTP/1.1\r\n{many}\r\n");
    assert_eq!(verdicts(&input, 64, 1), [true]);
    let long = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(70 * 1024));
    assert_eq!(verdicts(&long, 1000, 1), [true]);
    let blank = "\r\n".repeat(40 * 1024);
    assert_eq!(verdicts(&blank, 1000, 1), [true]);
}

#[test]
fn same_content_length_twice_is_one_length() {
    let input =
        format!("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello{BOTH}");
    assert_eq!(verdicts(&input, 3, 2), [false, true]);
}

#[test]
fn chunk_grammar_errors_close_the_connection() {
    let head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
    for bad in [
        "5\nhello\r\n0\r\n\r\n",
        "5\r\nhelloXX0\r\n\r\n",
        "g\r\n",
        "5;a\nb\r\n",
        " 5\r\n",
    ] {
        let (verdicts, closed) = run(format!("{head}{bad}{PLAIN}").as_bytes(), 3, 2);
        assert!(closed, "{bad:?}");
        assert_eq!(verdicts, [false, true], "{bad:?}");
    }
    for good in [
        "5 ;ext=1\r\nhello\r\n0\r\n\r\n",
        "A\r\n0123456789\r\n0\r\nT: 1\r\nU: 2\r\n\r\n",
    ] {
        let (verdicts, closed) = run(format!("{head}{good}{BOTH}").as_bytes(), 3, 2);
        assert!(!closed, "{good:?}");
        assert_eq!(verdicts, [false, true], "{good:?}");
    }
}

#[test]
fn http2_preface_stops_sniffing() {
    let input = format!("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n{BOTH}");
    assert_eq!(verdicts(&input, 4, 1), [false]);
}

#[test]
fn boundary_is_only_between_requests() {
    let verdict = Verdict::new();
    let mut framer = Framer::new(verdict, Stopwatch::stopped(), 64 * 1024);
    assert!(framer.at_boundary());
    framer.feed(b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhel");
    assert!(!framer.at_boundary());
    framer.feed(b"lo");
    assert!(framer.at_boundary());
    framer.feed(b"\r\n");
    assert!(!framer.at_boundary());
}
