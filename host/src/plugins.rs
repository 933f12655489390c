//! The connectors built into the `weir` binary. The build script compiles
//! every crate under `plugins/` for wasm32-wasip2 and embeds the components
//! here, so `source.type: postgres` needs no plugin file.

include!(concat!(env!("OUT_DIR"), "/builtin_plugins.rs"));

/// A built-in plugin's component bytes, by `source.type`.
pub fn builtin(source_type: &str) -> Option<&'static [u8]> {
    let wanted = match source_type.to_ascii_lowercase().as_str() {
        "postgresql" => "postgres".to_string(),
        other => other.to_string(),
    };
    BUILTIN.iter().find(|(name, _)| *name == wanted).map(|(_, bytes)| *bytes)
}

/// Names of the built-in plugins.
pub fn builtin_names() -> Vec<&'static str> {
    BUILTIN.iter().map(|(name, _)| *name).collect()
}
