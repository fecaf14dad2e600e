//! Request header rules: the request's authority, hop-by-hop and spoofed
//! `spin-*` headers removed, and Spin's request headers added with exactly
//! Spin's values.

use http::header::{CONNECTION, HOST, HeaderMap, HeaderName, HeaderValue};
use http::uri::Authority;

use crate::model::router::{RouteMatch, path_match_header_name};

/// Headers that describe one hop, not the request (RFC 9110 §7.6.1).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "upgrade",
];

/// The request's authority: the URI authority (absolute-form or HTTP/2
/// `:authority`) or the Host header. Both present and different, neither, or
/// an invalid one is a bad request; the error is the short reason sent to
/// the client.
pub fn authority(uri: &http::Uri, headers: &HeaderMap) -> Result<Authority, &'static str> {
    let mut hosts = headers.get_all(HOST).iter();
    let host = hosts.next();
    if hosts.next().is_some() {
        return Err("more than one Host header");
    }
    let host = match host {
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|h| h.parse::<Authority>().ok())
                .ok_or("invalid Host header")?,
        ),
        None => None,
    };
    match (uri.authority(), host) {
        (Some(from_uri), Some(host)) if !from_uri.as_str().eq_ignore_ascii_case(host.as_str()) => {
            Err("Host header does not match the request target's authority")
        }
        (Some(from_uri), _) => Ok(from_uri.clone()),
        (None, Some(host)) => Ok(host),
        (None, None) => Err("missing Host header"),
    }
}

/// Removes Connection and the headers it names, the other hop-by-hop
/// headers, and every client-sent `spin-*` header (no spoofing).
pub fn strip_inbound(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    let spoofed: Vec<HeaderName> = headers
        .keys()
        .filter(|name| name.as_str().starts_with("spin-"))
        .cloned()
        .collect();
    for name in spoofed {
        headers.remove(name);
    }
}

/// What Spin's request headers are computed from.
pub struct SpinHeaderInput<'a> {
    pub full_url: &'a str,
    pub client_addr: &'a str,
    pub route: &'a RouteMatch<'a, usize>,
}

/// The `spin-*` headers Spin adds for the guest, in Spin's order.
pub fn spin_headers(input: &SpinHeaderInput<'_>) -> Vec<(HeaderName, String)> {
    let route = input.route.route;
    let mut out = vec![
        (
            HeaderName::from_static("spin-full-url"),
            input.full_url.to_owned(),
        ),
        (
            HeaderName::from_static("spin-path-info"),
            input.route.path_info.clone(),
        ),
        (
            HeaderName::from_static("spin-matched-route"),
            route.matched_route().to_owned(),
        ),
        (HeaderName::from_static("spin-base-path"), "/".to_owned()),
        (
            HeaderName::from_static("spin-raw-component-route"),
            route.raw().to_owned(),
        ),
        (
            HeaderName::from_static("spin-component-route"),
            route.component_route().to_owned(),
        ),
        (
            HeaderName::from_static("spin-client-addr"),
            input.client_addr.to_owned(),
        ),
    ];
    for (name, value) in &input.route.params {
        if let Ok(header) = HeaderName::from_bytes(path_match_header_name(name).as_bytes()) {
            out.push((header, value.clone()));
        }
    }
    out
}

/// Inserts the headers, dropping (with a log line) a value that is not a
/// valid header value rather than failing the request.
pub fn insert_all(headers: &mut HeaderMap, values: Vec<(HeaderName, String)>) {
    for (name, value) in values {
        match HeaderValue::from_str(&value) {
            Ok(value) => {
                headers.insert(name, value);
            }
            Err(_) => tracing::debug!(header = %name, "value is not a valid header value; not set"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    #[test]
    fn authority_from_host_header() {
        let uri: http::Uri = "/a?b".parse().unwrap();
        assert_eq!(
            authority(&uri, &headers(&[("host", "example.com:8080")])).unwrap(),
            "example.com:8080"
        );
    }

    #[test]
    fn authority_from_uri_when_no_host() {
        let uri: http::Uri = "http://example.com/a".parse().unwrap();
        assert_eq!(authority(&uri, &HeaderMap::new()).unwrap(), "example.com");
    }

    #[test]
    fn authority_mismatch_is_rejected() {
        let uri: http::Uri = "http://example.com/a".parse().unwrap();
        assert!(authority(&uri, &headers(&[("host", "other.com")])).is_err());
        assert!(authority(&uri, &headers(&[("host", "EXAMPLE.com")])).is_ok());
    }

    #[test]
    fn authority_missing_or_invalid_is_rejected() {
        let uri: http::Uri = "/a".parse().unwrap();
        assert_eq!(
            authority(&uri, &HeaderMap::new()),
            Err("missing Host header")
        );
        assert_eq!(
            authority(&uri, &headers(&[("host", "a b")])),
            Err("invalid Host header")
        );
        assert_eq!(
            authority(&uri, &headers(&[("host", "a"), ("host", "b")])),
            Err("more than one Host header")
        );
    }

    #[test]
    fn strip_removes_connection_named_and_spin_headers() {
        let mut map = headers(&[
            ("connection", "x-private, keep-alive"),
            ("x-private", "1"),
            ("keep-alive", "timeout=5"),
            ("spin-full-url", "http://evil/"),
            ("Spin-Path-Info", "/evil"),
            ("x-kept", "yes"),
            ("host", "h"),
        ]);
        strip_inbound(&mut map);
        let names: Vec<&str> = map.keys().map(|k| k.as_str()).collect();
        assert_eq!(names, vec!["x-kept", "host"]);
    }
}
