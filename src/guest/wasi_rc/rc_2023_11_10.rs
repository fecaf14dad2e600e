//! `0.2.0-rc-2023-11-10`: the same as WASI 0.2 but for three things in
//! wasi:http/types, adapted here: `fields.has` is missing (nothing to do),
//! the request-options timeouts are named `*-timeout-ms` and counted in
//! milliseconds (0.2: nanoseconds), and `future-trailers.get` has one
//! `result` level fewer.

use anyhow::Result;
use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, LinkerInstance, Resource};
use wasmtime_wasi_http::p2::bindings::http::types::{
    ErrorCode, HostFutureTrailers as _, HostRequestOptions,
};
use wasmtime_wasi_http::p2::body::HostFutureTrailers;
use wasmtime_wasi_http::{FieldMap, RequestOptions, WasiHttpView};

use super::*;

const VERSION: &str = "0.2.0-rc-2023-11-10";

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> Result<()> {
    add_unchanged(linker, VERSION)?;
    error::add_to_linker_instance::<_, Io>(&mut instance(linker, "io/error", VERSION)?, table)?;
    poll::add_to_linker_instance::<_, Io>(&mut instance(linker, "io/poll", VERSION)?, table)?;
    streams::add_to_linker_instance::<_, Io>(&mut instance(linker, "io/streams", VERSION)?, table)?;
    monotonic_clock(linker, VERSION)?;
    filesystem(linker, VERSION)?;
    outgoing_handler::add_to_linker_instance::<_, WasiHttp>(
        &mut instance(linker, "http/outgoing-handler", VERSION)?,
        HostState::http,
    )?;
    let mut http = http_types(linker, VERSION)?;
    add_timeouts_in_ms(&mut http)?;
    http.func_wrap(
        "[method]future-trailers.get",
        |mut store: StoreContextMut<'_, HostState>, (this,): (Resource<HostFutureTrailers>,)| {
            type Got = Option<Result<Option<Resource<FieldMap>>, ErrorCode>>;
            let got: Got = match store.data_mut().http().get(this)? {
                None => None,
                Some(Ok(outcome)) => Some(outcome),
                Some(Err(())) => wasmtime::bail!("the trailers were already taken"),
            };
            Ok((got,))
        },
    )?;
    Ok(())
}

/// The request-options getters and setters under their `-ms` names.
fn add_timeouts_in_ms(http: &mut LinkerInstance<'_, HostState>) -> Result<()> {
    const NANOS_PER_MILLI: u64 = 1_000_000;
    macro_rules! in_ms {
        ($name:literal, $get:ident, $set:ident) => {
            http.func_wrap(
                concat!("[method]request-options.", $name),
                |mut store: StoreContextMut<'_, HostState>,
                 (options,): (Resource<RequestOptions>,)| {
                    let nanos = store.data_mut().http().$get(options)?;
                    Ok((nanos.map(|ns| ns / NANOS_PER_MILLI),))
                },
            )?;
            http.func_wrap(
                concat!("[method]request-options.set-", $name),
                |mut store: StoreContextMut<'_, HostState>,
                 (options, ms): (Resource<RequestOptions>, Option<u64>)| {
                    let nanos = ms.map(|ms| ms.saturating_mul(NANOS_PER_MILLI));
                    Ok((store.data_mut().http().$set(options, nanos)?,))
                },
            )?;
        };
    }
    in_ms!("connect-timeout-ms", connect_timeout, set_connect_timeout);
    in_ms!(
        "first-byte-timeout-ms",
        first_byte_timeout,
        set_first_byte_timeout
    );
    in_ms!(
        "between-bytes-timeout-ms",
        between_bytes_timeout,
        set_between_bytes_timeout
    );
    Ok(())
}
