//! Leveled logging into the host's log stream.

use crate::bindings::weir::connector::log as host;
pub use host::Level;

/// Logs `message` with key/value `fields` at `level`.
pub fn log(level: Level, message: &str, fields: &[(&str, &str)]) {
    let fields: Vec<(String, String)> = fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    #[cfg(target_arch = "wasm32")]
    host::log(level, message, &fields);
    #[cfg(not(target_arch = "wasm32"))]
    crate::testing::log(level, message, &fields);
}

/// Logs `message` at debug level, without fields.
pub fn debug(message: &str) {
    log(Level::Debug, message, &[]);
}
/// Logs `message` at info level, without fields.
pub fn info(message: &str) {
    log(Level::Info, message, &[]);
}
/// Logs `message` at warn level, without fields; the host also keeps
/// warnings for the run's report.
pub fn warn(message: &str) {
    log(Level::Warn, message, &[]);
}
/// Logs `message` at error level, without fields; the host also keeps
/// errors for the run's report. Logging an error does not fail the call.
pub fn error(message: &str) {
    log(Level::Error, message, &[]);
}
