//! `sdk2` test guest: an app written with `spin-sdk` 2.2, whose HTTP
//! handler is `wasi:http/incoming-handler@0.2.0-rc-2023-10-18` (the 2023
//! release candidate). Built for wasm32-wasip1 it is a core module, as
//! `spin build` made it; built for wasm32-wasip2 it is a component.
//!
//! - `GET /hello/...`: `200`, header `x-sdk: 2`, body `hello from spin-sdk 2 <path>`;
//! - `POST /echo`: the request body back, with the request's content-type;
//! - `GET /outbound?<url>`: fetches `<url>` with `spin_sdk::http::send`
//!   (the RC outgoing-handler) and answers its status and body, or `502`
//!   with the error's debug text;
//! - `GET /var/<name>`: the variable (fermyon:spin/variables@2.0.0).

use spin_sdk::http::{IntoResponse, Method, Request, Response};
use spin_sdk::http_component;

#[http_component]
async fn handle_sdk2(req: Request) -> anyhow::Result<impl IntoResponse> {
    let path = req.path().to_owned();
    if path.starts_with("/hello") {
        return Ok(Response::builder()
            .status(200)
            .header("x-sdk", "2")
            .body(format!("hello from spin-sdk 2 {path}"))
            .build());
    }
    if path == "/echo" {
        let content_type = req
            .header("content-type")
            .and_then(|v| v.as_str())
            .unwrap_or("application/octet-stream")
            .to_owned();
        return Ok(Response::builder()
            .status(200)
            .header("content-type", content_type)
            .body(req.body().to_vec())
            .build());
    }
    if path == "/outbound" {
        let url = req.query().to_owned();
        let outgoing = Request::builder().method(Method::Get).uri(url).build();
        return Ok(match spin_sdk::http::send::<_, Response>(outgoing).await {
            Ok(upstream) => Response::builder()
                .status(*upstream.status())
                .body(upstream.body().to_vec())
                .build(),
            Err(e) => Response::builder().status(502).body(format!("{e:?}")).build(),
        });
    }
    if let Some(name) = path.strip_prefix("/var/") {
        return Ok(match spin_sdk::variables::get(name) {
            Ok(value) => Response::new(200, value),
            Err(e) => Response::new(500, format!("{e:?}")),
        });
    }
    Ok(Response::new(404, "no such path"))
}
