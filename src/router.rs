//! Spin-compatible HTTP routing for `[[trigger.http]] route = "..."` values.
//!
//! Mirrors Spin's router (`spin-http` routes + routefinder 0.5), as seen from an app:
//!
//! * A missing leading `/` is added and one trailing `/` dropped (`foo/` == `/foo`).
//!   Empty segments in a route are ignored (`/a//b` == `/a/b`).
//! * `:name` matches one non-empty segment; inside a segment, `:name.json` matches up to
//!   the first `.` (so `/files/:name.json` matches `/files/a.json`).
//! * A final `/...` (or `/*`) is a wildcard: `/foo/...` matches `/foo`, `/foo/` and
//!   `/foo/bar/baz`; a bare `/...` matches every path.
//! * Precedence is by specificity, not manifest order: segments are compared left to right,
//!   literal > `:param` > wildcard, and the first difference decides (`/users/:id` beats
//!   `/users/...` for `/users/1`, `/a/:x/...` beats `/a/...` for `/a/b`, and among wildcards
//!   the longest prefix wins). Routes of the same shape (`/:a` vs `/:b`, `/foo` vs `/foo/`)
//!   resolve to the first in manifest order; a route written identically more than once
//!   resolves to the last one, and each overridden copy is reported as a warning.
//! * Paths are matched raw: no percent-decoding, case-sensitive; leading and trailing `/`s
//!   of the request path are ignored, inner `//` are not collapsed. Pass the path only
//!   (no query string).
//!
//! Deliberate differences from Spin, which only concern routes Spin mishandles:
//! a segment starting with `.` (e.g. `/static/.env`) is plain literal text (Spin drops the
//! `/` before it, and ranks `/.well-known/...` against other routes by manifest order), and
//! `*` anywhere but as the whole last segment, or `...` not at the end, is rejected (Spin
//! panics or matches something else).

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;

/// Paths under this prefix are answered by the runtime itself, never by a trigger.
pub const WELL_KNOWN_PREFIX: &str = "/.well-known/spin/";

/// The header name under which a `:name` capture is passed to the guest
/// (`user_id` -> `spin-path-match-user-id`).
pub fn path_match_header_name(name: &str) -> String {
    format!(
        "spin-path-match-{}",
        name.to_ascii_lowercase().replace('_', "-")
    )
}

/// An invalid route: `reason` says what is wrong and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteError {
    pub route: String,
    pub reason: String,
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid route `{}`: {}", self.route, self.reason)
    }
}

impl std::error::Error for RouteError {}

/// A problem with a valid route set that the caller should log at startup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteWarning {
    /// `route` (as written) at manifest position `index` is overridden by a later identical route at `by_index`.
    Duplicate {
        route: String,
        index: usize,
        by_index: usize,
    },
    /// a route under /.well-known/spin/ (as written) can never be reached
    Reserved { route: String, index: usize },
}

impl fmt::Display for RouteWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Duplicate {
                route,
                index,
                by_index,
            } => write!(
                f,
                "route `{route}` of HTTP trigger #{index} is a duplicate of the route of HTTP \
                 trigger #{by_index} and will never be used; remove it or change one of the routes"
            ),
            Self::Reserved { route, index } => write!(
                f,
                "route `{route}` of HTTP trigger #{index} is under {WELL_KNOWN_PREFIX}, which is \
                 handled by the runtime, and will never be reached; move it to another path"
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Slash,
    /// A `.` right after a parameter (`:name.json`).
    Dot,
    Exact(String),
    Param(String),
    Wildcard,
}
use Token::*;

/// Spin's (routefinder 0.5's) token order, asymmetry included: literal > param > wildcard >
/// separator, except that a `Dot` claims to outrank any non-separator.
fn token_cmp(a: &Token, b: &Token) -> Ordering {
    let rank = |t: &Token| match t {
        Exact(_) => 3,
        Param(_) => 2,
        Wildcard => 1,
        Slash | Dot => 0,
    };
    match a {
        Dot if rank(b) > 0 => Ordering::Greater,
        _ => rank(a).cmp(&rank(b)),
    }
}

/// Whether a route with tokens `a` is tried before one with tokens `b`: at the first
/// token that differs in kind the more specific wins, then the one with more dots, then
/// the shorter one. `false` both ways means "same shape": the earlier route is tried first.
fn outranks(a: &[Token], b: &[Token]) -> bool {
    let dots = |t: &[Token]| t.iter().filter(|t| **t == Dot).count();
    let first_difference = (a.iter().zip(b).map(|(x, y)| token_cmp(x, y)))
        .chain([dots(a).cmp(&dots(b)), b.len().cmp(&a.len())])
        .find(|o| o.is_ne());
    first_difference == Some(Ordering::Greater)
}

/// The token for one `.`-separated part of a route segment (`None` for an empty part).
fn part_token(part: &str) -> Result<Option<Token>, String> {
    Ok(Some(match part {
        "" => return Ok(None),
        ":" => return Err("`:` must be followed by a parameter name, e.g. `/users/:id`".into()),
        _ if part.starts_with('*') => {
            return Err(format!(
                "`{part}`: a wildcard has no name and can only be the whole last segment; end \
                 the route with `/...` (e.g. `/files/...`) and read the rest of the path from \
                 the `spin-path-info` header"
            ));
        }
        _ => match part.strip_prefix(':') {
            Some(name) => Param(name.to_string()),
            None => Exact(part.to_string()),
        },
    }))
}

/// One route from the manifest, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedRoute {
    raw: String,
    matched: String,
    display_len: usize,
    component_len: usize,
    wildcard: bool,
    tokens: Vec<Token>,
}

impl ParsedRoute {
    pub fn parse(raw: &str) -> Result<ParsedRoute, RouteError> {
        let err = |reason| RouteError {
            route: raw.into(),
            reason,
        };
        let mut matched = format!("/{}", raw.strip_prefix('/').unwrap_or(raw));
        if matched.ends_with('/') {
            matched.pop();
        }
        let (body, wildcard) = match matched.strip_suffix("/...").or(matched.strip_suffix("/*")) {
            Some(prefix) => (prefix, true),
            None => (matched.as_str(), false),
        };
        let mut tokens = Vec::new();
        for (i, segment) in body.split('/').filter(|s| !s.is_empty()).enumerate() {
            if segment == "..." {
                return Err(err(
                    "`...` is only allowed as the last segment, to match everything \
                    under a prefix (e.g. `/static/...`); remove what follows it"
                        .into(),
                ));
            }
            if i > 0 {
                tokens.push(Slash);
            }
            for (j, part) in segment.split('.').enumerate() {
                match tokens.last_mut() {
                    _ if j == 0 && part.is_empty() => tokens.push(Exact(String::new())),
                    _ if j == 0 => {}
                    Some(Exact(text)) => text.push('.'),
                    _ => tokens.push(Dot),
                }
                tokens.extend(part_token(part).map_err(err)?);
            }
        }
        if wildcard {
            if !tokens.is_empty() {
                tokens.push(Slash);
            }
            tokens.push(Wildcard);
        }
        let (display_len, component_len) =
            (body.len(), raw.strip_suffix("/...").unwrap_or(raw).len());
        let raw = raw.to_string();
        Ok(ParsedRoute {
            raw,
            matched,
            display_len,
            component_len,
            wildcard,
            tokens,
        })
    }

    /// The route exactly as written in the manifest (`spin-raw-component-route`).
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The normalized route (`spin-matched-route`): leading `/` added, one trailing `/`
    /// dropped, `/...` kept. The root route `/` gives `""`, as in Spin.
    pub fn matched_route(&self) -> &str {
        &self.matched
    }

    /// The route as written without a trailing `/...` (`spin-component-route`).
    pub fn component_route(&self) -> &str {
        &self.raw[..self.component_len]
    }

    pub fn is_wildcard(&self) -> bool {
        self.wildcard
    }

    /// The path for the route table: the normalized route without `/...` (`/static` for
    /// `/static/...`, `""` for `/` and `/...`), printed by Spin as `{base_url}{display_path}`.
    pub fn display_path(&self) -> &str {
        &self.matched[..self.display_len]
    }

    /// Matches `path`, returning the params and the path info.
    fn match_path(&self, path: &str) -> Option<(Params, String)> {
        let mut rest = path.trim_matches('/');
        let (mut params, mut captured) = (Vec::new(), None);
        let mut tokens = self.tokens.iter().peekable();
        while let Some(token) = tokens.next() {
            match token {
                Exact(text) => rest = rest.strip_prefix(text.as_str())?,
                Dot => rest = rest.strip_prefix('.')?,
                Slash => match (rest.starts_with('/'), tokens.peek()) {
                    (true, Some(_)) => rest = &rest[1..],
                    (false, None | Some(Wildcard)) if rest.is_empty() => {}
                    _ => return None,
                },
                Param(_) if rest.is_empty() => return None,
                Param(name) => {
                    let end = match tokens.peek() {
                        Some(Dot) => rest
                            .find(['.', '/'])
                            .filter(|&i| rest[i..].starts_with('.'))?,
                        _ => rest.find('/').unwrap_or(rest.len()),
                    };
                    params.push((name.clone(), rest[..end].to_string()));
                    rest = &rest[end..];
                }
                Wildcard => captured = Some(std::mem::take(&mut rest)),
            }
        }
        if !rest.is_empty() && rest != "/" {
            return None;
        }
        // Spin keeps the request's trailing slash, which the match itself ignores.
        let slash = if path.ends_with('/') { "/" } else { "" };
        let path_info = match captured {
            None => String::new(),
            Some("") => slash.to_string(),
            Some(rest) => format!("/{rest}{slash}"),
        };
        Some((params, path_info))
    }
}

/// Spin's table form: `/static (wildcard)`, `/foo`.
impl fmt::Display for ParsedRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let suffix = if self.wildcard { " (wildcard)" } else { "" };
        write!(f, "{}{suffix}", self.display_path())
    }
}

type Params = Vec<(String, String)>;

/// The result of routing a request path.
#[derive(Debug)]
pub struct RouteMatch<'a, T> {
    pub target: &'a T,
    pub route: &'a ParsedRoute,
    /// `spin-path-info`: what the trailing wildcard matched (`""` for routes without one).
    pub path_info: String,
    /// `:name` captures as (name as written, raw value), in route order.
    pub params: Vec<(String, String)>,
}

/// Target is the caller's handle for a trigger (it will be a usize index).
#[derive(Debug)]
pub struct Router<T> {
    /// (route, target, manifest index of the target), in manifest order, one per route text.
    entries: Vec<(ParsedRoute, T, usize)>,
    /// Indices into `entries`, in the order routes are tried.
    precedence: Vec<usize>,
}

impl<T: Clone> Router<T> {
    /// Routes in manifest order: (route as written, target). Returns the router and the warnings.
    pub fn build(
        routes: impl IntoIterator<Item = (String, T)>,
    ) -> Result<(Router<T>, Vec<RouteWarning>), RouteError> {
        let mut entries: Vec<(ParsedRoute, T, usize)> = Vec::new();
        let (mut by_text, mut warnings) = (HashMap::new(), Vec::new());
        for (by_index, (route, target)) in routes.into_iter().enumerate() {
            if let Some(&i) = by_text.get(&route) {
                let (_, old_target, index) = &mut entries[i];
                warnings.push(RouteWarning::Duplicate {
                    route,
                    index: *index,
                    by_index,
                });
                (*old_target, *index) = (target, by_index);
                continue;
            }
            entries.push((ParsedRoute::parse(&route)?, target, by_index));
            by_text.insert(route, entries.len() - 1);
        }
        for (route, _, index) in &entries {
            if route.matched.starts_with(WELL_KNOWN_PREFIX) {
                let route = route.raw.clone();
                warnings.push(RouteWarning::Reserved {
                    route,
                    index: *index,
                });
            }
        }
        // Like Spin's sorted insert into a BTreeMap: before the first route this one outranks.
        let mut precedence: Vec<usize> = Vec::with_capacity(entries.len());
        for (i, (route, ..)) in entries.iter().enumerate() {
            let at = (precedence.iter())
                .position(|&j| outranks(&route.tokens, &entries[j].0.tokens))
                .unwrap_or(precedence.len());
            precedence.insert(at, i);
        }
        Ok((
            Router {
                entries,
                precedence,
            },
            warnings,
        ))
    }

    /// The best route for a request path (path only, still percent-encoded).
    pub fn route(&self, path: &str) -> Option<RouteMatch<'_, T>> {
        self.precedence.iter().find_map(|&i| {
            let (route, target, _) = &self.entries[i];
            let (params, path_info) = route.match_path(path)?;
            Some(RouteMatch {
                target,
                route,
                path_info,
                params,
            })
        })
    }

    /// routes in a stable display order (manifest order, duplicates removed) for printing a route table:
    pub fn routes(&self) -> impl Iterator<Item = (&ParsedRoute, &T)> {
        self.entries
            .iter()
            .map(|(route, target, _)| (route, target))
    }
}

#[cfg(test)]
mod tests {
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
}
