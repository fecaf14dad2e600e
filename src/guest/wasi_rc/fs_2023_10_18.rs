//! wasi:filesystem `0.2.0-rc-2023-10-18`, imported by components whose WASI
//! imports were made by a toolchain of that time (rather than by the
//! preview 1 adapter at load). It is WASI 0.2's but for:
//!
//! - `open-at` takes a trailing `modes` (permissions for a new file):
//!   dropped, as WASI 0.2 creates files with the host's default mode;
//! - `access-at`, `change-file-permissions-at`,
//!   `change-directory-permissions-at` and the five `lock` methods, which
//!   WASI 0.2 removed: they answer `unsupported`.

use anyhow::Result;
use wasmtime::StoreContextMut;
use wasmtime::component::{ComponentType, Lift, Linker, Lower, Resource};
use wasmtime_wasi::filesystem::Descriptor;
use wasmtime_wasi::p2::bindings::filesystem::types::{
    DescriptorFlags, ErrorCode, HostDescriptor, OpenFlags, PathFlags,
};

use super::*;

// The release candidate's `modes` flags (ignored).
wasmtime::component::flags! {
    Modes {
        #[component(name = "readable")]
        const READABLE;
        #[component(name = "writable")]
        const WRITABLE;
        #[component(name = "executable")]
        const EXECUTABLE;
    }
}

/// The release candidate's `access-type` (for `access-at`).
#[derive(ComponentType, Lift, Lower, Clone, Copy)]
#[component(variant)]
enum AccessType {
    #[component(name = "access")]
    Access(Modes),
    #[component(name = "exists")]
    Exists,
}

/// The lock methods WASI 0.2 dropped.
const LOCKS: &[&str] = &[
    "lock-shared",
    "lock-exclusive",
    "try-lock-shared",
    "try-lock-exclusive",
    "unlock",
];

/// What the methods WASI 0.2 dropped answer.
type Unsupported = (Result<(), ErrorCode>,);

type Store<'a> = StoreContextMut<'a, HostState>;

type OpenAt = (
    Resource<Descriptor>,
    PathFlags,
    String,
    OpenFlags,
    DescriptorFlags,
    Modes,
);

const VERSION: &str = "0.2.0-rc-2023-10-18";

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> Result<()> {
    let mut types = filesystem(linker, VERSION)?;
    types.func_wrap_async(
        "[method]descriptor.open-at",
        |mut store: Store<'_>, (dir, path_flags, path, open_flags, flags, _modes): OpenAt| {
            Box::new(async move {
                let mut fs = store.data_mut().filesystem();
                let opened = fs.open_at(dir, path_flags, path, open_flags, flags).await;
                let opened: Result<Resource<Descriptor>, ErrorCode> = match opened {
                    Ok(descriptor) => Ok(descriptor),
                    Err(e) => Err(e.downcast()?),
                };
                Ok((opened,))
            })
        },
    )?;
    for name in LOCKS {
        types.func_wrap(
            &format!("[method]descriptor.{name}"),
            |_: Store<'_>, (_file,): (Resource<Descriptor>,)| -> wasmtime::Result<Unsupported> {
                Ok((Err(ErrorCode::Unsupported),))
            },
        )?;
    }
    type AccessAt = (Resource<Descriptor>, PathFlags, String, AccessType);
    types.func_wrap(
        "[method]descriptor.access-at",
        |_: Store<'_>, _: AccessAt| -> wasmtime::Result<Unsupported> {
            Ok((Err(ErrorCode::Unsupported),))
        },
    )?;
    type PermissionsAt = (Resource<Descriptor>, PathFlags, String, Modes);
    for name in [
        "change-file-permissions-at",
        "change-directory-permissions-at",
    ] {
        types.func_wrap(
            &format!("[method]descriptor.{name}"),
            |_: Store<'_>, _: PermissionsAt| -> wasmtime::Result<Unsupported> {
                Ok((Err(ErrorCode::Unsupported),))
            },
        )?;
    }
    Ok(())
}
