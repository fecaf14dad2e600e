//! The executor for old Spin SDK components, which export
//! `fermyon:spin/inbound-http`: the request body is read whole and handed to
//! the guest with Spin's headers; the guest returns a whole response. Only
//! GET, POST, PUT, DELETE, PATCH, HEAD and OPTIONS exist in that
//! interface: other methods are answered 405, as Spin does.

use std::sync::Arc;

use anyhow::{Context, Result};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use wasmtime::Store;
use wasmtime::component::InstancePre;

use super::stores::StoreMaker;
use super::{Answer, Execute, GuestError, RequestBody, RequestEnv};
use crate::base::body::Body;
use crate::guest::host::HostState;
use crate::guest::host::platform::bindings::fermyon::spin::http_types as types;

mod bindings {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "fermyon:spin/legacy-inbound",
        exports: { default: async },
        with: {
            "fermyon:spin/http-types": crate::guest::host::platform::bindings::fermyon::spin::http_types,
        },
    });
}

pub const EXPORT: &str = "fermyon:spin/inbound-http";

pub struct InboundHttpExecutor {
    pre: bindings::LegacyInboundPre<HostState>,
}

impl Execute for InboundHttpExecutor {
    fn export(&self) -> &str {
        EXPORT
    }

    fn handle<'a>(
        &'a self,
        stores: &'a StoreMaker,
        env: RequestEnv,
        request: Request<RequestBody>,
    ) -> Answer<'a> {
        Box::pin(async move {
            let store = stores.store(&env, None)?;
            self.serve(store, env, request, stores.id().clone()).await
        })
    }
}

impl InboundHttpExecutor {
    pub fn new(instance_pre: InstancePre<HostState>) -> Result<Self> {
        let pre = bindings::LegacyInboundPre::new(instance_pre)
            .map_err(anyhow::Error::from)
            .context(
                "its fermyon:spin/inbound-http export does not have the old Spin SDK's types",
            )?;
        Ok(Self { pre })
    }

    async fn serve(
        &self,
        mut store: Store<HostState>,
        env: RequestEnv,
        request: Request<RequestBody>,
        component: Arc<str>,
    ) -> Result<Response<Body>, GuestError> {
        let method = match request.method().as_str() {
            "GET" => types::Method::Get,
            "POST" => types::Method::Post,
            "PUT" => types::Method::Put,
            "DELETE" => types::Method::Delete,
            "PATCH" => types::Method::Patch,
            "HEAD" => types::Method::Head,
            "OPTIONS" => types::Method::Options,
            _ => return Ok(status_only(StatusCode::METHOD_NOT_ALLOWED)),
        };
        let (parts, body) = request.into_parts();
        // The body's share of the buffer budget is held until the guest is done.
        let (body, _held) = super::read_body(body, &env.context.buffers).await?;
        let headers = parts
            .headers
            .iter()
            .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_owned())))
            .collect();
        let guest_request = types::Request {
            method,
            // The path and query, as Spin passes it (the full URL is in the
            // spin-full-url header).
            uri: parts
                .uri
                .path_and_query()
                .map(|p| p.to_string())
                .unwrap_or_else(|| "/".into()),
            headers,
            params: Vec::new(),
            body: (!body.is_empty()).then(|| body.to_vec()),
        };
        let pre = self.pre.clone();
        let answer = super::run_until(env.context.deadline, env.permit, async move {
            let instance = pre
                .instantiate_async(&mut store)
                .await
                .map_err(|e| GuestError::Instantiate(e.into()))?;
            instance
                .fermyon_spin_inbound_http()
                .call_handle_request(&mut store, &guest_request)
                .await
                .map_err(super::trap)
        })
        .await?;
        let mut builder = Response::builder().status(answer.status);
        for (name, value) in answer.headers.unwrap_or_default() {
            builder = builder.header(name, value);
        }
        let body = Full::new(Bytes::from(answer.body.unwrap_or_default()))
            .map_err(|e| match e {})
            .boxed_unsync();
        builder.body(body).map_err(|e| {
            GuestError::Trap(anyhow::anyhow!(
                "component `{component}` returned an invalid response: {e}"
            ))
        })
    }
}

fn status_only(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(
        Full::new(Bytes::new())
            .map_err(|e| match e {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    response
}
