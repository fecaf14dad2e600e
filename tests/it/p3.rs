//! wasi:http 0.3 components (`wasi:http/handler@0.3.x`, here built with the
//! `wasip3` crate): served through wasmtime's handler, with instances reused
//! up to `--max-instance-reuse-count` and dropped after
//! `--idle-instance-timeout`.

use std::time::Duration;

use crate::manifest::Manifest;
use crate::support::{Daemon, TestApp};

fn app() -> TestApp {
    Manifest::new("p3")
        .route("/...", "p3")
        .component("p3", "p3hello", "")
        .app()
}

fn count(daemon: &Daemon, path: &str) -> String {
    let response = daemon.get(path);
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.text(), format!("hello from p3 {path}"));
    response
        .header("x-instance-count")
        .expect("x-instance-count")
        .to_owned()
}

#[test]
fn instances_are_reused_up_to_the_reuse_count() {
    let daemon = Daemon::start(&app(), &["--max-instance-reuse-count", "3"]);
    let counts: Vec<String> = (0..7).map(|i| count(&daemon, &format!("/r{i}"))).collect();
    assert_eq!(counts, ["1", "2", "3", "1", "2", "3", "1"]);
    daemon.wait_for_log("wasi:http/handler@0.3");
}

#[test]
fn reuse_count_one_gives_a_fresh_instance_per_request() {
    let daemon = Daemon::start(&app(), &["--max-instance-reuse-count", "1"]);
    let counts: Vec<String> = (0..3).map(|i| count(&daemon, &format!("/f{i}"))).collect();
    assert_eq!(counts, ["1", "1", "1"]);
}

#[test]
fn an_idle_instance_is_dropped_after_the_idle_timeout() {
    let daemon = Daemon::start(&app(), &["--idle-instance-timeout", "200ms"]);
    assert_eq!(count(&daemon, "/a"), "1");
    assert_eq!(count(&daemon, "/b"), "2");
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(
        count(&daemon, "/c"),
        "1",
        "the idle instance was kept past its timeout"
    );
}
