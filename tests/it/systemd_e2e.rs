//! The units under a real systemd (PID 1) in a throw-away nspawn container
//! (tests/e2e/units.sh): socket activation, readiness, reload, journald
//! fields, a templated instance and stop. Needs root, as CI has.

use std::process::Command;

use crate::support::{BIN, ensure_tool, wasm};

#[test]
fn units_serve_reload_log_and_stop_under_real_systemd() {
    assert!(
        nix::unistd::Uid::effective().is_root(),
        "this test boots a container and needs root"
    );
    ensure_tool("systemd-nspawn", "systemd-container");
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
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/units.sh");
    let out = Command::new("timeout")
        .args([
            "400",
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "bash",
            script,
            BIN,
        ])
        .arg(app.path())
        .output()
        .expect("run tests/e2e/units.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.trim_end().ends_with("PASS"),
        "e2e failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{stdout}");
}
