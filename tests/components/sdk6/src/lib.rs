//! `sdk6` test guest, written with `spin-sdk` 6.0, whose wasi:http 0.3 is the
//! `0.3.0-rc-2026-03-15` release candidate (its handler export and every
//! WASI import carry that version):
//!
//! - `GET /var/<name>`: the variable (`spin:variables@3.0.0`);
//! - `PUT /kv/<key>` (body is the value), `GET /kv/<key>`: the `default`
//!   store (`spin:key-value@3.0.0`);
//! - `GET /outbound?<url>`: fetches `<url>` with `spin_sdk::http::get`
//!   and answers `<status> <body>`, or `error: <ErrorCode>`;
//! - anything else: `200 hello from spin-sdk 6 <path>`.

use spin_sdk::http::{IntoResponse, Method, Request, StatusCode};
use spin_sdk::http_service;
use spin_sdk::key_value::Store;

#[http_service]
async fn handle_sdk6(req: Request) -> impl IntoResponse {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let answer = if let Some(name) = path.strip_prefix("/var/") {
        spin_sdk::variables::get(name).await.map_err(|e| format!("{e:?}"))
    } else if let Some(key) = path.strip_prefix("/kv/") {
        let body = {
            use spin_sdk::http::body::IncomingBodyExt;
            req.into_body().bytes().await.map(|b| b.to_vec()).unwrap_or_default()
        };
        kv(&method, key, body).await
    } else if path == "/outbound" {
        Ok(fetch(req.uri().query().unwrap_or_default()).await)
    } else {
        Ok(format!("hello from spin-sdk 6 {path}"))
    };
    match answer {
        Ok(body) => (StatusCode::OK, body),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error),
    }
}

async fn kv(method: &Method, key: &str, body: Vec<u8>) -> Result<String, String> {
    let store = Store::open("default").await.map_err(|e| format!("{e:?}"))?;
    if method == Method::PUT {
        store.set(key, body).await.map_err(|e| format!("{e:?}"))?;
        return Ok("stored".to_owned());
    }
    let value = store.get(key).await.map_err(|e| format!("{e:?}"))?;
    Ok(value.map(|v| String::from_utf8_lossy(&v).into_owned()).unwrap_or_else(|| "<none>".into()))
}

async fn fetch(url: &str) -> String {
    use spin_sdk::http::body::IncomingBodyExt;
    match spin_sdk::http::get(url).await {
        Ok(response) => {
            let status = response.status().as_u16();
            let body = response.into_body().bytes().await.map(|b| b.to_vec()).unwrap_or_default();
            format!("{status} {}", String::from_utf8_lossy(&body))
        }
        Err(error) => format!("error: {error:?}"),
    }
}
