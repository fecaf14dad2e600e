//! The unit files, checked the way systemd reads them: `systemd-analyze
//! verify` is clean (on copies whose ExecStart points at the built binary)
//! and `systemd-analyze security --offline=true` scores the service and an
//! instance of the template at 1.5 or better.

use std::path::Path;
use std::process::Command;

use crate::support::{BIN, require_tool};

const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// Copies of the units with ExecStart at the built binary, plus an
/// instance (`shop`) of the templates.
fn unit_copies(dir: &Path) {
    for entry in std::fs::read_dir(Path::new(REPO).join("systemd")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if !(name.ends_with(".service") || name.ends_with(".socket")) {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("/usr/bin/wasi-httpd", BIN);
        std::fs::write(dir.join(&name), &text).unwrap();
        if name.contains("@.") {
            std::fs::write(dir.join(name.replace("@.", "@shop.")), &text).unwrap();
        }
    }
}

#[test]
fn units_verify_clean_with_the_built_binary() {
    require_tool("systemd-analyze", "systemd");
    let dir = tempfile::tempdir().unwrap();
    unit_copies(dir.path());
    // Documentation=man:wasi-httpd(8) must resolve: point man at ours.
    let manpath = dir.path().join("man");
    std::fs::create_dir_all(manpath.join("man8")).unwrap();
    std::fs::copy(
        Path::new(REPO).join("man/wasi-httpd.8"),
        manpath.join("man8/wasi-httpd.8"),
    )
    .unwrap();
    require_tool("man", "man-db");
    let units = [
        "wasi-httpd.socket",
        "wasi-httpd-https.socket",
        "wasi-httpd-admin.socket",
        "wasi-httpd.service",
        "wasi-httpd@shop.socket",
        "wasi-httpd@shop.service",
    ];
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .args(units.iter().map(|u| dir.path().join(u)))
        .env("MANPATH", &manpath)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "systemd-analyze verify:\n{said}"
    );
}

#[test]
fn service_and_template_instance_score_at_most_1_5_offline() {
    require_tool("systemd-analyze", "systemd");
    let dir = tempfile::tempdir().unwrap();
    unit_copies(dir.path());
    for unit in ["wasi-httpd.service", "wasi-httpd@shop.service"] {
        let out = Command::new("systemd-analyze")
            .args(["security", "--offline=true", "--no-pager"])
            .arg(dir.path().join(unit))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let score: f64 = text
            .lines()
            .find_map(|l| {
                l.split_once("Overall exposure level for ")?
                    .1
                    .split_once(": ")?
                    .1
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()
            })
            .unwrap_or_else(|| panic!("no exposure level for {unit}:\n{text}"));
        assert!(score <= 1.5, "{unit} exposure {score}:\n{text}");
    }
}
