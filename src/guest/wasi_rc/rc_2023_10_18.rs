//! `0.2.0-rc-2023-10-18`, the release candidate spin-sdk 2.x builds
//! against. It differs from WASI 0.2 in:
//!
//! - wasi:http/types: a four-case `error` variant instead of `error-code`;
//!   `fields` made from a list, and mutated without a result; outgoing
//!   requests and responses made in one call from a borrowed `headers`
//!   (copied, as wasmtime 14 did) and written with `write`; `finish`
//!   without a result; `future-trailers.get` without "no trailers";
//! - wasi:http/outgoing-handler: `request-options` is a record in ms;
//! - wasi:io: `poll-list`/`poll-one`; the `error` resource lives in
//!   `streams`; `splice`/`blocking-splice`/`forward` take an owned stream
//!   (never implemented by wasmtime 14: they trap here too);
//! - wasi:clocks/monotonic-clock: one `subscribe(when, absolute)`;
//! - wasi:filesystem: see [`super::fs_2023_10_18`].
//!
//! A 0.2 failure the RC cannot express (an invalid header name, a bad
//! status code, a body shorter than its Content-Length) traps.

use anyhow::Result;
use wasmtime::component::{ComponentType, Lift, Linker, LinkerInstance, Lower, Resource};
use wasmtime::{StoreContextMut, format_err};
use wasmtime_wasi::p2::DynPollable;
use wasmtime_wasi_http::p2::bindings::http::types::{ErrorCode, HeaderError, Method, Scheme};
use wasmtime_wasi_http::p2::body::{HostFutureTrailers, HostOutgoingBody};
use wasmtime_wasi_http::p2::types::{
    HostFutureIncomingResponse, HostIncomingResponse, HostOutgoingRequest, HostOutgoingResponse,
    HostResponseOutparam,
};
use wasmtime_wasi_http::p2::{HeaderResult, HttpError};
use wasmtime_wasi_http::{FieldMap, WasiHttpView};

use super::*;

const VERSION: &str = "0.2.0-rc-2023-10-18";

/// The release candidate's `wasi:http/types.error`.
#[derive(ComponentType, Lift, Lower, Debug)]
#[component(variant)]
enum RcError {
    #[component(name = "invalid-url")]
    InvalidUrl(String),
    #[component(name = "timeout-error")]
    TimeoutError(String),
    #[component(name = "protocol-error")]
    ProtocolError(String),
    #[component(name = "unexpected-error")]
    UnexpectedError(String),
}

impl From<ErrorCode> for RcError {
    fn from(code: ErrorCode) -> Self {
        let text = format!("{code:?}");
        match code {
            ErrorCode::DnsTimeout
            | ErrorCode::ConnectionTimeout
            | ErrorCode::ConnectionReadTimeout
            | ErrorCode::ConnectionWriteTimeout
            | ErrorCode::HttpResponseTimeout => RcError::TimeoutError(text),
            ErrorCode::HttpRequestUriInvalid
            | ErrorCode::HttpRequestUriTooLong
            | ErrorCode::DestinationNotFound => RcError::InvalidUrl(text),
            ErrorCode::HttpProtocolError
            | ErrorCode::HttpResponseIncomplete
            | ErrorCode::TlsProtocolError
            | ErrorCode::TlsCertificateError
            | ErrorCode::TlsAlertReceived(_) => RcError::ProtocolError(text),
            _ => RcError::UnexpectedError(text),
        }
    }
}

/// The release candidate's `request-options` record (milliseconds).
#[derive(ComponentType, Lift, Lower, Clone, Copy)]
#[component(record)]
struct RcRequestOptions {
    #[component(name = "connect-timeout-ms")]
    connect_timeout_ms: Option<u32>,
    #[component(name = "first-byte-timeout-ms")]
    first_byte_timeout_ms: Option<u32>,
    #[component(name = "between-bytes-timeout-ms")]
    between_bytes_timeout_ms: Option<u32>,
}

type Store<'a> = StoreContextMut<'a, HostState>;

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> Result<()> {
    add_unchanged(linker, VERSION)?;
    add_io(linker)?;
    super::fs_2023_10_18::add_to_linker(linker)?;
    monotonic_clock(linker, VERSION)?.func_wrap(
        "subscribe",
        |mut store: Store<'_>, (when, absolute): (u64, bool)| {
            use clocks::monotonic_clock::Host;
            let mut clocks = store.data_mut().clocks();
            let pollable = if absolute {
                clocks.subscribe_instant(when)?
            } else {
                clocks.subscribe_duration(when)?
            };
            Ok((pollable,))
        },
    )?;
    add_http_types(&mut http_types(linker, VERSION)?)?;
    instance(linker, "http/outgoing-handler", VERSION)?.func_wrap(
        "handle",
        |mut store: Store<'_>,
         (request, options): (Resource<HostOutgoingRequest>, Option<RcRequestOptions>)| {
            let mut http = store.data_mut().http();
            let options = options.map(|o| request_options(&mut http, o)).transpose()?;
            // The 0.2 `handle` only reads the options; the guest would drop
            // them. Here they are the host's to delete.
            let borrowed = options.as_ref().map(|o| Resource::new_borrow(o.rep()));
            let sent = crate::guest::host::relative_urls::handle(&mut http, request, borrowed);
            if let Some(options) = options {
                http.table.delete(options)?;
            }
            let sent = match sent {
                Ok(future) => Ok(future),
                Err(e) => Err(RcError::from(e.downcast()?)),
            };
            Ok((sent,))
        },
    )?;
    Ok(())
}

/// A 0.2 `request-options` resource from the release candidate's record.
fn request_options(
    http: &mut wasmtime_wasi_http::WasiHttpCtxView<'_>,
    options: RcRequestOptions,
) -> wasmtime::Result<Resource<wasmtime_wasi_http::RequestOptions>> {
    use types::HostRequestOptions as Options;
    let made = Options::new(http)?;
    let nanos = |ms: Option<u32>| ms.map(|ms| u64::from(ms) * 1_000_000);
    let handle = || Resource::new_borrow(made.rep());
    Options::set_connect_timeout(http, handle(), nanos(options.connect_timeout_ms))?
        .and(Options::set_first_byte_timeout(
            http,
            handle(),
            nanos(options.first_byte_timeout_ms),
        )?)
        .and(Options::set_between_bytes_timeout(
            http,
            handle(),
            nanos(options.between_bytes_timeout_ms),
        )?)
        .map_err(|()| format_err!("invalid request-options timeouts"))?;
    Ok(made)
}

fn add_io(linker: &mut Linker<HostState>) -> Result<()> {
    let mut poll_instance = instance(linker, "io/poll", VERSION)?;
    poll::add_to_linker_instance::<_, Io>(&mut poll_instance, table)?;
    poll_instance.func_wrap_async(
        "poll-list",
        |mut store: Store<'_>, (pollables,): (Vec<Resource<DynPollable>>,)| {
            Box::new(async move {
                let ready = poll::Host::poll(&mut store.data_mut().table, pollables).await?;
                Ok((ready,))
            })
        },
    )?;
    poll_instance.func_wrap_async(
        "poll-one",
        |mut store: Store<'_>, (pollable,): (Resource<DynPollable>,)| {
            Box::new(async move {
                poll::HostPollable::block(&mut store.data_mut().table, pollable).await
            })
        },
    )?;
    // The `error` resource is part of `streams` in this release candidate.
    let mut streams_instance = instance(linker, "io/streams", VERSION)?;
    error::add_to_linker_instance::<_, Io>(&mut streams_instance, table)?;
    streams::add_to_linker_instance::<_, Io>(&mut streams_instance, table)?;
    for name in ["splice", "blocking-splice", "forward"] {
        let function = format!("[method]output-stream.{name}");
        streams_instance.func_new(&function, move |_, _, _, _| {
            Err(format_err!(
                "wasi:io/streams@{VERSION} `{name}` is not supported (wasmtime 14, this \
                 release candidate's reference host, never implemented it either)"
            ))
        })?;
    }
    Ok(())
}

/// A header change the release candidate cannot report: a forbidden header
/// is dropped (wasmtime 14 had no such list), anything else traps.
fn header_change(result: HeaderResult<()>, name: &str) -> wasmtime::Result<()> {
    match result {
        Ok(()) => Ok(()),
        Err(e) => match e.downcast()? {
            HeaderError::Forbidden => Ok(()),
            other => Err(format_err!("cannot set header {name:?}: {other:?}")),
        },
    }
}

/// A 0.2 `Result<_, ()>` the release candidate has no error for.
fn or_trap<T>(result: Result<T, ()>, what: &str) -> wasmtime::Result<T> {
    result.map_err(|()| format_err!("{what}"))
}

/// The functions of wasi:http/types that differ from 0.2's.
fn add_http_types(http: &mut LinkerInstance<'_, HostState>) -> Result<()> {
    use types::{
        HostFields as Fields, HostFutureIncomingResponse as FutureResponse,
        HostFutureTrailers as FutureTrailers, HostOutgoingBody as OutgoingBody,
        HostOutgoingRequest as OutgoingRequest, HostOutgoingResponse as OutgoingResponse,
        HostResponseOutparam as Outparam,
    };
    http.func_wrap(
        "[constructor]fields",
        |mut store: Store<'_>, (entries,): (Vec<(String, Vec<u8>)>,)| {
            let mut view = store.data_mut().http();
            let fields = Fields::new(&mut view)?;
            for (name, value) in entries {
                let this = Resource::new_borrow(fields.rep());
                let appended = Fields::append(&mut view, this, name.clone(), value);
                header_change(appended, &name)?;
            }
            Ok((fields,))
        },
    )?;
    http.func_wrap(
        "[method]fields.set",
        |mut store: Store<'_>, (this, name, values): (Resource<FieldMap>, String, Vec<Vec<u8>>)| {
            let set = Fields::set(&mut store.data_mut().http(), this, name.clone(), values);
            header_change(set, &name)
        },
    )?;
    http.func_wrap(
        "[method]fields.delete",
        |mut store: Store<'_>, (this, name): (Resource<FieldMap>, String)| {
            let deleted = Fields::delete(&mut store.data_mut().http(), this, name.clone());
            header_change(deleted, &name)
        },
    )?;
    http.func_wrap(
        "[method]fields.append",
        |mut store: Store<'_>, (this, name, value): (Resource<FieldMap>, String, Vec<u8>)| {
            let appended = Fields::append(&mut store.data_mut().http(), this, name.clone(), value);
            header_change(appended, &name)
        },
    )?;

    type RequestParts = (
        Method,
        Option<String>,
        Option<Scheme>,
        Option<String>,
        Resource<FieldMap>,
    );
    http.func_wrap(
        "[constructor]outgoing-request",
        |mut store: Store<'_>, (method, path, scheme, authority, headers): RequestParts| {
            let mut view = store.data_mut().http();
            let headers = Fields::clone(&mut view, headers)?;
            let request = OutgoingRequest::new(&mut view, headers)?;
            let this = || Resource::new_borrow(request.rep());
            let v = &mut view;
            or_trap(
                OutgoingRequest::set_method(v, this(), method)?,
                "invalid request method",
            )?;
            or_trap(
                OutgoingRequest::set_path_with_query(v, this(), path)?,
                "invalid request path",
            )?;
            or_trap(
                OutgoingRequest::set_scheme(v, this(), scheme)?,
                "invalid request scheme",
            )?;
            or_trap(
                OutgoingRequest::set_authority(v, this(), authority)?,
                "invalid authority",
            )?;
            Ok((request,))
        },
    )?;
    http.func_wrap(
        "[method]outgoing-request.write",
        |mut store: Store<'_>, (this,): (Resource<HostOutgoingRequest>,)| {
            Ok((OutgoingRequest::body(&mut store.data_mut().http(), this)?,))
        },
    )?;
    http.func_wrap(
        "[constructor]outgoing-response",
        |mut store: Store<'_>, (status, headers): (u16, Resource<FieldMap>)| {
            let mut view = store.data_mut().http();
            let headers = Fields::clone(&mut view, headers)?;
            let response = OutgoingResponse::new(&mut view, headers)?;
            let this = Resource::new_borrow(response.rep());
            let set = OutgoingResponse::set_status_code(&mut view, this, status)?;
            or_trap(set, "invalid response status")?;
            Ok((response,))
        },
    )?;
    http.func_wrap(
        "[method]outgoing-response.write",
        |mut store: Store<'_>, (this,): (Resource<HostOutgoingResponse>,)| {
            Ok((OutgoingResponse::body(&mut store.data_mut().http(), this)?,))
        },
    )?;
    http.func_wrap(
        "[static]outgoing-body.finish",
        |mut store: Store<'_>,
         (this, trailers): (Resource<HostOutgoingBody>, Option<Resource<FieldMap>>)| {
            OutgoingBody::finish(&mut store.data_mut().http(), this, trailers).map_err(
                |e: HttpError| match e.downcast() {
                    Ok(code) => format_err!("cannot finish the outgoing body: {code:?}"),
                    Err(trap) => trap,
                },
            )
        },
    )?;
    http.func_wrap(
        "[static]response-outparam.set",
        |mut store: Store<'_>,
         (this, response): (
            Resource<HostResponseOutparam>,
            Result<Resource<HostOutgoingResponse>, RcError>,
        )| {
            let response = response.map_err(|e| ErrorCode::InternalError(Some(format!("{e:?}"))));
            Outparam::set(&mut store.data_mut().http(), this, response)
        },
    )?;
    http.func_wrap(
        "[method]future-trailers.get",
        |mut store: Store<'_>, (this,): (Resource<HostFutureTrailers>,)| {
            let mut view = store.data_mut().http();
            let got = match FutureTrailers::get(&mut view, this)? {
                None => None,
                Some(Err(())) => wasmtime::bail!("the trailers were already taken"),
                Some(Ok(Ok(Some(trailers)))) => Some(Ok(trailers)),
                // No way to say "none": an empty set, as wasmtime 14 gave.
                Some(Ok(Ok(None))) => Some(Ok(Fields::new(&mut view)?)),
                Some(Ok(Err(code))) => Some(Err(RcError::from(code))),
            };
            Ok((got,))
        },
    )?;
    http.func_wrap(
        "[method]future-incoming-response.get",
        |mut store: Store<'_>, (this,): (Resource<HostFutureIncomingResponse>,)| {
            type Got = Option<Result<Result<Resource<HostIncomingResponse>, RcError>, ()>>;
            let got: Got = FutureResponse::get(&mut store.data_mut().http(), this)?
                .map(|ready| ready.map(|response| response.map_err(RcError::from)));
            Ok((got,))
        },
    )?;
    Ok(())
}
