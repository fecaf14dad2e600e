//! One way for the tests and the benchmark to write a spin.toml: an
//! application, its HTTP triggers and its components, with room for any
//! other TOML a test needs. A component's source is a built test guest,
//! written `{name.wasm}` for [`TestApp`](crate::support::TestApp) to
//! resolve. Tests of invalid manifests write their text by hand: the
//! builder only makes valid ones.

use crate::support::TestApp;

/// A spin.toml (manifest version 2) being built.
#[derive(Clone)]
pub struct Manifest {
    name: String,
    top: String,
    triggers: String,
    components: String,
}

impl Manifest {
    /// An application called `name`, with no triggers yet.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            top: String::new(),
            triggers: String::new(),
            components: String::new(),
        }
    }

    /// TOML placed after `[application]`, before the triggers: a
    /// `[variables]` table, application keys, …
    pub fn toml(mut self, text: &str) -> Self {
        self.top.push_str(text.trim_end());
        self.top.push('\n');
        self
    }

    /// A `[[trigger.http]]` with `route` (a TOML value, e.g. `"\"/...\""`
    /// or `"{ private = true }"`) and any other keys of the trigger
    /// (`component = "echo"`, `static_response = { … }`, …).
    pub fn trigger(mut self, route: &str, keys: &str) -> Self {
        self.triggers.push_str(&format!(
            "\n[[trigger.http]]\nroute = {route}\n{}\n",
            keys.trim_end()
        ));
        self
    }

    /// A trigger from `route` to the component `id`.
    pub fn route(self, route: &str, id: &str) -> Self {
        self.route_with(route, id, "")
    }

    /// A trigger from `route` to the component `id`, with more `keys` of
    /// the trigger (`executor = { type = "wagi" }`, …).
    pub fn route_with(self, route: &str, id: &str, keys: &str) -> Self {
        let route = quoted(route);
        self.trigger(&route, &format!("component = {}\n{keys}", quoted(id)))
    }

    /// A private trigger (`route = { private = true }`) of `id`, reachable
    /// only in process.
    pub fn private(self, id: &str) -> Self {
        self.trigger("{ private = true }", &format!("component = {}", quoted(id)))
    }

    /// A trigger from `route` to a static response with `body`.
    pub fn static_response(self, route: &str, body: &str) -> Self {
        let route = quoted(route);
        self.trigger(
            &route,
            &format!("static_response = {{ body = {} }}", quoted(body)),
        )
    }

    /// `[component.<id>]` whose source is the built guest `guest`, with
    /// `keys` (more TOML lines of the component's table) after it.
    pub fn component(mut self, id: &str, guest: &str, keys: &str) -> Self {
        self.components.push_str(&format!(
            "\n[component.{id}]\nsource = \"{{{guest}.wasm}}\"\n{}\n",
            keys.trim_end()
        ));
        self
    }

    /// The manifest's text (guests still as `{name.wasm}`).
    pub fn text(&self) -> String {
        format!(
            "spin_manifest_version = 2\n[application]\nname = {}\n{}{}{}",
            quoted(&self.name),
            self.top,
            self.triggers,
            self.components
        )
    }

    /// The manifest written, with its guests resolved, in a new app
    /// directory.
    pub fn app(&self) -> TestApp {
        TestApp::new(&self.text())
    }
}

/// `text` as a TOML basic string (a JSON string is one).
fn quoted(text: &str) -> String {
    serde_json::to_string(text).expect("a JSON string")
}
