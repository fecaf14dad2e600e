//! A component's `files`, laid out as one read-only tree the guest sees at
//! `/`.
//!
//! A single directory mounted at `/` is used in place. Anything else is
//! staged into a private directory (hard links where the filesystem allows,
//! copies otherwise), so that the guest sees a snapshot of the files taken
//! when the app was loaded, and a reload can stage a new one beside it.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tempfile::TempDir;

use crate::manifest::FileMount;

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

/// Lays out `mounts` for component `id`; `None` when it has no files.
pub fn prepare(id: &str, mounts: &[FileMount], staging_parent: &Path) -> Result<Option<FilesRoot>> {
    match mounts {
        [] => return Ok(None),
        [FileMount::Dir { host, guest }] if guest == "/" => {
            return Ok(Some(FilesRoot::InPlace(host.clone())));
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
            FileMount::File { host, guest } => place_file(host, &guest_path(root.path(), guest))?,
            FileMount::Dir { host, guest } => place_dir(host, &guest_path(root.path(), guest))?,
        }
    }
    Ok(Some(FilesRoot::Staged(root)))
}

fn guest_path(root: &Path, guest: &str) -> PathBuf {
    root.join(guest.trim_start_matches('/'))
}

fn place_file(host: &Path, target: &Path) -> Result<()> {
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    if fs::hard_link(host, target).is_err() {
        fs::copy(host, target)
            .with_context(|| format!("cannot copy {} for the guest", host.display()))?;
    }
    Ok(())
}

fn place_dir(host: &Path, target: &Path) -> Result<()> {
    fs::create_dir_all(target).with_context(|| format!("cannot create {}", target.display()))?;
    let entries = fs::read_dir(host).with_context(|| format!("cannot read {}", host.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read {}", host.display()))?;
        let kind = entry.file_type()?;
        let to = target.join(entry.file_name());
        if kind.is_dir() {
            place_dir(&entry.path(), &to)?;
        } else if kind.is_file() || fs::metadata(entry.path()).is_ok_and(|m| m.is_file()) {
            place_file(&entry.path(), &to)?;
        }
    }
    Ok(())
}
