//! Core WebAssembly modules made into components at load, as Spin does, so
//! apps built for `wasm32-wasip1` (the Spin 3 templates' target, and WAGI
//! programs) run unchanged:
//!
//! - a module carrying component metadata (`component-type` custom
//!   sections, which wit-bindgen 0.5 and later embed: the Spin SDKs for
//!   Rust and Go) gets the WASI preview 1 *reactor* adapter;
//! - a module exporting `_start` without such metadata (a WASI command, as
//!   WAGI runs) gets the *command* adapter, so it exports `wasi:cli/run`;
//! - anything else (the Spin 1 SDK's wit-bindgen 0.2 modules, which need
//!   Spin's own adapter) is an error that says so.
//!
//! The adapters are wasmtime 48's, from `wasi-preview1-component-adapter-provider`.

use std::borrow::Cow;

use anyhow::{Context, Result, bail};
use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER,
    WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};
use wasmparser::{Encoding, Parser, Payload};

/// What a module looks like, as far as choosing an adapter goes.
#[derive(Debug, Default)]
struct ModuleShape {
    has_component_metadata: bool,
    exports_start: bool,
}

/// `bytes` if they are a component; the component made from them if they
/// are a core module; an error naming why otherwise.
pub fn componentize_if_module(bytes: &[u8]) -> Result<Cow<'_, [u8]>> {
    let Some(shape) = module_shape(bytes)? else {
        return Ok(Cow::Borrowed(bytes));
    };
    let adapter = if shape.has_component_metadata {
        WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER
    } else if shape.exports_start {
        WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER
    } else {
        bail!(
            "it is a core WebAssembly module with neither component metadata nor a `_start` \
             export; modules built with the Spin 1 SDK (wit-bindgen 0.2) are not supported: \
             rebuild with spin-sdk 3 or later, for wasm32-wasip2 or wasm32-wasip1"
        );
    };
    let component = wit_component::ComponentEncoder::default()
        .validate(true)
        .module(bytes)
        .and_then(|encoder| encoder.adapter(WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, adapter))
        .and_then(|mut encoder| encoder.encode())
        .context("it is a core WebAssembly module and making it a component failed")?;
    Ok(Cow::Owned(component))
}

/// `None` for a component; the module's shape for a core module.
fn module_shape(bytes: &[u8]) -> Result<Option<ModuleShape>> {
    let mut shape = ModuleShape::default();
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.context("it is not a valid WebAssembly component or module")? {
            Payload::Version {
                encoding: Encoding::Component,
                ..
            } => return Ok(None),
            Payload::CustomSection(section) if section.name().starts_with("component-type") => {
                shape.has_component_metadata = true;
            }
            Payload::ExportSection(exports) => {
                for export in exports {
                    if export.context("bad export section")?.name == "_start" {
                        shape.exports_start = true;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(Some(shape))
}
