//! The files one served component is made of (its source, its
//! dependencies, its trigger's middleware), read once per load: their
//! fingerprint keys the loader's reload cache, and they are composed only
//! when that misses.

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use super::{Dependency, Part};
use crate::model::manifest;
use crate::model::manifest::dependency_name::Name;

/// A dependency or middleware read from disk.
struct Read {
    spec: manifest::Dependency,
    /// How errors name it.
    label: String,
    bytes: Vec<u8>,
}

pub struct Inputs {
    pub source: Vec<u8>,
    deps: Vec<Read>,
    middleware: Vec<Read>,
}

impl Inputs {
    /// Reads `spec`'s source and dependencies, and `middleware` (of the
    /// trigger `trigger_id`).
    pub fn read(
        spec: &manifest::Component,
        trigger_id: &str,
        middleware: &[manifest::Dependency],
    ) -> Result<Self> {
        let key = format!("component.{}.source", spec.id);
        let source = std::fs::read(&spec.source)
            .with_context(|| format!("`{key}`: cannot read {}", spec.source.display()))?;
        let read = |label: String, dep: &manifest::Dependency| -> Result<Read> {
            let bytes = std::fs::read(&dep.source)
                .with_context(|| format!("{label}: cannot read {}", dep.source.display()))?;
            Ok(Read {
                spec: dep.clone(),
                label,
                bytes,
            })
        };
        let deps = spec
            .dependencies
            .iter()
            .map(|dep| {
                let name = dep.name.as_deref().unwrap_or_default();
                read(
                    format!("`component.{}.dependencies.\"{name}\"`", spec.id),
                    dep,
                )
            })
            .collect::<Result<_>>()?;
        let middleware = middleware
            .iter()
            .enumerate()
            .map(|(i, dep)| read(format!("trigger `{trigger_id}`'s middleware[{i}]"), dep))
            .collect::<Result<_>>()?;
        Ok(Inputs {
            source,
            deps,
            middleware,
        })
    }

    /// Whether anything is composed with the source.
    pub fn is_composed(&self) -> bool {
        !self.deps.is_empty() || !self.middleware.is_empty()
    }

    /// A digest of every file and of how each dependency is composed
    /// (name, export, inheritance), in order: what the composition is made of.
    pub fn fingerprint(&self) -> [u8; 32] {
        let mut hash = Sha256::new();
        let mut part = |bytes: &[u8]| {
            hash.update((bytes.len() as u64).to_le_bytes());
            hash.update(bytes);
        };
        part(&self.source);
        for (i, r) in self.deps.iter().chain(&self.middleware).enumerate() {
            part(format!("{i} {:?}", r.spec).as_bytes());
            part(&r.bytes);
        }
        hash.finalize().into()
    }

    /// `primary` (the source made a component) composed with the
    /// dependencies, then behind the middleware.
    pub fn compose(&self, id: &str, primary: &[u8]) -> Result<Vec<u8>> {
        let part = |r: &Read| -> Result<Part> {
            let bytes = crate::load::componentize::componentize_if_module(&r.bytes)
                .with_context(|| format!("{}: {}", r.label, r.spec.source.display()))?;
            Ok(Part {
                label: r.label.clone(),
                bytes: bytes.into_owned(),
                inherit: r.spec.inherit.clone(),
            })
        };
        let mut binary = primary.to_vec();
        if !self.deps.is_empty() {
            let deps = self
                .deps
                .iter()
                .map(|r| {
                    let name = r.spec.name.as_deref().unwrap_or_default();
                    Ok(Dependency {
                        name: Name::parse(name).map_err(|why| anyhow::anyhow!("{why}"))?,
                        export: r.spec.export.clone(),
                        part: Part {
                            label: name.to_owned(),
                            ..part(r)?
                        },
                    })
                })
                .collect::<Result<_>>()?;
            binary = super::dependencies(id, &binary, deps)
                .with_context(|| format!("`component.{id}.dependencies`"))?;
        }
        if !self.middleware.is_empty() {
            let layers = self.middleware.iter().map(part).collect::<Result<_>>()?;
            binary = super::middleware(&binary, layers)
                .with_context(|| format!("the middleware in front of component `{id}`"))?;
        }
        Ok(binary)
    }
}
