//! Spin's reserved endpoints under `/.well-known/spin/`, answered before
//! routing for any method: `health` and `info`; anything else there is 404.

use http::{Response, StatusCode};
use serde::Serialize;

use super::{empty, full};
use crate::base::body::Body;
use crate::load::app::LoadedApp;

#[derive(Serialize)]
struct AppInfo<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'a str>,
}

/// `rest` is the path after `/.well-known/spin/`.
pub fn respond(rest: &str, app: &LoadedApp) -> Response<Body> {
    match rest {
        "health" => Response::new(full("OK")),
        "info" => {
            let info = AppInfo {
                name: &app.name,
                version: app.version.as_deref(),
            };
            match serde_json::to_string(&info) {
                Ok(json) => {
                    let mut response = Response::new(full(json));
                    response.headers_mut().insert(
                        http::header::CONTENT_TYPE,
                        http::HeaderValue::from_static("application/json"),
                    );
                    response
                }
                Err(_) => empty(StatusCode::INTERNAL_SERVER_ERROR),
            }
        }
        _ => empty(StatusCode::NOT_FOUND),
    }
}
