//! `files` / `exclude_files` resolution.

use super::super::FileMount;
use super::{TempApp, assert_has, manifest, rel};

fn component(files: &str) -> String {
    manifest(&format!(
        "[[trigger.http]]\nroute = \"/\"\ncomponent = \"a\"\n[component.a]\nsource = \"app.wasm\"\n{files}\n"
    ))
}

/// `(kind, host relative to the app dir, guest)` for easy comparison.
fn mounts(t: &TempApp) -> Vec<(&'static str, String, String)> {
    let app = t.load();
    app.components["a"]
        .files
        .iter()
        .map(|m| match m {
            FileMount::File { host, guest } => ("file", rel(host, &t.dir), guest.clone()),
            FileMount::Dir { host, guest } => ("dir", rel(host, &t.dir), guest.clone()),
        })
        .collect()
}

fn tree() -> TempApp {
    let t = TempApp::new();
    t.file("app.wasm", "")
        .file("README.md", "r")
        .file("static/index.html", "i")
        .file("static/old.bak", "b")
        .file("static/css/site.css", "c")
        .file("assets/logo.png", "l")
        .file("config/app.json", "{}");
    t
}

fn own(v: &[(&'static str, &str, &str)]) -> Vec<(&'static str, String, String)> {
    v.iter()
        .map(|(k, h, g)| (*k, h.to_string(), g.to_string()))
        .collect()
}

#[test]
fn globs_are_expanded_in_order_minus_exclusions() {
    let t = tree();
    t.manifest(&component(
        "files = [\"static/**/*\", \"README.md\"]\nexclude_files = [\"**/*.bak\"]",
    ));
    assert_eq!(
        mounts(&t),
        own(&[
            ("file", "static/css/site.css", "/static/css/site.css"),
            ("file", "static/index.html", "/static/index.html"),
            ("file", "README.md", "/README.md"),
        ])
    );
}

#[test]
fn directories_are_mounted_whole_unless_something_inside_is_excluded() {
    let t = tree();
    t.manifest(&component(
        "files = [\"static\", { source = \"assets\", destination = \"/public\" }, { source = \"config/app.json\", destination = \"/etc/app.json\" }]",
    ));
    assert_eq!(
        mounts(&t),
        own(&[
            ("dir", "static", "/static"),
            ("dir", "assets", "/public"),
            ("file", "config/app.json", "/etc/app.json"),
        ])
    );

    t.manifest(&component(
        "files = [{ source = \"static\", destination = \"/\" }, \"assets\"]\nexclude_files = [\"static/*.bak\"]",
    ));
    assert_eq!(
        mounts(&t),
        own(&[
            ("file", "static/css/site.css", "/css/site.css"),
            ("file", "static/index.html", "/index.html"),
            ("dir", "assets", "/assets"),
        ])
    );
}

#[test]
fn globs_without_matches_mount_nothing() {
    let t = tree();
    t.manifest(&component("files = [\"static/*.txt\"]"));
    assert!(mounts(&t).is_empty());
}

#[test]
fn whole_app_globs_warn() {
    let t = tree();
    t.manifest(&component("files = [\"*\"]"));
    let app = t.load();
    assert_eq!(app.warnings.len(), 1);
    assert_has(
        &app.warnings[0],
        &[
            "line 9",
            "`component.a.files[0]` = \"*\"",
            "entire application directory",
            "\"./*\"",
        ],
    );
    let guests: Vec<String> = app.components["a"]
        .files
        .iter()
        .map(|m| match m {
            FileMount::File { guest, .. } | FileMount::Dir { guest, .. } => guest.clone(),
        })
        .collect();
    assert_eq!(guests, ["/README.md", "/app.wasm", "/spin.toml"]);
}

#[test]
fn missing_sources_and_bad_patterns_are_errors() {
    let t = tree();
    let e = t.err(&component(
        "files = [{ source = \"nope\", destination = \"/\" }]",
    ));
    assert_has(
        &e,
        &[
            "line 9",
            "`component.a.files[0]`",
            &format!("{} does not exist", t.path("nope").display()),
            "fix `source`",
        ],
    );
    let e = t.err(&component("files = [\"nope.txt\"]"));
    assert_has(
        &e,
        &[
            "line 9",
            "`component.a.files[0]`",
            "does not exist and doesn't appear to be a glob pattern",
        ],
    );
    let e = t.err(&component("files = [\"static/..\"]"));
    assert_has(
        &e,
        &[
            "line 9",
            "can't end in a parent directory path (..)",
            "source, destination",
        ],
    );
    let e = t.err(&component(
        "files = [\"README.md\"]\nexclude_files = [\"[\"]",
    ));
    assert_has(
        &e,
        &[
            "line 10",
            "`component.a.exclude_files[0]`: invalid glob pattern \"[\"",
        ],
    );
    let e = t.err(&component(
        "files = [{ source = \"README.md\", destination = \"/\" }]",
    ));
    assert_has(
        &e,
        &[
            "line 9",
            "is a file, so its destination \"/\" must be a file name",
            "\"/README.md\"",
        ],
    );
    let e = t.err(&component("files = [{ source = \"static\" }]"));
    assert_has(
        &e,
        &[
            "line 9",
            "missing required key `component.a.files[0].destination`",
        ],
    );
    let e = t.err(&component(
        "files = [{ source = \"static\", destination = \"/\", mode = \"ro\" }]",
    ));
    assert_has(&e, &["unknown key `mode` in `component.a.files[0]`"]);
    let e = t.err(&component("files = [42]"));
    assert_has(
        &e,
        &[
            "`component.a.files[0]` must be a glob pattern string or a `{ source, destination }` table, not an integer",
        ],
    );
}

#[test]
fn paths_outside_the_app_directory_are_rejected() {
    let outside = TempApp::new();
    outside.file("secret.txt", "s");
    let name = outside
        .dir
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let t = tree();
    for files in [
        format!("files = [\"../{name}/*\"]"),
        format!("files = [{{ source = \"../{name}\", destination = \"/\" }}]"),
        format!(
            "files = [{{ source = \"{}\", destination = \"/s\" }}]",
            outside.dir.display()
        ),
        "files = [\"static/../../*\"]".to_owned(),
    ] {
        let e = t.err(&component(&files));
        assert_has(
            &e,
            &[
                "line 9",
                "`component.a.files[0]`",
                "outside the application directory",
                "must be within the application directory",
            ],
        );
    }
}
