//! Loading Spin application manifests (`spin.toml`, `spin_manifest_version = 2`;
//! version 1 ones are converted first, see [`v1`]).
//!
//! [`load`] reads a manifest, validates it the way Spin does (unknown keys are errors,
//! ids and variable names follow Spin's rules, inline components and missing trigger
//! ids are normalised with Spin's naming scheme) and resolves everything that touches
//! the filesystem up front: component sources must exist and `files` globs are
//! expanded into concrete host → guest mounts. Only HTTP triggers are accepted.
//!
//! Every error names the manifest file, the line (when the TOML parser gives a span),
//! the key path (e.g. `trigger.http[2].component` or `component.api.source`) and how
//! to fix it. Any error fails the whole load; there is no partial result.

mod component;
pub mod deny;
mod dependencies;
pub mod dependency_name;
mod doc;
mod files;
mod ids;
mod inherit;
#[cfg(test)]
mod tests;
mod trigger;
mod v1;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use serde::Serialize;
use toml::de::{DeTable, DeValue};

use doc::{Doc, Tbl};
/// Spin's rule for variable names, also applied to the names guests ask for.
pub(crate) use ids::{VARIABLE_HINT, check_label, check_variable_name};

/// A loaded and validated Spin application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct App {
    /// The manifest file: absolute, canonical.
    pub manifest_path: PathBuf,
    /// The directory of the manifest; relative paths in the manifest are resolved against it.
    pub base_dir: PathBuf,
    pub name: String,
    pub version: Option<String>,
    pub description: Option<String>,
    pub authors: Vec<String>,
    /// Application variables (`[variables]`), by name.
    pub variables: BTreeMap<String, Variable>,
    /// HTTP triggers, in manifest order.
    pub triggers: Vec<HttpTrigger>,
    /// Components by id, including inline components (under their generated ids).
    pub components: BTreeMap<String, Component>,
    /// Deprecation and suspicious-configuration warnings found while loading
    /// (each one has also been logged with `tracing::warn!`).
    pub warnings: Vec<String>,
}

/// An application variable: `name = { default = "..." }` or `{ required = true }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Variable {
    /// Exactly one of `default` and `required` is set.
    pub default: Option<String>,
    pub required: bool,
    pub secret: bool,
    pub description: Option<String>,
}

/// One `[[trigger.http]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HttpTrigger {
    /// The trigger's `id`, or the id Spin generates: `<component>-http-trigger` for a
    /// trigger referencing a component, else the first free `http-trigger<N>`.
    pub id: String,
    pub route: RouteSpec,
    pub handler: Handler,
    pub executor: Option<Executor>,
    /// `dependencies.middleware`, outermost first (each has no `name`).
    pub middleware: Vec<Dependency>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum RouteSpec {
    /// `route = "/x/..."`, exactly as written in the manifest.
    Path(String),
    /// `route = { private = true }`: reachable only through service chaining.
    Private,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Handler {
    /// A component id; always a key of [`App::components`].
    Component(String),
    Static(StaticResponse),
}

/// `static_response = { status_code, headers, body }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaticResponse {
    /// `status_code`, default 200 (validated to be 100..=999).
    pub status: u16,
    /// In manifest order.
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

/// `executor = { type = "..." }`. In Spin, `"spin"` is an alias of `"http"`; both are
/// kept apart here so callers can tell what was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Executor {
    Http,
    Spin,
    Wagi(WagiExecutor),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WagiExecutor {
    /// Default `${SCRIPT_NAME} ${ARGS}`.
    pub argv: String,
    /// Default `_start` (deprecated in Spin, still accepted).
    pub entrypoint: String,
}

impl Default for WagiExecutor {
    fn default() -> Self {
        WagiExecutor {
            argv: "${SCRIPT_NAME} ${ARGS}".to_owned(),
            entrypoint: "_start".to_owned(),
        }
    }
}

/// A component, with everything filesystem-related resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Component {
    pub id: String,
    /// Absolute path of the `.wasm` file (it existed at load time).
    pub source: PathBuf,
    pub description: Option<String>,
    /// Host → guest mounts, in manifest order (globs expanded in alphabetical order).
    pub files: Vec<FileMount>,
    pub environment: BTreeMap<String, String>,
    /// `allowed_outbound_hosts` followed by the converted legacy `allowed_http_hosts`.
    /// Entries may contain `{{ variable }}` templates (checked to exist).
    pub allowed_outbound_hosts: Vec<String>,
    /// Component variables: name → template string (references checked to exist).
    pub variables: BTreeMap<String, String>,
    pub key_value_stores: Vec<String>,
    pub sqlite_databases: Vec<String>,
    /// `ai_models` labels (accepted as in Spin; serving them is up to the runtime).
    pub ai_models: Vec<String>,
    /// `[component.<id>.dependencies]`, in manifest order.
    pub dependencies: Vec<Dependency>,
}

/// A component composed with another at load: a component dependency or
/// an HTTP trigger's middleware.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dependency {
    /// The dependency name (the key under `dependencies`); `None` for
    /// middleware.
    pub name: Option<String>,
    /// Absolute path of the `.wasm` file (for `{ component = ... }`, that
    /// component's source).
    pub source: PathBuf,
    /// The app component it names (`{ component = ... }`), if any.
    pub component: Option<String>,
    /// The export that satisfies the import; default: the import's name.
    pub export: Option<String>,
    pub inherit: Inherit,
}

/// What of its component's configuration a dependency may use
/// (`inherit_configuration`).
pub use inherit::{Inherit, capability_of};

/// A host path made visible to the guest. Guest paths are absolute and `/`-separated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum FileMount {
    File {
        host: PathBuf,
        guest: String,
    },
    /// A whole directory tree (no `exclude_files` pattern matched inside it).
    Dir {
        host: PathBuf,
        guest: String,
    },
}

/// Loads `path`: a `spin.toml` file, or a directory containing one.
pub fn load(path: &Path) -> Result<App> {
    let meta = std::fs::metadata(path).map_err(|e| {
        anyhow!(
            "{}: cannot open the application: {e}; pass the path of a spin.toml file or of \
             a directory containing one",
            path.display()
        )
    })?;
    let file = if meta.is_dir() {
        let file = path.join("spin.toml");
        if !file.is_file() {
            return Err(anyhow!(
                "{}: no spin.toml in this directory; pass the manifest's own path if it has \
                 another name, or the directory that contains spin.toml",
                path.display()
            ));
        }
        file
    } else {
        path.to_path_buf()
    };
    let manifest_path = std::fs::canonicalize(&file)
        .map_err(|e| anyhow!("{}: cannot resolve the manifest path: {e}", file.display()))?;
    let src = std::fs::read_to_string(&manifest_path).map_err(|e| {
        anyhow!(
            "{}: cannot read the manifest: {e}; check that it is a readable UTF-8 text file",
            manifest_path.display()
        )
    })?;
    from_text(&manifest_path, &src)
}

/// Parses and validates manifest text (version 2, or version 1 converted
/// as Spin converts it); `manifest_path` must be absolute (its directory
/// is the app's base) and names the file in every error.
pub fn from_text(manifest_path: &Path, src: &str) -> Result<App> {
    if !v1::is_v1(src) {
        return parse(manifest_path, src);
    }
    let shown = manifest_path.display().to_string();
    let converted = v1::to_v2(src, &shown)?;
    let mut app = parse(manifest_path, &converted)
        .map_err(|e| anyhow!("{e:#} (in the version 2 form of this version 1 manifest)"))?;
    let note = format!(
        "{shown}: a version 1 manifest, converted to version 2 as Spin does; \
         `spin doctor` upgrades the file"
    );
    tracing::info!("{note}");
    app.warnings.insert(0, note);
    Ok(app)
}

/// Parses manifest text; `manifest_path` must be absolute (its directory is the base).
fn parse(manifest_path: &Path, src: &str) -> Result<App> {
    let base_dir = manifest_path
        .parent()
        .ok_or_else(|| {
            anyhow!(
                "{}: the manifest path has no parent directory",
                manifest_path.display()
            )
        })?
        .to_path_buf();
    let doc = Doc {
        file: manifest_path,
        src,
    };
    let parsed = DeTable::parse(src).map_err(|e| doc.syntax_err(&e))?;
    let root = Tbl::new(&doc, String::new(), parsed.span(), parsed.get_ref());

    check_version(&root)?;
    root.check_keys(&[
        "spin_manifest_version",
        "application",
        "variables",
        "trigger",
        "component",
    ])?;

    let mut warnings = Vec::new();
    let app = root
        .opt_table("application", "[application]\nname = \"my-app\"")?
        .ok_or_else(|| root.missing("application", "[application]\nname = \"my-app\""))?;
    app.check_keys(&[
        "name",
        "version",
        "description",
        "authors",
        "targets",
        "trigger",
        "tool",
    ])?;
    let (name, _) = app.req_str("name", "name = \"my-app\"")?;
    let non_empty = |v: Option<(&str, _)>| v.map(|(s, _)| s.to_owned()).filter(|s| !s.is_empty());
    let version = non_empty(app.opt_str("version", "version = \"1.0.0\"")?);
    let description = non_empty(app.opt_str("description", "description = \"My app\"")?);
    let authors = app
        .opt_str_array("authors", "authors = [\"Jane <jane@example.com>\"]")?
        .into_iter()
        .map(|(s, _)| s.to_owned())
        .collect();
    app.opt_array("targets", "targets = [\"spin-up:3.2\"]")?;
    if let Some(tool) = app.opt_table("tool", "[application.tool.my-tool]")? {
        for e in tool.entries() {
            Tbl::of(&doc, tool.child(e.key), e.val, "[application.tool.my-tool]")?;
        }
    }
    if let Some(globals) = app.opt_table("trigger", "[application.trigger.http]")? {
        app_trigger_settings(&globals, &mut warnings)?;
    }

    let variables = variables(&root)?;
    let ctx = component::Ctx {
        doc: &doc,
        base_dir: &base_dir,
        variables: &variables,
    };
    let mut components = BTreeMap::new();
    let example = "[component.my-component]\nsource = \"app.wasm\"";
    if let Some(table) = root.opt_table("component", example)? {
        for e in table.entries() {
            ids::check_kebab(e.key).map_err(|why| {
                doc.err(
                    Some(&e.key_span),
                    format!(
                        "invalid component id `{}`: {why}; {}",
                        table.child(e.key),
                        ids::KEBAB_HINT
                    ),
                )
            })?;
            let t = Tbl::of(&doc, table.child(e.key), e.val, example)?;
            let parsed = component::parse(&ctx, e.key, &t, &mut warnings)?;
            components.insert(e.key.to_owned(), parsed);
        }
    }
    let mut triggers = trigger::parse_all(&root, &ctx, &mut components, &mut warnings)?;
    dependencies::resolve(&mut components, &mut triggers)
        .map_err(|e| anyhow!("{}: {e}", manifest_path.display()))?;

    Ok(App {
        manifest_path: manifest_path.to_path_buf(),
        base_dir,
        name: name.to_owned(),
        version,
        description,
        authors,
        variables,
        triggers,
        components,
        warnings,
    })
}

const MIGRATE_HINT: &str = "wasi-httpd reads manifest version 2, and version 1 (`spin_manifest_version \
    = \"1\"`, converted as Spin does): write `spin_manifest_version = 2` following \
    https://spinframework.dev/manifest-reference";

fn check_version(root: &Tbl<'_>) -> Result<()> {
    let key = ["spin_manifest_version", "spin_version"]
        .into_iter()
        .find(|k| root.get(k).is_some());
    let Some(key) = key else {
        return Err(root.doc.err(
            None,
            format!("missing `spin_manifest_version` at the top of the manifest; {MIGRATE_HINT}"),
        ));
    };
    let val = root.get(key).expect("key found above");
    let shown = match val.get_ref() {
        DeValue::Integer(i)
            if key == "spin_manifest_version"
                && i64::from_str_radix(i.as_str(), i.radix()) == Ok(2) =>
        {
            return Ok(());
        }
        DeValue::String(s) => format!("{s:?}"),
        DeValue::Integer(i) => i.to_string(),
        other => doc::type_name(other).to_owned(),
    };
    Err(root.err(
        key,
        format!("`{key} = {shown}`: unsupported manifest version {shown}; {MIGRATE_HINT}"),
    ))
}

/// `[application.trigger.<type>]`: for `http`, only `base = "/"` (deprecated) is
/// accepted; settings of other trigger types are opaque to Spin and ignored here.
fn app_trigger_settings(globals: &Tbl<'_>, warnings: &mut Vec<String>) -> Result<()> {
    for e in globals.entries() {
        let t = Tbl::of(
            globals.doc,
            globals.child(e.key),
            e.val,
            "[application.trigger.http]",
        )?;
        if e.key != "http" {
            tracing::debug!("ignoring settings for trigger type `{}`", e.key);
            continue;
        }
        t.check_keys(&["base"])?;
        match t.opt_str("base", "base = \"/\"")? {
            None => {}
            Some(("/", span)) => {
                let msg = format!(
                    "{}: line {}: `application.trigger.http.base` is deprecated and ignored \
                     (\"/\" is the only supported value); it can be removed",
                    t.doc.file.display(),
                    t.doc.line(&span)
                );
                tracing::warn!("{msg}");
                warnings.push(msg);
            }
            Some((other, span)) => {
                return Err(t.doc.err(
                    Some(&span),
                    format!(
                        "`application.trigger.http.base = {other:?}` is not supported: apps are \
                         served at \"/\"; remove `base` and prefix each [[trigger.http]] route \
                         with {other:?} instead"
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn variables(root: &Tbl<'_>) -> Result<BTreeMap<String, Variable>> {
    let mut out = BTreeMap::new();
    let example = "[variables]\napi_token = { required = true, secret = true }";
    let Some(table) = root.opt_table("variables", example)? else {
        return Ok(out);
    };
    for e in table.entries() {
        let path = table.child(e.key);
        ids::check_variable_name(e.key).map_err(|why| {
            root.doc.err(
                Some(&e.key_span),
                format!(
                    "invalid variable name `{path}`: {why}; {}",
                    ids::VARIABLE_HINT
                ),
            )
        })?;
        let example = format!("{} = {{ default = \"value\" }}", e.key);
        let v = Tbl::of(root.doc, path.clone(), e.val, &example)?;
        v.check_keys(&["description", "required", "default", "secret"])?;
        let default = v
            .opt_str("default", "default = \"value\"")?
            .map(|(s, _)| s.to_owned());
        let required = v.opt_bool("required", "required = true")?.unwrap_or(false);
        let secret = v.opt_bool("secret", "secret = true")?.unwrap_or(false);
        let description = v
            .opt_str("description", "description = \"...\"")?
            .map(|(s, _)| s.to_owned());
        if required == default.is_some() {
            let msg = if required {
                format!("`{path}` has both `required = true` and a `default`; remove one of them")
            } else {
                format!(
                    "`{path}` must be `required` or have a `default`; add `default = \"...\"` or \
                     `required = true`"
                )
            };
            return Err(v.err_here(msg));
        }
        out.insert(
            e.key.to_owned(),
            Variable {
                default,
                required,
                secret,
                description,
            },
        );
    }
    Ok(out)
}
