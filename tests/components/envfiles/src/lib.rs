//! `envfiles` test guest: exposes what the host gave the guest's WASI context.
//!
//! - `GET /env/<NAME>`: `200` with the value of env var `NAME`, `404` if unset.
//! - `GET /file/<path>`: `200` with the bytes of the file `/<path>` (read with
//!   `std::fs`, so through the preopened dirs), `404` with a short reason if it
//!   does not exist, `500` with the reason on any other error.
//! - `GET /files`: `200` with every path under `/`, recursively, one per line,
//!   sorted, directories ending in `/` (empty if nothing is mounted).
//! - anything else: `404`.
//!
//! On every request it also prints `stdout line one\nstdout line two\n` to
//! stdout and `stderr says hi\n` to stderr. Used by the integration tests of
//! `environment`, `files` mounts and guest log capture.

use std::io::Write as _;
use std::path::Path;

use wasi::http::types::{
    Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

struct EnvFiles;

impl wasi::exports::http::incoming_handler::Guest for EnvFiles {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        log_lines();
        let path_with_query = request.path_with_query().unwrap_or_default();
        let path = path_with_query
            .split_once('?')
            .map_or(path_with_query.as_str(), |(p, _)| p);
        let (status, body) = if !matches!(request.method(), Method::Get) {
            (405, b"only GET is supported\n".to_vec())
        } else if let Some(name) = path.strip_prefix("/env/") {
            match std::env::var(name) {
                Ok(value) => (200, value.into_bytes()),
                Err(_) => (404, format!("env var {name} is not set\n").into_bytes()),
            }
        } else if let Some(file) = path.strip_prefix("/file/") {
            let file = format!("/{file}");
            match std::fs::read(&file) {
                Ok(bytes) => (200, bytes),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    (404, format!("no such file: {file}\n").into_bytes())
                }
                Err(e) => (500, format!("cannot read {file}: {e}\n").into_bytes()),
            }
        } else if path == "/files" {
            let mut paths = Vec::new();
            list(Path::new("/"), &mut paths);
            paths.sort();
            let mut listing = String::new();
            for p in paths {
                listing.push_str(&p);
                listing.push('\n');
            }
            (200, listing.into_bytes())
        } else {
            (404, format!("no route for {path}\n").into_bytes())
        };
        respond(response_out, status, &body);
    }
}

fn log_lines() {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(b"stdout line one\nstdout line two\n");
    let _ = out.flush();
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(b"stderr says hi\n");
    let _ = err.flush();
}

/// Collects every path below `dir` (directories with a trailing `/`).
fn list(dir: &Path, paths: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            paths.push(format!("{}/", path.display()));
            list(&path, paths);
        } else {
            paths.push(path.display().to_string());
        }
    }
}

fn respond(response_out: ResponseOutparam, status: u16, body: &[u8]) {
    let headers = Fields::from_list(&[
        ("content-type".to_string(), b"text/plain".to_vec()),
        (
            "content-length".to_string(),
            body.len().to_string().into_bytes(),
        ),
    ])
    .expect("valid headers");
    let response = OutgoingResponse::new(headers);
    response.set_status_code(status).expect("valid status");
    let outgoing = response.body().expect("response body");
    ResponseOutparam::set(response_out, Ok(response));
    let out = outgoing.write().expect("body stream");
    // blocking_write_and_flush accepts at most 4096 bytes per call.
    for chunk in body.chunks(4096) {
        out.blocking_write_and_flush(chunk).expect("write body");
    }
    drop(out);
    OutgoingBody::finish(outgoing, None).expect("finish body");
}

wasi::http::proxy::export!(EnvFiles);
