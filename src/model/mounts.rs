//! A component's `files`, laid out as one read-only tree the guest sees at
//! `/`.
//!
//! A single directory mounted at `/` is used in place. Anything else is
//! staged into a private directory (hard links where the filesystem allows,
//! copies otherwise), so that the guest sees a snapshot of the files taken
//! when the app was loaded, and a reload can stage a new one beside it.
//!
//! Paths from an app stay in the app: every file and directory is taken
//! with its links resolved, and one that resolves outside the application
//! directory (`static/etc -> /etc`) is a load error naming it, never a
//! copy of what it points to. Inside the guest, wasmtime's capability-based
//! filesystem refuses links out of the mounted tree as well.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tempfile::TempDir;

use crate::model::manifest::FileMount;

/// The guest's root directory; a staged one is removed when this is dropped
/// (when the last request of the app generation that owns it has finished).
pub enum FilesRoot {
    InPlace(PathBuf),
    Staged(TempDir),
}

impl FilesRoot {
    pub fn path(&self) -> &Path {
        match self {
            FilesRoot::InPlace(path) => path,
            FilesRoot::Staged(dir) => dir.path(),
        }
    }
}

/// Lays out `mounts` for component `id` of the app in `app_dir`; `None`
/// when it has no files.
pub fn prepare(
    id: &str,
    mounts: &[FileMount],
    app_dir: &Path,
    staging_parent: &Path,
) -> Result<Option<FilesRoot>> {
    let app_dir = &fs::canonicalize(app_dir).with_context(|| {
        format!(
            "cannot resolve the application directory {}",
            app_dir.display()
        )
    })?;
    match mounts {
        [] => return Ok(None),
        [FileMount::Dir { host, guest }] if guest == "/" => {
            return Ok(Some(FilesRoot::InPlace(resolved_inside(app_dir, host)?)));
        }
        _ => {}
    }
    fs::create_dir_all(staging_parent).with_context(|| {
        format!(
            "cannot create the staging directory {}",
            staging_parent.display()
        )
    })?;
    let root = tempfile::Builder::new()
        .prefix(&format!("files-{id}-"))
        .tempdir_in(staging_parent)
        .with_context(|| {
            format!(
                "cannot create a staging directory in {}",
                staging_parent.display()
            )
        })?;
    for mount in mounts {
        match mount {
            FileMount::File { host, guest } => place_file(
                &resolved_inside(app_dir, host)?,
                &guest_path(root.path(), guest),
            )?,
            FileMount::Dir { host, guest } => {
                let real = resolved_inside(app_dir, host)?;
                let mut seen = HashSet::new();
                place_dir(app_dir, &real, &guest_path(root.path(), guest), &mut seen)?
            }
        }
    }
    Ok(Some(FilesRoot::Staged(root)))
}

fn guest_path(root: &Path, guest: &str) -> PathBuf {
    root.join(guest.trim_start_matches('/'))
}

/// `path` with every link resolved, if that stays inside `app_dir` (itself
/// resolved); else an error naming both.
fn resolved_inside(app_dir: &Path, path: &Path) -> Result<PathBuf> {
    let real =
        fs::canonicalize(path).with_context(|| format!("cannot resolve {}", path.display()))?;
    if !real.starts_with(app_dir) {
        anyhow::bail!(
            "{} resolves to {}, outside the application directory {}: the guest may only \
             see files of the app; replace the link with the files it points to, or remove it",
            path.display(),
            real.display(),
            app_dir.display()
        );
    }
    Ok(real)
}

/// Places the (resolved) file `real` at `target`.
fn place_file(real: &Path, target: &Path) -> Result<()> {
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    if fs::hard_link(real, target).is_err() {
        fs::copy(real, target)
            .with_context(|| format!("cannot copy {} for the guest", real.display()))?;
    }
    Ok(())
}

/// Places the (resolved) directory `real` at `target`, links resolved
/// inside the app; `seen` holds the directories on the way, so a link to
/// one of them is not followed forever.
fn place_dir(
    app_dir: &Path,
    real: &Path,
    target: &Path,
    seen: &mut HashSet<PathBuf>,
) -> Result<()> {
    if !seen.insert(real.to_path_buf()) {
        return Ok(());
    }
    fs::create_dir_all(target).with_context(|| format!("cannot create {}", target.display()))?;
    let entries = fs::read_dir(real).with_context(|| format!("cannot read {}", real.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read {}", real.display()))?;
        let resolved = resolved_inside(app_dir, &entry.path())?;
        let meta = fs::metadata(&resolved)
            .with_context(|| format!("cannot read {}", resolved.display()))?;
        let to = target.join(entry.file_name());
        if meta.is_dir() {
            place_dir(app_dir, &resolved, &to, seen)?;
        } else if meta.is_file() {
            place_file(&resolved, &to)?;
        }
    }
    seen.remove(real);
    Ok(())
}
