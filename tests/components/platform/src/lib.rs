//! `platform` test guest, written with `spin-sdk` 5.x: exercises Spin's
//! platform interfaces as app authors use them.
//!
//! - `GET /var/<name>`: `spin_sdk::variables::get(name)` (fermyon:spin/variables);
//! - `GET /kv/<store>/get/<key>`, `PUT /kv/<store>/set/<key>` (body is the
//!   value), `GET /kv/<store>/keys`, `DELETE /kv/<store>/<key>`:
//!   `spin_sdk::key_value::Store` (fermyon:spin/key-value).
//!
//!
//! Errors are answered `500` with the error's debug text, so tests can read
//! what the host said (e.g. `AccessDenied`). Used by the variables and
//! key-value tests.

use spin_sdk::http::{IntoResponse, Method, Request, Response};
use spin_sdk::http_component;
use spin_sdk::key_value::Store;

#[http_component]
fn handle_platform(req: Request) -> anyhow::Result<impl IntoResponse> {
    let path = req.path().to_string();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let answer = match parts.as_slice() {
        ["var", name] => spin_sdk::variables::get(name).map_err(|e| format!("{e:?}")),
        ["kv", store, rest @ ..] => kv(req.method(), store, rest, req.body()),
        _ => Err("unknown path".to_owned()),
    };
    Ok(match answer {
        Ok(body) => Response::new(200, body),
        Err(error) => Response::new(500, error),
    })
}

fn kv(method: &Method, store: &str, rest: &[&str], body: &[u8]) -> Result<String, String> {
    let store = Store::open(store).map_err(|e| format!("{e:?}"))?;
    let text = |e: spin_sdk::key_value::Error| format!("{e:?}");
    match (method, rest) {
        (Method::Get, ["get", key]) => Ok(store
            .get(key)
            .map_err(text)?
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .unwrap_or_else(|| "<none>".to_owned())),
        (Method::Put, ["set", key]) => store.set(key, body).map(|()| "stored".to_owned()).map_err(text),
        (Method::Get, ["keys"]) => store.get_keys().map(|k| k.join(",")).map_err(text),
        (Method::Delete, [key]) => store.delete(key).map(|()| "deleted".to_owned()).map_err(text),
        _ => Err("unknown key-value operation".to_owned()),
    }
}
