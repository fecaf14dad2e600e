//! `cgi` test guest: a WAGI module, i.e. a plain WASI command that reads
//! the request from its environment and stdin and prints a CGI response.
//!
//! - `QUERY_STRING` `location`: prints only `Location: /moved` (a 302);
//! - `status=418`: prints `Status: 418 I'm a teapot` and a body;
//! - `bad`: prints an invalid `Status` line (a 502);
//! - `empty`: prints nothing (a 500);
//! - otherwise: `Content-Type: text/plain` and a body with its argv (also
//!   as a Rust list, `argv_list`), the
//!   CGI variables the tests check, one `X_*` and one `HTTP_*` variable,
//!   and the stdin it read.
//!
//! Used by the WAGI executor tests.

use std::io::Read;

fn main() {
    let query = std::env::var("QUERY_STRING").unwrap_or_default();
    match query.as_str() {
        "location" => {
            print!("Location: /moved\n\n");
            return;
        }
        "bad" => {
            print!("Status: teapot\n\n");
            return;
        }
        "empty" => return,
        _ => {}
    }
    if query.starts_with("status=418") {
        print!("Status: 418 I'm a teapot\nContent-Type: text/plain\n\nshort and stout\n");
        return;
    }
    let mut stdin = String::new();
    let _ = std::io::stdin().read_to_string(&mut stdin);
    let mut out = String::from("Content-Type: text/plain\n\n");
    out.push_str(&format!("argv={}\n", std::env::args().collect::<Vec<_>>().join(" ")));
    out.push_str(&format!("argv_list={:?}\n", std::env::args().collect::<Vec<_>>()));
    for name in [
        "HTTP_PROXY",
        "REQUEST_METHOD",
        "QUERY_STRING",
        "CONTENT_TYPE",
        "CONTENT_LENGTH",
        "GATEWAY_INTERFACE",
        "SCRIPT_NAME",
        "PATH_INFO",
        "SERVER_NAME",
        "SERVER_PORT",
        "SERVER_SOFTWARE",
        "REMOTE_ADDR",
        "X_FULL_URL",
        "X_MATCHED_ROUTE",
        "HTTP_X_CUSTOM",
        "HTTP_AUTHORIZATION",
    ] {
        out.push_str(&format!("{name}={}\n", std::env::var(name).unwrap_or_else(|_| "<unset>".into())));
    }
    out.push_str(&format!("stdin={stdin}\n"));
    print!("{out}");
}
