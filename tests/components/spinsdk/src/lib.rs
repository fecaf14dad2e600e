//! `spinsdk` test guest: a component written with the Spin Rust SDK
//! (`spin-sdk` 5.x, `#[http_component]`, which exports wasi:http 0.2.0), the
//! way Spin app authors write one.
//!
//! Answers every request with `200 OK`, body `hello from spin-sdk`, and copies
//! the `spin-full-url` and `spin-path-info` request headers the host sets into
//! the `x-full-url` and `x-path-info` response headers (empty if absent).
//! `GET /outbound?<url>` fetches `<url>` with `spin_sdk::http::send` and
//! answers `<status> <body>`, or `error: <error>`.
//! Used by the integration tests of Spin SDK compatibility, the spin-*
//! request headers and outbound requests.

use spin_sdk::http::{IntoResponse, Method, Request, Response};
use spin_sdk::http_component;

#[http_component]
async fn handle_spinsdk(req: Request) -> anyhow::Result<impl IntoResponse> {
    if req.path() == "/outbound" {
        let outgoing = Request::builder().method(Method::Get).uri(req.query()).build();
        let answer = match spin_sdk::http::send::<_, Response>(outgoing).await {
            Ok(upstream) => format!(
                "{} {}",
                upstream.status(),
                String::from_utf8_lossy(upstream.body())
            ),
            Err(e) => format!("error: {e:?}"),
        };
        return Ok(Response::new(200, answer));
    }
    let header = |name: &str| {
        req.header(name)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    Ok(Response::builder()
        .status(200)
        .header("content-type", "text/plain")
        .header("x-full-url", header("spin-full-url"))
        .header("x-path-info", header("spin-path-info"))
        .body("hello from spin-sdk")
        .build())
}
