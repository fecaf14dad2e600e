//! The compile cache: `compile` fills it, `serve` and `check` start from
//! it, an entry that is corrupt or not wasmtime's is replaced (and said
//! so), files are private, `--no-cache` reads and writes nothing.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::manifest::Manifest;
use crate::support::{Daemon, TestApp, run};

fn app() -> TestApp {
    Manifest::new("cached")
        .route("/...", "hello")
        .component("hello", "hello", "")
        .app()
}

/// The cache's entries: (code, checksum) file pairs.
fn entries(dir: &Path) -> Vec<(PathBuf, PathBuf)> {
    let mut code: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    code.retain(|p| p.extension().is_some_and(|e| e == "cwasm"));
    code.into_iter()
        .map(|p| {
            let sum = p.with_extension("sha256");
            (p, sum)
        })
        .collect()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn compile(app: &TestApp, dir: &Path) -> String {
    let out = run(&[
        "compile",
        app.path().to_str().unwrap(),
        "--cache-dir",
        dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn compile_fills_the_cache_and_serve_starts_from_it() {
    let app = app();
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().join("c");
    let said = compile(&app, &dir);
    assert!(said.contains("in the compile cache"), "{said}");
    let found = entries(&dir);
    assert_eq!(found.len(), 1, "{found:?}");
    let (code, sum) = &found[0];
    assert!(sum.is_file());
    assert_eq!((mode(&dir), mode(code), mode(sum)), (0o700, 0o600, 0o600));
    let daemon = Daemon::start(&app, &["--cache-dir", dir.to_str().unwrap()]);
    daemon.wait_for_log("origin=\"compile cache\"");
    assert_eq!(daemon.get("/").status, 200);
}

#[test]
fn a_corrupt_or_foreign_entry_is_replaced_and_said_so() {
    let app = app();
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path();
    compile(&app, dir);
    let (code, sum) = entries(dir).pop().unwrap();
    let good = std::fs::read(&code).unwrap();
    // Truncated: the checksum no longer matches.
    std::fs::write(&code, &good[..good.len() / 2]).unwrap();
    let daemon = Daemon::start(&app, &["--cache-dir", dir.to_str().unwrap()]);
    daemon.wait_for_log("do not match their checksum");
    assert_eq!(daemon.get("/").status, 200);
    drop(daemon);
    assert_eq!(
        std::fs::read(&code).unwrap(),
        good,
        "the entry was not replaced"
    );
    // Not wasmtime's, with a matching checksum: wasmtime refuses it.
    std::fs::write(&code, b"not a compiled component").unwrap();
    let out = std::process::Command::new("sha256sum")
        .arg(&code)
        .output()
        .unwrap();
    let hex = String::from_utf8_lossy(&out.stdout);
    std::fs::write(&sum, hex.split_whitespace().next().unwrap()).unwrap();
    let daemon = Daemon::start(&app, &["--cache-dir", dir.to_str().unwrap()]);
    daemon.wait_for_log("wasmtime refused it");
    assert_eq!(daemon.get("/").status, 200);
    drop(daemon);
    assert_eq!(std::fs::read(&code).unwrap(), good);
}

#[test]
fn no_cache_reads_and_writes_nothing() {
    let app = app();
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().to_str().unwrap();
    let out = run(&[
        "check",
        app.path().to_str().unwrap(),
        "--cache-dir",
        dir,
        "--no-cache",
    ]);
    assert!(out.status.success());
    assert!(entries(cache.path()).is_empty());
    let out = run(&["compile", app.path().to_str().unwrap(), "--no-cache"]);
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--cache-dir"));
}
