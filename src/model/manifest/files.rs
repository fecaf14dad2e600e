//! Resolution of a component's `files` and `exclude_files` into host → guest mounts,
//! following Spin's loader (`crates/loader/src/local.rs`):
//!
//! - a string entry that names an existing file mounts that file at the same relative
//!   path under the guest `/` (`exclude_files` does not apply to it, as in Spin);
//! - a string entry that names an existing directory mounts the whole tree at the same
//!   relative path;
//! - any other string entry must be a glob pattern (relative to the manifest
//!   directory); it is expanded now, matching files only, in glob's (alphabetical)
//!   order, and each match is mounted at its relative path;
//! - `{ source, destination }` maps a host directory (or a single file) to a guest path.
//!
//! `exclude_files` globs are matched against paths relative to the manifest directory.
//! A directory containing an excluded file is expanded into individual file mounts.
//! Host paths must stay inside the manifest directory.

use std::ops::Range;
use std::path::{Component as PathPart, Path, PathBuf};

use anyhow::Result;
use toml::de::DeValue;

use super::FileMount;
use super::component::Ctx;
use super::doc::{Tbl, type_err};

const FILES_EXAMPLE: &str =
    "files = [\"static/**/*\", { source = \"assets\", destination = \"/\" }]";
const LEARN_MORE: &str = "https://spinframework.dev/writing-apps#including-files-with-components";

/// Lexically resolves `.` and `..` (without touching the filesystem, like Spin).
pub(super) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            PathPart::CurDir => {}
            PathPart::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// A guest path: absolute, `/`-separated, with `.`/`..` resolved and no trailing `/`.
fn guest_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

fn join_guest(dir: &str, rel: &str) -> String {
    guest_path(&format!("{dir}/{rel}"))
}

struct Resolver<'a, 'c> {
    ctx: &'c Ctx<'a>,
    excludes: Vec<glob::Pattern>,
    out: Vec<FileMount>,
}

pub(super) fn resolve(
    ctx: &Ctx<'_>,
    t: &Tbl<'_>,
    warnings: &mut Vec<String>,
) -> Result<Vec<FileMount>> {
    let example = "exclude_files = [\"**/*.bak\"]";
    let mut excludes = Vec::new();
    for (i, (pat, span)) in t
        .opt_str_array("exclude_files", example)?
        .into_iter()
        .enumerate()
    {
        let pattern = glob::Pattern::new(pat).map_err(|e| {
            ctx.doc.err(
                Some(&span),
                format!(
                    "`{}[{i}]`: invalid glob pattern {pat:?}: {e}; fix the pattern, for example: {example}",
                    t.child("exclude_files")
                ),
            )
        })?;
        excludes.push(pattern);
    }

    let mut r = Resolver {
        ctx,
        excludes,
        out: Vec::new(),
    };
    let files_path = t.child("files");
    for (i, entry) in t.opt_array("files", FILES_EXAMPLE)?.iter().enumerate() {
        let path = format!("{files_path}[{i}]");
        let span = entry.span();
        match entry.get_ref() {
            DeValue::String(pattern) => r.pattern(&path, &span, pattern, warnings)?,
            DeValue::Table(_) => {
                let p = Tbl::of(ctx.doc, path.clone(), entry, FILES_EXAMPLE)?;
                p.check_keys(&["source", "destination"])?;
                let (source, _) = p.req_str("source", "source = \"assets\"")?;
                let (dest, _) = p.req_str("destination", "destination = \"/\"")?;
                r.placement(&path, &span, source, dest)?;
            }
            other => {
                return Err(type_err(
                    ctx.doc,
                    &path,
                    entry,
                    other,
                    "a glob pattern string or a `{ source, destination }` table",
                    FILES_EXAMPLE,
                ));
            }
        }
    }
    Ok(r.out)
}

impl Resolver<'_, '_> {
    fn fail(&self, span: &Range<usize>, msg: String) -> anyhow::Error {
        self.ctx.doc.err(Some(span), msg)
    }

    /// The path of `host` relative to the manifest directory, if it stays inside it.
    fn relative(&self, host: &Path) -> Option<PathBuf> {
        normalize(host)
            .strip_prefix(self.ctx.base_dir)
            .ok()
            .map(Path::to_path_buf)
    }

    fn inside(&self, path: &str, span: &Range<usize>, rel: &str) -> Result<(PathBuf, PathBuf)> {
        let host = normalize(&self.ctx.base_dir.join(rel));
        match self.relative(&host) {
            Some(inner) => Ok((host, inner)),
            None => Err(self.fail(
                span,
                format!(
                    "`{path}`: {rel:?} is outside the application directory {}; files must be \
                     within the application directory: move them under it (or use a symlink \
                     inside it)",
                    self.ctx.base_dir.display()
                ),
            )),
        }
    }

    fn excluded(&self, rel: &Path) -> bool {
        self.excludes.iter().any(|p| p.matches_path(rel))
    }

    fn pattern(
        &mut self,
        path: &str,
        span: &Range<usize>,
        pattern: &str,
        warnings: &mut Vec<String>,
    ) -> Result<()> {
        let hint = format!(
            "to include a directory, use the {{ source, destination }} form or a glob ending \
             in `/**/*` (see {LEARN_MORE})"
        );
        if pattern.is_empty() {
            return Err(self.fail(span, format!("`{path}` is an empty pattern; {hint}")));
        }
        if pattern == ".." || pattern.ends_with("/..") {
            return Err(self.fail(
                span,
                format!(
                    "`{path}`: a file pattern can't end in a parent directory path (..); {hint}"
                ),
            ));
        }
        if pattern == "." || pattern.ends_with("/.") {
            return Err(self.fail(
                span,
                format!(
                    "`{path}`: a file pattern can't end in a current directory path (.); {hint}"
                ),
            ));
        }
        if pattern == "*" || pattern == "**/*" {
            let msg = format!(
                "{}: line {}: `{path}` = {pattern:?} includes the entire application directory \
                 as files, which is unlikely to be what you want; if it is, write \"./{pattern}\" \
                 to silence this warning",
                self.ctx.doc.file.display(),
                self.ctx.doc.line(span)
            );
            tracing::warn!("{msg}");
            warnings.push(msg);
        }
        let (host, rel) = self.inside(path, span, pattern)?;
        if host.is_file() {
            let guest = guest_path(&utf8(self, path, span, &rel)?);
            self.out.push(FileMount::File { host, guest });
        } else if host.is_dir() {
            let guest = guest_path(&utf8(self, path, span, &rel)?);
            self.directory(path, span, host, &guest)?;
        } else if glob::Pattern::escape(pattern) != pattern {
            self.glob(path, span, pattern)?;
        } else {
            return Err(self.fail(
                span,
                format!(
                    "`{path}`: {} does not exist and doesn't appear to be a glob pattern; \
                     create it or fix the path (patterns are relative to {})",
                    host.display(),
                    self.ctx.base_dir.display()
                ),
            ));
        }
        Ok(())
    }

    fn placement(
        &mut self,
        path: &str,
        span: &Range<usize>,
        source: &str,
        dest: &str,
    ) -> Result<()> {
        let (host, _) = self.inside(path, span, source)?;
        let guest = guest_path(dest);
        if host.is_dir() {
            self.directory(path, span, host, &guest)
        } else if host.is_file() {
            if dest.ends_with('/') || dest.ends_with('.') {
                return Err(self.fail(
                    span,
                    format!(
                        "`{path}`: {source:?} is a file, so its destination {dest:?} must be a \
                         file name, not a directory; write e.g. \"{}\"",
                        join_guest(
                            dest,
                            host.file_name().and_then(|n| n.to_str()).unwrap_or("file")
                        )
                    ),
                ));
            }
            self.out.push(FileMount::File { host, guest });
            Ok(())
        } else {
            Err(self.fail(
                span,
                format!(
                    "`{path}`: file or directory {} does not exist; create it or fix `source` \
                     (it is relative to {})",
                    host.display(),
                    self.ctx.base_dir.display()
                ),
            ))
        }
    }

    /// Mounts a directory tree, or its non-excluded files when `exclude_files` hits.
    fn directory(
        &mut self,
        path: &str,
        span: &Range<usize>,
        host: PathBuf,
        guest: &str,
    ) -> Result<()> {
        if self.excludes.is_empty() {
            self.out.push(FileMount::Dir {
                host,
                guest: guest.to_owned(),
            });
            return Ok(());
        }
        let files = self.walk(
            path,
            span,
            &format!(
                "{}/**/*",
                glob::Pattern::escape(&utf8_path(self, path, span, &host)?)
            ),
        )?;
        if files.iter().all(|(_, rel)| !self.excluded(rel)) {
            self.out.push(FileMount::Dir {
                host,
                guest: guest.to_owned(),
            });
            return Ok(());
        }
        for (file, rel) in files {
            if self.excluded(&rel) {
                continue;
            }
            let below = file.strip_prefix(&host).unwrap_or(&file);
            let guest = join_guest(guest, &utf8(self, path, span, below)?);
            self.out.push(FileMount::File { host: file, guest });
        }
        Ok(())
    }

    fn glob(&mut self, path: &str, span: &Range<usize>, pattern: &str) -> Result<()> {
        let base = utf8_path(self, path, span, self.ctx.base_dir)?;
        let full = format!("{}/{pattern}", glob::Pattern::escape(&base));
        for (file, rel) in self.walk(path, span, &full)? {
            if self.excluded(&rel) {
                continue;
            }
            let guest = guest_path(&utf8(self, path, span, &rel)?);
            self.out.push(FileMount::File { host: file, guest });
        }
        Ok(())
    }

    /// Files (not directories) matching an absolute glob, with their paths relative
    /// to the manifest directory, in glob's alphabetical order.
    fn walk(&self, path: &str, span: &Range<usize>, full: &str) -> Result<Vec<(PathBuf, PathBuf)>> {
        let paths = glob::glob(full).map_err(|e| {
            self.fail(
                span,
                format!("`{path}`: invalid glob pattern: {e}; fix the pattern (see {LEARN_MORE})"),
            )
        })?;
        let mut found = Vec::new();
        for entry in paths {
            let file = entry.map_err(|e| {
                self.fail(
                    span,
                    format!(
                        "`{path}`: cannot read {}: {}; check its permissions",
                        e.path().display(),
                        e.error()
                    ),
                )
            })?;
            if !file.is_file() {
                continue;
            }
            let file = normalize(&file);
            let Some(rel) = self.relative(&file) else {
                return Err(self.fail(
                    span,
                    format!(
                        "`{path}` matches {}, which is outside the application directory {}; \
                         files must be within the application directory",
                        file.display(),
                        self.ctx.base_dir.display()
                    ),
                ));
            };
            found.push((file, rel));
        }
        Ok(found)
    }
}

fn utf8_path(r: &Resolver<'_, '_>, path: &str, span: &Range<usize>, p: &Path) -> Result<String> {
    p.to_str().map(str::to_owned).ok_or_else(|| {
        r.fail(
            span,
            format!(
                "`{path}`: the path {} is not valid UTF-8; rename it",
                p.display()
            ),
        )
    })
}

/// A relative host path as a `/`-separated string (for guest paths).
fn utf8(r: &Resolver<'_, '_>, path: &str, span: &Range<usize>, rel: &Path) -> Result<String> {
    let mut parts = Vec::new();
    for part in rel.components() {
        let s = part.as_os_str().to_str().ok_or_else(|| {
            r.fail(
                span,
                format!(
                    "`{path}`: the file name {} is not valid UTF-8; rename it",
                    rel.display()
                ),
            )
        })?;
        parts.push(s);
    }
    Ok(parts.join("/"))
}
