//! `[[trigger.http]]` tables, including Spin's normalisation of trigger ids and
//! inline components (`crates/manifest/src/normalize.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use anyhow::Result;
use toml::de::DeValue;

use super::component::{self, Ctx};
use super::doc::{Tbl, type_err};
use super::ids::{KEBAB_HINT, check_kebab};
use super::{
    Component, Dependency, Executor, Handler, HttpTrigger, RouteSpec, StaticResponse, WagiExecutor,
};

const TRIGGER_EXAMPLE: &str = "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"my-component\"";
const ROUTE_EXAMPLE: &str = "route = \"/api/...\" (or route = { private = true })";

/// What a trigger invokes, before ids are normalised.
enum Target<'a> {
    Reference(&'a str, Range<usize>),
    Inline(Tbl<'a>),
    Static(StaticResponse),
}

struct Raw<'a> {
    tbl: Tbl<'a>,
    id: Option<String>,
    route: RouteSpec,
    target: Target<'a>,
    executor: Option<Executor>,
    middleware: Vec<Dependency>,
}

/// Parses every trigger, adding inline components to `components`.
pub(super) fn parse_all(
    root: &Tbl<'_>,
    ctx: &Ctx<'_>,
    components: &mut BTreeMap<String, Component>,
    warnings: &mut Vec<String>,
) -> Result<Vec<HttpTrigger>> {
    let Some(types) = root.opt_table("trigger", TRIGGER_EXAMPLE)? else {
        return Err(root.missing("trigger", TRIGGER_EXAMPLE));
    };
    for e in types.entries() {
        if e.key != "http" {
            return Err(ctx.doc.err(
                Some(&e.key_span),
                format!(
                    "`{}`: only HTTP triggers are served by wasi-httpd, but this app has \
                     `{}` triggers; remove them (or run this app with `spin up`)",
                    types.child(e.key),
                    e.key
                ),
            ));
        }
    }
    let Some(http) = types.get("http") else {
        return Err(types.err_here(format!(
            "no HTTP triggers: there is nothing to serve; add one, for example:\n{TRIGGER_EXAMPLE}"
        )));
    };
    let path = types.child("http");
    let DeValue::Array(items) = http.get_ref() else {
        return Err(type_err(
            ctx.doc,
            &path,
            http,
            http.get_ref(),
            "an array of tables (write `[[trigger.http]]`, with double brackets)",
            TRIGGER_EXAMPLE,
        ));
    };
    if items.is_empty() {
        return Err(ctx.doc.err(
            Some(&http.span()),
            format!("`{path}` is empty: there is nothing to serve; add a trigger, for example:\n{TRIGGER_EXAMPLE}"),
        ));
    }

    let mut raws = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let tbl = Tbl::of(ctx.doc, format!("{path}[{i}]"), item, TRIGGER_EXAMPLE)?;
        raws.push(parse_one(ctx, tbl)?);
    }

    // Explicit ids must be unique (handlers are looked up by trigger id).
    let mut taken = BTreeSet::new();
    for raw in &raws {
        if let Some(id) = &raw.id
            && !taken.insert(id.clone())
        {
            return Err(raw.tbl.err(
                "id",
                format!(
                    "duplicate trigger id {id:?} in `{}`; give each trigger a unique `id`",
                    raw.tbl.path
                ),
            ));
        }
    }

    // Spin's `normalize_trigger_ids`: "<component>-http-trigger" for references,
    // else the first free "http-trigger<N>" (counter shared by all http triggers).
    let mut counter = 1;
    let mut ids = Vec::with_capacity(raws.len());
    for raw in &raws {
        let id = match (&raw.id, &raw.target) {
            (Some(id), _) => id.clone(),
            (None, target) => {
                let natural = match target {
                    Target::Reference(c, _) => Some(format!("{c}-http-trigger")),
                    _ => None,
                };
                match natural.filter(|n| !taken.contains(n)) {
                    Some(n) => n,
                    None => loop {
                        let candidate = format!("http-trigger{counter}");
                        if !taken.contains(&candidate) {
                            break candidate;
                        }
                        counter += 1;
                    },
                }
            }
        };
        taken.insert(id.clone());
        ids.push(id);
    }

    // Spin's `normalize_inline_components`: "<trigger-id>-component" when that is a
    // free kebab-case id, else the first free "inline-component<N>".
    let mut handlers = Vec::with_capacity(raws.len());
    for (raw, trigger_id) in raws.iter().zip(&ids) {
        let handler = match &raw.target {
            Target::Static(s) => Handler::Static(s.clone()),
            Target::Reference(c, _) => Handler::Component((*c).to_owned()),
            Target::Inline(tbl) => {
                let natural = format!("{trigger_id}-component");
                let id = if check_kebab(&natural).is_ok() && !components.contains_key(&natural) {
                    natural
                } else {
                    (1..)
                        .map(|n| format!("inline-component{n}"))
                        .find(|c| !components.contains_key(c))
                        .expect("unbounded counter")
                };
                let parsed = component::parse(ctx, &id, tbl, warnings)?;
                components.insert(id.clone(), parsed);
                Handler::Component(id)
            }
        };
        handlers.push(handler);
    }

    // References must name a component (inline ones included, as in Spin).
    for raw in &raws {
        if let Target::Reference(c, span) = &raw.target
            && !components.contains_key(*c)
        {
            let known: Vec<&str> = components.keys().map(String::as_str).collect();
            let known = if known.is_empty() {
                "the manifest defines no components".to_owned()
            } else {
                format!("known component ids: {}", known.join(", "))
            };
            return Err(ctx.doc.err(
                Some(span),
                format!(
                    "`{}.component` refers to component {c:?}, which does not exist ({known}); \
                     add a [component.{c}] table or fix the id",
                    raw.tbl.path
                ),
            ));
        }
    }

    Ok(raws
        .into_iter()
        .zip(ids)
        .zip(handlers)
        .map(|((raw, id), handler)| HttpTrigger {
            id,
            route: raw.route,
            handler,
            executor: raw.executor,
            middleware: raw.middleware,
        })
        .collect())
}

fn parse_one<'a>(ctx: &Ctx<'_>, tbl: Tbl<'a>) -> Result<Raw<'a>> {
    tbl.check_keys(&[
        "id",
        "route",
        "component",
        "static_response",
        "executor",
        "components",
        "dependencies",
    ])?;
    if let Some(t) = tbl.opt_table("components", "components = {}")?
        && !t.entries().is_empty()
    {
        return Err(tbl.err(
            "components",
            format!(
                "`{}` is not supported for HTTP triggers; remove it and use `component`",
                tbl.child("components")
            ),
        ));
    }
    let id = tbl
        .opt_str("id", "id = \"my-trigger\"")?
        .map(|(s, _)| s.to_owned())
        .filter(|s| !s.is_empty());
    let route = route(&tbl)?;
    let executor = executor(&tbl)?;
    let stat = static_response(&tbl)?;
    let comp = match tbl.get("component") {
        None => None,
        Some(v) => Some(match v.get_ref() {
            DeValue::String(s) => {
                check_kebab(s).map_err(|why| {
                    tbl.doc.err(
                        Some(&v.span()),
                        format!(
                            "`{}`: invalid component id {s:?}: {why}; {KEBAB_HINT}",
                            tbl.child("component")
                        ),
                    )
                })?;
                Target::Reference(s.as_ref(), v.span())
            }
            DeValue::Table(_) => Target::Inline(Tbl::of(tbl.doc, tbl.child("component"), v, "")?),
            other => {
                return Err(type_err(
                    tbl.doc,
                    &tbl.child("component"),
                    v,
                    other,
                    "a component id string or an inline component table",
                    "component = \"my-component\" or component = { source = \"app.wasm\" }",
                ));
            }
        }),
    };
    let target = match (comp, stat) {
        (Some(c), None) => c,
        (None, Some(s)) => Target::Static(s),
        (Some(_), Some(_)) => {
            return Err(tbl.err(
                "static_response",
                format!(
                    "`{}` has both `component` and `static_response`; a trigger must specify \
                     exactly one of them: remove one",
                    tbl.path
                ),
            ));
        }
        (None, None) => {
            return Err(tbl.err_here(format!(
                "`{}` has neither `component` nor `static_response`; a trigger must specify \
                 exactly one, e.g. component = \"my-component\"",
                tbl.path
            )));
        }
    };
    let middleware = super::dependencies::middleware(ctx, &tbl)?;
    Ok(Raw {
        tbl,
        id,
        route,
        target,
        executor,
        middleware,
    })
}

fn route(tbl: &Tbl<'_>) -> Result<RouteSpec> {
    let Some(v) = tbl.get("route") else {
        return Err(tbl.missing("route", ROUTE_EXAMPLE));
    };
    match v.get_ref() {
        DeValue::String(s) => Ok(RouteSpec::Path(s.to_string())),
        DeValue::Table(_) => {
            let t = Tbl::of(tbl.doc, tbl.child("route"), v, ROUTE_EXAMPLE)?;
            t.check_keys(&["private"])?;
            match t.opt_bool("private", "route = { private = true }")? {
                Some(true) => Ok(RouteSpec::Private),
                Some(false) => Err(t.err(
                    "private",
                    format!(
                        "`{}` has {{ private = false }}; a route must be a string pattern or \
                         {{ private = true }}: write a route such as \"/api/...\" instead",
                        t.path
                    ),
                )),
                None => Err(t.missing("private", "route = { private = true }")),
            }
        }
        other => Err(type_err(
            tbl.doc,
            &tbl.child("route"),
            v,
            other,
            "a string or a table",
            ROUTE_EXAMPLE,
        )),
    }
}

fn executor(tbl: &Tbl<'_>) -> Result<Option<Executor>> {
    let example = "executor = { type = \"wagi\" }";
    let Some(t) = tbl.opt_table("executor", example)? else {
        return Ok(None);
    };
    let (kind, span) = t.req_str("type", "type = \"http\" (or \"spin\" or \"wagi\")")?;
    match kind {
        "http" | "spin" => {
            t.check_keys(&["type"])?;
            Ok(Some(if kind == "http" {
                Executor::Http
            } else {
                Executor::Spin
            }))
        }
        "wagi" => {
            t.check_keys(&["type", "argv", "entrypoint"])?;
            let defaults = WagiExecutor::default();
            let argv = t.opt_str("argv", "argv = \"${SCRIPT_NAME} ${ARGS}\"")?;
            let entrypoint = t.opt_str("entrypoint", "entrypoint = \"_start\"")?;
            Ok(Some(Executor::Wagi(WagiExecutor {
                argv: argv.map_or(defaults.argv, |(s, _)| s.to_owned()),
                entrypoint: entrypoint.map_or(defaults.entrypoint, |(s, _)| s.to_owned()),
            })))
        }
        other => Err(t.doc.err(
            Some(&span),
            format!(
                "`{}`: unknown executor type {other:?}; expected \"http\", \"spin\" or \"wagi\" \
                 (or remove `executor` to use the default)",
                t.child("type")
            ),
        )),
    }
}

fn static_response(tbl: &Tbl<'_>) -> Result<Option<StaticResponse>> {
    let example = "static_response = { status_code = 404, body = \"not found\" }";
    let Some(t) = tbl.opt_table("static_response", example)? else {
        return Ok(None);
    };
    t.check_keys(&["status_code", "headers", "body"])?;
    let status = match t.get("status_code") {
        None => 200,
        Some(v) => {
            let code = match v.get_ref() {
                DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok(),
                other => {
                    return Err(type_err(
                        t.doc,
                        &t.child("status_code"),
                        v,
                        other,
                        "an integer",
                        "status_code = 404",
                    ));
                }
            };
            match code
                .and_then(|c| u16::try_from(c).ok())
                .filter(|c| (100..=999).contains(c))
            {
                Some(c) => c,
                None => {
                    return Err(t.doc.err(
                        Some(&v.span()),
                        format!(
                            "`{}` must be an HTTP status code between 100 and 999; for example: status_code = 404",
                            t.child("status_code")
                        ),
                    ));
                }
            }
        }
    };
    let mut headers = Vec::new();
    for h in t.opt_str_map("headers", "headers = { content-type = \"text/plain\" }")? {
        let path = super::doc::join(&t.child("headers"), h.key);
        if h.key.is_empty() || !h.key.bytes().all(is_token_byte) {
            return Err(t.doc.err(
                Some(&h.key_span),
                format!("`{path}`: {:?} is not a valid HTTP header name; use letters, digits and '-', e.g. content-type", h.key),
            ));
        }
        if h.value
            .bytes()
            .any(|b| (b < 0x20 && b != b'\t') || b == 0x7f)
        {
            return Err(t.doc.err(
                Some(&h.value_span),
                format!("`{path}`: header values must not contain control characters such as newlines; remove them"),
            ));
        }
        headers.push((h.key.to_owned(), h.value.to_owned()));
    }
    let body = t
        .opt_str("body", "body = \"Hello\"")?
        .map(|(s, _)| s.to_owned());
    Ok(Some(StaticResponse {
        status,
        headers,
        body,
    }))
}

/// RFC 9110 `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}
