//! `oldsdk` test guest: a component as the old Spin SDK (1.x) made them,
//! exporting `fermyon:spin/inbound-http` and importing the old outbound
//! `fermyon:spin/http`, bound here directly from that WIT.
//!
//! - `GET <route>/fetch?url=<url>`: sends a GET through `fermyon:spin/http`
//!   (with `x-from-guest: 1`, and a `Host` and a `Connection` header the
//!   host must drop) and answers `<status> <body>` or
//!   `error: <HttpError>`;
//! - anything else: `200`, `text/plain`, listing the method, the uri, the
//!   `spin-path-info` header and the body length it was given.
//!
//! Used by the inbound-http executor tests.

wit_bindgen::generate!({
    inline: r#"
        package fermyon:spin;

        interface http-types {
            type http-status = u16;
            type body = list<u8>;
            type headers = list<tuple<string, string>>;
            type params = list<tuple<string, string>>;
            type uri = string;
            enum method { get, post, put, delete, patch, head, options }
            record request { method: method, uri: uri, headers: headers, params: params, body: option<body> }
            record response { status: http-status, headers: option<headers>, body: option<body> }
            enum http-error { success, destination-not-allowed, invalid-url, request-error, runtime-error, too-many-requests }
        }

        interface inbound-http {
            use http-types.{request, response};
            handle-request: func(req: request) -> response;
        }

        interface http {
            use http-types.{request, response, http-error};
            send-request: func(req: request) -> result<response, http-error>;
        }

        world old-sdk {
            import http;
            export inbound-http;
        }
    "#,
});

use exports::fermyon::spin::inbound_http::Guest;
use fermyon::spin::http_types::{Method, Request, Response};

struct OldSdk;

impl Guest for OldSdk {
    fn handle_request(req: Request) -> Response {
        let text = if let Some((_, url)) = req.uri.split_once("/fetch?url=") {
            let outbound = Request {
                method: Method::Get,
                uri: url.to_string(),
                // A header of its own, and two wasi:http forbids.
                headers: vec![
                    ("x-from-guest".to_string(), "1".to_string()),
                    ("host".to_string(), "evil.example".to_string()),
                    ("connection".to_string(), "upgrade".to_string()),
                ],
                params: Vec::new(),
                body: None,
            };
            match fermyon::spin::http::send_request(&outbound) {
                Ok(response) => format!(
                    "{} {}",
                    response.status,
                    String::from_utf8_lossy(&response.body.unwrap_or_default())
                ),
                Err(error) => format!("error: {error:?}"),
            }
        } else {
            let path_info = req
                .headers
                .iter()
                .find(|(name, _)| name == "spin-path-info")
                .map(|(_, value)| value.clone())
                .unwrap_or_default();
            format!(
                "method={:?}\nuri={}\npath-info={}\nbody={}\n",
                req.method,
                req.uri,
                path_info,
                req.body.map(|b| b.len()).unwrap_or(0)
            )
        };
        Response {
            status: 200,
            headers: Some(vec![("content-type".to_string(), "text/plain".to_string())]),
            body: Some(text.into_bytes()),
        }
    }
}

export!(OldSdk);
