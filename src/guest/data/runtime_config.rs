//! The runtime configuration file (`--runtime-config-file`), in Spin's
//! TOML format and key names: where each key-value store and SQLite
//! database label lives.
//!
//! ```toml
//! state_dir = "/var/lib/my-app"          # optional, under --state-dir
//!
//! [key_value_store.default]
//! type = "redis"
//! url = "redis://:secret@cache.internal:6379/0"
//!
//! [key_value_store.sessions]
//! type = "spin"                          # SQLite; no `path`: in memory
//! path = "sessions.db"                   # relative to this file
//!
//! [sqlite_database.reports]
//! type = "spin"
//! path = "reports.db"                    # relative to the working directory, as in Spin
//! ```
//!
//! Every key is checked: an unknown type or key, or one of Spin's keys
//! wasi-httpd does not serve, is an error naming the file and the key.
//! URLs may hold passwords: they are shown only through [`redacted`].

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use toml::{Table, Value};

/// Where one key-value store label lives.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum KvConfig {
    /// `type = "spin"`: SQLite, in this file (`None`: in memory).
    Local(Option<PathBuf>),
    /// `type = "redis"`: the server's URL (may hold a password).
    Redis(String),
}

impl fmt::Debug for KvConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KvConfig::Local(Some(path)) => write!(f, "SQLite {}", path.display()),
            KvConfig::Local(None) => f.write_str("SQLite in memory"),
            KvConfig::Redis(url) => write!(f, "Redis {}", redacted(url)),
        }
    }
}

/// Where one SQLite database label lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteConfig {
    /// The file (`None`: a fresh database in memory per connection).
    pub path: Option<PathBuf>,
    /// `allow_attach_file`: whether a guest may `ATTACH` files.
    pub allow_attach_file: bool,
}

/// A parsed runtime configuration (empty without `--runtime-config-file`).
#[derive(Debug, Clone, Default)]
pub struct RuntimeConfig {
    /// `state_dir`, made absolute.
    pub state_dir: Option<PathBuf>,
    pub key_value: BTreeMap<String, KvConfig>,
    pub sqlite: BTreeMap<String, SqliteConfig>,
}

/// Spin's top-level keys that wasi-httpd does not serve, and what to do.
const NOT_SERVED: &[(&str, &str)] = &[
    ("log_dir", "guest output goes to the journal (or stderr)"),
    (
        "max_instance_memory",
        "use --max-instance-memory on the command line",
    ),
    (
        "variables_provider",
        "give variables with --variable, SPIN_VARIABLE_<NAME> or systemd credentials",
    ),
    (
        "config_provider",
        "give variables with --variable, SPIN_VARIABLE_<NAME> or systemd credentials",
    ),
    (
        "llm_compute",
        "wasi-httpd does not serve Spin's LLM interface",
    ),
    ("client_tls", "outbound TLS uses the system's trusted roots"),
    (
        "outbound_http",
        "outbound HTTP is set by allowed_outbound_hosts and the command line",
    ),
    (
        "outbound_networking",
        "outbound TLS uses the system's trusted roots",
    ),
    (
        "outbound_mqtt",
        "wasi-httpd does not serve Spin's MQTT interface",
    ),
    (
        "otel",
        "wasi-httpd exports metrics on its admin listener instead",
    ),
];

impl RuntimeConfig {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read the runtime configuration file {}",
                path.display()
            )
        })?;
        Self::parse(&text, path)
            .with_context(|| format!("runtime configuration file {}", path.display()))
    }

    /// Parses `text`, read from `path` (relative paths in it are taken
    /// from `path`'s directory or the working directory, as in Spin).
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let table: Table = toml::from_str(text).map_err(|e| {
            // toml's full report quotes the offending line, which may hold
            // a URL with a password: keep only the line number and reason.
            let line = e
                .span()
                .map_or(0, |s| text[..s.start].matches('\n').count() + 1);
            anyhow::anyhow!("line {line}: not valid TOML: {}", e.message().trim())
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut config = RuntimeConfig {
            ..Default::default()
        };
        for (key, value) in &table {
            match key.as_str() {
                "state_dir" => {
                    let dir = string(value, key)?;
                    if dir.is_empty() {
                        bail!(
                            "`state_dir` is empty: wasi-httpd keeps the default stores on disk; \
                             give a directory or remove the key"
                        );
                    }
                    config.state_dir = Some(
                        std::path::absolute(dir)
                            .with_context(|| format!("`state_dir`: {dir:?}"))?,
                    );
                }
                "key_value_store" => {
                    for (label, entry) in labels(value, key)? {
                        let at = format!("key_value_store.{label}");
                        config
                            .key_value
                            .insert(label.clone(), kv_config(entry, &at, dir)?);
                    }
                }
                "sqlite_database" => {
                    for (label, entry) in labels(value, key)? {
                        let at = format!("sqlite_database.{label}");
                        config
                            .sqlite
                            .insert(label.clone(), sqlite_config(entry, &at)?);
                    }
                }
                other => match NOT_SERVED.iter().find(|(k, _)| *k == other) {
                    Some((_, hint)) => {
                        bail!(
                            "`{other}` is a Spin key wasi-httpd does not serve: {hint}; remove it"
                        )
                    }
                    None => bail!(
                        "unknown key `{other}`: wasi-httpd reads `state_dir`, \
                         `[key_value_store.<label>]` and `[sqlite_database.<label>]`"
                    ),
                },
            }
        }
        Ok(config)
    }
}

/// The tables under `[key]`, one per label, with valid labels.
fn labels<'a>(value: &'a Value, key: &str) -> Result<&'a Table> {
    let table = value
        .as_table()
        .with_context(|| format!("`{key}` must be a table of labels, as `[{key}.<label>]`"))?;
    for label in table.keys() {
        crate::model::manifest::check_label(label)
            .map_err(|why| anyhow::anyhow!("`{key}.{label}`: {why}"))?;
    }
    Ok(table)
}

/// A label's table: its `type`, and the other keys, each used once.
struct Entry<'a> {
    at: &'a str,
    table: &'a Table,
    used: Vec<&'static str>,
}

impl<'a> Entry<'a> {
    fn new(value: &'a Value, at: &'a str) -> Result<(Self, &'a str)> {
        let table = value
            .as_table()
            .with_context(|| format!("`{at}` must be a table with a `type`"))?;
        let kind = table
            .get("type")
            .with_context(|| format!("`{at}` has no `type`"))?;
        let kind = string(kind, &format!("{at}.type"))?;
        Ok((
            Self {
                at,
                table,
                used: vec!["type"],
            },
            kind,
        ))
    }

    fn string(&mut self, key: &'static str) -> Result<Option<&'a str>> {
        self.used.push(key);
        self.table
            .get(key)
            .map(|v| string(v, &format!("{}.{key}", self.at)))
            .transpose()
    }

    fn bool(&mut self, key: &'static str) -> Result<Option<bool>> {
        self.used.push(key);
        self.table
            .get(key)
            .map(|v| {
                v.as_bool()
                    .with_context(|| format!("`{}.{key}` must be true or false", self.at))
            })
            .transpose()
    }

    /// Errs on a key no call asked for.
    fn done(self, kind: &str) -> Result<()> {
        match self.table.keys().find(|k| !self.used.contains(&k.as_str())) {
            Some(key) => bail!(
                "unknown key `{}.{key}` for type {kind:?}; it takes {}",
                self.at,
                self.used[1..]
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => Ok(()),
        }
    }
}

fn kv_config(value: &Value, at: &str, dir: &Path) -> Result<KvConfig> {
    let (mut entry, kind) = Entry::new(value, at)?;
    let config = match kind {
        "spin" => KvConfig::Local(entry.string("path")?.map(|p| dir.join(p))),
        "redis" => {
            let url = entry
                .string("url")?
                .with_context(|| format!("`{at}` (type \"redis\") needs a `url`"))?;
            check_redis_url(url).with_context(|| format!("`{at}.url`"))?;
            KvConfig::Redis(url.to_owned())
        }
        other => bail!(
            "`{at}.type`: unknown key-value store type {other:?}; wasi-httpd serves \
             \"spin\" (SQLite, with an optional `path`) and \"redis\" (with a `url`)"
        ),
    };
    entry.done(kind)?;
    Ok(config)
}

fn sqlite_config(value: &Value, at: &str) -> Result<SqliteConfig> {
    let (mut entry, kind) = Entry::new(value, at)?;
    if kind != "spin" {
        bail!(
            "`{at}.type`: unknown SQLite database type {kind:?}; wasi-httpd serves \
             \"spin\" (a local file, with an optional `path`)"
        );
    }
    let path = entry.string("path")?.map(PathBuf::from);
    let allow_attach_file = entry.bool("allow_attach_file")?.unwrap_or(false);
    entry.done(kind)?;
    let path = path
        .map(|p| std::path::absolute(&p).with_context(|| format!("`{at}.path`: {p:?}")))
        .transpose()?;
    Ok(SqliteConfig {
        path,
        allow_attach_file,
    })
}

fn string<'a>(value: &'a Value, at: &str) -> Result<&'a str> {
    value
        .as_str()
        .with_context(|| format!("`{at}` must be a string"))
}

/// A Redis URL wasi-httpd can connect to: `redis://` or `rediss://`
/// (TLS), or `redis+unix://`/`unix://`.
pub fn check_redis_url(url: &str) -> Result<()> {
    let scheme = url.split_once("://").map(|(s, _)| s);
    match scheme {
        Some("redis" | "rediss" | "redis+unix" | "unix") => {}
        _ => bail!(
            "{}: a Redis URL starts with redis://, rediss:// or unix://",
            redacted(url)
        ),
    }
    redis::parse_redis_url(url)
        .map(|_| ())
        .with_context(|| format!("{} is not a valid URL", redacted(url)))
}

/// `url` with any password replaced by `***`, for logs and errors: the
/// userinfo's, and a `pass=` or `password=` query parameter's (which
/// redis-rs reads for `unix://` URLs). Text that does not look like a URL
/// is not shown at all.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "(not a URL)".to_owned();
    };
    let (rest, query) = match rest.split_once('?') {
        Some((rest, query)) => (rest, Some(query)),
        None => (rest, None),
    };
    // The host starts after the last `@` of the part before the path: a
    // password may hold `/` or `#` that were not percent-encoded.
    let (userinfo, tail) = match rest.rsplit_once('@') {
        Some((userinfo, tail)) => (Some(userinfo), tail),
        None => (None, rest),
    };
    let mut shown = format!("{scheme}://");
    if let Some(userinfo) = userinfo {
        let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
        shown.push_str(&format!("{user}:***@"));
    }
    shown.push_str(tail);
    if let Some(query) = query {
        let params: Vec<String> = query
            .split('&')
            .map(|param| match param.split_once('=') {
                Some((key, _))
                    if key.eq_ignore_ascii_case("pass") || key.eq_ignore_ascii_case("password") =>
                {
                    format!("{key}=***")
                }
                _ => param.to_owned(),
            })
            .collect();
        shown.push('?');
        shown.push_str(&params.join("&"));
    }
    shown
}

#[cfg(test)]
mod tests;
