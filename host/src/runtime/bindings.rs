//! Host-side bindings of the `weir:connector` world.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "connector",
    imports: { default: async | trappable },
    exports: { default: async },
    with: {
        "weir:connector/sql.connection": crate::caps::sql::SqlConnection,
    },
});

pub use self::weir::connector::types;
