//! `0.3.0-rc-2026-03-15`, the wasi:http 0.3 release candidate spin-sdk 6
//! builds against. Its WIT (cli, clocks, filesystem, http, random,
//! sockets) is, but for the version, the same as the WASI 0.3.0 that
//! wasmtime 48 implements, so a component built against it is served as a
//! 0.3.0 one: the names of its top-level imports and exports are rewritten
//! from `@0.3.0-rc-2026-03-15` to `@0.3.0` at load, before it is compiled.
//! Nothing inside the component names a version, so nothing else changes.

use std::borrow::Cow;

use anyhow::{Context, Result};
use wasm_encoder::reencode::{Error, Reencode, ReencodeComponent, component_utils};
use wasmparser::Parser;

/// The release candidate served as 0.3.0.
pub const CANDIDATE: &str = "0.3.0-rc-2026-03-15";
const RELEASE: &str = "0.3.0";

/// `component` with its release-candidate names made 0.3.0 names, if it
/// uses the release candidate; as it is otherwise.
pub fn as_release(component: &[u8]) -> Result<Cow<'_, [u8]>> {
    let marker = format!("@{CANDIDATE}");
    if !component
        .windows(marker.len())
        .any(|w| w == marker.as_bytes())
    {
        return Ok(Cow::Borrowed(component));
    }
    let mut renamer = Renamer { depth: 0 };
    let mut out = wasm_encoder::Component::new();
    renamer
        .parse_component(&mut out, Parser::new(0), component)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("cannot rename its wasi {CANDIDATE} imports to {RELEASE}"))?;
    Ok(Cow::Owned(out.finish()))
}

/// Renames versions in the outermost component's imports and exports only:
/// nested components keep theirs, as their instantiations name them.
struct Renamer {
    depth: u32,
}

/// `name` (with its annotations), versioned 0.3.0 if it names a WASI
/// interface of the release candidate.
fn renamed(name: wasmparser::ComponentExternName<'_>) -> wasm_encoder::ComponentExternName<'_> {
    let mut encoded = wasm_encoder::ComponentExternName::from(name);
    if let Some(stem) = name.name.strip_suffix(CANDIDATE)
        && stem.starts_with("wasi:")
        && stem.ends_with('@')
    {
        encoded.name = Cow::Owned(format!("{stem}{RELEASE}"));
    }
    encoded
}

impl Reencode for Renamer {
    type Error = std::convert::Infallible;
}

impl ReencodeComponent for Renamer {
    fn parse_component_subcomponent(
        &mut self,
        component: &mut wasm_encoder::Component,
        parser: Parser,
        subcomponent: &[u8],
        whole_component: &[u8],
    ) -> Result<(), Error<Self::Error>> {
        self.depth += 1;
        let done = component_utils::parse_component_subcomponent(
            self,
            component,
            parser,
            subcomponent,
            whole_component,
        );
        self.depth -= 1;
        done
    }

    fn parse_component_import_section(
        &mut self,
        imports: &mut wasm_encoder::ComponentImportSection,
        section: wasmparser::ComponentImportSectionReader<'_>,
    ) -> Result<(), Error<Self::Error>> {
        for import in section {
            let import = import?;
            let ty = self.component_type_ref(import.ty)?;
            if self.depth == 0 {
                imports.import(renamed(import.name), ty);
            } else {
                imports.import(import.name, ty);
            }
        }
        Ok(())
    }

    fn parse_component_export(
        &mut self,
        exports: &mut wasm_encoder::ComponentExportSection,
        export: wasmparser::ComponentExport<'_>,
    ) -> Result<(), Error<Self::Error>> {
        let name = if self.depth == 0 {
            renamed(export.name)
        } else {
            export.name.into()
        };
        exports.export(
            name,
            export.kind.into(),
            self.component_external_index(export.kind, export.index),
            export.ty.map(|t| self.component_type_ref(t)).transpose()?,
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> wasmparser::ComponentExternName<'_> {
        wasmparser::ComponentExternName {
            name: text,
            implements: None,
            version_suffix: None,
            external_id: None,
        }
    }

    #[test]
    fn only_wasi_names_of_the_candidate_are_renamed() {
        let cases = [
            (
                "wasi:http/handler@0.3.0-rc-2026-03-15",
                "wasi:http/handler@0.3.0",
            ),
            ("wasi:cli/types@0.3.0-rc-2026-03-15", "wasi:cli/types@0.3.0"),
            (
                "wasi:http/types@0.3.0-rc-2026-01-06",
                "wasi:http/types@0.3.0-rc-2026-01-06",
            ),
            (
                "spin:x/y@0.3.0-rc-2026-03-15",
                "spin:x/y@0.3.0-rc-2026-03-15",
            ),
            ("wasi:io/poll@0.2.6", "wasi:io/poll@0.2.6"),
        ];
        for (from, to) in cases {
            assert_eq!(renamed(name(from)).name, to, "{from}");
        }
    }

    #[test]
    fn binaries_without_the_candidate_are_untouched() {
        let component = b"\0asm\x0d\0\x01\0";
        assert!(matches!(as_release(component).unwrap(), Cow::Borrowed(_)));
    }
}
