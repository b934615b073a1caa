//! The process-wide wasmtime engines (component model, pooling allocator, epoch
//! interruption, fuel), one per memory cap with its epoch ticker, and the components
//! compiled on them by content hash: servers in one process (tests) share them
//! instead of compiling every plugin again.

use std::sync::Mutex;
use std::time::Duration;

use wasmtime::component::Component;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::error::{Error, Field, Result};

/// How often the epoch advances; deadlines are counted in these ticks.
const TICK: Duration = Duration::from_millis(1);

static ENGINES: Mutex<Vec<(usize, Engine)>> = Mutex::new(Vec::new());
static COMPONENTS: Mutex<Vec<(usize, String, Component)>> = Mutex::new(Vec::new());

/// The engine for plugins capped at `memory` bytes, made (with its ticker) once.
pub(super) fn engine_for(memory: usize) -> Result<Engine> {
    let mut engines = ENGINES.lock().map_err(|_| Error::Storage("engine lock".into()))?;
    if let Some((_, e)) = engines.iter().find(|(m, _)| *m == memory) {
        return Ok(e.clone());
    }
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(500)
        .total_core_instances(2000)
        .total_memories(1000)
        .total_tables(1000)
        .max_memories_per_component(8)
        .max_core_instances_per_component(16)
        .max_tables_per_component(16)
        .max_memory_size(memory)
        // Reset a slot's first pages with memset instead of madvise: a hook touches
        // little memory, and page faults plus TLB shootdowns dominated its cost.
        .linear_memory_keep_resident(128 << 10)
        .table_keep_resident(1 << 16);
    let mut config = Config::new();
    // Reserve only the capped memory per slot, not the 4 GiB default.
    config
        .memory_reservation(memory as u64)
        .memory_guard_size(1 << 16)
        .memory_reservation_for_growth(0)
        .wasm_component_model(true)
        .epoch_interruption(true)
        .consume_fuel(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    let engine = Engine::new(&config).map_err(|e| Error::Storage(format!("wasm engine: {e}")))?;
    let ticking = engine.clone();
    std::thread::Builder::new()
        .name("latchkey-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(TICK);
                ticking.increment_epoch();
            }
        })
        .map_err(|e| Error::Storage(format!("epoch thread: {e}")))?;
    engines.push((memory, engine.clone()));
    Ok(engine)
}

/// Compiles `bytes` (or finds the component compiled for this cap and hash).
pub(super) fn compile(engine: &Engine, memory: usize, hash: &str, bytes: &[u8]) -> Result<Component> {
    if let Some((_, _, c)) =
        COMPONENTS.lock().ok().and_then(|l| l.iter().find(|(m, h, _)| *m == memory && h == hash).cloned())
    {
        return Ok(c);
    }
    let component = Component::new(engine, bytes)
        .map_err(|e| Error::invalid(Field::Plugin, format!("not a WebAssembly component: {e}")))?;
    if let Ok(mut l) = COMPONENTS.lock() {
        l.push((memory, hash.to_string(), component.clone()));
    }
    Ok(component)
}
