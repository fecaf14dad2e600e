//! Fuzz target: `allowed_outbound_hosts` entries, the URL matcher and the
//! post-DNS address check.
//!
//! Input: entries, one per line, then a line `---`, then URLs to check,
//! one per line. Parsing and matching never panic; an entry the parser
//! accepts and that names one exact `scheme://host:port` allows that URL;
//! link-local addresses are never reachable, whatever the entries.

#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use wasi_httpd::fuzzing::{AllowedHosts, is_self_request};

fuzz_target!(|text: &str| {
    let (entries, urls) = text.split_once("\n---\n").unwrap_or((text, ""));
    let entries: Vec<String> = entries.lines().take(32).map(str::to_owned).collect();
    let Ok(allowed) = AllowedHosts::parse(&entries) else {
        return;
    };
    let _ = allowed.warnings();
    for url in urls.lines().take(32) {
        let Ok(uri) = url.parse::<http::Uri>() else {
            continue;
        };
        let allows = allowed.allows(&uri);
        // A URL without a host is a self request, answered by allows_self.
        if is_self_request(&uri) {
            assert_eq!(allows, allowed.allows_self(), "{url}");
        } else if let (Some(scheme), Some(host)) = (uri.scheme_str(), uri.host()) {
            let port = uri.port_u16();
            assert_eq!(
                allows,
                allowed.allows_parts(scheme, host, port),
                "allows and allows_parts disagree on {url}"
            );
        }
    }
    for entry in &entries {
        // One exact entry, no wildcard or template: it allows itself.
        let Ok(uri) = entry.parse::<http::Uri>() else {
            continue;
        };
        let Some((_, authority)) = entry.split_once("://") else {
            continue;
        };
        // `self` names relative URLs (the app itself), not a host `self`.
        let is_self = authority
            .split(':')
            .next()
            .is_some_and(|host| host.eq_ignore_ascii_case("self"));
        let exact = !is_self && !authority.contains(['*', '/', '{', '[', '@']);
        if exact && uri.scheme().is_some() && uri.port_u16().is_some() {
            assert!(allowed.allows(&uri), "{entry} does not allow itself");
        }
    }
    for ip in [
        IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254)),
        IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
        IpAddr::V6(Ipv4Addr::new(169, 254, 169, 254).to_ipv6_mapped()),
    ] {
        for scheme in ["http", "https"] {
            assert!(
                allowed
                    .may_connect(scheme, &ip.to_string(), ip, 80)
                    .is_err(),
                "{ip} is reachable with entries {entries:?}"
            );
        }
    }
});
