//! The host side of each WIT import, one folder per capability.
//!
//! A plugin gets nothing by default; what it may use is decided per run by
//! the workflow ([`Grants`]) and carried into each instance as
//! [`CapabilityState`].

pub mod discovery;
pub mod http;
pub mod log;
pub mod redact;
pub mod sql;

use crate::runtime::bindings::Connector;
use crate::runtime::instance::HostState;
use std::sync::Arc;
use wasmtime::component::{HasSelf, Linker};

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

/// Per-instance capability state: the run's grants plus what this instance
/// holds (open connections, log budget).
pub struct CapabilityState {
    pub grants: Grants,
    pub sql: sql::InstanceSql,
    pub log: log::LogBudget,
    /// The shard being processed, for log lines (`None` outside `process`).
    pub shard: Option<Arc<str>>,
    /// References a `discover` call under way has emitted.
    pub discovery: discovery::Emitted,
}

impl CapabilityState {
    pub fn new(grants: Grants) -> Self {
        CapabilityState {
            grants,
            sql: sql::InstanceSql::default(),
            log: log::LogBudget::default(),
            shard: None,
            discovery: discovery::Emitted::default(),
        }
    }
}

/// Links WASI (with an empty context) and every weir capability.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    // Rust guests import wasi:cli and wasi:io even when they use neither, so
    // WASI is linked; what it can reach is decided by the empty WasiCtx.
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    Connector::add_to_linker::<_, HasSelf<HostState>>(linker, |state| state)?;
    Ok(())
}

impl crate::runtime::bindings::types::Host for HostState {}
