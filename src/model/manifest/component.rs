//! `[component.<id>]` tables (and inline `component = { ... }` trigger tables).

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::Result;
use toml::de::DeValue;

use super::dependencies;
use super::doc::{Doc, Tbl, type_err};
use super::files;
use super::ids::{VARIABLE_HINT, check_label, check_variable_name, template_refs};
use super::{Component, Variable};

/// Every key Spin's v2 schema accepts in a component table.
const COMPONENT_KEYS: &[&str] = &[
    "source",
    "description",
    "variables",
    "environment",
    "files",
    "exclude_files",
    "allowed_http_hosts",
    "allowed_outbound_hosts",
    "key_value_stores",
    "sqlite_databases",
    "ai_models",
    "targets",
    "build",
    "tool",
    "dependencies_inherit_configuration",
    "dependencies",
    "profile",
];

/// What component parsing needs from the rest of the manifest.
pub(super) struct Ctx<'a> {
    pub doc: &'a Doc<'a>,
    pub base_dir: &'a Path,
    pub variables: &'a BTreeMap<String, Variable>,
}

impl Ctx<'_> {
    /// Checks the `{{ name }}` references of a template string against `[variables]`,
    /// as Spin's variable resolver does before the app starts.
    pub fn check_template(&self, path: &str, value: &str, span: &Range<usize>) -> Result<()> {
        let refs = template_refs(value).map_err(|e| {
            self.doc.err(
                Some(span),
                format!(
                    "`{path}`: {e}; close every `{{{{` with `}}}}`, e.g. \"{{{{ api_host }}}}\""
                ),
            )
        })?;
        for name in refs {
            if !self.variables.contains_key(name) {
                let known = if self.variables.is_empty() {
                    "none are defined".to_owned()
                } else {
                    let names: Vec<&str> = self.variables.keys().map(String::as_str).collect();
                    format!("defined: {}", names.join(", "))
                };
                return Err(self.doc.err(
                    Some(span),
                    format!(
                        "`{path}` refers to unknown application variable `{name}` ({known}); \
                         declare it under [variables], e.g. `{name} = {{ required = true }}`, \
                         or fix the reference"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Parses and resolves one component table; `id` is already validated (or generated).
pub(super) fn parse(
    ctx: &Ctx<'_>,
    id: &str,
    t: &Tbl<'_>,
    warnings: &mut Vec<String>,
) -> Result<Component> {
    t.check_keys(COMPONENT_KEYS)?;
    let source = source(ctx, t)?;
    let description = t
        .opt_str("description", "description = \"Shopping cart\"")?
        .map(|(s, _)| s.to_owned())
        .filter(|s| !s.is_empty());

    let mut variables = BTreeMap::new();
    let example = "variables = { api_url = \"https://{{ api_host }}/v1\" }";
    for e in t.opt_str_map("variables", example)? {
        let path = super::doc::join(&t.child("variables"), e.key);
        check_variable_name(e.key).map_err(|why| {
            ctx.doc.err(
                Some(&e.key_span),
                format!("invalid component variable name `{path}`: {why}; {VARIABLE_HINT}"),
            )
        })?;
        ctx.check_template(&path, e.value, &e.value_span)?;
        variables.insert(e.key.to_owned(), e.value.to_owned());
    }

    let environment = t
        .opt_str_map("environment", "environment = { LOG_LEVEL = \"info\" }")?
        .into_iter()
        .map(|e| (e.key.to_owned(), e.value.to_owned()))
        .collect();

    let example = "allowed_outbound_hosts = [\"https://api.example.com\"]";
    let mut allowed_outbound_hosts = Vec::new();
    for (i, (host, span)) in t
        .opt_str_array("allowed_outbound_hosts", example)?
        .into_iter()
        .enumerate()
    {
        let path = format!("{}[{i}]", t.child("allowed_outbound_hosts"));
        ctx.check_template(&path, host, &span)?;
        allowed_outbound_hosts.push(host.to_owned());
    }
    let legacy = t.opt_str_array(
        "allowed_http_hosts",
        "allowed_http_hosts = [\"example.com\"]",
    )?;
    if !legacy.is_empty() {
        let converted = convert_allowed_http_hosts(&legacy).map_err(|(i, why)| {
            ctx.doc.err(
                Some(&legacy[i].1),
                format!(
                    "`{}[{i}]`: {why}; use a host or host:port such as \"example.com:8080\", \
                     or better, replace `allowed_http_hosts` with `allowed_outbound_hosts`",
                    t.child("allowed_http_hosts")
                ),
            )
        })?;
        let msg = format!(
            "{}: line {}: component `{id}` uses the deprecated key `allowed_http_hosts`; \
             replace it with `allowed_outbound_hosts = {converted:?}`",
            ctx.doc.file.display(),
            ctx.doc.line(&t.key_span("allowed_http_hosts")),
        );
        tracing::warn!("{msg}");
        warnings.push(msg);
        allowed_outbound_hosts.extend(converted);
    }

    let key_value_stores = labels(
        ctx,
        t,
        "key_value_stores",
        "key_value_stores = [\"default\"]",
    )?;
    let sqlite_databases = labels(
        ctx,
        t,
        "sqlite_databases",
        "sqlite_databases = [\"default\"]",
    )?;
    let ai_models = t
        .opt_str_array("ai_models", "ai_models = [\"llama2-chat\"]")?
        .into_iter()
        .map(|(m, _)| m.to_owned())
        .collect();

    ignored_keys(ctx, t)?;
    let files = files::resolve(ctx, t, warnings)?;
    let inherit_all = t.opt_bool(
        "dependencies_inherit_configuration",
        "dependencies_inherit_configuration = false",
    )?;
    let dependencies = dependencies::of_component(ctx, t, inherit_all)?;

    Ok(Component {
        id: id.to_owned(),
        source,
        description,
        files,
        environment,
        allowed_outbound_hosts,
        variables,
        key_value_stores,
        sqlite_databases,
        ai_models,
        dependencies,
    })
}

/// `source`: a path to a local `.wasm` file that must exist.
fn source(ctx: &Ctx<'_>, t: &Tbl<'_>) -> Result<PathBuf> {
    const EXAMPLE: &str = "source = \"target/wasm32-wasip1/release/app.wasm\"";
    let path = t.child("source");
    let Some(val) = t.get("source") else {
        return Err(t.missing("source", EXAMPLE));
    };
    let rel = match val.get_ref() {
        DeValue::String(s) => s.as_ref(),
        DeValue::Table(tbl) => {
            let kind = if tbl.contains_key("url") {
                "a URL source (`{ url, digest }`)"
            } else if tbl.contains_key("package") || tbl.contains_key("registry") {
                "a registry source (`{ registry, package, version }`)"
            } else {
                "a table"
            };
            return Err(ctx.doc.err(
                Some(&val.span()),
                format!(
                    "`{path}` is {kind}, which wasi-httpd does not support yet; download the \
                     .wasm file (e.g. with `spin up` once, or `curl`) and point `source` at the \
                     file, for example: {EXAMPLE}"
                ),
            ));
        }
        other => {
            return Err(type_err(
                ctx.doc,
                &path,
                val,
                other,
                "a file path string",
                EXAMPLE,
            ));
        }
    };
    wasm_file(ctx, &path, rel, &val.span())
}

/// A `.wasm` file named at `path` (`rel`, relative to the manifest's
/// directory), which must exist.
pub(super) fn wasm_file(
    ctx: &Ctx<'_>,
    path: &str,
    rel: &str,
    span: &Range<usize>,
) -> Result<PathBuf> {
    if rel.is_empty() {
        return Err(ctx.doc.err(
            Some(span),
            format!(
                "`{path}` is empty; set it to a .wasm file, for example: \
                 \"target/wasm32-wasip2/release/app.wasm\""
            ),
        ));
    }
    let abs = files::normalize(&ctx.base_dir.join(rel));
    if !abs.is_file() {
        let what = if abs.exists() {
            "is not a file"
        } else {
            "does not exist"
        };
        return Err(ctx.doc.err(
            Some(span),
            format!(
                "`{path}`: the Wasm file {} {what} (relative paths are resolved against {}); \
                 build the component first (e.g. `spin build`) or fix the path",
                abs.display(),
                ctx.base_dir.display()
            ),
        ));
    }
    Ok(abs)
}

fn labels(ctx: &Ctx<'_>, t: &Tbl<'_>, key: &str, example: &str) -> Result<Vec<String>> {
    t.opt_str_array(key, example)?
        .into_iter()
        .enumerate()
        .map(|(i, (label, span))| {
            check_label(label).map_err(|why| {
                ctx.doc.err(
                    Some(&span),
                    format!(
                        "invalid label {label:?} in `{}[{i}]`: {why}; for example: {example}",
                        t.child(key)
                    ),
                )
            })?;
            Ok(label.to_owned())
        })
        .collect()
}

/// Keys Spin accepts that do not affect serving: checked for shape, then ignored.
fn ignored_keys(ctx: &Ctx<'_>, t: &Tbl<'_>) -> Result<()> {
    t.opt_array("targets", "targets = [\"spin-up:3.2\"]")?;
    if let Some(build) =
        t.opt_table("build", "[component.<id>.build]\ncommand = \"cargo build\"")?
    {
        build.check_keys(&["command", "workdir", "watch"])?;
        if build.get("command").is_none() {
            return Err(build.missing("command", "command = \"cargo build --release\""));
        }
    }
    if let Some(tool) = t.opt_table("tool", "[component.<id>.tool.my-tool]")? {
        for e in tool.entries() {
            Tbl::of(
                ctx.doc,
                tool.child(e.key),
                e.val,
                "[component.<id>.tool.my-tool]",
            )?;
        }
    }
    if let Some(profile) = t.opt_table("profile", "[component.<id>.profile.debug]")? {
        for e in profile.entries() {
            let p = Tbl::of(
                ctx.doc,
                profile.child(e.key),
                e.val,
                "[component.<id>.profile.debug]",
            )?;
            p.check_keys(&["source", "environment", "dependencies", "build"])?;
        }
    }
    Ok(())
}

/// Spin's conversion of the deprecated `allowed_http_hosts` (manifest v2 flavour:
/// no implicit database access). On error, returns the failing index and reason.
fn convert_allowed_http_hosts(
    hosts: &[(&str, Range<usize>)],
) -> Result<Vec<String>, (usize, String)> {
    if hosts.iter().any(|(h, _)| *h == "insecure:allow-all") {
        return Ok(vec![
            "http://*:*".into(),
            "https://*:*".into(),
            "http://self".into(),
        ]);
    }
    let mut out = Vec::new();
    for (i, (text, _)) in hosts.iter().enumerate() {
        let (host, port) = parse_http_host(text).map_err(|why| (i, why))?;
        if host == "self" {
            out.push("http://self".to_owned());
        } else {
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            out.push(format!("http://{host}{port}"));
            out.push(format!("https://{host}{port}"));
        }
    }
    Ok(out)
}

/// `host`, `host:port`, or an `http(s)://host[:port][/]` URL.
fn parse_http_host(text: &str) -> Result<(String, Option<u16>), String> {
    let (scheme, rest) = match text.split_once("://") {
        Some((s, rest)) if s.eq_ignore_ascii_case("http") => ("http", rest),
        Some((s, rest)) if s.eq_ignore_ascii_case("https") => ("https", rest),
        Some(_) => return Err(format!("{text:?} isn't a valid host or host:port string")),
        None if text.contains("//") => return Err(format!("{text:?} isn't a valid HTTP host URL")),
        None => ("http", text),
    };
    let authority = match rest.split_once('/') {
        Some((a, "")) => a,
        Some(_) => {
            return Err(format!(
                "{text:?} contains a path, should be host and optional port only"
            ));
        }
        None => rest,
    };
    if authority.contains(['@', '?', '#', ' ']) {
        return Err(format!("{text:?} isn't a valid host or host:port string"));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (addr, after) = v6
            .split_once(']')
            .ok_or_else(|| format!("{text:?} isn't a valid host or host:port string"))?;
        (format!("[{addr}]"), after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p)),
            None => (authority.to_owned(), None),
        }
    };
    if host.is_empty() || host == "[]" {
        return Err(format!("{text:?} doesn't contain a host name"));
    }
    let port = match port {
        None | Some("") => None,
        Some(p) => Some(
            p.parse::<u16>()
                .map_err(|_| format!("{text:?} has an invalid port {p:?}"))?,
        ),
    };
    // Like URL parsing in Spin, the scheme's default port is dropped.
    let port = port.filter(|p| !matches!((scheme, p), ("http", 80) | ("https", 443)));
    Ok((host.to_ascii_lowercase(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(hosts: &[&str]) -> Result<Vec<String>, (usize, String)> {
        let hosts: Vec<(&str, Range<usize>)> = hosts.iter().map(|h| (*h, 0..0)).collect();
        convert_allowed_http_hosts(&hosts)
    }

    #[test]
    fn allowed_http_hosts_convert_like_spin() {
        assert_eq!(
            conv(&[
                "example.com",
                "localhost:3001",
                "self",
                "https://b.io:5555/"
            ])
            .unwrap(),
            [
                "http://example.com",
                "https://example.com",
                "http://localhost:3001",
                "https://localhost:3001",
                "http://self",
                "http://b.io:5555",
                "https://b.io:5555",
            ]
        );
        assert_eq!(
            conv(&["x.com", "insecure:allow-all"]).unwrap(),
            ["http://*:*", "https://*:*", "http://self"]
        );
        assert_eq!(
            conv(&["[::1]:8001"]).unwrap(),
            ["http://[::1]:8001", "https://[::1]:8001"]
        );
        assert_eq!(
            conv(&["a.com:80"]).unwrap(),
            ["http://a.com", "https://a.com"]
        );
        assert!(conv(&["http://a.com/path"]).is_err());
        assert!(conv(&["ftp://a.com"]).is_err());
        assert!(conv(&["a.com:99999"]).is_err());
    }
}
