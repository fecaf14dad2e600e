//! The `check` command: load and compile everything, serve nothing, exit 0
//! or print a clear error that names the file, the key and the fix.

use crate::support::{TestApp, run};

fn check(app: &TestApp) -> (Option<i32>, String, String) {
    let out = run(&["check", app.manifest().to_str().unwrap()]);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_rejected(manifest: &str, needles: &[&str]) {
    let app = TestApp::new(manifest);
    let (code, _, err) = check(&app);
    assert_eq!(code, Some(78), "stderr: {err}");
    assert!(
        err.contains("spin.toml"),
        "error does not name the file: {err}"
    );
    for needle in needles {
        assert!(err.contains(needle), "error lacks {needle:?}: {err}");
    }
}

#[test]
fn check_accepts_a_good_app_and_compiles_it() {
    let app = TestApp::new(
        "spin_manifest_version = 2\n[application]\nname = \"good\"\n\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"hello\"\n\n[component.hello]\nsource = \"{hello.wasm}\"\n",
    );
    let (code, out, err) = check(&app);
    assert_eq!(code, Some(0), "stderr: {err}");
    assert!(
        out.contains("'good' is valid") && out.contains("1 components compiled"),
        "{out}"
    );
}

#[test]
fn check_names_an_unknown_key_and_its_line() {
    assert_rejected(
        "spin_manifest_version = 2\n[application]\nname = \"x\"\n\n[[trigger.http]]\nroute = \"/\"\ncomponent = \"c\"\n\n[component.c]\nsorce = \"{hello.wasm}\"\n",
        &["sorce", "line 10", "source"],
    );
}

#[test]
fn check_names_a_trigger_with_a_missing_component() {
    assert_rejected(
        "spin_manifest_version = 2\n[application]\nname = \"x\"\n\n[[trigger.http]]\nroute = \"/\"\ncomponent = \"nope\"\n",
        &["trigger.http[0].component", "nope"],
    );
}

#[test]
fn check_rejects_both_component_and_static_response() {
    assert_rejected(
        "spin_manifest_version = 2\n[application]\nname = \"x\"\n\n[[trigger.http]]\nroute = \"/\"\ncomponent = \"c\"\nstatic_response = { body = \"x\" }\n\n[component.c]\nsource = \"{hello.wasm}\"\n",
        &["trigger.http[0]", "static_response"],
    );
}

#[test]
fn check_rejects_an_invalid_route() {
    assert_rejected(
        "spin_manifest_version = 2\n[application]\nname = \"x\"\n\n[[trigger.http]]\nroute = \"/a/.../b\"\nstatic_response = { body = \"x\" }\n",
        &["/a/.../b"],
    );
}

#[test]
fn check_rejects_a_missing_wasm_file() {
    assert_rejected(
        "spin_manifest_version = 2\n[application]\nname = \"x\"\n\n[[trigger.http]]\nroute = \"/\"\ncomponent = \"c\"\n\n[component.c]\nsource = \"target/not-built.wasm\"\n",
        &["component.c.source", "not-built.wasm", "does not exist"],
    );
}

#[test]
fn check_rejects_a_file_that_is_not_wasm() {
    let app = TestApp::new(
        "spin_manifest_version = 2\n[application]\nname = \"x\"\n\n[[trigger.http]]\nroute = \"/\"\ncomponent = \"c\"\n\n[component.c]\nsource = \"fake.wasm\"\n",
    );
    app.write("fake.wasm", "this is not wasm");
    let (code, _, err) = check(&app);
    assert_eq!(code, Some(78));
    assert!(
        err.contains("component.c.source") && err.contains("not a valid WebAssembly component"),
        "{err}"
    );
}

#[test]
fn check_rejects_a_component_without_an_http_export_naming_its_exports() {
    assert_rejected(
        "spin_manifest_version = 2\n[application]\nname = \"x\"\n\n[[trigger.http]]\nroute = \"/\"\ncomponent = \"cmd\"\n\n[component.cmd]\nsource = \"{command.wasm}\"\n",
        &["`cmd`", "wasi:cli/run", "wasi:http/incoming-handler"],
    );
}

#[test]
fn check_reads_manifest_version_1_and_names_what_it_lacks() {
    assert_rejected(
        "spin_manifest_version = \"1\"\nname = \"old\"\n",
        &[
            "version 1 manifest",
            "`trigger`",
            "trigger = { type = \"http\" }",
        ],
    );
}
