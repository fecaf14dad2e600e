//! Spin application variables: the app's `[variables]`, their values from the
//! providers, and the `{{ name }}` templates of component `variables` (and of
//! `allowed_outbound_hosts` entries) rendered from them.
//!
//! Every app variable is resolved once, when the app is loaded. The first provider
//! that has a value wins, in this order:
//!
//! 1. `--variable name=value` flags (also `name=@file`: the file's content as is).
//!    Spin inserts its CLI provider first, ahead of every other provider
//!    (`crates/runtime-factors/src/build.rs`).
//! 2. systemd credentials: the file `$CREDENTIALS_DIRECTORY/<name>` (one trailing
//!    newline removed), wasi-httpd's addition so that secrets need not sit in unit
//!    files or the environment. It plays the part of Spin's secret-store providers
//!    (Vault, Azure Key Vault), which Spin consults before the environment.
//! 3. the environment variable `SPIN_VARIABLE_<NAME>` (the name upper-cased, with
//!    Spin's default prefix; an empty value counts as set). Spin always appends this
//!    provider last (`crates/variables/src/lib.rs`, `env.rs`). Spin's provider also
//!    reads a `.env` file in the working directory; wasi-httpd does not.
//! 4. the manifest's `default`.
//!
//! A variable with none of these is an error at load, naming every way to set it.
//!
//! Templates follow Spin's `spin-expressions` crate: `{{` opens an expression that
//! runs to the next `}}`, its text trimmed, so `{{name}}` and `{{  name  }}` are the
//! same; several expressions and literal text may be mixed; there is no escape for a
//! literal `{{`, a `{{` without `}}` is an error and a lone `}}` is literal text.
//! Variable names follow Spin's `Key` rule: a lower-case ASCII letter first, then
//! lower-case letters, digits and single underscores, not ending in `_`.
//!
//! Values of variables marked `secret = true` never appear in `Debug` output or in
//! error messages.

/// A component's variables, rendered at load (values may be secret: never
/// log them).
pub type ComponentVariables = std::sync::Arc<std::collections::BTreeMap<String, String>>;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow, bail};

/// The prefix of the environment variables that set application variables.
pub const ENV_PREFIX: &str = "SPIN_VARIABLE_";

/// The environment variable systemd sets to the directory of the service's credentials.
pub const CREDENTIALS_DIRECTORY: &str = "CREDENTIALS_DIRECTORY";

/// One entry of the app's `[variables]`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct VariableSpec {
    pub default: Option<String>,
    pub required: bool,
    pub secret: bool,
}

impl fmt::Debug for VariableSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let default: &dyn fmt::Debug = match (&self.default, self.secret) {
            (Some(_), true) => &Redacted,
            (default, _) => default,
        };
        f.debug_struct("VariableSpec")
            .field("default", default)
            .field("required", &self.required)
            .field("secret", &self.secret)
            .finish()
    }
}

/// Where values come from. `Debug` shows names only, never values.
#[derive(Clone, Default)]
pub struct Providers {
    /// `--variable` flags: name → value (a later flag for the same name wins).
    pub flags: BTreeMap<String, String>,
    /// Environment snapshot: variable name (`SPIN_VARIABLE_...`) → value.
    pub env: BTreeMap<String, String>,
    /// `$CREDENTIALS_DIRECTORY`, if set.
    pub credentials_dir: Option<PathBuf>,
}

impl fmt::Debug for Providers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Providers")
            .field("flags", &self.flags.keys().collect::<Vec<_>>())
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("credentials_dir", &self.credentials_dir)
            .finish()
    }
}

/// The environment variable that sets application variable `name`:
/// `api_key` → `SPIN_VARIABLE_API_KEY`.
pub fn env_var_name(name: &str) -> String {
    format!("{ENV_PREFIX}{}", name.to_ascii_uppercase())
}

/// Which provider gave a variable its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Flag,
    Credential,
    Env,
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Flag => "--variable flag",
            Source::Credential => "systemd credential",
            Source::Env => "environment",
            Source::Default => "manifest default",
        })
    }
}

/// Every app variable with its value. `Debug` redacts secret values.
#[derive(Clone)]
pub struct Resolved {
    values: BTreeMap<String, Value>,
    unknown_flags: Vec<String>,
}

#[derive(Clone)]
struct Value {
    value: String,
    secret: bool,
    source: Source,
}

struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.secret {
            write!(f, "<secret> ({})", self.source)
        } else {
            write!(f, "{:?} ({})", self.value, self.source)
        }
    }
}

impl fmt::Debug for Resolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(&self.values).finish()
    }
}

/// Resolve every app variable once at load: a missing required variable is an error
/// naming it and listing how to set it (flag, env var name, credential file name).
/// Every missing variable is reported, not just the first.
pub fn resolve(
    app: &BTreeMap<String, VariableSpec>,
    providers: &Providers,
) -> anyhow::Result<Resolved> {
    let mut values = BTreeMap::new();
    let mut missing = Vec::new();
    for (name, spec) in app {
        validate_name(name)
            .map_err(|why| anyhow!("invalid application variable name `{name}`: {why}"))?;
        match lookup(name, spec, providers)? {
            Some((value, source)) => {
                let secret = spec.secret;
                values.insert(
                    name.clone(),
                    Value {
                        value,
                        secret,
                        source,
                    },
                );
            }
            None => missing.push(name.as_str()),
        }
    }
    if !missing.is_empty() {
        bail!(missing_message(&missing, providers));
    }
    let unknown_flags = providers
        .flags
        .keys()
        .filter(|name| !app.contains_key(*name))
        .cloned()
        .collect();
    Ok(Resolved {
        values,
        unknown_flags,
    })
}

fn lookup(
    name: &str,
    spec: &VariableSpec,
    providers: &Providers,
) -> anyhow::Result<Option<(String, Source)>> {
    if let Some(value) = providers.flags.get(name) {
        return Ok(Some((value.clone(), Source::Flag)));
    }
    if let Some(dir) = &providers.credentials_dir
        && let Some(value) = read_credential(dir, name)?
    {
        return Ok(Some((value, Source::Credential)));
    }
    if let Some(value) = providers.env.get(&env_var_name(name)) {
        return Ok(Some((value.clone(), Source::Env)));
    }
    Ok(spec.default.clone().map(|value| (value, Source::Default)))
}

/// The credential file for `name`, without one trailing newline; `None` if absent.
fn read_credential(dir: &Path, name: &str) -> anyhow::Result<Option<String>> {
    let path = dir.join(name);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(e).with_context(|| {
                format!(
                    "cannot read the systemd credential {} for variable `{name}`",
                    path.display()
                )
            });
        }
    };
    let mut value = String::from_utf8(bytes).map_err(|_| {
        anyhow!(
            "the systemd credential {} for variable `{name}` is not valid UTF-8",
            path.display()
        )
    })?;
    if value.ends_with('\n') {
        value.pop();
        if value.ends_with('\r') {
            value.pop();
        }
    }
    Ok(Some(value))
}

fn missing_message(missing: &[&str], providers: &Providers) -> String {
    let credentials = match &providers.credentials_dir {
        Some(dir) => format!("a file in {}", dir.display()),
        None => format!("${CREDENTIALS_DIRECTORY} is not set for this process"),
    };
    let mut message = if let [name] = missing {
        format!("required application variable `{name}` has no value; set it with one of:")
    } else {
        format!(
            "{} required application variables have no value ({}); set each with one of:",
            missing.len(),
            missing
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    for name in missing {
        message.push_str(&format!(
            "\n  `{name}`: the flag `--variable {name}=VALUE`; a systemd credential named \
             `{name}` (e.g. `LoadCredential={name}:/etc/credstore/{name}` in the unit; \
             {credentials}); or the environment variable `{}`",
            env_var_name(name)
        ));
    }
    message
}

impl Resolved {
    /// Render a component's variable template (e.g. "{{ api_key }}"), errors name the
    /// missing variable.
    pub fn render(&self, template: &str) -> anyhow::Result<String> {
        let parts = parse_template(template)
            .map_err(|why| anyhow!("invalid template {template:?}: {why}"))?;
        let mut out = String::with_capacity(template.len());
        for part in parts {
            match part {
                Part::Lit(lit) => out.push_str(lit),
                Part::Var(name) => out.push_str(&self.value_for(template, name)?.value),
            }
        }
        Ok(out)
    }

    fn value_for(&self, template: &str, name: &str) -> anyhow::Result<&Value> {
        if let Some(value) = self.values.get(name) {
            return Ok(value);
        }
        if let Err(why) = validate_name(name) {
            bail!("template {template:?}: `{{{{ {name} }}}}` is not a variable name: {why}");
        }
        let known = if self.values.is_empty() {
            "the app declares no variables".to_owned()
        } else {
            let names: Vec<&str> = self.values.keys().map(String::as_str).collect();
            format!("declared: {}", names.join(", "))
        };
        bail!(
            "template {template:?} refers to unknown application variable `{name}` ({known}); \
             declare it under [variables] in spin.toml"
        )
    }

    /// The value of an app variable (the tests read it).
    #[cfg(test)]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(|v| v.value.as_str())
    }

    /// Which provider gave the app variable its value (the tests read it).
    #[cfg(test)]
    pub fn source(&self, name: &str) -> Option<Source> {
        self.values.get(name).map(|v| v.source)
    }

    /// The app variables' names, sorted (the tests read them).
    #[cfg(test)]
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// `--variable` names that the app does not declare (ignored, as in Spin; worth a
    /// warning, as they are often typos).
    pub fn unknown_flags(&self) -> &[String] {
        &self.unknown_flags
    }
}

/// Parse `--variable name=value` (clap value_parser): errors say the expected form.
/// As in Spin, `name=@path` takes the value from the file at `path` (as is, no
/// trimming) and only the first `=` separates name and value. Spin's
/// `@file.json` / `@file.toml` forms are not supported.
pub fn parse_variable_flag(s: &str) -> Result<(String, String), String> {
    if let Some(file) = s.strip_prefix('@') {
        return Err(format!(
            "reading several variables from a file (`@{file}`) is not supported; pass each \
             as `--variable name=value` or `--variable name=@file`, or use systemd credentials"
        ));
    }
    let Some((name, value)) = s.split_once('=') else {
        return Err(
            "expected `name=value` (e.g. `--variable api_token=abc123`) or \
                    `name=@file`, but there is no `=`"
                .into(),
        );
    };
    if let Err(why) = validate_name(name) {
        let lower = name.to_ascii_lowercase().replace('-', "_");
        let hint = if lower != name && validate_name(&lower).is_ok() {
            format!(" (did you mean `{lower}`?)")
        } else {
            String::new()
        };
        return Err(format!("invalid variable name `{name}`: {why}{hint}"));
    }
    let value = match value.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read `{path}` for `--variable {name}=@{path}`: {e}"))?,
        None => value.to_owned(),
    };
    Ok((name.to_owned(), value))
}

/// Check a variable name against Spin's rule (`spin-expressions` `Key`): non-empty,
/// lower-case ASCII letters, digits and underscores, a letter first, no trailing or
/// doubled underscore.
pub fn validate_name(name: &str) -> Result<(), String> {
    let Some(first) = name.bytes().next() else {
        return Err("it must not be empty".into());
    };
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
    {
        return Err(format!(
            "invalid character {c:?}; variable names may contain only lower-case letters, \
             digits and underscores"
        ));
    }
    if !first.is_ascii_lowercase() {
        return Err("it must start with a lower-case letter".into());
    }
    if name.ends_with('_') {
        return Err("it must end with a lower-case letter or a digit".into());
    }
    if name.contains("__") {
        return Err("it must not contain consecutive underscores".into());
    }
    Ok(())
}

#[derive(Debug, PartialEq, Eq)]
enum Part<'a> {
    Lit(&'a str),
    Var(&'a str),
}

fn parse_template(template: &str) -> Result<Vec<Part<'_>>, String> {
    let mut parts = Vec::new();
    let mut rest = template;
    while !rest.is_empty() {
        match rest.find("{{") {
            Some(0) => {
                let Some((expr, after)) = rest[2..].split_once("}}") else {
                    return Err("unmatched '{{' (there is no escape for a literal '{{')".into());
                };
                parts.push(Part::Var(expr.trim()));
                rest = after;
            }
            Some(start) => {
                parts.push(Part::Lit(&rest[..start]));
                rest = &rest[start..];
            }
            None => {
                parts.push(Part::Lit(rest));
                rest = "";
            }
        }
    }
    Ok(parts)
}

#[cfg(test)]
mod tests;
