//! Version 1 manifests (`spin_manifest_version = "1"`), converted to
//! version 2 the way Spin's `compat` module does, then read by the version
//! 2 parser (so every key is validated once, by one set of rules):
//!
//! - `name`, `version`, `description`, `authors` go to `[application]`;
//!   `trigger = { type = "http", base = ... }` to
//!   `[application.trigger.http]` (whose `base` the version 2 rules check);
//! - `[variables]` stays;
//! - each `[[component]]` becomes `[component.<id>]` (an id that is not
//!   kebab-case is lower-cased with `_` as `-`), its `config` becomes
//!   `variables`, and its `[component.trigger]` a `[[trigger.<type>]]`
//!   entry with `id = "trigger-<id>"` and `component = "<id>"`;
//! - a component without `allowed_outbound_hosts` may reach Redis, MySQL
//!   and PostgreSQL anywhere (`redis://*:*`, `mysql://*:*`,
//!   `postgres://*:*`), as version 1 allowed; its `allowed_http_hosts` is
//!   converted by the version 2 rules.
//!
//! The result is new TOML text: errors found in it name the version 2 key
//! (`[component.<id>]`, `[[trigger.http]]`) that came from the version 1
//! one.

use anyhow::{Result, anyhow};
use toml::{Table, Value};

use super::ids;

/// Whether `src` is a version 1 manifest (a string version 1 under
/// `spin_manifest_version` or the older `spin_version`).
pub fn is_v1(src: &str) -> bool {
    let Ok(table) = src.parse::<Table>() else {
        return false;
    };
    ["spin_manifest_version", "spin_version"]
        .iter()
        .any(|key| table.get(*key).and_then(Value::as_str) == Some("1"))
}

/// The version 2 text of version 1 manifest `src`; `file` names it in
/// errors.
pub fn to_v2(src: &str, file: &str) -> Result<String> {
    let bad = |key: &str, why: &str| anyhow!("{file}: version 1 manifest: `{key}`: {why}");
    let mut v1: Table = src
        .parse()
        .map_err(|e| anyhow!("{file}: not valid TOML: {e}"))?;
    v1.remove("spin_manifest_version");
    v1.remove("spin_version");

    let mut application = Table::new();
    for key in ["name", "version", "description", "authors"] {
        if let Some(value) = v1.remove(key) {
            application.insert(key.into(), value);
        }
    }
    let trigger_type = match v1.remove("trigger") {
        Some(Value::Table(mut trigger)) => {
            let kind = match trigger.remove("type") {
                Some(Value::String(kind)) => kind,
                _ => return Err(bad("trigger", "needs `type = \"http\"`")),
            };
            if !trigger.is_empty() {
                let mut settings = Table::new();
                settings.insert(kind.clone(), Value::Table(trigger));
                application.insert("trigger".into(), Value::Table(settings));
            }
            kind
        }
        _ => {
            return Err(bad(
                "trigger",
                "missing; add `trigger = { type = \"http\" }` at the top",
            ));
        }
    };

    let mut v2 = Table::new();
    v2.insert("spin_manifest_version".into(), Value::Integer(2));
    v2.insert("application".into(), Value::Table(application));
    if let Some(variables) = v1.remove("variables") {
        v2.insert("variables".into(), variables);
    }
    let components = match v1.remove("component") {
        None => Vec::new(),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(bad("component", "must be `[[component]]` tables")),
    };
    if let Some(key) = v1.keys().next() {
        return Err(bad(
            key,
            "unknown top-level key; version 1 manifests have name, version, description, \
             authors, trigger, variables and [[component]]",
        ));
    }

    let mut component_tables = Table::new();
    let mut triggers = Vec::new();
    for (i, component) in components.into_iter().enumerate() {
        let Value::Table(mut component) = component else {
            return Err(bad(&format!("component[{i}]"), "must be a table"));
        };
        let id = match component.remove("id") {
            Some(Value::String(id)) => id,
            _ => return Err(bad(&format!("component[{i}]"), "needs `id = \"...\"`")),
        };
        let id = if ids::check_kebab(&id).is_ok() {
            id
        } else {
            id.replace('_', "-").to_lowercase()
        };
        if let Some(config) = component.remove("config") {
            component.insert("variables".into(), config);
        }
        if !component.contains_key("allowed_outbound_hosts") {
            let databases = ["redis://*:*", "mysql://*:*", "postgres://*:*"];
            component.insert(
                "allowed_outbound_hosts".into(),
                Value::Array(
                    databases
                        .iter()
                        .map(|h| Value::String((*h).into()))
                        .collect(),
                ),
            );
        }
        if let Some(trigger) = component.remove("trigger") {
            let Value::Table(mut trigger) = trigger else {
                return Err(bad(&format!("component[{i}].trigger"), "must be a table"));
            };
            trigger.insert("id".into(), Value::String(format!("trigger-{id}")));
            trigger.insert("component".into(), Value::String(id.clone()));
            triggers.push(Value::Table(trigger));
        }
        if component_tables
            .insert(id.clone(), Value::Table(component))
            .is_some()
        {
            return Err(bad(
                &format!("component[{i}].id"),
                &format!("`{id}` is the id of another component"),
            ));
        }
    }
    v2.insert("component".into(), Value::Table(component_tables));
    let mut trigger_tables = Table::new();
    trigger_tables.insert(trigger_type, Value::Array(triggers));
    v2.insert("trigger".into(), Value::Table(trigger_tables));
    toml::to_string(&v2).map_err(|e| anyhow!("{file}: cannot convert the version 1 manifest: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: &str = r#"
spin_manifest_version = "1"
name = "old-app"
version = "1.0.0"
authors = ["me"]
trigger = { type = "http", base = "/" }

[variables]
greeting = { default = "hi" }

[[component]]
id = "Hello_World"
source = "hello.wasm"
allowed_http_hosts = ["example.com"]
config = { message = "{{ greeting }}" }
[component.trigger]
route = "/hello/..."

[[component]]
id = "cgi"
source = "cgi.wasm"
allowed_outbound_hosts = ["https://api.example.com"]
[component.trigger]
route = "/cgi"
executor = { type = "wagi" }
"#;

    #[test]
    fn converts_as_spin_does() {
        assert!(is_v1(V1));
        let v2: Table = to_v2(V1, "spin.toml").unwrap().parse().unwrap();
        assert_eq!(v2["spin_manifest_version"].as_integer(), Some(2));
        assert_eq!(v2["application"]["name"].as_str(), Some("old-app"));
        assert_eq!(
            v2["application"]["trigger"]["http"]["base"].as_str(),
            Some("/")
        );
        let hello = &v2["component"]["hello-world"];
        assert_eq!(
            hello["variables"]["message"].as_str(),
            Some("{{ greeting }}")
        );
        assert_eq!(
            hello["allowed_outbound_hosts"].as_array().unwrap().len(),
            3,
            "database wildcards added"
        );
        let cgi = &v2["component"]["cgi"];
        assert_eq!(cgi["allowed_outbound_hosts"].as_array().unwrap().len(), 1);
        let triggers = v2["trigger"]["http"].as_array().unwrap();
        assert_eq!(triggers[0]["component"].as_str(), Some("hello-world"));
        assert_eq!(triggers[0]["id"].as_str(), Some("trigger-hello-world"));
        assert_eq!(triggers[1]["executor"]["type"].as_str(), Some("wagi"));
    }

    #[test]
    fn version_2_is_not_version_1() {
        assert!(!is_v1("spin_manifest_version = 2\n"));
        assert!(!is_v1("spin_manifest_version = \"2\"\n"));
        assert!(is_v1("spin_version = \"1\"\n"));
    }

    #[test]
    fn unknown_keys_and_missing_trigger_are_named() {
        let e = to_v2("spin_manifest_version = \"1\"\nname = \"a\"\n", "m.toml").unwrap_err();
        assert!(e.to_string().contains("`trigger`"), "{e}");
        let e = to_v2(
            "spin_manifest_version = \"1\"\nname = \"a\"\ntrigger = { type = \"http\" }\nbogus = 1\n",
            "m.toml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("`bogus`"), "{e}");
    }
}
