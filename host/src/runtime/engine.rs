use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances. A running plugin yields to the scheduler at
/// every tick, which is what lets a deadline stop a plugin stuck in a loop.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Builds the one engine of the process: epoch interruption on, and the
/// pooling allocator when the machine lets us reserve its address space.
pub fn build_engine(instances: u32, memory_bytes: usize) -> wasmtime::Result<(Engine, bool)> {
    match Engine::new(&engine_config(Some((instances, memory_bytes)))) {
        Ok(engine) => Ok((engine, true)),
        Err(err) => {
            tracing::debug!(error = %err, "pooling allocator unavailable; using on-demand allocation");
            Ok((Engine::new(&engine_config(None))?, false))
        }
    }
}

fn engine_config(pooling: Option<(u32, usize)>) -> Config {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config.wasm_component_model(true);
    if let Some((instances, memory_bytes)) = pooling {
        // Spare slots for instances being replaced after a trap while the
        // old one is still being torn down.
        let slots = instances.saturating_mul(2).max(8);
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(slots)
            .total_core_instances(slots.saturating_mul(4))
            .total_memories(slots.saturating_mul(2))
            .total_tables(slots.saturating_mul(4))
            .total_stacks(slots)
            .max_memory_size(memory_bytes);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    config
}

/// Advances the engine's epoch on a background thread until dropped.
pub struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    pub fn start(engine: &Engine) -> EpochTicker {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let engine = engine.clone();
        let spawned = thread::Builder::new().name("weir-epoch".into()).spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        });
        if let Err(err) = spawned {
            tracing::warn!(error = %err, "no epoch thread: a looping plugin is stopped only by the host timeout");
        }
        EpochTicker { stop }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
