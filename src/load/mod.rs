//! Turning a spin.toml into a servable generation: [`app`] loads it, core
//! modules are made components by [`componentize`], dependencies and
//! middleware are composed in by [`compose`], and [`app_build`] runs the
//! components' build commands for `--build`. The components are compiled
//! and linked through the guest side's `executor::Runtime`.

pub(crate) mod app;
pub(crate) mod app_build;
pub(crate) mod componentize;
pub(crate) mod compose;
