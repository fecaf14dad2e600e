//! The units under a real systemd (PID 1) in a throw-away nspawn container:
//! socket activation, readiness, reload, journald fields, a templated
//! instance and stop (tests/e2e/units.sh), and load through restart,
//! reload and stop (tests/e2e/load.sh). Needs root, as CI has; without it
//! each test says so and skips. One container at a time.

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

use crate::support::{BIN, require_tool, wasm};

/// Containers boot one at a time (2 cores; each runs a whole systemd).
static CONTAINER: Mutex<()> = Mutex::new(());

/// Runs `tests/e2e/<script>` with BIN, the app directory and `args` in a
/// private mount namespace; returns its output, panicking unless it passed.
fn run_e2e(script: &str, app: &Path, args: &[&str]) -> Option<String> {
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("skipped: {script} boots a container under systemd-nspawn and needs root");
        return None;
    }
    require_tool("systemd-nspawn", "systemd-container");
    let _one = CONTAINER
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/e2e")
        .join(script);
    let out = Command::new("timeout")
        .args([
            "600",
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "bash",
        ])
        .arg(&path)
        .arg(BIN)
        .arg(app)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", path.display()));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && stdout.trim_end().ends_with("PASS"),
        "{script} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{stdout}");
    Some(stdout)
}

#[test]
fn units_serve_reload_log_and_stop_under_real_systemd() {
    let app = tempfile::tempdir().unwrap();
    std::fs::copy(wasm("hello"), app.path().join("hello.wasm")).unwrap();
    std::fs::copy(wasm("envfiles"), app.path().join("envfiles.wasm")).unwrap();
    std::fs::write(
        app.path().join("spin.toml"),
        r#"spin_manifest_version = 2
[application]
name = "e2e"
version = "1.0.0"

[[trigger.http]]
route = "/api/..."
component = "hello"

[[trigger.http]]
route = "/log/..."
component = "logger"

[component.hello]
source = "hello.wasm"

[component.logger]
source = "envfiles.wasm"
"#,
    )
    .unwrap();
    run_e2e("units.sh", app.path(), &[]);
}

#[test]
fn restart_reload_and_stop_under_load_lose_no_request() {
    let app = tempfile::tempdir().unwrap();
    std::fs::copy(wasm("hello"), app.path().join("hello.wasm")).unwrap();
    std::fs::copy(wasm("slow"), app.path().join("slow.wasm")).unwrap();
    let manifest = |api: &str| {
        format!(
            "spin_manifest_version = 2\n[application]\nname = \"load\"\n\n\
             [[trigger.http]]\nroute = \"/api/...\"\n{api}\n\n\
             [[trigger.http]]\nroute = \"/slow\"\ncomponent = \"slow\"\n\n\
             [component.hello]\nsource = \"hello.wasm\"\n\n\
             [component.slow]\nsource = \"slow.wasm\"\n"
        )
    };
    std::fs::write(
        app.path().join("spin.toml"),
        manifest("component = \"hello\""),
    )
    .unwrap();
    std::fs::write(
        app.path().join("spin-v2.toml"),
        manifest("static_response = { body = \"v2\" }"),
    )
    .unwrap();
    if let Some(out) = run_e2e("load.sh", app.path(), &["4000"]) {
        assert_eq!(out.matches("figures:").count(), 3, "{out}");
    }
}
