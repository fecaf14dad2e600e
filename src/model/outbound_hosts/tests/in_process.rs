//! Self requests and service chaining: which entries allow them, and legacy
//! `allowed_http_hosts` conversions.

use super::*;

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
