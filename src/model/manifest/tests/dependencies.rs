//! `[component.<id>.dependencies]` and `dependencies.middleware`: what
//! loads, and the errors for what cannot be composed (each names the file,
//! the key and the fix).

use super::{TempApp, assert_has, manifest};
use crate::model::manifest::Inherit;

const USER: &str = "[[trigger.http]]\nroute = \"/\"\ncomponent = \"user\"\n[component.user]\nsource = \"app.wasm\"\n";

fn deps(t: &TempApp, table: &str) -> String {
    t.file("lib.wasm", "");
    t.err(&manifest(&format!(
        "{USER}[component.user.dependencies]\n{table}\n"
    )))
}

#[test]
fn dependencies_and_middleware_load_resolved() {
    let t = TempApp::new();
    t.file("app.wasm", "")
        .file("lib.wasm", "")
        .file("mw.wasm", "");
    t.manifest(&manifest(
        "[[trigger.http]]\nroute = \"/\"\ncomponent = \"user\"\n\
         dependencies = { middleware = [{ component = \"lib\" }, { path = \"mw.wasm\", inherit_configuration = true }] }\n\
         [component.user]\nsource = \"app.wasm\"\n\
         [component.user.dependencies]\n\
         \"my:lib/greet\" = { path = \"lib.wasm\", export = \"my:lib/hello@1.0.0\", inherit_configuration = [\"environment\"] }\n\
         \"my:other\" = { component = \"lib\" }\n\
         [component.lib]\nsource = \"lib.wasm\"\n",
    ));
    let app = t.load();
    let user = &app.components["user"];
    assert_eq!(user.dependencies.len(), 2);
    let greet = &user.dependencies[0];
    assert_eq!(greet.name.as_deref(), Some("my:lib/greet"));
    assert_eq!(greet.source, t.path("lib.wasm"));
    assert_eq!(greet.export.as_deref(), Some("my:lib/hello@1.0.0"));
    assert_eq!(greet.inherit, Inherit::Only(vec!["environment".into()]));
    let other = &user.dependencies[1];
    assert_eq!(other.source, t.path("lib.wasm"));
    assert_eq!(other.component.as_deref(), Some("lib"));
    assert_eq!(other.inherit, Inherit::Only(vec![]));
    let middleware = &app.triggers[0].middleware;
    assert_eq!(middleware.len(), 2);
    assert_eq!(middleware[0].source, t.path("lib.wasm"));
    assert_eq!(middleware[1].source, t.path("mw.wasm"));
    assert_eq!(middleware[1].inherit, Inherit::All);
}

#[test]
fn component_level_inheritance_applies_to_every_dependency() {
    let t = TempApp::new();
    t.file("app.wasm", "").file("lib.wasm", "");
    t.manifest(&manifest(&format!(
        "{USER}dependencies_inherit_configuration = true\n[component.user.dependencies]\n\"a:b/c\" = {{ path = \"lib.wasm\" }}\n"
    )));
    assert_eq!(
        t.load().components["user"].dependencies[0].inherit,
        Inherit::All
    );
    let e = t.err(&manifest(&format!(
        "{USER}dependencies_inherit_configuration = false\n[component.user.dependencies]\n\"a:b/c\" = {{ path = \"lib.wasm\", inherit_configuration = true }}\n"
    )));
    assert_has(
        &e,
        &[
            "line 11",
            "mutually exclusive",
            "`dependencies_inherit_configuration`",
        ],
    );
}

#[test]
fn invalid_dependencies_are_errors_with_fixes() {
    let t = TempApp::new();
    for (table, needles) in [
        (
            "\"My:Lib\" = { path = \"lib.wasm\" }",
            &["invalid dependency name", "kebab-case", "`my:lib/greet`"][..],
        ),
        (
            "\"a:b\" = { path = \"lib.wasm\" }\n\"a:b/c\" = { path = \"lib.wasm\" }",
            &["conflicts with \"a:b\""],
        ),
        (
            "\"a:b\" = { path = \"lib.wasm\", export = \"x:y/z\" }",
            &["cannot name one `export`", "\"a:b/<interface>\""],
        ),
        (
            "\"a:b/c\" = { url = \"https://example.com/x.wasm\", digest = \"sha256:00\" }",
            &["is a URL", "download the .wasm file"],
        ),
        (
            "\"a:b/c\" = { version = \"1.0\", registry = \"example.com\" }",
            &["is a registry package"],
        ),
        (
            "\"a:b/c\" = { export = \"a:b/c\" }",
            &["exactly one source: `path`", "or `component`"],
        ),
        (
            "\"a:b/c\" = { path = \"missing.wasm\" }",
            &[
                "`component.user.dependencies.\"a:b/c\".path`",
                "does not exist",
            ],
        ),
        (
            "\"a:b/c\" = { component = \"nope\" }",
            &["refers to component \"nope\", which does not exist"],
        ),
    ] {
        let e = deps(&t, table);
        assert_has(&e, &["spin.toml"]);
        assert_has(&e, needles);
    }
}

#[test]
fn unknown_inherited_keys_are_ignored_as_spin_ignores_them() {
    let t = TempApp::new();
    t.file("app.wasm", "").file("lib.wasm", "");
    t.manifest(&manifest(&format!(
        "{USER}[component.user.dependencies]\n\"a:b/c\" = {{ path = \"lib.wasm\", inherit_configuration = [\"network\", \"files\"] }}\n"
    )));
    assert_eq!(
        t.load().components["user"].dependencies[0].inherit,
        Inherit::Only(vec!["files".into()])
    );
}

#[test]
fn a_component_used_as_a_dependency_has_no_permissions_of_its_own() {
    let t = TempApp::new();
    let e = deps(
        &t,
        "\"a:b/c\" = { component = \"lib\" }\n[component.lib]\nsource = \"lib.wasm\"\nallowed_outbound_hosts = [\"https://example.com\"]\nkey_value_stores = [\"default\"]",
    );
    assert_has(
        &e,
        &[
            "spin.toml",
            "component `lib` cannot be used as a dependency of `user`",
            "allowed_outbound_hosts, key_value_stores",
        ],
    );
}

#[test]
fn trigger_dependencies_other_than_middleware_are_errors() {
    let t = TempApp::new();
    let e = t.err(&manifest(
        "[[trigger.http]]\nroute = \"/\"\ncomponent = \"a\"\ndependencies = { auth = [] }\n[component.a]\nsource = \"app.wasm\"\n",
    ));
    assert_has(
        &e,
        &[
            "line 7",
            "`trigger.http[0].dependencies.auth`",
            "only allowed trigger dependency is `middleware`",
        ],
    );
}
