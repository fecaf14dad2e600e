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

#[cfg(test)]
mod tests {
    use super::*;

    /// A core module: the header, then (if `start`) an empty function and a
    /// memory exported as `_start` and `memory`, then a custom section.
    fn module(start: bool, custom: Option<&str>) -> Vec<u8> {
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        if start {
            m.extend([1, 4, 1, 0x60, 0, 0]); // type section: () -> ()
            m.extend([3, 2, 1, 0]); // function section: one of type 0
            m.extend([5, 3, 1, 0, 1]); // memory section: one memory of 1 page
            m.extend([7, 19, 2, 6]); // export section: two exports
            m.extend(b"_start");
            m.extend([0, 0, 6]); // function 0
            m.extend(b"memory");
            m.extend([2, 0]); // memory 0
            m.extend([10, 4, 1, 2, 0, 0x0b]); // code: empty body
        }
        if let Some(name) = custom {
            let mut body = vec![name.len() as u8];
            body.extend(name.as_bytes());
            m.push(0);
            m.push(body.len() as u8);
            m.extend(body);
        }
        m
    }

    #[test]
    fn components_pass_through_and_modules_are_classified() {
        let component = b"\0asm\x0d\0\x01\0";
        assert!(matches!(
            componentize_if_module(component).unwrap(),
            Cow::Borrowed(_)
        ));
        let shape = module_shape(&module(true, None)).unwrap().unwrap();
        assert!(shape.exports_start && !shape.has_component_metadata);
        let shape = module_shape(&module(false, Some("component-type:x")))
            .unwrap()
            .unwrap();
        assert!(shape.has_component_metadata && !shape.exports_start);
    }

    #[test]
    fn a_command_module_becomes_a_component_and_a_bare_one_is_refused() {
        let command = module(true, None);
        let made = componentize_if_module(&command).unwrap();
        assert!(module_shape(&made).unwrap().is_none(), "not a component");
        let refused = componentize_if_module(&module(false, None)).unwrap_err();
        assert!(format!("{refused:#}").contains("Spin 1 SDK"), "{refused:#}");
        let garbage = componentize_if_module(b"not wasm").unwrap_err();
        assert!(format!("{garbage:#}").contains("not a valid WebAssembly"));
    }
}
