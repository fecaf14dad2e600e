//! Unit tests of `allowed_outbound_hosts` parsing and matching, each named for the
//! Spin behaviour it pins down: matching here, entries refused in [`rejected`],
//! chained and self requests in [`in_process`].

use super::*;

pub(super) fn hosts(entries: &[&str]) -> AllowedHosts {
    let entries: Vec<String> = entries.iter().map(|e| e.to_string()).collect();
    AllowedHosts::parse(&entries).unwrap_or_else(|e| panic!("{e}"))
}

pub(super) fn error(entry: &str) -> AllowedHostsError {
    match AllowedHosts::parse(&[entry.to_string()]) {
        Ok(parsed) => panic!("{entry:?} should be rejected, got {parsed:?}"),
        Err(e) => e,
    }
}

pub(super) fn allows(hosts: &AllowedHosts, url: &str) -> bool {
    hosts.allows(&url.parse::<Uri>().unwrap_or_else(|e| panic!("{url}: {e}")))
}

#[track_caller]
pub(super) fn check(hosts: &AllowedHosts, allowed: &[&str], denied: &[&str]) {
    for url in allowed {
        assert!(allows(hosts, url), "{url} should be allowed by {hosts:?}");
    }
    for url in denied {
        assert!(!allows(hosts, url), "{url} should be denied by {hosts:?}");
    }
}

#[test]
fn literal_host_without_port_means_the_scheme_default_port() {
    let h = hosts(&["https://api.example.com"]);
    check(
        &h,
        &[
            "https://api.example.com",
            "https://api.example.com/v1/items?x=1",
            "https://api.example.com:443/",
        ],
        &[
            "https://api.example.com:8443/",
            "http://api.example.com/",
            "https://other.example.com/",
        ],
    );
    check(
        &hosts(&["http://localhost"]),
        &["http://localhost/", "http://localhost:80/"],
        &["http://localhost:8080/"],
    );
}

#[test]
fn explicit_port_must_match_exactly() {
    let h = hosts(&["http://localhost:3001"]);
    check(
        &h,
        &["http://localhost:3001/a"],
        &["http://localhost/", "http://localhost:3002/"],
    );
}

#[test]
fn port_range_end_is_exclusive() {
    let h = hosts(&["http://localhost:8000..8002"]);
    check(
        &h,
        &["http://localhost:8000/", "http://localhost:8001/"],
        &[
            "http://localhost:8002/",
            "http://localhost:7999/",
            "http://localhost/",
        ],
    );
}

#[test]
fn empty_port_range_parses_but_never_matches_and_warns() {
    let h = hosts(&["http://localhost:8080..8080"]);
    assert!(!allows(&h, "http://localhost:8080/"));
    let warnings = h.warnings();
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].contains("8080..8081"), "{}", warnings[0]);
    assert!(hosts(&["http://a.com:1..3"]).warnings().is_empty());
}

#[test]
fn wildcard_port_allows_every_port_even_without_a_default() {
    let h = hosts(&["http://localhost:*", "tcp://db.internal:*"]);
    check(
        &h,
        &[
            "http://localhost/",
            "http://localhost:1/",
            "http://localhost:65535/",
        ],
        &["https://localhost/"],
    );
    assert!(h.allows_parts("tcp", "db.internal", None));
    assert!(h.allows_parts("tcp", "db.internal", Some(5000)));
}

#[test]
fn wildcard_scheme_matches_every_scheme_on_that_host_and_port() {
    let h = hosts(&["*://spin.example.dev:443"]);
    check(
        &h,
        &["https://spin.example.dev/", "http://spin.example.dev:443/"],
        &["http://spin.example.dev/"],
    );
    assert!(h.allows_parts("redis", "spin.example.dev", Some(443)));
}

#[test]
fn allow_all_entry_allows_everything() {
    let h = hosts(&["*://*:*"]);
    check(
        &h,
        &[
            "http://example.com/",
            "https://10.1.2.3:8443/",
            "http://[::1]:9000/",
            "redis://cache:1234",
        ],
        &[],
    );
    assert!(h.allows_parts("mysql", "db", None));
}

#[test]
fn wildcard_subdomain_matches_any_depth_but_not_the_apex() {
    let h = hosts(&["http://*.example.com", "http://*.example2.com:8383"]);
    check(
        &h,
        &[
            "http://a.example.com/foo",
            "http://a.b.example.com/foo",
            "http://a.b.example2.com:8383/foo",
        ],
        &[
            "http://example.com/",
            "http://example.com:8383/",
            "http://myexample.com/",
            "http://a.b.example2.com/",
            "http://10.0.0.1/",
        ],
    );
}

#[test]
fn host_names_and_schemes_compare_case_insensitively() {
    let h = hosts(&["HTTPS://API.Example.COM", "http://*.Upper.ORG"]);
    check(
        &h,
        &[
            "https://api.example.com/",
            "https://API.EXAMPLE.COM/",
            "HTTPS://Api.Example.Com/",
            "http://x.upper.org/",
            "http://X.UPPER.ORG/",
        ],
        &["http://api.example.com/"],
    );
}

#[test]
fn ipv4_literal_matches_only_that_address() {
    let h = hosts(&["http://192.168.1.1", "http://127.0.0.1:3002"]);
    check(
        &h,
        &["http://192.168.1.1/", "http://127.0.0.1:3002/"],
        &[
            "http://192.168.1.2/",
            "http://127.0.0.1/",
            "http://localhost:3002/",
        ],
    );
}

#[test]
fn ipv6_literals_are_bracketed_and_compared_as_addresses() {
    let h = hosts(&["http://[::1]:8001", "https://[fd00::1]"]);
    check(
        &h,
        &[
            "http://[::1]:8001/",
            "http://[0:0:0:0:0:0:0:1]:8001/",
            "https://[fd00::1]/",
            "https://[FD00:0::1]:443/",
        ],
        &[
            "http://[::1]/",
            "http://[::2]:8001/",
            "https://[fd00::1]:8443/",
        ],
    );
    let e = error("http://::1:8001");
    assert!(e.reason.contains("brackets"), "{e}");
    assert!(error("http://[::1:80").reason.contains("closing"));
    assert!(error("http://[zz]:80").reason.contains("IPv6"));
}

#[test]
fn cidr_ranges_match_addresses_inside_them_only() {
    let h = hosts(&["*://10.0.0.0/8:*", "http://192.168.0.0/16"]);
    check(
        &h,
        &[
            "http://10.0.0.1/",
            "https://10.255.255.255:8443/",
            "http://192.168.7.7/",
        ],
        &[
            "http://11.0.0.1/",
            "http://192.168.7.7:8080/",
            "http://example.com/",
            "http://[::ffff:10.0.0.1]/",
        ],
    );
}

#[test]
fn cidr_host_bits_are_truncated_as_spin_does() {
    let h = hosts(&["*://127.0.0.1/24:63551"]);
    assert!(h.allows_parts("tcp", "127.0.0.1", Some(63551)));
    assert!(h.allows_parts("tcp", "127.0.0.200", Some(63551)));
    assert!(!h.allows_parts("tcp", "127.0.1.1", Some(63551)));
    assert_eq!(
        hosts(&["*://127.0.0.0/24:80"]),
        hosts(&["*://127.0.0.9/24:80"])
    );
}

#[test]
fn ipv6_cidr_ranges_are_written_bare_or_bracketed() {
    for entry in ["*://fd00::/8:443", "*://[fd00::]/8:443", "https://fd00::/8"] {
        let h = hosts(&[entry]);
        check(
            &h,
            &["https://[fd12:3456::1]/"],
            &["https://[fe80::1]/", "https://10.0.0.1/"],
        );
    }
    check(
        &hosts(&["*://0.0.0.0/0:*"]),
        &["http://1.2.3.4/"],
        &["http://[::1]/"],
    );
    check(
        &hosts(&["*://::/0:*"]),
        &["http://[::1]/"],
        &["http://1.2.3.4/"],
    );
}

#[test]
fn bad_cidr_prefixes_are_rejected() {
    assert!(error("*://10.0.0.0/33:80").reason.contains("0 to 32"));
    assert!(error("*://fd00::/129:80").reason.contains("0 to 128"));
    assert!(error("http://example.com/8").reason.contains("IP address"));
}

#[test]
fn known_schemes_have_spins_default_ports() {
    let h = hosts(&[
        "redis://cache",
        "postgres://pg",
        "mysql://my",
        "mqtt://broker",
    ]);
    assert!(h.allows_parts("redis", "cache", Some(6379)));
    assert!(h.allows_parts("redis", "cache", None));
    assert!(!h.allows_parts("redis", "cache", Some(6380)));
    assert!(h.allows_parts("postgres", "pg", Some(5432)));
    assert!(h.allows_parts("mysql", "my", Some(3306)));
    assert!(h.allows_parts("mqtt", "broker", Some(1883)));
    assert!(allows(&h, "redis://cache/0"));
    assert!(allows(&h, "mysql://user:pw@my/db"));
    assert_eq!(default_port("https"), Some(443));
    assert_eq!(default_port("tcp"), None);
}

#[test]
fn unknown_scheme_or_star_scheme_needs_an_explicit_port() {
    let e = error("tcp://example.com");
    assert!(
        e.reason.contains("no default port") && e.reason.contains(":*"),
        "{e}"
    );
    let e = error("*://example.com");
    assert!(
        e.reason.contains("`*`") && e.reason.contains("*://host:443"),
        "{e}"
    );
    let e = error("*://self");
    assert!(e.reason.contains("no port"), "{e}");
    // An unknown scheme without a port is denied rather than guessed.
    let h = hosts(&["tcp://example.com:9000"]);
    assert!(!h.allows_parts("tcp", "example.com", None));
}

mod in_process;
mod rejected;
