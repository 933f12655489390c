//! The `weir:connector` contract as Rust types and traits, generated from
//! `sdk/wit/` (the SDK carries the contract; `wit/` links to it). It uses nothing else of the host: the runtime links it, each
//! capability implements its own interface, and `runtime/into_model.rs`
//! turns its types into the host's model.
//!
//! The `sql.connection` resource stays the generated placeholder: a handle
//! whose number the SQL capability looks up in its own table, so the
//! contract does not name the capability's types.

wasmtime::component::bindgen!({
    path: "../sdk/wit",
    world: "connector",
    imports: { default: async | trappable },
    exports: { default: async },
});

pub use self::weir::connector::types;
