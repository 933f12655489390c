//! Loads plugins and runs them in sandboxed instances.
//!
//! One [`Runtime`] per process: one engine (epoch interruption, pooling
//! allocator when available), one linker, one compile cache. A [`Plugin`] is
//! a loaded component plus its pre-instantiated form; every
//! [`Instance`] gets its own Store, limits and capability state.

pub mod adapt;
pub mod cache;
mod engine;
pub mod instance;
pub mod into_model;
mod limits;

use crate::caps::{self, CapabilityState, Grants};
use crate::model::entity::PluginInfo;
use adapt::Contract;
pub use cache::{CompileCache, LoadOutcome};
use engine::EpochTicker;
pub use instance::{Fault, Instance};
pub use limits::Limits;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::Arc;
use thiserror::Error;
use wasmtime::Engine;
use wasmtime::component::{Component, Linker, types::ComponentItem};

/// The contract package this host implements; a plugin of any 0.2.x up
/// to this one loads (`adapt` serves those before 0.2.2).
pub const WIT_PACKAGE: &str = "weir:connector";
pub const WIT_VERSION: &str = "0.2.2";

#[derive(Debug, Error)]
pub enum RuntimeError {
    #[error("cannot create the WebAssembly engine: {0}")]
    Engine(String),
    #[error("not a valid WebAssembly component: {0}")]
    Compile(String),
    #[error(
        "it is a core WebAssembly module, not a component: rebuild the plugin with `cargo build --release --target \
         wasm32-wasip2` (wasm32-unknown-unknown and wasm32-wasip1 build modules)"
    )]
    CoreModule,
    #[error(
        "it is not WebAssembly (it starts with {0}): point weir.plugin at the .wasm that `cargo build --release \
         --target wasm32-wasip2` writes under target/wasm32-wasip2/release/"
    )]
    NotWasm(String),
    #[error("not a weir connector: {0}")]
    NotAConnector(String),
    #[error("`describe` failed: {0}")]
    Describe(Fault),
}

pub struct RuntimeOptions {
    /// Instances expected to run at once (sizes the pooling allocator).
    pub instances: u32,
    pub limits: Limits,
    /// Compile cache directory; `None` compiles on every load.
    pub cache_dir: Option<PathBuf>,
}

pub struct Runtime {
    engine: Engine,
    linker: Linker<instance::HostState>,
    /// For plugins built against 0.2.0 or 0.2.1.
    linker_v0_2_1: Linker<instance::HostState>,
    cache: CompileCache,
    pooling: bool,
    limits: Limits,
    ticker: Arc<EpochTicker>,
}

impl Runtime {
    pub fn new(options: RuntimeOptions) -> Result<Runtime, RuntimeError> {
        let (engine, pooling) = engine::build_engine(options.instances, options.limits.memory_bytes())
            .map_err(|e| RuntimeError::Engine(format!("{e:#}")))?;
        let linker_for = |contract| {
            let mut linker = Linker::new(&engine);
            caps::add_to_linker(&mut linker, contract).map_err(|e| RuntimeError::Engine(format!("{e:#}")))?;
            Ok::<_, RuntimeError>(linker)
        };
        let linker = linker_for(Contract::Current)?;
        let linker_v0_2_1 = linker_for(Contract::V0_2_1)?;
        let ticker = EpochTicker::start(&engine);
        Ok(Runtime {
            engine,
            linker,
            linker_v0_2_1,
            cache: CompileCache::new(options.cache_dir),
            pooling,
            limits: options.limits,
            ticker: Arc::new(ticker),
        })
    }

    /// Whether instances come from the pooling allocator.
    pub fn pooling(&self) -> bool {
        self.pooling
    }

    /// Compiles (or loads from cache) a plugin, checks it against the
    /// contract and asks it to describe itself.
    pub async fn load(&self, wasm: &[u8]) -> Result<Plugin, RuntimeError> {
        if let Some(wrong) = not_a_component(wasm) {
            return Err(wrong);
        }
        let (component, outcome) =
            self.cache.load(&self.engine, wasm).map_err(|e| RuntimeError::Compile(format!("{e:#}")))?;
        let wit_version = contract_version(&self.engine, &component)?;
        let not_a_connector = |e: wasmtime::Error| RuntimeError::NotAConnector(format!("{e:#}"));
        let pre = match Contract::for_version(&wit_version) {
            Contract::Current => {
                let pre = self.linker.instantiate_pre(&component).map_err(not_a_connector)?;
                instance::Pre::Current(crate::contract::ConnectorPre::new(pre).map_err(not_a_connector)?)
            }
            Contract::V0_2_1 => {
                let pre = self.linker_v0_2_1.instantiate_pre(&component).map_err(not_a_connector)?;
                instance::Pre::V0_2_1(crate::contract::v0_2_1::ConnectorPre::new(pre).map_err(not_a_connector)?)
            }
        };
        let mut probe = Instance::new(&pre, CapabilityState::new(&Grants::none("(describe)")), &self.limits)
            .await
            .map_err(RuntimeError::Describe)?;
        let info = probe.describe().await.map_err(RuntimeError::Describe)?;
        Ok(Plugin {
            info,
            wit_version,
            sha256: cache::hex(&Sha256::digest(wasm)),
            size: wasm.len(),
            outcome,
            pre,
            limits: self.limits.clone(),
            _ticker: self.ticker.clone(),
        })
    }
}

/// What is wrong with a file that is not a component at all, said so a
/// newcomer can act on it (the parser's own words name its internals).
fn not_a_component(wasm: &[u8]) -> Option<RuntimeError> {
    // A binary starts with `\0asm` and a version: 1 for a core module;
    // a component's layer field makes it 0x0d 0x00 0x01 0x00.
    const MAGIC: &[u8] = b"\0asm";
    if !wasm.starts_with(MAGIC) {
        let head: Vec<String> = wasm.iter().take(4).map(|b| format!("{b:02x}")).collect();
        let head = if head.is_empty() { "nothing: it is empty".to_string() } else { head.join(" ") };
        return Some(RuntimeError::NotWasm(head));
    }
    (wasm.get(4..8) == Some(&[1, 0, 0, 0])).then_some(RuntimeError::CoreModule)
}

/// A plugin ready to instantiate.
pub struct Plugin {
    pub info: PluginInfo,
    /// The `weir:connector` version the plugin was built against.
    pub wit_version: String,
    pub sha256: String,
    pub size: usize,
    pub outcome: LoadOutcome,
    pre: instance::Pre,
    limits: Limits,
    /// The engine's clock, which the deadlines of its calls go by: kept
    /// going as long as the plugin can be called, whatever became of the
    /// [`Runtime`] that loaded it.
    _ticker: Arc<EpochTicker>,
}

impl Plugin {
    /// A fresh sandboxed instance with the run's grants.
    pub async fn instantiate(&self, grants: &Grants) -> Result<Instance, Fault> {
        Instance::new(&self.pre, CapabilityState::new(grants), &self.limits).await
    }
}

/// Reads the contract version from the names of the component's imports
/// (`weir:connector/types@0.2.1`), and refuses a version this host cannot
/// serve.
fn contract_version(engine: &Engine, component: &Component) -> Result<String, RuntimeError> {
    let prefix = format!("{WIT_PACKAGE}/");
    let ty = component.component_type();
    let names: Vec<String> = ty
        .imports(engine)
        .chain(ty.exports(engine))
        .filter(|(_, item)| matches!(item.ty, ComponentItem::ComponentInstance(_)))
        .map(|(name, _)| name.to_string())
        .collect();
    let version =
        names.iter().filter(|n| n.starts_with(&prefix)).find_map(|n| n.split_once('@').map(|(_, v)| v.to_string()));
    let Some(version) = version else {
        return Err(RuntimeError::NotAConnector(format!(
            "it uses no {WIT_PACKAGE} interface (imports: {})",
            if names.is_empty() { "none".to_string() } else { names.join(", ") }
        )));
    };
    let major_minor = |v: &str| v.split('.').take(2).collect::<Vec<_>>().join(".");
    if major_minor(&version) != major_minor(WIT_VERSION) {
        return Err(RuntimeError::NotAConnector(format!(
            "built against {WIT_PACKAGE}@{version}; this weir serves {WIT_PACKAGE}@{}.x",
            major_minor(WIT_VERSION)
        )));
    }
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_module_or_another_file_is_named_for_what_it_is() {
        assert!(matches!(not_a_component(b"\0asm\x01\0\0\0"), Some(RuntimeError::CoreModule)));
        assert!(matches!(not_a_component(b"garbage"), Some(RuntimeError::NotWasm(h)) if h == "67 61 72 62"));
        assert!(matches!(not_a_component(b""), Some(RuntimeError::NotWasm(_))));
        assert!(not_a_component(b"\0asm\x0d\0\x01\0").is_none(), "a component goes on to the parser");
    }
}
