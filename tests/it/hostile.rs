//! Hostile apps: an app's manifest cannot give its guests more than the
//! app's own files.

use crate::support::{Daemon, TestApp, run};

fn app(files: &str) -> TestApp {
    let app = TestApp::new(&format!(
        "spin_manifest_version = 2\n[application]\nname = \"files\"\n\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"env\"\n\n[component.env]\nsource = \"{{envfiles.wasm}}\"\nfiles = [{files}]\n"
    ));
    app.write("static/a.txt", "a");
    std::os::unix::fs::symlink("a.txt", app.path().join("static/alias")).unwrap();
    app
}

#[test]
fn files_linking_out_of_the_app_are_a_load_error_naming_the_link() {
    for files in [
        "\"static/**/*\"",
        "{ source = \"static\", destination = \"/data\" }",
    ] {
        let app = app(files);
        std::os::unix::fs::symlink("/etc", app.path().join("static/etc")).unwrap();
        let out = run(&["check", app.path().to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(78), "{files}: {err}");
        assert!(err.contains("static/etc"), "{files}: {err}");
        assert!(
            err.contains("outside the application directory"),
            "{files}: {err}"
        );
    }
}

#[test]
fn a_mounted_directory_that_is_a_link_out_of_the_app_is_refused() {
    let app = app("{ source = \"outside\", destination = \"/\" }");
    std::os::unix::fs::symlink("/etc", app.path().join("outside")).unwrap();
    let out = run(&["check", app.path().to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{err}");
    assert!(err.contains("outside the application directory"), "{err}");
}

#[test]
fn a_directory_mounted_in_place_keeps_its_links_inside_it() {
    // A single directory at `/` is mounted as it is: wasmtime's
    // capability-based filesystem refuses links that leave it.
    let app = app("{ source = \"static\", destination = \"/\" }");
    std::os::unix::fs::symlink("/etc", app.path().join("static/etc")).unwrap();
    let daemon = Daemon::start(&app, &[]);
    let leaked = daemon.get("/file/etc/passwd");
    assert_ne!(leaked.status, 200, "{}", leaked.text());
    assert!(!leaked.text().contains("root:"), "{}", leaked.text());
    assert_eq!(daemon.get("/file/alias").text(), "a");
}

#[test]
fn links_inside_the_app_are_served() {
    for files in [
        "\"static/**/*\"",
        "{ source = \"static\", destination = \"/data\" }",
    ] {
        let daemon = Daemon::start(&app(files), &[]);
        let prefix = if files.contains("/data") {
            "data"
        } else {
            "static"
        };
        assert_eq!(
            daemon.get(&format!("/file/{prefix}/alias")).text(),
            "a",
            "{files}"
        );
        assert_eq!(
            daemon.get(&format!("/file/{prefix}/a.txt")).text(),
            "a",
            "{files}"
        );
    }
}
