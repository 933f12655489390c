//! The `weir:connector` contract as Rust types and traits, generated from
//! `sdk/wit/` (the SDK carries the contract; `wit/` links to it). It uses
//! nothing else of the host: the runtime links it, each capability
//! implements its own interface, and `runtime/into_model.rs` turns its
//! types into the host's model.
//!
//! The `sql.connection` resource stays the generated placeholder: a handle
//! whose number the SQL capability looks up in its own table, so the
//! contract does not name the capability's types.
//!
//! [`v0_2_1`] is the contract as plugins built before `0.2.2` have it:
//! its enums have fewer cases, and a component's types must match the
//! host's exactly, so those plugins get bindings of their own.
//! `runtime/adapt.rs` turns their values into the current ones.

wasmtime::component::bindgen!({
    path: "../sdk/wit",
    world: "connector",
    imports: { default: async | trappable },
    exports: { default: async },
    additional_derives: [serde::Serialize, serde::Deserialize],
});

pub use self::weir::connector::types;

/// Which bindings a plugin is called through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contract {
    /// This host's own version of the contract.
    Current,
    /// `0.2.0` and `0.2.1`.
    V0_2_1,
}

impl Contract {
    /// The bindings for a plugin built against `version` of the series.
    pub fn for_version(version: &str) -> Contract {
        let patch = version.split('.').nth(2).and_then(|p| p.parse::<u32>().ok());
        match patch {
            Some(0 | 1) => Contract::V0_2_1,
            _ => Contract::Current,
        }
    }
}

/// The contract of `0.2.0` and `0.2.1` (kept in `host/wit/0.2.1`). Its
/// `sql`, `http` and `log` are the current ones (unchanged since), so one
/// implementation of each serves every plugin.
pub mod v0_2_1 {
    wasmtime::component::bindgen!({
        path: "wit/0.2.1",
        world: "connector",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "weir:connector/sql": super::weir::connector::sql,
            "weir:connector/http": super::weir::connector::http,
            "weir:connector/log": super::weir::connector::log,
        },
        additional_derives: [serde::Serialize, serde::Deserialize],
    });

    pub use self::weir::connector::types;
}
