//! `rc1018` test guest: a component of the 2023-10-18 release candidate
//! made by hand, as toolchains of the time made them: it exports
//! `wasi:http/incoming-handler@0.2.0-rc-2023-10-18` and reads files through
//! that release candidate's `wasi:filesystem` (bound from `wit/`).
//!
//! - `GET /file/<name>`: opens `<name>` in the first preopened directory
//!   (`open-at` with its `modes`) and answers its contents, or `404` with
//!   the error code;
//! - `GET /lock/<name>`: what `lock-shared` on that file answers;
//! - `GET /socket`: creates a TCP socket (`wasi:sockets`, which the host
//!   does not provide: the call traps);
//! - anything else: `404`.
//!
//! Answers carry `x-rc: 2023-10-18` (a `fields` made from a list, and an
//! `outgoing-response` made in one call, as that release candidate does).

wit_bindgen::generate!({ path: "wit", world: "test:rc1018/guest", generate_all });

use exports::wasi::http::incoming_handler::Guest;
use wasi::filesystem::preopens::get_directories;
use wasi::filesystem::types::{Descriptor, DescriptorFlags, ErrorCode, Modes, OpenFlags, PathFlags};
use wasi::http::types::{Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam};

struct Rc1018;

export!(Rc1018);

impl Guest for Rc1018 {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let path = request.path_with_query().unwrap_or_default();
        let (status, body) = if let Some(name) = path.strip_prefix("/file/") {
            match open(name).and_then(|file| read_all(&file)) {
                Ok(contents) => (200, contents),
                Err(code) => (404, format!("{code:?}").into_bytes()),
            }
        } else if let Some(name) = path.strip_prefix("/lock/") {
            let locked = open(name).and_then(|file| file.lock_shared());
            (200, format!("lock-shared: {locked:?}").into_bytes())
        } else if path == "/socket" {
            use wasi::sockets::network::IpAddressFamily;
            let made = wasi::sockets::tcp_create_socket::create_tcp_socket(IpAddressFamily::Ipv4);
            (200, format!("socket: {:?}", made.map(|_| ())).into_bytes())
        } else {
            (404, b"no such path".to_vec())
        };
        let headers = Fields::new(&[("x-rc".to_owned(), b"2023-10-18".to_vec())]);
        let response = OutgoingResponse::new(status, &headers);
        let outgoing = response.write().unwrap();
        ResponseOutparam::set(out, Ok(response));
        let stream = outgoing.write().unwrap();
        for chunk in body.chunks(4096) {
            stream.blocking_write_and_flush(chunk).unwrap();
        }
        drop(stream);
        OutgoingBody::finish(outgoing, None);
    }
}

fn open(name: &str) -> Result<Descriptor, ErrorCode> {
    let (dir, _) = get_directories().into_iter().next().ok_or(ErrorCode::NoEntry)?;
    dir.open_at(
        PathFlags::empty(),
        name,
        OpenFlags::empty(),
        DescriptorFlags::READ,
        Modes::READABLE,
    )
}

fn read_all(file: &Descriptor) -> Result<Vec<u8>, ErrorCode> {
    let stream = file.read_via_stream(0)?;
    let mut contents = Vec::new();
    while let Ok(chunk) = stream.blocking_read(4096) {
        if chunk.is_empty() {
            break;
        }
        contents.extend(chunk);
    }
    Ok(contents)
}
