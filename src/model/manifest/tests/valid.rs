//! Manifests that load, and the model they produce.

use std::collections::BTreeMap;

use super::super::*;
use super::{TempApp, manifest};

const FULL: &str = r#"
spin_manifest_version = 2

[application]
name = "shop"
version = "1.2.3"
description = "A shop"
authors = ["Jane <jane@example.com>"]
targets = ["spin-up:3.2"]

[application.tool.lint]
level = "strict"

[variables]
api_host = { default = "api.example.com" }
api_token = { required = true, secret = true, description = "Token" }

[[trigger.http]]
route = "/api/..."
component = "api"
executor = { type = "spin" }

[[trigger.http]]
id = "legacy"
route = "/cgi/..."
component = "cgi"
executor = { type = "wagi", argv = "${SCRIPT_NAME} -v" }

[[trigger.http]]
route = { private = true }
component = "api"
executor = { type = "http" }

[[trigger.http]]
route = "/teapot"
static_response = { status_code = 418, headers = { x-z = "1", content-type = "text/plain" }, body = "short and stout" }

[component.api]
source = "target/api.wasm"
description = "The API"
allowed_outbound_hosts = ["https://{{ api_host }}", "redis://localhost:6379"]
key_value_stores = ["default", "my-store"]
sqlite_databases = ["default", "analytics_db"]
environment = { RUST_LOG = "info", "WEIRD.KEY" = "x" }
dependencies_inherit_configuration = false
dependencies = {}

[component.api.variables]
token = "{{ api_token }}"
url = "https://{{api_host}}/v1"

[component.api.build]
command = "cargo build --release"
watch = ["src/**/*.rs"]

[component.api.tool.clean]
command = "cargo clean"

[component.cgi]
source = "cgi.wasm"
"#;

#[test]
fn full_manifest_parses_into_the_model() {
    let t = TempApp::new();
    t.file("target/api.wasm", "")
        .file("cgi.wasm", "")
        .manifest(FULL);
    let app = t.load();

    assert_eq!(app.manifest_path, t.path("spin.toml"));
    assert_eq!(app.base_dir, t.dir);
    assert_eq!(app.name, "shop");
    assert_eq!(app.version.as_deref(), Some("1.2.3"));
    assert_eq!(app.description.as_deref(), Some("A shop"));
    assert_eq!(app.authors, ["Jane <jane@example.com>"]);
    assert!(app.warnings.is_empty(), "{:?}", app.warnings);

    let vars: BTreeMap<String, Variable> = [
        (
            "api_host".to_owned(),
            Variable {
                default: Some("api.example.com".into()),
                required: false,
                secret: false,
                description: None,
            },
        ),
        (
            "api_token".to_owned(),
            Variable {
                default: None,
                required: true,
                secret: true,
                description: Some("Token".into()),
            },
        ),
    ]
    .into();
    assert_eq!(app.variables, vars);

    let expected_triggers = vec![
        HttpTrigger {
            id: "api-http-trigger".into(),
            route: RouteSpec::Path("/api/...".into()),
            handler: Handler::Component("api".into()),
            executor: Some(Executor::Spin),
            middleware: vec![],
        },
        HttpTrigger {
            id: "legacy".into(),
            route: RouteSpec::Path("/cgi/...".into()),
            handler: Handler::Component("cgi".into()),
            executor: Some(Executor::Wagi(WagiExecutor {
                argv: "${SCRIPT_NAME} -v".into(),
                entrypoint: "_start".into(),
            })),
            middleware: vec![],
        },
        HttpTrigger {
            id: "http-trigger1".into(),
            route: RouteSpec::Private,
            handler: Handler::Component("api".into()),
            executor: Some(Executor::Http),
            middleware: vec![],
        },
        HttpTrigger {
            id: "http-trigger2".into(),
            route: RouteSpec::Path("/teapot".into()),
            handler: Handler::Static(StaticResponse {
                status: 418,
                headers: vec![
                    ("x-z".into(), "1".into()),
                    ("content-type".into(), "text/plain".into()),
                ],
                body: Some("short and stout".into()),
            }),
            executor: None,
            middleware: vec![],
        },
    ];
    assert_eq!(app.triggers, expected_triggers);

    let api = Component {
        id: "api".into(),
        source: t.path("target/api.wasm"),
        description: Some("The API".into()),
        files: vec![],
        environment: [("RUST_LOG", "info"), ("WEIRD.KEY", "x")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into(),
        allowed_outbound_hosts: vec![
            "https://{{ api_host }}".into(),
            "redis://localhost:6379".into(),
        ],
        variables: [
            ("token", "{{ api_token }}"),
            ("url", "https://{{api_host}}/v1"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into(),
        key_value_stores: vec!["default".into(), "my-store".into()],
        sqlite_databases: vec!["default".into(), "analytics_db".into()],
        ai_models: vec![],
        dependencies: vec![],
    };
    assert_eq!(app.components["api"], api);
    assert_eq!(app.components["cgi"].source, t.path("cgi.wasm"));
    assert_eq!(app.components.len(), 2);
}

#[test]
fn loads_from_a_manifest_file_path_too() {
    let t = TempApp::new();
    t.file("app.wasm", "").file(
        "other.toml",
        &manifest("[[trigger.http]]\nroute = \"/\"\ncomponent = \"a\"\n[component.a]\nsource = \"app.wasm\"\n"),
    );
    let app = load(&t.path("other.toml")).unwrap();
    assert_eq!(app.manifest_path, t.path("other.toml"));
    assert_eq!(app.triggers[0].id, "a-http-trigger");
}

#[test]
fn inline_components_get_spin_generated_ids() {
    let t = TempApp::new();
    t.file("app.wasm", "").manifest(&manifest(
        r#"
[[trigger.http]]
route = "/one"
component = { source = "app.wasm", environment = { A = "1" } }

[[trigger.http]]
id = "web"
route = "/two"
component = { source = "app.wasm" }

[[trigger.http]]
id = "taken"
route = "/three"
component = { source = "app.wasm" }

[[trigger.http]]
id = "Not_Kebab"
route = "/four"
component = { source = "app.wasm" }

[[trigger.http]]
route = "/five"
component = "web-component"

[component.taken-component]
source = "app.wasm"
"#,
    ));
    let app = t.load();
    let got: Vec<(&str, &Handler)> = app
        .triggers
        .iter()
        .map(|tr| (tr.id.as_str(), &tr.handler))
        .collect();
    let c = |s: &str| Handler::Component(s.to_owned());
    assert_eq!(
        got,
        [
            ("http-trigger1", &c("http-trigger1-component")),
            ("web", &c("web-component")),
            ("taken", &c("inline-component1")),
            ("Not_Kebab", &c("inline-component2")),
            ("web-component-http-trigger", &c("web-component")),
        ]
    );
    let inline = &app.components["http-trigger1-component"];
    assert_eq!(inline.id, "http-trigger1-component");
    assert_eq!(inline.source, t.path("app.wasm"));
    assert_eq!(inline.environment["A"], "1");
    assert_eq!(app.components.len(), 5);
}

#[test]
fn generated_trigger_ids_skip_taken_ones() {
    let t = TempApp::new();
    t.file("app.wasm", "").manifest(&manifest(
        r#"
[[trigger.http]]
route = "/a"
component = "api"
[[trigger.http]]
route = "/b"
component = "api"
[[trigger.http]]
id = "http-trigger1"
route = "/c"
component = "api"
[component.api]
source = "app.wasm"
"#,
    ));
    let ids: Vec<String> = t.load().triggers.into_iter().map(|t| t.id).collect();
    assert_eq!(ids, ["api-http-trigger", "http-trigger2", "http-trigger1"]);
}

#[test]
fn private_route_and_static_response_defaults() {
    let t = TempApp::new();
    t.manifest(&manifest(
        "[[trigger.http]]\nroute = { private = true }\nstatic_response = {}\n",
    ));
    let app = t.load();
    assert_eq!(
        app.triggers,
        [HttpTrigger {
            id: "http-trigger1".into(),
            route: RouteSpec::Private,
            handler: Handler::Static(StaticResponse {
                status: 200,
                headers: vec![],
                body: None,
            }),
            executor: None,
            middleware: vec![],
        }]
    );
    assert!(app.components.is_empty());
}

#[test]
fn wagi_executor_defaults_match_spin() {
    let t = TempApp::new();
    t.file("app.wasm", "").manifest(&manifest(
        "[[trigger.http]]\nroute = \"/\"\ncomponent = \"a\"\nexecutor = { type = \"wagi\" }\n\
         [component.a]\nsource = \"app.wasm\"\n",
    ));
    assert_eq!(
        t.load().triggers[0].executor,
        Some(Executor::Wagi(WagiExecutor {
            argv: "${SCRIPT_NAME} ${ARGS}".into(),
            entrypoint: "_start".into(),
        }))
    );
}

#[test]
fn base_slash_is_accepted_with_a_deprecation_warning() {
    let t = TempApp::new();
    t.manifest(&manifest(
        "[application.trigger.http]\nbase = \"/\"\n[application.trigger.redis]\naddress = \"redis://x\"\n\
         [[trigger.http]]\nroute = \"/\"\nstatic_response = { body = \"hi\" }\n",
    ));
    let app = t.load();
    assert_eq!(app.warnings.len(), 1, "{:?}", app.warnings);
    super::assert_has(
        &app.warnings[0],
        &[
            "spin.toml: line 5:",
            "`application.trigger.http.base`",
            "deprecated",
            "ignored",
            "can be removed",
        ],
    );
}

#[test]
fn legacy_allowed_http_hosts_are_converted_with_a_warning() {
    let t = TempApp::new();
    t.file("app.wasm", "").manifest(&manifest(
        r#"[[trigger.http]]
route = "/"
component = "a"
[component.a]
source = "app.wasm"
allowed_outbound_hosts = ["redis://db:6379"]
allowed_http_hosts = ["example.com", "self"]
"#,
    ));
    let app = t.load();
    assert_eq!(
        app.components["a"].allowed_outbound_hosts,
        [
            "redis://db:6379",
            "http://example.com",
            "https://example.com",
            "http://self"
        ]
    );
    assert_eq!(app.warnings.len(), 1);
    super::assert_has(
        &app.warnings[0],
        &[
            "line 10",
            "allowed_http_hosts",
            "allowed_outbound_hosts = [\"http://example.com\"",
        ],
    );
}
