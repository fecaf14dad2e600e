//! `greetuser` test guest: a wasi:http 0.2 handler that imports
//! `test:deps/greet@0.1.0`, which no host provides: the app satisfies it
//! with a component dependency (`greeter`). `GET /greet/<name>` answers
//! `greet(<name>)`; `GET /env` answers the dependency's
//! `greeting-from-env()` followed by ` / ` and the handler's own
//! `GREETING`, so a test sees which of the two may read the environment;
//! `GET /file/<path>` the dependency's `read-file(/<path>)`.

use wasi::http::types::{
    Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

wit_bindgen::generate!({ world: "user", path: "../wit/greet" });

use test::deps::greet;

struct User;

impl wasi::exports::http::incoming_handler::Guest for User {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let path = request.path_with_query().unwrap_or_default();
        let (status, body) = if let Some(name) = path.strip_prefix("/greet/") {
            (200, greet::greet(name))
        } else if path == "/env" {
            let own = std::env::var("GREETING").unwrap_or_else(|_| "(unset)".to_owned());
            (200, format!("{} / {own}", greet::greeting_from_env()))
        } else if let Some(file) = path.strip_prefix("/file/") {
            (200, greet::read_file(&format!("/{file}")))
        } else {
            (404, "try /greet/<name>, /env or /file/<path>".to_owned())
        };
        let headers = Fields::new();
        let response = OutgoingResponse::new(headers);
        response.set_status_code(status).expect("valid status");
        let out_body = response.body().expect("response body");
        ResponseOutparam::set(response_out, Ok(response));
        let out = out_body.write().expect("body stream");
        out.blocking_write_and_flush(body.as_bytes())
            .expect("write body");
        drop(out);
        OutgoingBody::finish(out_body, None).expect("finish body");
    }
}

wasi::http::proxy::export!(User);
