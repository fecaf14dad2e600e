//! Tests for manifest loading: each writes a small app into a fresh temp directory.

mod dependencies;
mod errors;
mod files;
mod valid;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{App, load};

/// A throw-away application directory, removed on drop.
pub(super) struct TempApp {
    pub dir: PathBuf,
}

impl TempApp {
    pub fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "wasi-httpd-manifest-test-{}-{n}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let dir = std::fs::canonicalize(&dir).unwrap();
        TempApp { dir }
    }

    /// Writes a file (creating parent directories) relative to the app directory.
    pub fn file(&self, rel: &str, contents: &str) -> &Self {
        let path = self.dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
        self
    }

    pub fn manifest(&self, text: &str) -> &Self {
        self.file("spin.toml", text)
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    pub fn load(&self) -> App {
        match load(&self.dir) {
            Ok(app) => app,
            Err(e) => panic!("expected the manifest to load, got: {e:#}"),
        }
    }

    /// Loads `manifest` (with `app.wasm` present) and returns the error text.
    pub fn err(&self, manifest: &str) -> String {
        self.file("app.wasm", "");
        self.manifest(manifest);
        match load(&self.dir) {
            Ok(app) => panic!("expected an error, loaded: {app:#?}"),
            Err(e) => format!("{e:#}"),
        }
    }
}

impl Drop for TempApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Asserts that `text` contains every one of `parts`.
pub(super) fn assert_has(text: &str, parts: &[&str]) {
    for p in parts {
        assert!(text.contains(p), "expected {p:?} in:\n{text}");
    }
}

/// A minimal valid manifest header plus `rest`.
pub(super) fn manifest(rest: &str) -> String {
    format!("spin_manifest_version = 2\n[application]\nname = \"t\"\n{rest}")
}

pub(super) fn rel(p: &Path, base: &Path) -> String {
    p.strip_prefix(base).unwrap().to_str().unwrap().to_owned()
}
