//! `[component.<id>.dependencies]` and a trigger's `dependencies.middleware`:
//! components composed with a component at load (see [`crate::load::compose`]).
//!
//! Each is a local file (`{ path = "lib.wasm" }`) or another component of
//! the app (`{ component = "lib" }`, whose own resources and permissions
//! must be empty, as Spin requires), with `inherit_configuration`. Spin's
//! registry (`"1.0"`, `{ version, registry, package }`) and URL (`{ url,
//! digest }`) sources are refused with a precise error: wasi-httpd does not
//! download code at load.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Result;
use toml::de::DeValue;

use super::component::Ctx;
use super::dependency_name::{NAME_HINT, Name};
use super::doc::{Tbl, type_err};
use super::inherit::CAPABILITIES;
use super::{Component, Dependency, HttpTrigger, Inherit};

const EXAMPLE: &str = "\"my:lib/greet\" = { path = \"lib.wasm\" }";

/// `[component.<id>.dependencies]`; `inherit_all` is the component's
/// `dependencies_inherit_configuration`.
pub(super) fn of_component(
    ctx: &Ctx<'_>,
    t: &Tbl<'_>,
    inherit_all: Option<bool>,
) -> Result<Vec<Dependency>> {
    let Some(deps) = t.opt_table("dependencies", "[component.<id>.dependencies]")? else {
        return Ok(Vec::new());
    };
    let mut out: Vec<(Name, Dependency)> = Vec::new();
    for e in deps.entries() {
        let path = deps.child(e.key);
        let name = Name::parse(e.key).map_err(|why| {
            ctx.doc.err(
                Some(&e.key_span),
                format!("invalid dependency name `{path}`: {why}; {NAME_HINT}"),
            )
        })?;
        if let Some((other, _)) = out.iter().find(|(n, _)| n.overlaps(&name)) {
            return Err(ctx.doc.err(
                Some(&e.key_span),
                format!(
                    "`{path}`: dependency \"{name}\" conflicts with \"{other}\" (both could \
                     satisfy the same import); name different interfaces or incompatible \
                     versions"
                ),
            ));
        }
        let DeValue::Table(_) = e.val.get_ref() else {
            return Err(match e.val.get_ref() {
                DeValue::String(_) => ctx.doc.err(
                    Some(&e.val.span()),
                    format!("`{path}` is a registry version; {}", no_download(EXAMPLE)),
                ),
                other => type_err(ctx.doc, &path, e.val, other, "a table", EXAMPLE),
            });
        };
        let dep = Tbl::of(ctx.doc, path.clone(), e.val, EXAMPLE)?;
        let mut parsed = one(ctx, &dep, true)?;
        parsed.name = Some(e.key.to_owned());
        if name.is_whole_package() && parsed.export.is_some() {
            return Err(dep.err(
                "export",
                format!(
                    "`{}`: a package dependency (\"{name}\") may satisfy several imports, so it \
                     cannot name one `export`; name the interface instead (\"{name}/<interface>\")",
                    dep.child("export")
                ),
            ));
        }
        match (inherit_all, dep.get("inherit_configuration").is_some()) {
            (Some(_), true) => {
                return Err(dep.err(
                    "inherit_configuration",
                    format!(
                        "`{}`: the component sets both `dependencies_inherit_configuration` and \
                         a dependency's `inherit_configuration`; these are mutually exclusive: \
                         use one or the other",
                        dep.child("inherit_configuration")
                    ),
                ));
            }
            (Some(true), false) => parsed.inherit = Inherit::All,
            _ => {}
        }
        out.push((name, parsed));
    }
    Ok(out.into_iter().map(|(_, d)| d).collect())
}

/// A trigger's `dependencies = { middleware = [ ... ] }`.
pub(super) fn middleware(ctx: &Ctx<'_>, trigger: &Tbl<'_>) -> Result<Vec<Dependency>> {
    const MW_EXAMPLE: &str = "dependencies = { middleware = [{ component = \"auth\" }] }";
    let Some(deps) = trigger.opt_table("dependencies", MW_EXAMPLE)? else {
        return Ok(Vec::new());
    };
    if let Some(other) = deps.entries().iter().find(|e| e.key != "middleware") {
        return Err(ctx.doc.err(
            Some(&other.key_span),
            format!(
                "`{}`: the HTTP trigger's only allowed trigger dependency is `middleware`; for \
                 example: {MW_EXAMPLE}",
                deps.child(other.key)
            ),
        ));
    }
    let mut out = Vec::new();
    for (i, item) in deps.opt_array("middleware", MW_EXAMPLE)?.iter().enumerate() {
        let path = format!("{}[{i}]", deps.child("middleware"));
        let t = Tbl::of(ctx.doc, path, item, "{ component = \"auth\" }")?;
        out.push(one(ctx, &t, false)?);
    }
    Ok(out)
}

/// One dependency table; `export` is allowed for component dependencies.
fn one(ctx: &Ctx<'_>, t: &Tbl<'_>, export: bool) -> Result<Dependency> {
    let mut keys = vec![
        "path",
        "component",
        "url",
        "digest",
        "version",
        "registry",
        "package",
        "inherit_configuration",
    ];
    if export {
        keys.push("export");
    }
    t.check_keys(&keys)?;
    let sources: Vec<&str> = ["path", "component", "url", "version"]
        .into_iter()
        .filter(|k| t.get(k).is_some())
        .collect();
    let (source, component) = match sources.as_slice() {
        ["path"] => {
            let (rel, span) = t.req_str("path", "path = \"lib.wasm\"")?;
            let file = super::component::wasm_file(ctx, &t.child("path"), rel, &span)?;
            (file, None)
        }
        ["component"] => {
            let (id, _) = t.req_str("component", "component = \"my-lib\"")?;
            (PathBuf::new(), Some(id.to_owned()))
        }
        ["url"] => {
            return Err(t.err(
                "url",
                format!("`{}` is a URL; {}", t.path, no_download(EXAMPLE)),
            ));
        }
        ["version"] => {
            return Err(t.err(
                "version",
                format!(
                    "`{}` is a registry package; {}",
                    t.path,
                    no_download(EXAMPLE)
                ),
            ));
        }
        _ => {
            return Err(t.err_here(format!(
                "`{}` must have exactly one source: `path` (a .wasm file) or `component` (a \
                 component of this app); for example: {EXAMPLE}",
                t.path
            )));
        }
    };
    let export = t
        .opt_str("export", "export = \"my:lib/greet@1.0.0\"")?
        .map(|(s, _)| s.to_owned());
    Ok(Dependency {
        name: None,
        source,
        component,
        export,
        inherit: inherit(t)?,
    })
}

fn no_download(example: &str) -> String {
    format!(
        "wasi-httpd does not download components at load; download the .wasm file and use a \
         local dependency, for example: {example}"
    )
}

/// `inherit_configuration`: `true`, `false` (the default) or a list of
/// configuration keys.
fn inherit(t: &Tbl<'_>) -> Result<Inherit> {
    const IC_EXAMPLE: &str = "inherit_configuration = [\"allowed_outbound_hosts\"]";
    let Some(val) = t.get("inherit_configuration") else {
        return Ok(Inherit::Only(Vec::new()));
    };
    let path = t.child("inherit_configuration");
    match val.get_ref() {
        DeValue::Boolean(true) => Ok(Inherit::All),
        DeValue::Boolean(false) => Ok(Inherit::Only(Vec::new())),
        DeValue::Array(_) => {
            let known: Vec<&str> = CAPABILITIES.iter().map(|(k, _)| *k).collect();
            let mut keys = Vec::new();
            for (i, (key, span)) in t
                .opt_str_array("inherit_configuration", IC_EXAMPLE)?
                .into_iter()
                .enumerate()
            {
                if !known.contains(&key) {
                    // Spin ignores an unknown key; so does wasi-httpd, aloud.
                    tracing::warn!(
                        "{}: line {}: `{path}[{i}]`: unknown configuration {key:?} is \
                         ignored; inheritable are: {}",
                        t.doc.file.display(),
                        t.doc.line(&span),
                        known.join(", ")
                    );
                    continue;
                }
                keys.push(key.to_owned());
            }
            Ok(Inherit::Only(keys))
        }
        other => Err(type_err(
            t.doc,
            &path,
            val,
            other,
            "true, false or a list of configuration keys",
            IC_EXAMPLE,
        )),
    }
}

/// Resolves `{ component = "..." }` dependencies and middleware to that
/// component's source, once every component is known.
pub(super) fn resolve(
    components: &mut BTreeMap<String, Component>,
    triggers: &mut [HttpTrigger],
) -> Result<()> {
    let snapshot = components.clone();
    let lookup = |user: &str, key: &str, dep: &mut Dependency| -> Result<()> {
        let Some(id) = &dep.component else {
            return Ok(());
        };
        let Some(target) = snapshot.get(id) else {
            let known: Vec<&str> = snapshot.keys().map(String::as_str).collect();
            anyhow::bail!(
                "`{key}` refers to component {id:?}, which does not exist (known component \
                 ids: {}); fix the id",
                known.join(", ")
            );
        };
        let surprises = permissions(target);
        if !surprises.is_empty() {
            anyhow::bail!(
                "`{key}`: dependencies may not have their own resources or permissions: \
                 component `{id}` cannot be used as a dependency of `{user}` because it \
                 specifies: {}; remove those from [component.{id}] (a dependency gets what it \
                 inherits from `{user}`, see `inherit_configuration`)",
                surprises.join(", ")
            );
        }
        dep.source = target.source.clone();
        Ok(())
    };
    for (id, component) in components.iter_mut() {
        for dep in &mut component.dependencies {
            let name = dep.name.clone().unwrap_or_default();
            lookup(id, &format!("component.{id}.dependencies.\"{name}\""), dep)?;
        }
    }
    for (i, trigger) in triggers.iter_mut().enumerate() {
        for (j, dep) in trigger.middleware.iter_mut().enumerate() {
            let key = format!("trigger.http[{i}].dependencies.middleware[{j}]");
            lookup(&trigger.id, &key, dep)?;
        }
    }
    Ok(())
}

/// The resource and permission keys a component sets.
fn permissions(c: &Component) -> Vec<&'static str> {
    [
        ("ai_models", !c.ai_models.is_empty()),
        (
            "allowed_outbound_hosts",
            !c.allowed_outbound_hosts.is_empty(),
        ),
        ("dependencies", !c.dependencies.is_empty()),
        ("environment", !c.environment.is_empty()),
        ("files", !c.files.is_empty()),
        ("key_value_stores", !c.key_value_stores.is_empty()),
        ("sqlite_databases", !c.sqlite_databases.is_empty()),
        ("variables", !c.variables.is_empty()),
    ]
    .into_iter()
    .filter(|(_, set)| *set)
    .map(|(key, _)| key)
    .collect()
}
