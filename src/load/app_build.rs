//! `serve --build` / `check --build`: run each component's
//! `[component.<id>.build] command` before loading, as `spin up --build`
//! does. Only the build tables are read here; the full validation happens
//! when the app is loaded afterwards.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

#[derive(Deserialize)]
struct Manifest {
    #[serde(default)]
    component: BTreeMap<String, ComponentBuild>,
}

#[derive(Deserialize)]
struct ComponentBuild {
    build: Option<Build>,
}

#[derive(Deserialize)]
struct Build {
    command: Commands,
    workdir: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Commands {
    One(String),
    Many(Vec<String>),
}

/// Runs every component's build command, in manifest order of ids. The
/// commands' output goes to stderr so stdout keeps only the route table.
pub fn run(manifest: &Path) -> Result<()> {
    let manifest = if manifest.is_dir() {
        manifest.join("spin.toml")
    } else {
        manifest.to_path_buf()
    };
    let text = std::fs::read_to_string(&manifest)
        .with_context(|| format!("{}: cannot read the manifest", manifest.display()))?;
    let parsed: Manifest = toml::from_str(&text)
        .with_context(|| format!("{}: cannot read the build commands", manifest.display()))?;
    let base = manifest
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    for (id, component) in parsed.component {
        let Some(build) = component.build else {
            continue;
        };
        let dir = match &build.workdir {
            Some(workdir) => base.join(workdir),
            None => base.clone(),
        };
        let commands = match build.command {
            Commands::One(c) => vec![c],
            Commands::Many(cs) => cs,
        };
        for command in commands {
            tracing::info!(component = %id, command = %command, dir = %dir.display(), "building component");
            let status = Command::new("sh")
                .arg("-c")
                .arg(&command)
                .current_dir(&dir)
                .stdin(Stdio::null())
                .stdout(std::io::stderr())
                .status()
                .with_context(|| {
                    format!("component `{id}`: cannot run its build command `{command}`")
                })?;
            if !status.success() {
                bail!(
                    "{}: `component.{id}.build.command` (`{command}` in {}) failed with {status}; fix the build, or serve without --build",
                    manifest.display(),
                    dir.display()
                );
            }
        }
    }
    Ok(())
}
