//! Unit tests of `allowed_outbound_hosts` parsing and matching, each named for the
//! Spin behaviour it pins down.

use super::*;

fn hosts(entries: &[&str]) -> AllowedHosts {
    let entries: Vec<String> = entries.iter().map(|e| e.to_string()).collect();
    AllowedHosts::parse(&entries).unwrap_or_else(|e| panic!("{e}"))
}

fn error(entry: &str) -> AllowedHostsError {
    match AllowedHosts::parse(&[entry.to_string()]) {
        Ok(parsed) => panic!("{entry:?} should be rejected, got {parsed:?}"),
        Err(e) => e,
    }
}

fn allows(hosts: &AllowedHosts, url: &str) -> bool {
    hosts.allows(&url.parse::<Uri>().unwrap_or_else(|e| panic!("{url}: {e}")))
}

#[track_caller]
fn check(hosts: &AllowedHosts, allowed: &[&str], denied: &[&str]) {
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

#[test]
fn entries_without_a_scheme_are_rejected_with_a_suggestion() {
    let e = error("example.com");
    assert!(e.reason.contains("\"https://example.com\""), "{e}");
    assert!(error("localhost:3001").reason.contains("no scheme"));
    for bare in ["*", "", ":", "?"] {
        let e = error(bare);
        assert!(e.reason.contains("*://*:*"), "{bare:?}: {e}");
    }
}

#[test]
fn insecure_allow_all_is_rejected_pointing_at_star_form() {
    for list in [
        vec!["insecure:allow-all".to_string()],
        vec![
            "https://a.com".to_string(),
            " insecure:allow-all ".to_string(),
        ],
    ] {
        let e = AllowedHosts::parse(&list).unwrap_err();
        assert!(e.entry.contains("insecure:allow-all"));
        assert!(e.reason.contains("*://*:*"), "{e}");
    }
}

#[test]
fn paths_are_rejected_but_trailing_slashes_are_fine() {
    let h = hosts(&["https://my.api.com/", "http://spin.example.dev:4444/"]);
    check(
        &h,
        &["https://my.api.com", "http://spin.example.dev:4444/x"],
        &[],
    );
    for entry in [
        "http://spin.example.dev/a",
        "http://spin.example.dev:6666/a/b",
        "http://*.example.dev/a",
    ] {
        assert!(error(entry).reason.contains("path"), "{entry}");
    }
}

#[test]
fn wildcards_other_than_whole_host_or_leading_label_are_rejected() {
    for entry in [
        "http://api.*.com",
        "http://*example.com",
        "http://*.*.example.com",
        "http://a*",
    ] {
        assert!(error(entry).reason.contains("`*`"), "{entry}");
    }
}

#[test]
fn lists_in_braces_are_rejected() {
    assert!(
        error("{http,https}://a.com")
            .reason
            .contains("scheme lists")
    );
    assert!(error("http://{a.com,b.com}").reason.contains("host lists"));
    assert!(error("http://a.com:{80,443}").reason.contains("port lists"));
}

#[test]
fn invalid_ports_and_schemes_are_rejected() {
    assert!(error("http://a.com:99999").reason.contains("0 to 65535"));
    assert!(error("http://a.com:abc").reason.contains("0 to 65535"));
    assert!(error("http://a.com:80..x").reason.contains("exclusive"));
    assert!(error("http://a.com:..90").reason.contains("port range"));
    assert!(error("h2c+tls://a.com:80").reason.contains("only letters"));
    assert!(error("://a.com:80").reason.contains("scheme is empty"));
}

#[test]
fn invalid_host_names_are_rejected() {
    assert!(error("http://").reason.contains("no host"));
    assert!(error("http://:80").reason.contains("no host"));
    assert!(error("http://user@a.com").reason.contains("user"));
    assert!(error("http://a.com?x").reason.contains("query"));
    assert!(error("http://bücher.de").reason.contains("punycode"));
    assert!(error("http://a..com").reason.contains("empty label"));
    assert!(error("http://a com").reason.contains("whitespace"));
    assert!(error("http://a!b.com").reason.contains("'!'"));
}

#[test]
fn unrendered_templates_are_detected_and_rejected() {
    assert!(has_template("https://{{ api_host }}"));
    assert!(has_template("https://{{api_host}}:{{ port }}"));
    assert!(!has_template("https://api.example.com"));
    assert!(error("https://{{ api_host }}").reason.contains("template"));
}

#[test]
fn entries_are_trimmed_and_errors_name_the_entry_as_written() {
    let h = hosts(&["  https://a.com  "]);
    assert!(allows(&h, "https://a.com/"));
    assert_eq!(h.entries().collect::<Vec<_>>(), ["  https://a.com  "]);
    let e = error("http://a.com:abc");
    assert_eq!(e.entry, "http://a.com:abc");
    let shown = e.to_string();
    assert!(
        shown.starts_with("invalid allowed_outbound_hosts entry \"http://a.com:abc\": "),
        "{shown}"
    );
}

#[test]
fn no_entries_deny_everything() {
    for h in [AllowedHosts::none(), hosts(&[])] {
        assert!(h.is_empty());
        check(
            &h,
            &[],
            &["http://example.com/", "https://[::1]/", "/relative"],
        );
        assert!(!h.allows_self());
        assert!(!allows(&h, "http://api.spin.internal/"));
    }
}

#[test]
fn first_bad_entry_fails_the_whole_list() {
    let list = ["https://ok.com".to_string(), "nope".to_string()];
    let e = AllowedHosts::parse(&list).unwrap_err();
    assert_eq!(e.entry, "nope");
}

#[test]
fn self_entry_allows_self_requests_but_no_absolute_url() {
    for entry in [
        "http://self",
        "https://self",
        "http://self.alt",
        "http://SELF:8080",
    ] {
        let h = hosts(&[entry]);
        assert!(h.allows_self(), "{entry}");
        check(
            &h,
            &["/api/items", "http://self.alt/x", "https://self.alt/x"],
            &["http://self/x", "http://localhost/", "http://127.0.0.1/"],
        );
    }
}

#[test]
fn self_requests_are_relative_urls_or_host_self_alt() {
    assert!(is_self_request(&"/a?b".parse().unwrap()));
    assert!(is_self_request(&"http://self.alt/a".parse().unwrap()));
    assert!(is_self_request(&"https://Self.Alt:8443/a".parse().unwrap()));
    assert!(!is_self_request(&"http://self/a".parse().unwrap()));
    assert!(!is_self_request(&"http://example.com/".parse().unwrap()));
}

#[test]
fn any_host_entry_with_http_scheme_allows_self_requests() {
    for entry in ["*://*:*", "http://*:*", "https://*:443"] {
        assert!(hosts(&[entry]).allows_self(), "{entry}");
    }
    for entry in [
        "redis://self",
        "https://*.example.com",
        "http://localhost",
        "redis://*:*",
        "http://127.0.0.0/8",
    ] {
        assert!(!hosts(&[entry]).allows_self(), "{entry}");
    }
}

#[test]
fn chaining_needs_an_entry_for_that_component() {
    let h = hosts(&["http://api.spin.internal"]);
    assert!(allows(&h, "http://api.spin.internal/"));
    assert!(!allows(&h, "http://web.spin.internal/"));
    check(
        &h,
        &["http://api.spin.internal/items"],
        &[
            "http://web.spin.internal/",
            "http://api.spin.internal:8080/",
        ],
    );
    // As in Spin, the entry's scheme is checked against the URL's: an
    // https entry allows chaining over https, not over http.
    let https = hosts(&["https://api.spin.internal"]);
    assert!(!allows(&https, "http://api.spin.internal/"));
    assert!(allows(&https, "https://api.spin.internal/x"));
    assert!(allows(
        &hosts(&["https://*.spin.internal"]),
        "https://back.spin.internal/"
    ));
}

#[test]
fn wildcard_chaining_entry_allows_every_component() {
    let h = hosts(&["http://*.spin.internal"]);
    assert!(allows(&h, "http://api.spin.internal/"));
    assert!(allows(&h, "http://my-other-component.spin.internal/"));
    assert!(allows(&h, "http://HTTP-server.spin.internal/"));
    assert!(!allows(&h, "http://example.com/"));
    assert!(!allows(&h, "http://spin.internal/"));
}

#[test]
fn broad_entries_also_allow_chaining() {
    assert!(allows(&hosts(&["*://*:*"]), "http://api.spin.internal/"));
    assert!(allows(
        &hosts(&["http://*:80"]),
        "http://api.spin.internal/"
    ));
    assert!(!allows(
        &hosts(&["http://*:8080"]),
        "http://api.spin.internal/"
    ));
    assert!(!allows(
        &hosts(&["http://self"]),
        "http://api.spin.internal/"
    ));
}

#[test]
fn chained_component_is_the_single_label_before_spin_internal() {
    assert_eq!(chained_component("api.spin.internal"), Some("api"));
    assert_eq!(chained_component("my-api.spin.internal:80"), Some("my-api"));
    assert_eq!(
        chained_component("HTTP-server.Spin.Internal"),
        Some("HTTP-server")
    );
    assert_eq!(chained_component("a.b.spin.internal"), None);
    assert_eq!(chained_component(".spin.internal"), None);
    assert_eq!(chained_component("spin.internal"), None);
    assert_eq!(chained_component("api.example.com"), None);
    assert_eq!(chained_component("[::1]"), None);
    let uri: Uri = "http://web.spin.internal/x".parse().unwrap();
    assert_eq!(uri.host().and_then(chained_component), Some("web"));
}

#[test]
fn legacy_allowed_http_hosts_conversions_parse() {
    // What the manifest loader produces from `allowed_http_hosts`.
    let h = hosts(&[
        "http://*:*",
        "https://*:*",
        "http://self",
        "http://[::1]",
        "https://[::1]:8001",
        "http://localhost:3001",
    ]);
    check(
        &h,
        &["http://anything.example/", "https://1.2.3.4:99/", "/self"],
        &["redis://anything.example:6379"],
    );
    let h = hosts(&["http://[::1]"]);
    check(&h, &["http://[::1]/"], &["http://[::1]:8080/"]);
}

#[test]
fn userinfo_in_the_request_url_does_not_change_the_host() {
    let h = hosts(&["https://api.example.com", "mysql://xyz.com"]);
    check(
        &h,
        &[
            "https://user:pw@api.example.com/file@0.1.0.json",
            "mysql://user:pass@xyz.com/db",
        ],
        &["https://api.example.com@evil.com/"],
    );
}

#[test]
fn name_entries_do_not_match_addresses_and_vice_versa() {
    check(
        &hosts(&["http://localhost"]),
        &["http://localhost/"],
        &["http://127.0.0.1/", "http://[::1]/"],
    );
    check(
        &hosts(&["http://127.0.0.1"]),
        &["http://127.0.0.1/"],
        &["http://localhost/"],
    );
}

#[test]
fn requests_without_scheme_or_with_odd_hosts_are_denied() {
    let h = hosts(&["*://*:*"]);
    assert!(!allows(&h, "example.com:80"));
    assert!(!h.allows_parts("http", "", None));
    assert!(!h.allows_parts("http", "a b", None));
    assert!(!h.allows_parts("http", "[not-ipv6]", None));
    assert!(h.allows_parts("http", "::1", None));
}
