//! Composing components at load, as Spin does, with `wac-graph`:
//!
//! - [`dependencies`]: a component's `[component.<id>.dependencies]`, other
//!   components whose exports satisfy its imports ([`crate::model::manifest::dependency_name`] says which
//!   dependency satisfies which import);
//! - [`middleware`]: an HTTP trigger's `dependencies.middleware`, wasi:http
//!   0.3 handlers chained in front of the trigger's component, outermost
//!   first, each importing the next one's `wasi:http/handler`.
//!
//! A dependency or middleware gets of the component's configuration only
//! what it inherits ([`crate::model::manifest::deny`]). The result is one component binary, which
//! is compiled and cached like any other; this module only deals in bytes
//! and does not depend on wasmtime.

pub mod inputs;

use std::collections::{BTreeMap, HashSet};

use anyhow::{Context, Result, bail};
use wac_graph::types::{ItemKind, Package, SubtypeChecker, WorldId};
use wac_graph::{CompositionGraph, EncodeOptions, NodeId};

use crate::model::manifest::dependency_name::Name;
use crate::model::manifest::{Inherit, deny};

/// A component that satisfies imports of another: its binary (a
/// component, not a core module) and what it inherits.
pub struct Part {
    /// How the manifest names it, for errors (`"test:deps/greet"`,
    /// `middleware[0]`).
    pub label: String,
    pub bytes: Vec<u8>,
    pub inherit: Inherit,
}

/// One entry of `[component.<id>.dependencies]`.
pub struct Dependency {
    pub name: Name,
    /// The export that satisfies the import; default: the import's name.
    pub export: Option<String>,
    pub part: Part,
}

/// The interface a wasi:http 0.3 handler exports and middleware imports.
const HANDLER: &str = "wasi:http/handler@0.3";

/// Composes `primary` (the component `component_id`) with its
/// dependencies: each import a dependency's name matches is satisfied by
/// that dependency's export; the result exports what `primary` exports.
pub fn dependencies(component_id: &str, primary: &[u8], deps: Vec<Dependency>) -> Result<Vec<u8>> {
    let mut graph = CompositionGraph::new();
    let (world, primary_node) = instantiate(&mut graph, "primary", primary.to_vec(), None)
        .context("cannot read the component")?;
    let imports: Vec<String> = graph.types()[world].imports.keys().cloned().collect();

    let mut satisfying: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (index, dep) in deps.iter().enumerate() {
        let matched: Vec<&str> = imports
            .iter()
            .map(String::as_str)
            .filter(|import| dep.name.matches(import))
            .collect();
        if matched.is_empty() {
            bail!(
                "dependency '{}' doesn't match any imports of component '{component_id}' (its \
                 imports: {}); rename the dependency after the import it satisfies",
                dep.part.label,
                imports.join(", ")
            );
        }
        for import in matched {
            satisfying.entry(import).or_default().push(index);
        }
    }
    let conflicts: Vec<String> = satisfying
        .iter()
        .filter(|(_, deps)| deps.len() > 1)
        .map(|(import, indexes)| {
            let labels: Vec<&str> = indexes.iter().map(|&i| &*deps[i].part.label).collect();
            format!(
                "import '{import}' satisfied by dependencies: '{}'",
                labels.join("', '")
            )
        })
        .collect();
    if !conflicts.is_empty() {
        bail!(
            "component '{component_id}' has dependency conflicts: {}; name each dependency so \
             that it matches different imports",
            conflicts.join("; ")
        );
    }

    let mut nodes = Vec::with_capacity(deps.len());
    for (index, dep) in deps.iter().enumerate() {
        let name = format!("dependency{index}");
        let node = instantiate(
            &mut graph,
            &name,
            dep.part.bytes.clone(),
            Some(&dep.part.inherit),
        )
        .with_context(|| format!("dependency '{}'", dep.part.label))?;
        nodes.push(node);
    }
    let mut cache = HashSet::new();
    for (import, indexes) in satisfying {
        let dep = &deps[indexes[0]];
        let (dep_world, dep_node) = nodes[indexes[0]];
        let export = dep.export.clone().unwrap_or_else(|| import.to_owned());
        let exports = &graph.types()[dep_world].exports;
        let Some(&export_ty) = exports.get(&export) else {
            let have: Vec<&str> = exports.keys().map(String::as_str).collect();
            bail!(
                "dependency '{}' doesn't export '{export}' to satisfy import '{import}' (it \
                 exports: {}); set its `export` to one of those",
                dep.part.label,
                have.join(", ")
            );
        };
        let import_ty = graph.types()[world].imports[import];
        SubtypeChecker::new(&mut cache)
            .is_subtype(export_ty, graph.types(), import_ty, graph.types())
            .with_context(|| {
                format!(
                    "dependency '{}' exports '{export}' which is not compatible with import \
                     '{import}'",
                    dep.part.label
                )
            })?;
        let alias = graph.alias_instance_export(dep_node, &export)?;
        graph.set_instantiation_argument(primary_node, import, alias)?;
    }
    export_all(&mut graph, world, primary_node)?;
    encode(&graph)
}

/// Chains `layers` (outermost first) in front of the wasi:http 0.3
/// `handler`; the result exports the outermost layer's handler.
pub fn middleware(handler: &[u8], layers: Vec<Part>) -> Result<Vec<u8>> {
    let mut graph = CompositionGraph::new();
    let (world, node) = instantiate(&mut graph, "handler", handler.to_vec(), None)?;
    let Some(mut export) = find(graph.types()[world].exports.keys()) else {
        bail!(
            "middleware runs in front of a wasi:http 0.3 handler, but this component does not \
             export `{HANDLER}.x` (it exports: {}); build it with a wasi:http 0.3 SDK (spin-sdk \
             6 or later) or remove the trigger's `dependencies.middleware`",
            keys(graph.types()[world].exports.keys())
        );
    };
    let mut upstream = graph.alias_instance_export(node, &export)?;
    for (index, layer) in layers.iter().enumerate().rev() {
        let name = format!("mw-{}", label(index));
        let (world, node) =
            instantiate(&mut graph, &name, layer.bytes.clone(), Some(&layer.inherit))
                .with_context(|| format!("`{}`", layer.label))?;
        let ty = &graph.types()[world];
        let (Some(import), Some(own)) = (find(ty.imports.keys()), find(ty.exports.keys())) else {
            bail!(
                "`{}` is not wasi:http middleware: it must import and export `{HANDLER}.x` (the \
                 `wasi:http/middleware` world); it imports {} and exports {}",
                layer.label,
                keys(ty.imports.keys()),
                keys(ty.exports.keys())
            );
        };
        graph
            .set_instantiation_argument(node, &import, upstream)
            .with_context(|| {
                format!(
                    "`{}` imports `{import}`, which the next handler's `{export}` does not \
                     satisfy",
                    layer.label
                )
            })?;
        upstream = graph.alias_instance_export(node, &own)?;
        export = own;
    }
    graph.export(upstream, export)?;
    encode(&graph)
}

/// Registers and instantiates a component as package `name` (a kebab
/// label); with `inherit`, its imports of configuration it does not
/// inherit are renamed after it (see [`deny`]).
fn instantiate(
    graph: &mut CompositionGraph,
    name: &str,
    bytes: Vec<u8>,
    inherit: Option<&Inherit>,
) -> Result<(WorldId, NodeId)> {
    let package = Package::from_bytes(name, None, bytes, graph.types_mut())?;
    let world = package.ty();
    let package = graph.register_package(package)?;
    let node = graph.instantiate(package);
    let Some(inherit) = inherit else {
        return Ok((world, node));
    };
    let imports: Vec<_> = graph.types()[world]
        .imports
        .iter()
        .map(|(name, kind)| (name.clone(), *kind))
        .collect();
    for (import, kind) in imports {
        let Some(denied) = deny::import_name(inherit, &import, name) else {
            continue;
        };
        // wac imports an interface once, by its id: the denied one needs
        // its own, or it would be merged back into the host's.
        let kind = match kind {
            ItemKind::Instance(id) => {
                let mut renamed = graph.types()[id].clone();
                renamed.id = Some(denied.clone());
                ItemKind::Instance(graph.types_mut().add_interface(renamed))
            }
            other => other,
        };
        let denied = graph.import(denied, kind)?;
        graph.set_instantiation_argument(node, &import, denied)?;
    }
    Ok((world, node))
}

fn export_all(graph: &mut CompositionGraph, world: WorldId, node: NodeId) -> Result<()> {
    let exports: Vec<String> = graph.types()[world].exports.keys().cloned().collect();
    for export in exports {
        let alias = graph.alias_instance_export(node, &export)?;
        graph.export(alias, export)?;
    }
    Ok(())
}

fn encode(graph: &CompositionGraph) -> Result<Vec<u8>> {
    graph
        .encode(EncodeOptions::default())
        .context("cannot encode the composed component")
}

/// The `wasi:http/handler@0.3.x` name among `names`.
fn find<'a>(mut names: impl Iterator<Item = &'a String>) -> Option<String> {
    names
        .find(|name| name.starts_with(HANDLER) && name[HANDLER.len()..].starts_with(['.', '-']))
        .cloned()
}

fn keys<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<&str> = names.map(String::as_str).collect();
    if names.is_empty() {
        "nothing".to_owned()
    } else {
        names.join(", ")
    }
}

/// A label for the `index`th part of a kind (`a`, `b`, … `z`, `ba`, …):
/// letters only, so that it is a valid word of an import name.
fn label(index: usize) -> String {
    let mut n = index;
    let mut out = Vec::new();
    loop {
        out.push(b'a' + (n % 26) as u8);
        n /= 26;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII letters")
}

#[cfg(test)]
mod tests {
    #[test]
    fn labels_are_letters_in_order() {
        assert_eq!(
            (super::label(0), super::label(25), super::label(26)),
            ("a".into(), "z".into(), "ba".into())
        );
    }
}
