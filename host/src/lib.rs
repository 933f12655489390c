//! weir: metadata ingestion with sandboxed WebAssembly connectors.
//!
//! The data flow, top to bottom: [`config`] reads a workflow file;
//! [`runtime`] loads the plugin into a sandbox and turns what it hands over
//! from the [`contract`]'s generated types into the [`model`]'s; [`caps`]
//! are what the sandbox may reach; [`plan`] discovers, filters, batches and
//! runs the work across instances; [`sink`] writes what comes out;
//! [`report`] says what happened.

pub mod acceptance;
pub mod argo;
pub mod bench;
pub mod caps;
pub mod config;
pub mod contract;
pub mod engines;
pub mod logging;
pub mod model;
/// Percent-encoding, shared with the SDK so host and plugins agree.
#[path = "../../sdk/src/percent.rs"]
pub mod percent;
pub mod plan;
pub mod plugins;
pub mod procfs;
pub mod report;
pub mod retry;
pub mod runtime;
pub mod scaffold;
pub mod sink;
pub mod sqlite_file;
pub mod state;
pub mod text;
