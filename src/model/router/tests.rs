//! Unit tests of the router: Spin's precedence, normalisation, path-info and
//! parameter values, duplicates and reserved routes, invalid routes.

use super::*;

fn router(routes: &[&str]) -> (Router<usize>, Vec<RouteWarning>) {
    Router::build(routes.iter().enumerate().map(|(i, r)| (r.to_string(), i))).unwrap()
}

/// Index of the trigger that `path` routes to.
fn hit(routes: &[&str], path: &str) -> Option<usize> {
    router(routes).0.route(path).map(|m| *m.target)
}

fn path_info(route: &str, path: &str) -> String {
    let (r, _) = router(&[route]);
    r.route(path).expect("should match").path_info
}

fn parsed(raw: &str) -> ParsedRoute {
    ParsedRoute::parse(raw).unwrap()
}

fn dup(route: &str, index: usize, by_index: usize) -> RouteWarning {
    let route = route.to_string();
    RouteWarning::Duplicate {
        route,
        index,
        by_index,
    }
}

fn reserved(route: &str, index: usize) -> RouteWarning {
    let route = route.to_string();
    RouteWarning::Reserved { route, index }
}

fn reason(route: &str) -> String {
    let err = ParsedRoute::parse(route).expect_err("should be rejected");
    assert_eq!(err.route, route);
    err.reason
}

/// The route that `path` routes to, checking that manifest order doesn't matter.
fn winner<'a>(routes: &[&'a str], path: &str) -> Option<&'a str> {
    let reversed: Vec<_> = routes.iter().rev().copied().collect();
    let pick = |routes: &[&'a str]| hit(routes, path).map(|i| routes[i]);
    let won = pick(routes);
    assert_eq!(
        won,
        pick(&reversed),
        "order matters for {path} in {routes:?}"
    );
    won
}

#[test]
fn exact_beats_param_beats_wildcard() {
    let routes = ["/...", "/:name", "/hello"];
    assert_eq!(winner(&routes, "/hello"), Some("/hello"));
    assert_eq!(winner(&routes, "/hey"), Some("/:name"));
    assert_eq!(winner(&routes, "/hey/there"), Some("/..."));
    assert_eq!(winner(&routes, "/"), Some("/..."));
}

#[test]
fn longest_wildcard_prefix_wins_regardless_of_order() {
    let routes = ["/one/...", "/one/two/...", "/one/two/three/..."];
    assert_eq!(winner(&routes, "/one/two/three/four"), Some(routes[2]));
    assert_eq!(winner(&routes, "/one/two/three"), Some(routes[2]));
    assert_eq!(winner(&routes, "/one/two"), Some(routes[1]));
    assert_eq!(winner(&routes, "/one/twox"), Some(routes[0]));
}

#[test]
fn param_route_beats_wildcard_with_same_prefix() {
    let routes = ["/users/...", "/users/:id"];
    assert_eq!(winner(&routes, "/users/42"), Some("/users/:id"));
    assert_eq!(winner(&routes, "/users/42/"), Some("/users/:id"));
    assert_eq!(winner(&routes, "/users/42/posts"), Some("/users/..."));
    assert_eq!(winner(&routes, "/users"), Some("/users/..."));
}

#[test]
fn param_wildcard_beats_plain_wildcard_and_loses_to_exact() {
    let routes = ["/a/...", "/a/:x/...", "/a/b"];
    assert_eq!(winner(&routes, "/a/c/d"), Some("/a/:x/..."));
    assert_eq!(winner(&routes, "/a/c"), Some("/a/:x/..."));
    assert_eq!(winner(&routes, "/a/b"), Some("/a/b"));
    assert_eq!(winner(&routes, "/a/b/c"), Some("/a/:x/..."));
    assert_eq!(winner(&routes, "/a"), Some("/a/..."));
}

#[test]
fn first_differing_segment_decides_precedence() {
    assert_eq!(winner(&["/:y/b/c", "/a/:x/c"], "/a/b/c"), Some("/a/:x/c"));
    assert_eq!(
        winner(&["/a/:x/...", "/:y/b/c"], "/a/b/c"),
        Some("/a/:x/...")
    );
    let routes = ["/files/:name", "/files/:name.json"];
    assert_eq!(winner(&routes, "/files/a.json"), Some(routes[1]));
}

#[test]
fn same_shape_routes_resolve_to_first_in_manifest() {
    assert_eq!(hit(&["/:a", "/:b"], "/x"), Some(0));
    assert_eq!(hit(&["/foo", "/foo/"], "/foo"), Some(0));
    assert_eq!(hit(&["/foo/", "foo"], "/foo"), Some(0));
    assert_eq!(hit(&["/x/*", "/x/..."], "/x/y"), Some(0));
    let (_, warnings) = router(&["/foo", "/foo/"]);
    assert!(
        warnings.is_empty(),
        "only identical text is a duplicate: {warnings:?}"
    );
}

#[test]
fn wildcard_matches_bare_prefix_and_trailing_slash() {
    let routes = ["/foo/..."];
    for path in ["/foo", "/foo/", "/foo/bar", "/foo/bar/baz/", "//foo"] {
        assert_eq!(hit(&routes, path), Some(0), "{path}");
    }
    for path in ["/", "/foobar", "/fo", "/bar/foo"] {
        assert_eq!(hit(&routes, path), None, "{path}");
    }
    assert_eq!(hit(&[], "/"), None);
}

#[test]
fn path_info_is_the_wildcard_part_with_trailing_slash_kept() {
    assert_eq!(path_info("/foo/...", "/foo"), "");
    assert_eq!(path_info("/foo/...", "/foo/"), "/");
    assert_eq!(path_info("/foo/...", "/foo/bar"), "/bar");
    assert_eq!(path_info("/foo/...", "/foo/bar/"), "/bar/");
    assert_eq!(path_info("/foo/...", "/foo/bar//"), "/bar/");
    assert_eq!(path_info("/1/...", "/1/2/3"), "/2/3");
    // A bare `/...` gets the whole path.
    assert_eq!(path_info("/...", "/"), "/");
    assert_eq!(path_info("/...", "/a/b"), "/a/b");
    assert_eq!(path_info("/...", "/a/"), "/a/");
    assert_eq!(path_info("...", "/x"), "/x");
}

#[test]
fn path_info_for_exact_and_param_routes_is_empty() {
    assert_eq!(path_info("/foo", "/foo"), "");
    assert_eq!(path_info("/foo", "/foo/"), "");
    assert_eq!(path_info("/users/:id", "/users/1/"), "");
}

#[test]
fn param_values_extracted_in_route_order() {
    let (r, _) = router(&["/users/:user_id/posts/:post"]);
    let m = r.route("/users/alice/posts/7").unwrap();
    let expected = [("user_id", "alice"), ("post", "7")].map(|(k, v)| (k.into(), v.into()));
    assert_eq!(m.params, expected);
    assert_eq!(r.route("/users/alice/posts").map(|m| m.params), None);
}

#[test]
fn param_does_not_match_empty_or_multiple_segments() {
    let routes = ["/users/:id"];
    assert_eq!(hit(&routes, "/users"), None);
    assert_eq!(hit(&routes, "/users/"), None);
    assert_eq!(hit(&routes, "/users//1"), None);
    assert_eq!(hit(&routes, "/users/1/2"), None);
}

#[test]
fn param_with_extension_matches_up_to_the_dot() {
    let routes = ["/files/:name", "/files/:name.json"];
    let (r, _) = router(&routes);
    let m = r.route("/files/report.json").unwrap();
    assert_eq!((*m.target, m.params[0].1.as_str()), (1, "report"));
    let m = r.route("/files/a.b.txt").unwrap();
    assert_eq!((*m.target, m.params[0].1.as_str()), (0, "a.b.txt"));
    assert_eq!(hit(&routes[1..], "/files/report.txt"), None);
}

#[test]
fn header_values_for_param_wildcard_route() {
    let (r, _) = router(&["/foo/:userid/..."]);
    let m = r.route("/foo/42/bar").unwrap();
    assert_eq!(m.route.matched_route(), "/foo/:userid/...");
    assert_eq!(m.route.component_route(), "/foo/:userid");
    assert_eq!(m.route.raw(), "/foo/:userid/...");
    assert_eq!(m.path_info, "/bar");
    assert_eq!(m.params, [("userid".to_string(), "42".to_string())]);
    assert_eq!(r.route("/foo/42").unwrap().path_info, "");
}

#[test]
fn route_forms_give_spin_header_and_table_values() {
    // raw, spin-matched-route, spin-component-route, display_path, is_wildcard
    let rows = [
        ("/foo", "/foo", "/foo", "/foo", false),
        ("foo/", "/foo", "foo/", "/foo", false),
        ("/foo//", "/foo/", "/foo//", "/foo/", false),
        ("/", "", "/", "", false),
        ("", "", "", "", false),
        ("/...", "/...", "", "", true),
        ("/static/...", "/static/...", "/static", "/static", true),
        ("static/.../", "/static/...", "static/.../", "/static", true),
        ("/foo/:id/...", "/foo/:id/...", "/foo/:id", "/foo/:id", true),
        ("/foo/*", "/foo/*", "/foo/*", "/foo", true),
        ("/*", "/*", "/*", "", true),
    ];
    for (raw, matched, component, display, wildcard) in rows {
        let r = parsed(raw);
        let got = (r.matched_route(), r.component_route(), r.display_path());
        assert_eq!(got, (matched, component, display), "{raw}");
        assert_eq!((r.raw(), r.is_wildcard()), (raw, wildcard));
    }
    assert_eq!(parsed("/static/...").to_string(), "/static (wildcard)");
    assert_eq!(parsed("/...").to_string(), " (wildcard)");
    assert_eq!(parsed("/api/").to_string(), "/api");
}

#[test]
fn leading_slash_added_trailing_slash_dropped() {
    assert_eq!(hit(&["foo/"], "/foo"), Some(0));
    assert_eq!(hit(&["/foo/"], "/foo/"), Some(0));
    assert_eq!(hit(&["/foo//"], "/foo"), Some(0));
    assert_eq!(hit(&["static/.../"], "/static/x"), Some(0));
    // The root route matches only the root path.
    assert_eq!(hit(&["/"], "/"), Some(0));
    assert_eq!(hit(&["/"], "//"), Some(0));
    assert_eq!(hit(&["/"], "/a"), None);
}

#[test]
fn duplicate_last_wins_and_is_reported() {
    let (r, warnings) = router(&["/", "/foo", "/bar", "/foo", "/foo"]);
    assert_eq!(r.route("/foo").map(|m| *m.target), Some(4));
    assert_eq!(warnings, [dup("/foo", 1, 3), dup("/foo", 3, 4)]);
    let listed: Vec<_> = r.routes().map(|(route, t)| (route.raw(), *t)).collect();
    assert_eq!(listed, [("/", 0), ("/foo", 4), ("/bar", 2)]);
}

#[test]
fn well_known_routes_are_reported() {
    let routes = [
        "/.well-known/spin/...",
        "/.well-known/spin/fie",
        "/.well-known/spin",
    ];
    let (_, warnings) = router(&[&routes[..], &["/.well-known/spindle/...", "/a"]].concat());
    assert_eq!(warnings, [reserved(routes[0], 0), reserved(routes[1], 1)]);
    let (_, warnings) = router(&[".well-known/spin/x", ".well-known/spin/x"]);
    assert_eq!(warnings.len(), 2);
    assert_eq!(warnings[1], reserved(".well-known/spin/x", 1));
}

#[test]
fn routes_listed_in_manifest_order() {
    let (r, _) = router(&["/...", "/b", "/a/:x", "/a"]);
    let listed: Vec<_> = r.routes().map(|(route, _)| route.raw()).collect();
    assert_eq!(listed, ["/...", "/b", "/a/:x", "/a"]);
}

#[test]
fn paths_are_matched_raw_percent_encoded_and_case_sensitive() {
    assert_eq!(hit(&["/caf%C3%A9"], "/caf%C3%A9"), Some(0));
    assert_eq!(hit(&["/caf%C3%A9"], "/caf%c3%a9"), None);
    assert_eq!(hit(&["/a b"], "/a%20b"), None);
    let (r, _) = router(&["/q/:term"]);
    assert_eq!(r.route("/q/a%20b%2Fc").unwrap().params[0].1, "a%20b%2Fc");
    assert_eq!(hit(&["/Foo"], "/foo"), None);
    assert_eq!(hit(&["/Foo"], "/Foo"), Some(0));
}

#[test]
fn empty_segments_in_path_are_not_collapsed() {
    assert_eq!(hit(&["/foo/bar"], "//foo/bar//"), Some(0));
    assert_eq!(hit(&["/foo/bar"], "/foo//bar"), None);
    assert_eq!(path_info("/foo/...", "/foo//bar"), "//bar");
    assert_eq!(
        hit(&["/a//b"], "/a/b"),
        Some(0),
        "empty route segments are ignored"
    );
}

#[test]
fn dot_segments_are_literal() {
    assert_eq!(hit(&["/static/.env"], "/static/.env"), Some(0));
    assert_eq!(hit(&["/static/.env"], "/static.env"), None);
    assert_eq!(hit(&["/api/v1.2/x"], "/api/v1.2/x"), Some(0));
    let routes = ["/.well-known/acme/...", "/..."];
    assert_eq!(winner(&routes, "/.well-known/acme/t"), Some(routes[0]));
}

#[test]
fn invalid_route_rejected_with_reason() {
    assert!(reason("/users/:").contains("parameter name"));
    assert!(reason("/users/:.json").contains("parameter name"));
    assert!(reason("/files/*rest").contains("`/...`"));
    assert!(reason("/a/*/b").contains("last segment"));
    assert!(reason("/a/*.json").contains("last segment"));
    assert!(reason("/a/.../b").contains("last segment"));
    assert!(reason("/a/...//").contains("last segment"));
    assert!(
        ParsedRoute::parse("/a*b/c...").is_ok(),
        "`*` and dots inside text are literal"
    );
}

#[test]
fn build_fails_on_first_invalid_route() {
    let routes = ["/ok", "/bad/:", "/worse/*x"].map(|r| (r.to_string(), ()));
    let err = Router::build(routes).expect_err("should fail");
    assert_eq!(err.route, "/bad/:");
    assert!(
        err.to_string().starts_with("invalid route `/bad/:`: "),
        "{err}"
    );
}

#[test]
fn path_match_header_name_lowercases_and_dashes() {
    assert_eq!(path_match_header_name("user_id"), "spin-path-match-user-id");
    assert_eq!(path_match_header_name("userId"), "spin-path-match-userid");
}

#[test]
fn warnings_explain_the_fix() {
    let text = dup("/a", 0, 2).to_string();
    assert!(
        text.contains("`/a`") && text.contains("#0") && text.contains("#2"),
        "{text}"
    );
    assert!(text.contains("remove it"), "{text}");
    let text = reserved("/.well-known/spin/x", 1).to_string();
    assert!(text.contains("move it to another path"), "{text}");
}
