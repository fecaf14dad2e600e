//! The wasmtime [`Engine`]: one per process, shared by every app generation.
//!
//! It uses the pooling instance allocator (fast per-request instantiation),
//! tuned so that freeing a slot after a request does not go back to the
//! kernel where Linux can tell which pages the guest wrote. It falls back
//! to on-demand allocation when the pool's address space cannot be
//! reserved (a small `ulimit -v` or `LimitAS=`), logging which one is in
//! use.

pub mod compile_cache;

use std::time::Duration;

use anyhow::{Context, Result};
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances: the granularity of request deadlines for
/// guests spinning in Wasm.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The most of a linear memory's dirty pages kept resident (and reset by
/// copying) when a pool slot is freed; pages beyond it are given back.
/// Bounds the memory an idle slot holds: a slot is reused by the same
/// component whenever one is free (wasmtime keeps up to 100 unused warm
/// slots).
const MEMORY_KEEP_RESIDENT: usize = 4 << 20;
/// The same for tables.
const TABLE_KEEP_RESIDENT: usize = 64 << 10;

/// Limits that shape the engine.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Largest linear memory one instance may grow to, in bytes.
    pub max_instance_memory: usize,
    /// How many component instances may be alive at once (pool size).
    pub max_instances: u32,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            max_instance_memory: 128 << 20,
            max_instances: 1000,
        }
    }
}

/// Builds the engine, preferring the pooling allocator, and starts the
/// epoch ticker that lets deadlines interrupt guests.
pub fn build(options: &EngineOptions) -> Result<Engine> {
    let engine = build_engine(options)?;
    let ticker = engine.weak();
    std::thread::Builder::new()
        .name("epoch-ticker".into())
        .spawn(move || {
            while let Some(engine) = ticker.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .context("cannot start the epoch ticker thread")?;
    Ok(engine)
}

fn build_engine(options: &EngineOptions) -> Result<Engine> {
    let mut pooling = PoolingAllocationConfig::default();
    pooling
        .total_component_instances(options.max_instances)
        .total_core_instances(options.max_instances * 4)
        .total_memories(options.max_instances)
        .total_tables(options.max_instances * 2)
        .total_stacks(options.max_instances)
        .max_memory_size(options.max_instance_memory);
    let pagemap_scan = PoolingAllocationConfig::is_pagemap_scan_available();
    if pagemap_scan {
        // Reset a slot by copying back only the pages the guest dirtied
        // (found with the PAGEMAP_SCAN ioctl) instead of `madvise`, whose
        // page-table change costs a TLB-flush IPI to every core and page
        // faults on the next request. Without the ioctl (Linux before 6.7)
        // wasmtime would `memset` the whole kept size every time, which
        // measured slower than `madvise`, so nothing is kept resident then.
        pooling
            .pagemap_scan(Enabled::Yes)
            .linear_memory_keep_resident(MEMORY_KEEP_RESIDENT.min(options.max_instance_memory))
            .table_keep_resident(TABLE_KEEP_RESIDENT);
    }
    let mut config = base_config();
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    match Engine::new(&config) {
        Ok(engine) => {
            tracing::info!(
                allocator = "pooling",
                max_instances = options.max_instances,
                pagemap_scan,
                "wasmtime engine ready"
            );
            Ok(engine)
        }
        Err(pool_error) => {
            tracing::warn!(
                error = %format!("{pool_error:#}"),
                "cannot reserve the pooling allocator's address space; using on-demand allocation"
            );
            let mut config = base_config();
            config.allocation_strategy(InstanceAllocationStrategy::OnDemand);
            let engine = Engine::new(&config)
                .map_err(anyhow::Error::from)
                .context("cannot create the wasmtime engine")?;
            tracing::info!(allocator = "on-demand", "wasmtime engine ready");
            Ok(engine)
        }
    }
}

fn base_config() -> Config {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .wasm_component_model_async(true)
        .epoch_interruption(true)
        .parallel_compilation(true);
    config
}
