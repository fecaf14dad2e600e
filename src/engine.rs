//! The wasmtime [`Engine`]: one per process, shared by every app generation.
//!
//! It uses the pooling instance allocator (fast per-request instantiation)
//! and falls back to on-demand allocation when the pool's address space
//! cannot be reserved (a small `ulimit -v` or `LimitAS=`), logging which one
//! is in use.

use std::time::Duration;

use anyhow::{Context, Result};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances: the granularity of request deadlines for
/// guests spinning in Wasm.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

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
    let mut config = base_config();
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    match Engine::new(&config) {
        Ok(engine) => {
            tracing::info!(
                allocator = "pooling",
                max_instances = options.max_instances,
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
