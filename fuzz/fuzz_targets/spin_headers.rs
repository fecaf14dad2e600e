//! Fuzz target: the request-header side of the HTTP path: the authority
//! check, the removal of hop-by-hop and client-sent `spin-*` headers, and
//! the `spin-*` headers computed for a route and a request path.
//!
//! Input: a route line, a request-path line, then header lines
//! `name: value`. Never a panic; after stripping, no `spin-*` or
//! `connection` header is left; every computed `spin-*` header is one
//! the guest would get.

#![no_main]

use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use wasi_httpd::fuzzing::{SpinHeaderInput, authority, insert_all, spin_headers, strip_inbound};
use wasi_httpd::fuzzing::Router;

fuzz_target!(|text: &str| {
    let mut lines = text.lines();
    let (Some(route), Some(path)) = (lines.next(), lines.next()) else {
        return;
    };
    let mut map = HeaderMap::new();
    for line in lines.take(64) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.trim().as_bytes()),
            HeaderValue::from_bytes(value.trim().as_bytes()),
        ) {
            map.append(name, value);
        }
    }
    let uri = path.parse::<http::Uri>().unwrap_or_default();
    let _ = authority(&uri, &map);
    strip_inbound(&mut map);
    for name in map.keys() {
        assert!(!name.as_str().starts_with("spin-"), "{name} left in");
        assert_ne!(name, http::header::CONNECTION);
    }
    let Ok((router, _)) = Router::build([(route.to_owned(), 0usize)]) else {
        return;
    };
    let Some(found) = router.route(uri.path()) else {
        return;
    };
    let full_url = format!("http://example.test{path}");
    let values = spin_headers(&SpinHeaderInput {
        full_url: &full_url,
        client_addr: "127.0.0.1:1",
        route: &found,
    });
    for (name, _) in &values {
        assert!(name.as_str().starts_with("spin-"), "{name}");
    }
    insert_all(&mut map, values);
});
