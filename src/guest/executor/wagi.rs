//! The WAGI executor (`executor = { type = "wagi" }`): the component is a
//! WASI command run once per request, CGI/1.1 style. The request body is
//! its stdin; its environment holds the CGI variables and Spin's `X_*`
//! ones; its stdout is a CGI response (header lines, a blank line, the
//! body). `Location` without `Status` is a 302, an invalid `Status` a 502,
//! no output at all a 500.

use std::sync::Arc;

use anyhow::{Context, Result};
use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use wasmtime::Store;
use wasmtime::component::InstancePre;
use wasmtime_wasi::p2::bindings::CommandPre;
use wasmtime_wasi::p2::pipe::MemoryInputPipe;

use super::stores::StoreMaker;
use super::wagi_stdout::WagiStdout;
use super::{Answer, Execute, GuestError, RequestBody, RequestEnv};
use crate::base::body::Body;
use crate::base::limits::{BufferBudget, Reservation};
use crate::guest::host::HostState;
use crate::model::manifest::WagiExecutor as WagiSpec;

/// Largest CGI output kept; a write past it fails (the response is what
/// came before).
const MAX_OUTPUT: usize = 64 << 20;

pub struct WagiExecutor {
    pre: CommandPre<HostState>,
    argv: String,
}

/// What a WAGI guest is given, prepared by [`WagiExecutor::prepare`].
pub struct WagiInput {
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub stdin: Bytes,
}

impl Execute for WagiExecutor {
    fn export(&self) -> &str {
        "wagi (wasi:cli/run)"
    }

    fn handle<'a>(
        &'a self,
        stores: &'a StoreMaker,
        env: RequestEnv,
        request: Request<RequestBody>,
    ) -> Answer<'a> {
        Box::pin(async move {
            let (input, held) = self
                .prepare(request, env.https, &env.context.buffers)
                .await?;
            let (stdin, stdout) = pipes(input.stdin.clone(), held);
            let store = stores.store(&env, Some((stdin, stdout.clone(), input)))?;
            self.serve(store, stdout, env, stores.id().clone()).await
        })
    }
}

impl WagiExecutor {
    pub fn new(instance_pre: InstancePre<HostState>, spec: &WagiSpec) -> Result<Self> {
        let pre = CommandPre::new(instance_pre)
            .map_err(anyhow::Error::from)
            .context("a WAGI component must be a WASI command exporting wasi:cli/run")?;
        Ok(Self {
            pre,
            argv: spec.argv.clone(),
        })
    }

    /// Reads the body and builds argv and the CGI environment; the body's
    /// share of the buffer budget comes back with them (the program's
    /// output takes from it too).
    async fn prepare(
        &self,
        request: Request<RequestBody>,
        https: bool,
        budget: &Arc<BufferBudget>,
    ) -> Result<(WagiInput, Reservation), GuestError> {
        let (parts, body) = request.into_parts();
        let (stdin, held) = super::read_body(body, budget).await?;
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let query = parts.uri.query().unwrap_or_default().to_owned();
        let script_name = header("spin-component-route");
        let path_info = header("spin-path-info");
        let client = header("spin-client-addr");
        let client_ip = client
            .rsplit_once(':')
            .map(|(ip, _)| ip.to_owned())
            .unwrap_or_default();
        let host = parts.uri.host().unwrap_or_default().to_owned();
        let port = parts
            .uri
            .port_u16()
            .unwrap_or(if https { 443 } else { 80 })
            .to_string();
        let mut env = vec![
            ("AUTH_TYPE".to_owned(), String::new()),
            ("CONTENT_LENGTH".to_owned(), stdin.len().to_string()),
            ("CONTENT_TYPE".to_owned(), header("content-type")),
            ("GATEWAY_INTERFACE".to_owned(), "CGI/1.1".to_owned()),
            ("QUERY_STRING".to_owned(), query.clone()),
            ("REMOTE_ADDR".to_owned(), client_ip.clone()),
            ("REMOTE_HOST".to_owned(), client_ip),
            ("REMOTE_USER".to_owned(), String::new()),
            ("REQUEST_METHOD".to_owned(), parts.method.to_string()),
            ("SCRIPT_NAME".to_owned(), script_name.clone()),
            ("PATH_INFO".to_owned(), path_info.clone()),
            ("X_RAW_PATH_INFO".to_owned(), path_info.clone()),
            ("PATH_TRANSLATED".to_owned(), path_info),
            ("SERVER_NAME".to_owned(), host),
            ("SERVER_PORT".to_owned(), port),
            ("SERVER_PROTOCOL".to_owned(), format!("{:?}", parts.version)),
            ("SERVER_SOFTWARE".to_owned(), "WAGI/1".to_owned()),
        ];
        env.extend(cgi_headers(&parts.headers));
        // As Spin fills its `argv` template: `${SCRIPT_NAME}` is the request
        // path, `${ARGS}` the query with `&` as spaces (not decoded), and the
        // result is split at single spaces (so no query leaves an empty
        // last argument).
        let args = self
            .argv
            .replace("${SCRIPT_NAME}", parts.uri.path())
            .replace("${ARGS}", &query.replace('&', " "))
            .split(' ')
            .map(str::to_owned)
            .collect();
        Ok((WagiInput { args, env, stdin }, held))
    }

    /// Runs the command to completion and turns its stdout into a response.
    async fn serve(
        &self,
        mut store: Store<HostState>,
        stdout: WagiStdout,
        env: RequestEnv,
        component: Arc<str>,
    ) -> Result<Response<Body>, GuestError> {
        let pre = self.pre.clone();
        let run = super::run_until(env.context.deadline, env.permit, async move {
            let command = pre
                .instantiate_async(&mut store)
                .await
                .map_err(|e| GuestError::Instantiate(e.into()))?;
            match command.wasi_cli_run().call_run(&mut store).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(())) => {
                    tracing::warn!("WAGI command exited with an error status");
                    Ok(())
                }
                Err(error) => Err(super::trap(error)),
            }
        })
        .await;
        // The output's share of the budget comes back now, whatever the
        // outcome: the store's clone of the pipe may be dropped after the
        // client has its answer (a 503 included) and sends its next request.
        let output = stdout.take();
        // A write refused for want of budget fails the request, whatever
        // the program did after it.
        if stdout.budget_spent() {
            return Err(GuestError::Busy);
        }
        run?;
        Ok(cgi_response(&output, &component))
    }
}

/// The request headers as CGI variables: `HTTP_<NAME>` (minus
/// Authorization and Connection), and Spin's headers as `X_<NAME>`.
fn cgi_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|(name, value)| {
            let value = value.to_str().ok()?.to_owned();
            let upper = name.as_str().to_ascii_uppercase().replace('-', "_");
            match name.as_str() {
                // `Proxy` would become HTTP_PROXY, which CGI programs take
                // for their proxy ("httpoxy"): dropped, as CGI servers do.
                "authorization" | "connection" | "proxy" => None,
                spin if spin.starts_with("spin-") => {
                    Some((format!("X_{}", &upper["SPIN_".len()..]), value))
                }
                _ => Some((format!("HTTP_{upper}"), value)),
            }
        })
        .collect()
}

/// Parses a CGI response.
pub fn cgi_response(output: &[u8], component: &str) -> Response<Body> {
    let bad = |status: StatusCode, why: &str| {
        tracing::error!(component, "WAGI output: {why}");
        let mut response = Response::new(
            Full::new(Bytes::new())
                .map_err(|e| match e {})
                .boxed_unsync(),
        );
        *response.status_mut() = status;
        response
    };
    if output.is_empty() {
        return bad(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the command printed nothing",
        );
    }
    let (head, body) = split_head(output);
    let mut builder = Response::builder();
    let mut status = None;
    let mut location = false;
    let mut typed = false;
    for line in String::from_utf8_lossy(head).lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim(), value.trim());
        match name.to_ascii_lowercase().as_str() {
            "status" => match value
                .split_whitespace()
                .next()
                .and_then(|c| c.parse::<u16>().ok())
                .and_then(|c| StatusCode::from_u16(c).ok())
            {
                Some(code) => status = Some(code),
                None => return bad(StatusCode::BAD_GATEWAY, "invalid Status line"),
            },
            "location" => {
                location = true;
                builder = builder.header(http::header::LOCATION, value);
            }
            "content-type" => {
                typed = true;
                builder = builder.header(http::header::CONTENT_TYPE, value);
            }
            _ => builder = builder.header(name, value),
        }
    }
    if status.is_none() && !location && !typed {
        return bad(
            StatusCode::INTERNAL_SERVER_ERROR,
            "no Content-Type, Location or Status header",
        );
    }
    let status = status.unwrap_or(if location {
        StatusCode::FOUND
    } else {
        StatusCode::OK
    });
    builder
        .status(status)
        .body(
            Full::new(Bytes::copy_from_slice(body))
                .map_err(|e| match e {})
                .boxed_unsync(),
        )
        .unwrap_or_else(|_| bad(StatusCode::BAD_GATEWAY, "invalid header"))
}

/// Splits CGI output at the first blank line (`\n\n` or `\r\n\r\n`).
fn split_head(output: &[u8]) -> (&[u8], &[u8]) {
    for (i, _) in output.iter().enumerate() {
        if output[i..].starts_with(b"\r\n\r\n") {
            return (&output[..i], &output[i + 4..]);
        }
        if output[i..].starts_with(b"\n\n") {
            return (&output[..i], &output[i + 2..]);
        }
    }
    (output, &[])
}

/// The stdin and stdout pipes for one run; the output is counted in `held`.
fn pipes(stdin: Bytes, held: Reservation) -> (MemoryInputPipe, WagiStdout) {
    (
        MemoryInputPipe::new(stdin),
        WagiStdout::new(MAX_OUTPUT, held),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (u16, Vec<(String, String)>, String) {
        let response = cgi_response(text.as_bytes(), "t");
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned()))
            .collect();
        let status = response.status().as_u16();
        let body = futures_body(response);
        (status, headers, body)
    }

    fn futures_body(response: Response<Body>) -> String {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let bytes = runtime
            .block_on(response.into_body().collect())
            .unwrap()
            .to_bytes();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[test]
    fn content_type_and_body() {
        let (status, headers, body) = parse("Content-Type: text/plain\n\nhello\n");
        assert_eq!(status, 200);
        assert_eq!(
            headers,
            [("content-type".to_owned(), "text/plain".to_owned())]
        );
        assert_eq!(body, "hello\n");
    }

    #[test]
    fn location_alone_is_a_redirect() {
        let (status, headers, _) = parse("Location: /elsewhere\r\n\r\n");
        assert_eq!(status, 302);
        assert_eq!(headers[0].1, "/elsewhere");
    }

    #[test]
    fn status_line_sets_the_status_and_a_bad_one_is_502() {
        assert_eq!(
            parse("Status: 418 I'm a teapot\nContent-Type: text/plain\n\n").0,
            418
        );
        assert_eq!(parse("Status: teapot\n\n").0, 502);
    }

    #[test]
    fn empty_or_headerless_output_is_500() {
        assert_eq!(parse("").0, 500);
        assert_eq!(parse("just text\n\nbody").0, 500);
    }
}
