//! Imports Spin provides and wasi-httpd does not (Spin's SQLite, Redis,
//! PostgreSQL, MySQL, MQTT and LLM interfaces, OpenTelemetry): a component
//! importing one still loads, as under Spin, and a call to it traps with an
//! error naming the interface and function, so only the requests that use
//! it fail. An import from any other package stays a load error.

use std::sync::Arc;

use anyhow::Result;
use wasmtime::Engine;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Linker, LinkerInstance, ResourceType};

use crate::host::HostState;

/// The packages whose interfaces Spin serves: only these are stubbed.
const SPIN_PACKAGES: &[&str] = &["fermyon:spin/", "spin:", "wasi:otel/"];

/// The host type of every stubbed resource: none can ever be made.
struct Unprovided;

/// The interfaces `component` imports from Spin's packages, by name.
fn spin_imports(engine: &Engine, component: &Component) -> Vec<(String, ComponentItem)> {
    component
        .component_type()
        .imports(engine)
        .filter(|(name, _)| SPIN_PACKAGES.iter().any(|p| name.starts_with(p)))
        .map(|(name, import)| (name.to_owned(), import.ty))
        .collect()
}

/// A linker for `component` when the host's own does not satisfy it: every
/// function and resource of its Spin-package imports defined to trap, then
/// `define_host` run over it, so that whatever the host does provide
/// replaces its stub. Also returns the interfaces the host does not provide
/// (wholly or in part), for the log.
pub fn stubbed_linker(
    engine: &Engine,
    component: &Component,
    define_host: impl Fn(&mut Linker<HostState>) -> Result<()>,
) -> Result<(Linker<HostState>, Vec<String>)> {
    let imports = spin_imports(engine, component);
    let build = |skip: Option<&str>| -> Result<Linker<HostState>> {
        let mut linker = Linker::new(engine);
        linker.allow_shadowing(true);
        for (name, item) in &imports {
            if let (ComponentItem::ComponentInstance(instance), false) =
                (item, skip == Some(name.as_str()))
            {
                let interface: Arc<str> = name.as_str().into();
                let mut stubs = linker.instance(name)?;
                for (export, item) in instance.exports(engine) {
                    stub(&mut stubs, &interface, export, &item.ty)?;
                }
            }
        }
        define_host(&mut linker)?;
        Ok(linker)
    };
    // An interface is unprovided if leaving out its stubs breaks linking.
    let mut unprovided = Vec::new();
    for (name, _) in &imports {
        if build(Some(name))?
            .substituted_component_type(component)
            .is_err()
        {
            unprovided.push(name.clone());
        }
    }
    Ok((build(None)?, unprovided))
}

fn stub(
    instance: &mut LinkerInstance<'_, HostState>,
    interface: &Arc<str>,
    name: &str,
    item: &ComponentItem,
) -> Result<()> {
    match item {
        ComponentItem::ComponentFunc(func) => {
            let interface = interface.clone();
            let function: Arc<str> = name.into();
            let error = move || {
                wasmtime::format_err!(
                    "the component called `{function}` of `{interface}`, which wasi-httpd does \
                     not provide (Spin does); serve this app with Spin, or avoid that interface"
                )
            };
            if func.async_() {
                instance.func_new_concurrent(name, move |_, _, _, _| {
                    let error = error();
                    Box::pin(async move { Err(error) })
                })?;
            } else {
                instance.func_new(name, move |_, _, _, _| Err(error()))?;
            }
        }
        ComponentItem::Resource(_) => {
            instance.resource(name, ResourceType::host::<Unprovided>(), |_, _| Ok(()))?;
        }
        _ => {}
    }
    Ok(())
}
