use crate::caps::sql::QueryLimits;
use serde::Deserialize;
use std::time::Duration;

/// What one plugin instance may consume. Set in the workflow's `weir.limits`
/// section; the defaults suit catalog crawls of tens of thousands of tables.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Limits {
    /// Linear memory per instance, in MiB. Growing past it traps the
    /// instance (and only that instance).
    pub memory_mib: u64,
    /// Wall-clock budget of one call into the plugin (`discover` or
    /// `process`), in seconds, host calls included.
    pub call_timeout_secs: u64,
    /// Budget of `describe`, which only says what the plugin is: a plugin
    /// that loops there is stopped soon.
    pub describe_timeout_secs: u64,
    /// Budget of one SQL statement on the server, in seconds.
    pub statement_timeout_secs: u64,
    /// Budget of opening one database session (TCP, TLS, login), in seconds.
    pub connect_timeout_secs: u64,
    /// Rows one query may return before it fails.
    pub max_rows: u64,
    /// Bytes one query may return before it fails, in MiB.
    pub max_result_mib: u64,
    /// Resources (connections, ...) one instance may hold at once.
    pub max_handles: u32,
    /// References one `discover` call may list.
    pub max_refs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_mib: 1024,
            call_timeout_secs: 600,
            describe_timeout_secs: 10,
            statement_timeout_secs: 300,
            connect_timeout_secs: 15,
            max_rows: 5_000_000,
            max_result_mib: 512,
            max_handles: 64,
            max_refs: 20_000_000,
        }
    }
}

impl Limits {
    pub fn memory_bytes(&self) -> usize {
        usize::try_from(self.memory_mib.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX)
    }
    pub fn call_timeout(&self) -> Duration {
        Duration::from_secs(self.call_timeout_secs.max(1))
    }
    pub fn describe_timeout(&self) -> Duration {
        Duration::from_secs(self.describe_timeout_secs.max(1))
    }
    pub fn statement_timeout(&self) -> Duration {
        Duration::from_secs(self.statement_timeout_secs.max(1))
    }
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.connect_timeout_secs.max(1))
    }
    pub fn max_result_bytes(&self) -> u64 {
        self.max_result_mib.saturating_mul(1024 * 1024)
    }

    /// What these limits allow one SQL statement and one instance's
    /// connections.
    pub fn query_limits(&self) -> QueryLimits {
        QueryLimits {
            statement_timeout: self.statement_timeout(),
            connect_timeout: self.connect_timeout(),
            session_wait: self.call_timeout(),
            max_rows: self.max_rows,
            max_bytes: self.max_result_bytes(),
            max_open: self.max_handles,
        }
    }
}
