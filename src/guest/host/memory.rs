//! The store's resource limits: wasmtime's `StoreLimits`, except that a
//! memory growing past `--max-instance-memory` fails with a
//! [`MemoryLimitHit`] of our own, so that the trap it causes can be told
//! from any other (the log says so, and the metrics count it as `memory`).

use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};

/// The trap of a guest that grew its memory past the limit.
#[derive(Debug)]
pub struct MemoryLimitHit {
    pub desired: usize,
    pub limit: usize,
}

impl std::fmt::Display for MemoryLimitHit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the guest grew a memory to {} bytes, past --max-instance-memory ({} bytes)",
            self.desired, self.limit
        )
    }
}

impl std::error::Error for MemoryLimitHit {}

pub struct GuestLimits {
    inner: StoreLimits,
    limit: usize,
}

impl GuestLimits {
    /// Memories up to `limit` bytes each; a growth past it traps.
    pub fn new(limit: usize) -> Self {
        Self {
            inner: StoreLimitsBuilder::new()
                .memory_size(limit)
                .trap_on_grow_failure(true)
                .build(),
            limit,
        }
    }
}

impl ResourceLimiter for GuestLimits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit {
            return Err(wasmtime::Error::new(MemoryLimitHit {
                desired,
                limit: self.limit,
            }));
        }
        self.inner.memory_growing(current, desired, maximum)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.inner.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.inner.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}
