//! `command` test guest: a plain WASI command (exports `wasi:cli/run`, no
//! HTTP handler). wasi-httpd must refuse to load it with an error that names
//! the component and what it exports.

fn main() {
    println!("i am a command, not an http handler");
}
