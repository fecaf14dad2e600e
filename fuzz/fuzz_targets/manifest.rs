//! Fuzz target: spin.toml parsing and validation (version 2, and version 1
//! converted to version 2). Any text must give an app or an error naming
//! the file, never a panic.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let path = Path::new("/nonexistent/fuzz/spin.toml");
    if let Err(error) = wasi_httpd::fuzzing::from_text(path, text) {
        let message = format!("{error:#}");
        assert!(
            message.contains("spin.toml"),
            "an error that does not name the file: {message}"
        );
    }
});
