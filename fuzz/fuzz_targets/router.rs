//! Fuzz target: Spin route parsing, precedence and matching.
//!
//! Input: routes and request paths, one per line; a line starting with `>`
//! is a request path. Every route the router accepts must match its own
//! display path (the prefix it is printed with, with the empty segments a
//! route ignores removed: a request path's are kept), and every match must
//! give a path info that is a suffix of the request path.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wasi_httpd::fuzzing::Router;

fuzz_target!(|text: &str| {
    let mut routes = Vec::new();
    let mut paths = Vec::new();
    for line in text.lines().take(64) {
        match line.strip_prefix('>') {
            Some(path) => paths.push(path),
            None => routes.push((line.to_owned(), routes.len())),
        }
    }
    let Ok((router, _warnings)) = Router::build(routes) else {
        return;
    };
    for (route, _) in router.routes() {
        let own: Vec<&str> = route
            .display_path()
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        let own = format!("/{}", own.join("/"));
        assert!(
            router.route(&own).is_some(),
            "route {:?} does not match its own path {own:?}",
            route.raw()
        );
    }
    // Request paths from hyper always start with `/`.
    for path in paths.into_iter().filter(|p| p.starts_with('/')) {
        if let Some(found) = router.route(path) {
            assert!(
                path.trim_end_matches('/')
                    .ends_with(found.path_info.trim_end_matches('/')),
                "path info {:?} is not a suffix of {path:?} (route {:?})",
                found.path_info,
                found.route.raw()
            );
        }
    }
});
