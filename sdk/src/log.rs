//! Leveled logging into the host's log stream.

use crate::bindings::weir::connector::log as host;
pub use host::Level;

/// Logs `message` with key/value `fields` at `level`.
pub fn log(level: Level, message: &str, fields: &[(&str, &str)]) {
    let fields: Vec<(String, String)> = fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    host::log(level, message, &fields);
}

pub fn debug(message: &str) {
    log(Level::Debug, message, &[]);
}
pub fn info(message: &str) {
    log(Level::Info, message, &[]);
}
pub fn warn(message: &str) {
    log(Level::Warn, message, &[]);
}
pub fn error(message: &str) {
    log(Level::Error, message, &[]);
}
