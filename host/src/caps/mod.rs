//! The host side of each WIT import, one folder per capability.
//!
//! A plugin gets nothing by default; what it may use is decided per run
//! from the workflow and the plugin's `describe()` (each capability's
//! `grant.rs`) and carried into each instance as [`CapabilityState`].
//! Each capability implements its WIT interface on its own per-instance
//! state and is linked through a getter to it (wasmtime-wasi's `WasiView`
//! and `HasData` pattern), so nothing here names the runtime's store type.

pub mod discovery;
pub mod http;
pub mod log;
pub mod redact;
pub mod sql;

use std::marker::PhantomData;
use std::sync::Arc;
use wasmtime::component::{HasData, Linker};
use wasmtime_wasi::WasiView;

pub use crate::contract::Contract;
pub use redact::Redactor;

/// What a run grants its plugin, shared by all of its instances.
#[derive(Clone)]
pub struct Grants {
    /// The plugin's name, for log lines.
    pub plugin: Arc<str>,
    pub sql: Arc<sql::SqlGrants>,
    /// One HTTP client per run (the rate limit is per run and origin);
    /// `None` when the run grants no origin.
    pub http: Option<Arc<http::client::HttpClient>>,
    pub redactor: Arc<Redactor>,
    /// Warnings and errors the plugin logged, for the run report.
    pub warnings: Arc<log::PluginMessages>,
}

impl Grants {
    /// Grants nothing at all: every capability call is denied.
    pub fn none(plugin: &str) -> Grants {
        Grants {
            plugin: Arc::from(plugin),
            sql: Arc::new(sql::SqlGrants::default()),
            http: None,
            redactor: Arc::new(Redactor::default()),
            warnings: Arc::new(log::PluginMessages::default()),
        }
    }
}

/// One instance's part of each capability: the run's grants plus what
/// this instance holds (open connections, log budget, refs emitted).
pub struct CapabilityState {
    pub sql: sql::SqlState,
    pub http: http::HttpState,
    pub log: log::LogState,
    pub discovery: discovery::DiscoveryState,
}

impl CapabilityState {
    pub fn new(grants: &Grants) -> Self {
        CapabilityState {
            sql: sql::SqlState::new(grants),
            http: http::HttpState::new(grants),
            log: log::LogState::new(grants),
            discovery: discovery::DiscoveryState::new(grants),
        }
    }
}

/// A store's data that holds a [`CapabilityState`]: how the linker finds
/// each capability's part of an instance (wasmtime-wasi's `WasiView`).
pub trait CapabilityView: WasiView + Send + 'static {
    fn capabilities(&mut self) -> &mut CapabilityState;
}

// The shared types interface has no functions.
impl crate::contract::types::Host for CapabilityState {}

/// The linker's view of a part of an instance's state: a capability's
/// host functions get `&mut S`, nothing else of the store.
struct Part<S>(PhantomData<S>);

impl<S: Send + 'static> HasData for Part<S> {
    type Data<'a> = &'a mut S;
}

/// Links WASI (with an empty context) and every weir capability, each
/// reaching only its own state, as a plugin of `contract` imports them.
pub fn add_to_linker<T: CapabilityView>(linker: &mut Linker<T>, contract: Contract) -> wasmtime::Result<()> {
    use crate::contract::weir::connector as wit;
    // Rust guests import wasi:cli and wasi:io even when they use neither, so
    // WASI is linked; what it can reach is decided by the empty WasiCtx.
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    // Unchanged since 0.2.0: an older plugin's imports resolve to these by
    // semver-compatible name.
    wit::sql::add_to_linker::<T, Part<sql::SqlState>>(linker, |t| &mut t.capabilities().sql)?;
    wit::http::add_to_linker::<T, Part<http::HttpState>>(linker, |t| &mut t.capabilities().http)?;
    wit::log::add_to_linker::<T, Part<log::LogState>>(linker, |t| &mut t.capabilities().log)?;
    match contract {
        Contract::Current => {
            wit::types::add_to_linker::<T, Part<CapabilityState>>(linker, T::capabilities)?;
            wit::discovery::add_to_linker::<T, Part<discovery::DiscoveryState>>(linker, discovery_of)?;
        }
        Contract::V0_2_1 => {
            use crate::contract::v0_2_1::weir::connector as old;
            old::types::add_to_linker::<T, Part<CapabilityState>>(linker, T::capabilities)?;
            old::discovery::add_to_linker::<T, Part<discovery::DiscoveryState>>(linker, discovery_of)?;
        }
    }
    Ok(())
}

fn discovery_of<T: CapabilityView>(t: &mut T) -> &mut discovery::DiscoveryState {
    &mut t.capabilities().discovery
}
