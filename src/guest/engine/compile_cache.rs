//! The compile cache: components compiled once, loaded again in
//! milliseconds by every later start, reload and `check`.
//!
//! An entry is the component as wasmtime serializes it
//! (`<key>.cwasm`) and the SHA-256 of those bytes (`<key>.sha256`). The
//! key is the SHA-256 of the component's bytes, of wasmtime's engine
//! compatibility hash (its version and every setting that changes the
//! code) and of this program's version, so an entry is only ever found by
//! the engine that can run it. Nothing read from the directory is trusted
//! blindly: an entry whose bytes do not match their hash (truncated,
//! corrupt, written by someone else) or that wasmtime refuses is logged,
//! compiled again and replaced. Files are written to a temporary name with
//! mode 0600 and renamed into place, in a directory of mode 0700.
//!
//! The directory is `--cache-dir`, else `$CACHE_DIRECTORY` (systemd's
//! `CacheDirectory=`), else `$XDG_CACHE_HOME/wasi-httpd`, else
//! `~/.cache/wasi-httpd`; `--no-cache` turns the cache off.

use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Where compiled components are kept.
#[derive(Debug, Clone)]
pub struct CompileCache {
    dir: PathBuf,
}

/// What the cache did for one component, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Loaded from the cache.
    Hit,
    /// Compiled and stored.
    Stored,
    /// Compiled; the entry could not be written (logged).
    NotStored,
}

impl CompileCache {
    /// The cache in `dir` (made at the first store, private to this user).
    pub fn new(dir: PathBuf) -> Self {
        CompileCache { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The compiled `binary`: from the cache when a sound entry is there,
    /// else compiled (by `compile`) and stored. `what` names the component
    /// in the log.
    pub fn get_or_compile(
        &self,
        engine: &Engine,
        binary: &[u8],
        what: &str,
        compile: impl FnOnce() -> Result<Component>,
    ) -> Result<(Component, Outcome)> {
        let started = std::time::Instant::now();
        let key = key(engine, binary);
        let code = self.dir.join(format!("{key}.cwasm"));
        let sum = self.dir.join(format!("{key}.sha256"));
        match self.load(engine, &code, &sum) {
            Ok(Some(component)) => {
                tracing::debug!(
                    component = what,
                    duration_us = started.elapsed().as_micros() as u64,
                    "compile cache hit"
                );
                return Ok((component, Outcome::Hit));
            }
            Ok(None) => {}
            Err(why) => tracing::warn!(
                component = what,
                entry = %code.display(),
                "compile cache entry not used ({why:#}); compiling again and replacing it"
            ),
        }
        let component = compile()?;
        let outcome = match self.store(&component, &code, &sum) {
            Ok(()) => Outcome::Stored,
            Err(error) => {
                tracing::warn!(
                    component = what,
                    dir = %self.dir.display(),
                    "cannot store the compiled component in the compile cache: {error:#}"
                );
                Outcome::NotStored
            }
        };
        Ok((component, outcome))
    }

    /// A sound entry, `None` when there is none, an error when there is one
    /// that cannot be used.
    fn load(&self, engine: &Engine, code: &Path, sum: &Path) -> Result<Option<Component>> {
        let bytes = match std::fs::read(code) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error).context("cannot read it"),
        };
        let expected = std::fs::read_to_string(sum).context("its checksum file is missing")?;
        if expected.trim() != hex(&Sha256::digest(&bytes)) {
            anyhow::bail!("its bytes do not match their checksum (truncated or corrupt)");
        }
        // SAFETY: the file is one this program wrote (its checksum is the
        // one stored beside it, in a directory only this user can write)
        // and wasmtime checks its header against this engine.
        let component = unsafe { Component::deserialize_file(engine, code) }
            .map_err(anyhow::Error::from)
            .context("wasmtime refused it")?;
        Ok(Some(component))
    }

    fn store(&self, component: &Component, code: &Path, sum: &Path) -> Result<()> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .with_context(|| format!("cannot create {}", self.dir.display()))?;
        let bytes = component
            .serialize()
            .map_err(anyhow::Error::from)
            .context("cannot serialize the component")?;
        write_atomically(code, &bytes)?;
        write_atomically(sum, hex(&Sha256::digest(&bytes)).as_bytes())
    }
}

/// Writes `path` through a private temporary file renamed into place, so a
/// reader sees the old file, the new one or none, never half of one.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.with_context(|| format!("cannot write {}", path.display()))
}

/// The entry's name: what the code depends on, hashed.
fn key(engine: &Engine, binary: &[u8]) -> String {
    let mut hasher = ShaHasher(Sha256::new());
    hasher.0.update(env!("CARGO_PKG_VERSION").as_bytes());
    hasher.0.update([0]);
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.0.update([0]);
    hasher.0.update(binary);
    hex(&hasher.0.finalize())
}

/// Feeds `Hash` data to SHA-256 (wasmtime's compatibility hash is a
/// `Hash`, not bytes).
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}
