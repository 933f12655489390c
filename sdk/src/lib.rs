//! `weir-sdk`: everything a weir connector author needs, and nothing else.
//!
//! A connector is a type that implements [`Connector`], exported with
//! [`export_connector!`], built with `cargo build --target wasm32-wasip2`.
//! It reads its source through [`sql`] connections the host opens on its
//! behalf, logs through [`log`], and returns typed entities modelled on
//! OpenMetadata's Create* requests.
//!
//! ```ignore
//! use weir_sdk::*;
//!
//! struct Demo;
//! impl Connector for Demo {
//!     fn describe() -> PluginInfo { /* name, kinds, capabilities */ }
//!     fn discover(config: &Config, kind: EntityKind) -> Result<Vec<EntityRef>> { Ok(vec![]) }
//!     fn process(config: &Config, refs: Vec<EntityRef>) -> Result<Batch> { Ok(Batch::default()) }
//! }
//! export_connector!(Demo);
//! ```

mod config;
mod failure;
pub mod log;
pub mod sql;

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "connector",
        pub_export_macro: true,
        export_macro_name: "__export_connector_world",
        default_bindings_module: "weir_sdk::bindings",
    });
}

pub use bindings::weir::connector::types::{
    Batch, Capability, Chart, CheckConstraint, Column, ConstraintKind, Dashboard, DataModel, Database, DatabaseSchema,
    Deferred, Entity, EntityFailure, EntityKind, EntityRef, ErrorKind, Failure, ForeignKey, LineageEdge, PluginInfo,
    RawEntity, StoredProcedure, Table, TableConstraint, TableType,
};
pub use config::Config;
pub use serde_json;

/// The result type of every connector entry point.
pub type Result<T, E = Failure> = core::result::Result<T, E>;

/// The version of the WIT contract this SDK builds against.
pub const WIT_VERSION: &str = "0.1.0";

/// What a connector implements. Each call is independent: the host may run
/// many instances of the plugin at once and may replace an instance at any
/// time, so keep no state between calls that correctness depends on.
pub trait Connector {
    /// Name, version, entity kinds and the capabilities the plugin needs.
    fn describe() -> PluginInfo;

    /// Lists entities of one kind: names and cost hints, cheaply.
    fn discover(config: &Config, kind: EntityKind) -> Result<Vec<EntityRef>>;

    /// Turns a batch of references into entities with a fixed number of
    /// set-based queries, never one query per entity.
    fn process(config: &Config, refs: Vec<EntityRef>) -> Result<Batch>;
}

impl Default for Batch {
    fn default() -> Self {
        Batch { entities: Vec::new(), deferred: Vec::new(), failures: Vec::new() }
    }
}

/// Exports a [`Connector`] implementation as the plugin's entry points.
#[macro_export]
macro_rules! export_connector {
    ($connector:ty) => {
        struct __WeirExport;

        impl $crate::bindings::Guest for __WeirExport {
            fn describe() -> $crate::PluginInfo {
                <$connector as $crate::Connector>::describe()
            }

            fn discover(
                config: ::std::string::String,
                kind: $crate::EntityKind,
            ) -> ::core::result::Result<::std::vec::Vec<$crate::EntityRef>, $crate::Failure> {
                let config = $crate::Config::parse(&config)?;
                <$connector as $crate::Connector>::discover(&config, kind)
            }

            fn process(
                config: ::std::string::String,
                refs: ::std::vec::Vec<$crate::EntityRef>,
            ) -> ::core::result::Result<$crate::Batch, $crate::Failure> {
                let config = $crate::Config::parse(&config)?;
                <$connector as $crate::Connector>::process(&config, refs)
            }
        }

        $crate::bindings::__export_connector_world!(__WeirExport with_types_in $crate::bindings);
    };
}
