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
mod tests;
