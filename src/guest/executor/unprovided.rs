//! Imports Spin provides and wasi-httpd does not: Spin's Redis, PostgreSQL,
//! MySQL, MQTT and LLM interfaces (and SQLite before 2.0.0), OpenTelemetry, and the parts
//! of the 2023 WASI release candidates [`crate::guest::wasi_rc`] leaves out
//! (sockets). A component importing one still loads, as under Spin, and a
//! call to it traps with an error naming the interface and function, so
//! only the requests that use it fail. An import from any other package
//! stays a load error. The imports a composed dependency does not inherit
//! (`denied-<interface>`) are linked the same way, with a message that says
//! how to grant them.

use std::sync::Arc;

use anyhow::Result;
use wasmtime::Engine;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Linker, LinkerInstance, ResourceType};

use crate::guest::host::HostState;
use crate::model::manifest::deny;

/// The packages whose interfaces Spin serves: only these are stubbed.
const SPIN_PACKAGES: &[&str] = &["fermyon:spin/", "spin:", "wasi:otel/"];

/// The host type of every stubbed resource: none can ever be made.
struct Unprovided;

/// The WASI release candidates [`crate::guest::wasi_rc`] serves.
const WASI_CANDIDATES: &[&str] = &["@0.2.0-rc-2023-10-18", "@0.2.0-rc-2023-11-10"];

/// Whether an import may be stubbed: Spin's packages, WASI interfaces of
/// the release candidates wasi-httpd serves, and the imports a composed
/// dependency was denied ([`crate::model::manifest::deny`]).
fn stubbable(name: &str) -> bool {
    SPIN_PACKAGES.iter().any(|p| name.starts_with(p))
        || (name.starts_with("wasi:") && WASI_CANDIDATES.iter().any(|v| name.ends_with(v)))
        || deny::trap_message(name, "").is_some()
}

/// A component's instance imports, by name, with their exports.
type Imports = Vec<(String, Vec<(String, ComponentItem)>)>;

fn instance_imports(engine: &Engine, component: &Component) -> Imports {
    component
        .component_type()
        .imports(engine)
        .filter_map(|(name, import)| match import.ty {
            ComponentItem::ComponentInstance(instance) => Some((
                name.to_owned(),
                instance
                    .exports(engine)
                    .map(|(export, item)| (export.to_owned(), item.ty))
                    .collect(),
            )),
            _ => None,
        })
        .collect()
}

/// A linker for `component` when the host's own does not satisfy it: the
/// functions and resources of its stubbable imports that the host does not
/// provide defined to trap, then `define_host` run over it. Also returns
/// those interfaces, for the log. Fails if even that does not link (an
/// import of another package is missing).
pub fn stubbed_linker(
    engine: &Engine,
    component: &Component,
    define_host: impl Fn(&mut Linker<HostState>) -> Result<()>,
) -> Result<(Linker<HostState>, Vec<String>)> {
    let imports = instance_imports(engine, component);
    let stubbable: Vec<&str> = imports
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| stubbable(name))
        .collect();
    let build = |stubbed: &[&str]| -> Result<Linker<HostState>> {
        let mut linker = Linker::new(engine);
        linker.allow_shadowing(true);
        for (name, exports) in &imports {
            if !stubbed.contains(&name.as_str()) {
                continue;
            }
            let interface: Arc<str> = name.as_str().into();
            let mut stubs = linker.instance(name)?;
            for (export, item) in exports {
                stub(&mut stubs, &interface, export, item, &imports)?;
            }
        }
        define_host(&mut linker)?;
        Ok(linker)
    };
    let links = |linker: &Linker<HostState>| linker.substituted_component_type(component).is_ok();
    if !links(&build(&stubbable)?) {
        anyhow::bail!(
            "the component does not link even with its Spin and WASI candidate imports stubbed"
        );
    }
    // The host provides an import if it links without that one's stubs. A
    // stub must not stay for it: it would shadow a host interface the
    // import matches by version (`@3.0.1` against the host's `@3.0.0`).
    let unprovided: Vec<&str> = stubbable
        .iter()
        .copied()
        .filter(|name| {
            let others: Vec<&str> = stubbable.iter().copied().filter(|n| n != name).collect();
            build(&others).map(|l| !links(&l)).unwrap_or(true)
        })
        .collect();
    let linker = build(&unprovided)?;
    Ok((linker, unprovided.into_iter().map(str::to_owned).collect()))
}

/// Logs what [`stubbed_linker`] stubbed for the component `id`.
pub fn report(id: &str, stubbed: Vec<String>) {
    let (denied, unprovided): (Vec<String>, Vec<String>) = stubbed
        .into_iter()
        .partition(|name| name.starts_with(deny::DENIED));
    if !unprovided.is_empty() {
        tracing::warn!(
            component = %id,
            interfaces = %unprovided.join(", "),
            "the component imports interfaces Spin provides and wasi-httpd \
             does not; it is served, and requests that call them get 500"
        );
    }
    if !denied.is_empty() {
        tracing::info!(
            component = %id,
            interfaces = %denied.join(", "),
            "its dependencies or middleware import interfaces of configuration \
             they do not inherit; calls to them trap"
        );
    }
}

fn stub(
    instance: &mut LinkerInstance<'_, HostState>,
    interface: &Arc<str>,
    name: &str,
    item: &ComponentItem,
    imports: &Imports,
) -> Result<()> {
    match item {
        ComponentItem::ComponentFunc(func) => {
            let interface = interface.clone();
            let function: Arc<str> = name.into();
            let error = move || match deny::trap_message(&interface, &function) {
                Some(denied) => wasmtime::format_err!("{denied}"),
                None => wasmtime::format_err!(
                    "the component called `{function}` of `{interface}`, which wasi-httpd does \
                     not provide (Spin does); serve this app with Spin, or avoid that interface"
                ),
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
        ComponentItem::Resource(resource) if !is_alias(interface, name, resource, imports) => {
            let fresh = ResourceType::host::<Unprovided>();
            instance.resource(name, fresh, |_, _| Ok(()))?;
        }
        _ => {}
    }
    Ok(())
}

/// Whether `resource`, exported as `name` by `interface`, is defined
/// before it, by an earlier import or as an earlier export of the same one
/// (`use wasi:io/poll.{pollable}`, `type headers = fields`): such an alias
/// needs no definition, and must not get one, as linking resolves it to
/// its source.
fn is_alias(interface: &str, name: &str, resource: &ResourceType, imports: &Imports) -> bool {
    imports
        .iter()
        .flat_map(|(import, exports)| {
            exports
                .iter()
                .map(move |(export, item)| (import, export, item))
        })
        .take_while(|(import, export, _)| (import.as_str(), export.as_str()) != (interface, name))
        .any(|(_, _, item)| matches!(item, ComponentItem::Resource(r) if r == resource))
}
