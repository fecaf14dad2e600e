//! Entries Spin refuses, and the errors that say how to fix them.

use super::*;

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
