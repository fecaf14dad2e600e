//! `greeter` test guest: no HTTP at all, a library component exporting
//! `test:deps/greet@0.1.0` (WIT in `../wit/greet`). Apps use it as a
//! component dependency: `greetuser` imports the interface and wasi-httpd
//! composes the two at load. `greeting-from-env` reads the environment,
//! which a dependency gets only when it inherits `environment`, and
//! `read-file` the files, which it gets only when it inherits `files`.

wit_bindgen::generate!({ world: "greeter", path: "../wit/greet" });

struct Greeter;

impl exports::test::deps::greet::Guest for Greeter {
    fn greet(name: String) -> String {
        format!("hello, {name}!")
    }

    fn greeting_from_env() -> String {
        std::env::var("GREETING").unwrap_or_else(|_| "(unset)".to_owned())
    }

    fn read_file(path: String) -> String {
        std::fs::read_to_string(&path).unwrap_or_else(|e| format!("error: {e}"))
    }
}

export!(Greeter);
