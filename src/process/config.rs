//! The one place the command line ([`crate::process::cli`]) and the process
//! environment become the typed configuration the rest of the daemon is
//! given: the directories systemd (or the user's session) names, the
//! `SPIN_VARIABLE_*` variables, and the options every app generation is
//! loaded with. Nothing below this module reads the environment or names
//! a clap type. (The systemd protocols themselves, `LISTEN_FDS`,
//! `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `JOURNAL_STREAM`, are read by the
//! modules that speak them: [`crate::serve::listen`], [`crate::process::systemd`],
//! [`crate::process::logging`].)

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

use crate::guest::engine::compile_cache::CompileCache;
use crate::load::app::LoadOptions;
use crate::model::variables::{ENV_PREFIX, Providers};
use crate::process::cli::AppArgs;

/// What the daemon takes from its environment, read once at start.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    /// `$STATE_DIRECTORY` (systemd's `StateDirectory=`), the first entry.
    pub state_directory: Option<PathBuf>,
    /// `$RUNTIME_DIRECTORY` (`RuntimeDirectory=`), the first entry.
    pub runtime_directory: Option<PathBuf>,
    /// `$CREDENTIALS_DIRECTORY` (`LoadCredential=`).
    pub credentials_directory: Option<PathBuf>,
    /// `$CACHE_DIRECTORY` (`CacheDirectory=`), else
    /// `$XDG_CACHE_HOME/wasi-httpd`, else `$HOME/.cache/wasi-httpd`.
    pub cache_directory: Option<PathBuf>,
    /// The `SPIN_VARIABLE_*` variables (non-UTF-8 ones skipped).
    pub spin_variables: BTreeMap<String, String>,
}

impl Environment {
    /// The process's environment.
    pub fn from_process() -> Self {
        Self::from_vars(std::env::vars_os())
    }

    /// The environment `vars` describe.
    pub fn from_vars(vars: impl IntoIterator<Item = (OsString, OsString)>) -> Self {
        let vars: BTreeMap<OsString, OsString> = vars.into_iter().collect();
        // An empty directory variable counts as unset (an empty
        // `SPIN_VARIABLE_*` is a value).
        let get = |name: &str| {
            vars.get(std::ffi::OsStr::new(name))
                .filter(|value| !value.is_empty())
        };
        let first = |name: &str| get(name).and_then(|dirs| std::env::split_paths(dirs).next());
        let cache_directory = get("CACHE_DIRECTORY")
            .map(PathBuf::from)
            .or_else(|| get("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("wasi-httpd")))
            .or_else(|| get("HOME").map(|d| PathBuf::from(d).join(".cache/wasi-httpd")));
        let spin_variables = vars
            .iter()
            .filter_map(|(name, value)| {
                let name = name.to_str()?;
                name.starts_with(ENV_PREFIX)
                    .then(|| Some((name.to_owned(), value.to_str()?.to_owned())))?
            })
            .collect();
        Self {
            state_directory: first("STATE_DIRECTORY"),
            runtime_directory: first("RUNTIME_DIRECTORY"),
            credentials_directory: get("CREDENTIALS_DIRECTORY").map(PathBuf::from),
            cache_directory,
            spin_variables,
        }
    }

    /// Where staged `files` trees go: the runtime directory when systemd
    /// gives one, else a folder of this process in the temporary directory.
    pub fn staging_directory(&self) -> PathBuf {
        match &self.runtime_directory {
            Some(dir) => dir.join("files"),
            None => std::env::temp_dir().join(format!("wasi-httpd-{}", std::process::id())),
        }
    }

    /// Where variable values come from: `--variable` flags, then the
    /// credentials, then `SPIN_VARIABLE_*`.
    pub fn providers(&self, flags: Vec<(String, String)>) -> Providers {
        Providers {
            flags: flags.into_iter().collect(),
            env: self.spin_variables.clone(),
            credentials_dir: self.credentials_directory.clone(),
        }
    }
}

/// The compile cache `args` ask for: `--cache-dir`, else the environment's
/// cache directory; `None` with `--no-cache` or when no directory can be
/// named.
pub fn compile_cache(args: &AppArgs, env: &Environment) -> Option<CompileCache> {
    if args.no_cache {
        return None;
    }
    let dir = args.cache_dir.clone().or(env.cache_directory.clone())?;
    Some(CompileCache::new(dir))
}

/// The options every generation of the app is loaded with. `serving`:
/// whether `--key-value` and `--sqlite` apply (`check` and `compile`
/// write no state).
pub fn load_options(args: &AppArgs, env: &Environment, serving: bool) -> LoadOptions {
    LoadOptions {
        env: args.env.clone(),
        state_dir: args.state_dir.clone(),
        systemd_state_dir: env.state_directory.clone(),
        staging_dir: env.staging_directory(),
        runtime_config: args.runtime_config_file.clone(),
        key_values: if serving {
            args.key_values.clone()
        } else {
            Vec::new()
        },
        sqlite_statements: if serving {
            args.sqlite_statements.clone()
        } else {
            Vec::new()
        },
        compile_cache: compile_cache(args, env),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Environment {
        Environment::from_vars(vars.iter().map(|(k, v)| (k.into(), v.into())))
    }

    #[test]
    fn systemd_directories_win_and_take_the_first_entry() {
        let e = env(&[
            ("STATE_DIRECTORY", "/var/lib/a:/var/lib/b"),
            ("RUNTIME_DIRECTORY", "/run/a"),
            ("CACHE_DIRECTORY", "/var/cache/a"),
            ("XDG_CACHE_HOME", "/home/u/.xdg"),
            ("HOME", "/home/u"),
            ("CREDENTIALS_DIRECTORY", ""),
        ]);
        assert_eq!(e.state_directory, Some("/var/lib/a".into()));
        assert_eq!(e.staging_directory(), PathBuf::from("/run/a/files"));
        assert_eq!(e.cache_directory, Some("/var/cache/a".into()));
        assert_eq!(e.credentials_directory, None, "empty counts as unset");
    }

    #[test]
    fn the_cache_falls_back_to_xdg_then_home() {
        let xdg = env(&[("XDG_CACHE_HOME", "/x"), ("HOME", "/h")]);
        assert_eq!(xdg.cache_directory, Some("/x/wasi-httpd".into()));
        let home = env(&[("XDG_CACHE_HOME", ""), ("HOME", "/h")]);
        assert_eq!(home.cache_directory, Some("/h/.cache/wasi-httpd".into()));
        assert_eq!(env(&[]).cache_directory, None);
    }

    #[test]
    fn only_spin_variables_are_kept_empty_ones_too() {
        let e = env(&[
            ("SPIN_VARIABLE_API_KEY", "k"),
            ("SPIN_VARIABLE_EMPTY", ""),
            ("PATH", "/bin"),
        ]);
        assert_eq!(
            e.spin_variables.into_iter().collect::<Vec<_>>(),
            vec![
                ("SPIN_VARIABLE_API_KEY".to_owned(), "k".to_owned()),
                ("SPIN_VARIABLE_EMPTY".to_owned(), String::new()),
            ]
        );
    }

    #[test]
    fn a_later_flag_wins_and_only_prefixed_environment_is_kept() {
        let env = Environment::from_vars([
            ("SPIN_VARIABLE_A".into(), "x".into()),
            ("PATH".into(), "/bin".into()),
            ("CREDENTIALS_DIRECTORY".into(), "/run/credentials/x".into()),
        ]);
        let p = env.providers(vec![("a".into(), "1".into()), ("a".into(), "2".into())]);
        assert_eq!(p.flags.get("a").map(String::as_str), Some("2"));
        assert_eq!(p.env.keys().collect::<Vec<_>>(), vec!["SPIN_VARIABLE_A"]);
        assert_eq!(p.credentials_dir, Some(PathBuf::from("/run/credentials/x")));
    }
}
