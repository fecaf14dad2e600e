//! Every error names the file, the line, the key path and a fix.

use super::{TempApp, assert_has, manifest};

/// `manifest(rest)` plus a component `a` (source `app.wasm`).
fn with_a(rest: &str) -> String {
    manifest(&format!("{rest}\n[component.a]\nsource = \"app.wasm\"\n"))
}

const ROOT_TRIGGER: &str = "[[trigger.http]]\nroute = \"/\"\ncomponent = \"a\"\n";

#[test]
fn version_1_manifests_load_converted_as_spin_converts_them() {
    let t = TempApp::new();
    t.file("app.wasm", "");
    t.manifest(
        "spin_manifest_version = \"1\"\nname = \"old\"\nversion = \"0.1.0\"\ntrigger = { type = \"http\", base = \"/\" }\n\n[[component]]\nid = \"my_comp\"\nsource = \"app.wasm\"\n[component.trigger]\nroute = \"/hello/...\"\n",
    );
    let app = t.load();
    assert_eq!(app.name, "old");
    assert_eq!(app.version.as_deref(), Some("0.1.0"));
    assert!(app.components.contains_key("my-comp"));
    assert_eq!(app.triggers.len(), 1);
    assert!(
        app.warnings[0].contains("version 1 manifest"),
        "{:?}",
        app.warnings
    );
    // Errors in the converted manifest say where they come from.
    let e = t.err("spin_version = \"1\"\nname = \"older\"\ntrigger = { type = \"http\" }\n");
    assert_has(&e, &["nothing to serve", "version 1 manifest"]);
}

#[test]
fn missing_or_unknown_versions_are_rejected() {
    let t = TempApp::new();
    let e = t.err("[application]\nname = \"x\"\n");
    assert_has(
        &e,
        &[
            "spin.toml: missing `spin_manifest_version`",
            "spin_manifest_version = 2",
        ],
    );
    let e = t.err("spin_manifest_version = 3\n");
    assert_has(
        &e,
        &["line 1", "unsupported manifest version 3", "version 2"],
    );
}

#[test]
fn toml_syntax_errors_have_line_and_column() {
    let t = TempApp::new();
    let e = t.err("spin_manifest_version = 2\n[application\nname = \"x\"\n");
    assert_has(
        &e,
        &[
            "spin.toml: line 2, column",
            "invalid TOML",
            "fix the TOML syntax",
        ],
    );
}

#[test]
fn unknown_keys_are_errors_with_suggestions() {
    let t = TempApp::new();
    let e = t.err(&manifest(&format!(
        "{ROOT_TRIGGER}\n[component.a]\nsorce = \"app.wasm\"\n"
    )));
    assert_has(
        &e,
        &[
            "spin.toml: line 9: unknown key `sorce` in [component.a]",
            "expected one of source, description",
            "did you mean `source`?",
        ],
    );
    let e = t.err(&with_a(&format!("{ROOT_TRIGGER}colour = \"red\"\n")));
    assert_has(
        &e,
        &[
            "line 7",
            "unknown key `colour` in `trigger.http[0]`",
            "remove or rename",
        ],
    );
    let e = t.err(&with_a(&format!("{ROOT_TRIGGER}[app]\nx = 1\n")));
    assert_has(&e, &["unknown key `app` in the top level of the manifest"]);
    let e = t.err(&with_a(&format!(
        "{ROOT_TRIGGER}executor = {{ type = \"wagi\", arg = \"x\" }}\n"
    )));
    assert_has(
        &e,
        &[
            "unknown key `arg` in `trigger.http[0].executor`",
            "did you mean `argv`?",
        ],
    );
}

#[test]
fn application_name_is_required() {
    let t = TempApp::new();
    let e = t.err("spin_manifest_version = 2\n[application]\nversion = \"1\"\n");
    assert_has(
        &e,
        &[
            "line 2",
            "missing required key `application.name` in [application]",
            "name = \"my-app\"",
        ],
    );
}

#[test]
fn base_other_than_slash_is_an_error() {
    let t = TempApp::new();
    let e = t.err(&with_a(&format!(
        "[application.trigger.http]\nbase = \"/api\"\n{ROOT_TRIGGER}"
    )));
    assert_has(
        &e,
        &[
            "line 5",
            "`application.trigger.http.base = \"/api\"` is not supported",
            "remove `base`",
            "prefix each",
        ],
    );
}

#[test]
fn variables_are_validated() {
    let t = TempApp::new();
    let e = t.err(&with_a(&format!(
        "[variables]\napiKey = {{ default = \"x\" }}\n{ROOT_TRIGGER}"
    )));
    assert_has(
        &e,
        &[
            "line 5",
            "invalid variable name `variables.apiKey`",
            "lower_snake_case",
        ],
    );
    let e = t.err(&with_a(&format!(
        "[variables]\nkey = {{ default = \"x\", required = true }}\n{ROOT_TRIGGER}"
    )));
    assert_has(
        &e,
        &[
            "line 5",
            "`variables.key` has both `required = true` and a `default`",
            "remove one",
        ],
    );
    let e = t.err(&with_a(&format!(
        "[variables]\nkey = {{ secret = true }}\n{ROOT_TRIGGER}"
    )));
    assert_has(
        &e,
        &[
            "line 5",
            "`variables.key` must be `required` or have a `default`",
        ],
    );
    let e = t.err(&with_a(&format!(
        "[variables]\nkey = {{ default = 5 }}\n{ROOT_TRIGGER}"
    )));
    assert_has(
        &e,
        &[
            "line 5",
            "`variables.key.default` must be a string, not an integer",
        ],
    );
}

#[test]
fn component_variables_are_validated_against_app_variables() {
    let t = TempApp::new();
    let e = t.err(&with_a(&format!(
        "[variables]\nhost = {{ default = \"h\" }}\n{ROOT_TRIGGER}[component.a.variables]\nurl = \"https://{{{{ hots }}}}\"\n"
    )));
    assert_has(
        &e,
        &[
            "line 10",
            "`component.a.variables.url` refers to unknown application variable `hots` (defined: host)",
            "declare it under [variables]",
        ],
    );
    let e = t.err(&with_a(&format!(
        "{ROOT_TRIGGER}[component.a.variables]\nBad_Name = \"x\"\n"
    )));
    assert_has(
        &e,
        &[
            "line 8",
            "invalid component variable name `component.a.variables.Bad_Name`",
        ],
    );
    let e = t.err(&with_a(&format!(
        "{ROOT_TRIGGER}[component.a.variables]\nx = \"{{{{ open\"\n"
    )));
    assert_has(&e, &["line 8", "`component.a.variables.x`: unmatched '{{'"]);
}

#[test]
fn triggers_need_exactly_one_of_component_and_static_response() {
    let t = TempApp::new();
    let e = t.err(&with_a(
        "[[trigger.http]]\nroute = \"/\"\ncomponent = \"a\"\nstatic_response = { body = \"x\" }\n",
    ));
    assert_has(
        &e,
        &[
            "line 7",
            "`trigger.http[0]` has both `component` and `static_response`",
            "remove one",
        ],
    );
    let e = t.err(&with_a(&format!(
        "{ROOT_TRIGGER}[[trigger.http]]\nroute = \"/b\"\n"
    )));
    assert_has(
        &e,
        &[
            "line 7",
            "`trigger.http[1]` has neither `component` nor `static_response`",
        ],
    );
}

#[test]
fn unknown_component_references_list_known_ids() {
    let t = TempApp::new();
    let e = t.err(&with_a(&format!(
        "{ROOT_TRIGGER}[[trigger.http]]\nroute = \"/b\"\ncomponent = \"b\"\n"
    )));
    assert_has(
        &e,
        &[
            "line 9",
            "`trigger.http[1].component` refers to component \"b\", which does not exist",
            "known component ids: a",
            "add a [component.b] table",
        ],
    );
    let e = t.err(&with_a(
        "[[trigger.http]]\nroute = \"/\"\ncomponent = \"my_comp\"\n",
    ));
    assert_has(
        &e,
        &[
            "line 6",
            "`trigger.http[0].component`: invalid component id \"my_comp\"",
            "separated with '-'",
        ],
    );
}

#[test]
fn only_http_triggers_are_served() {
    let t = TempApp::new();
    let e = t.err(&with_a(&format!(
        "{ROOT_TRIGGER}[[trigger.redis]]\nchannel = \"c\"\ncomponent = \"a\"\n"
    )));
    assert_has(
        &e,
        &[
            "line 7",
            "`trigger.redis`: only HTTP triggers are served",
            "remove them",
        ],
    );
    let e = t.err(&with_a(
        "[trigger.http]\nroute = \"/\"\ncomponent = \"a\"\n",
    ));
    assert_has(
        &e,
        &[
            "`trigger.http` must be an array of tables",
            "[[trigger.http]]",
        ],
    );
    let e = t.err(&with_a(""));
    assert_has(&e, &["missing required key `trigger`", "[[trigger.http]]"]);
}

#[test]
fn routes_are_validated() {
    let t = TempApp::new();
    let e = t.err(&with_a(
        "[[trigger.http]]\nroute = { private = false }\ncomponent = \"a\"\n",
    ));
    assert_has(
        &e,
        &[
            "line 5",
            "`trigger.http[0].route` has { private = false }",
            "\"/api/...\"",
        ],
    );
    let e = t.err(&with_a("[[trigger.http]]\ncomponent = \"a\"\n"));
    assert_has(
        &e,
        &[
            "line 4",
            "missing required key `trigger.http[0].route`",
            "route = \"/api/...\"",
        ],
    );
    let e = t.err(&with_a("[[trigger.http]]\nroute = 5\ncomponent = \"a\"\n"));
    assert_has(
        &e,
        &[
            "line 5",
            "`trigger.http[0].route` must be a string or a table, not an integer",
        ],
    );
}

#[test]
fn executors_and_static_responses_are_validated() {
    let t = TempApp::new();
    let e = t.err(&with_a(&format!(
        "{ROOT_TRIGGER}executor = {{ type = \"cgi\" }}\n"
    )));
    assert_has(
        &e,
        &[
            "line 7",
            "`trigger.http[0].executor.type`: unknown executor type \"cgi\"",
            "\"wagi\"",
        ],
    );
    let e = t.err(&manifest(
        "[[trigger.http]]\nroute = \"/\"\nstatic_response = { status_code = 70000 }\n",
    ));
    assert_has(
        &e,
        &[
            "line 6",
            "`trigger.http[0].static_response.status_code` must be an HTTP status code",
        ],
    );
    let e = t.err(&manifest("[[trigger.http]]\nroute = \"/\"\nstatic_response = { headers = { \"bad header\" = \"x\" } }\n"));
    assert_has(&e, &["line 6", "not a valid HTTP header name"]);
}

#[test]
fn remote_and_registry_sources_are_not_supported_yet() {
    let t = TempApp::new();
    let e = t.err(&manifest(&format!(
        "{ROOT_TRIGGER}[component.a]\nsource = {{ url = \"https://x/a.wasm\", digest = \"sha256:00\" }}\n"
    )));
    assert_has(
        &e,
        &[
            "line 8",
            "`component.a.source` is a URL source",
            "not support yet",
            "download the .wasm",
            "point `source` at the file",
        ],
    );
    let e = t.err(&manifest(&format!(
        "{ROOT_TRIGGER}[component.a]\nsource = {{ registry = \"ttl.sh\", package = \"a:b\", version = \"1.0.0\" }}\n"
    )));
    assert_has(
        &e,
        &[
            "`component.a.source` is a registry source",
            "download the .wasm",
        ],
    );
}

#[test]
fn missing_source_files_name_the_resolved_path() {
    let t = TempApp::new();
    let e = t.err(&manifest(&format!(
        "{ROOT_TRIGGER}[component.a]\nsource = \"target/missing.wasm\"\n"
    )));
    let resolved = t.path("target/missing.wasm");
    assert_has(
        &e,
        &[
            "line 8",
            "`component.a.source`",
            &format!("{} does not exist", resolved.display()),
            "spin build",
        ],
    );
    let e = t.err(&manifest(
        "[[trigger.http]]\nroute = \"/\"\ncomponent = { source = \"nope.wasm\" }\n",
    ));
    assert_has(
        &e,
        &[
            "line 6",
            "`trigger.http[0].component.source`",
            "nope.wasm does not exist",
        ],
    );
    let e = t.err(&manifest(&format!(
        "{ROOT_TRIGGER}[component.a]\nsource = 5\n"
    )));
    assert_has(
        &e,
        &[
            "line 8",
            "`component.a.source` must be a file path string, not an integer",
        ],
    );
    let e = t.err(&manifest(&format!(
        "{ROOT_TRIGGER}[component.a]\ndescription = \"no source\"\n"
    )));
    assert_has(&e, &["line 7", "missing required key `component.a.source`"]);
}

#[test]
fn component_ids_labels_and_dependencies_are_validated() {
    let t = TempApp::new();
    let e = t.err(&manifest(&format!(
        "{ROOT_TRIGGER}[component.my_api]\nsource = \"app.wasm\"\n"
    )));
    assert_has(
        &e,
        &[
            "line 7",
            "invalid component id `component.my_api`",
            "separated with '-'",
            "e.g. `my-component`",
        ],
    );
    let e = t.err(&with_a(&format!(
        "{ROOT_TRIGGER}[component.b]\nsource = \"app.wasm\"\nkey_value_stores = [\"b@d\"]\n"
    )));
    assert_has(
        &e,
        &[
            "line 9",
            "invalid label \"b@d\" in `component.b.key_value_stores[0]`",
        ],
    );
    let e = t.err(&with_a(&format!(
        "{ROOT_TRIGGER}[component.b]\nsource = \"app.wasm\"\n[component.b.dependencies]\n\"x:y/z\" = \"1.0.0\"\n"
    )));
    assert_has(
        &e,
        &[
            "line 10",
            "`component.b.dependencies.\"x:y/z\"` is a registry version",
            "does not download components",
        ],
    );
    let e = t.err(&with_a(&format!(
        "{ROOT_TRIGGER}[component.b]\nsource = \"app.wasm\"\n[component.b.build]\nworkdir = \"b\"\n"
    )));
    assert_has(
        &e,
        &["line 9", "missing required key `component.b.build.command`"],
    );
}

#[test]
fn duplicate_trigger_ids_are_rejected() {
    let t = TempApp::new();
    let e = t.err(&with_a("[[trigger.http]]\nid = \"x\"\nroute = \"/\"\ncomponent = \"a\"\n[[trigger.http]]\nid = \"x\"\nroute = \"/b\"\ncomponent = \"a\"\n"));
    assert_has(
        &e,
        &["line 9", "duplicate trigger id \"x\" in `trigger.http[1]`"],
    );
}

#[test]
fn bad_paths_are_reported() {
    let t = TempApp::new();
    let e = format!("{:#}", super::load(&t.path("nope")).unwrap_err());
    assert_has(&e, &["nope: cannot open the application", "spin.toml"]);
    let e = format!("{:#}", super::load(&t.dir).unwrap_err());
    assert_has(&e, &["no spin.toml in this directory"]);
}
