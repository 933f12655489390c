//! `weir.sql` in the workflow: what the host accepts of a database
//! connection before it hands it to a plugin.

use serde::{Deserialize, Deserializer};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct SqlSettings {
    /// Accept a PostgreSQL role that can do more than read (a superuser, a
    /// role with REPLICATION or BYPASSRLS, a member of the roles that reach
    /// the server's files, programs or other sessions). Off: such a role
    /// is refused before the plugin starts.
    pub allow_privileged_role: bool,
    /// The share of a server's free connection slots (measured when the
    /// run starts) weir may hold at once, between 0 and 1.
    #[serde(deserialize_with = "share")]
    pub connection_share: f64,
    /// PostgreSQL: roll each plugin statement's read-only transaction back
    /// as soon as the statement returns, at one more round trip per
    /// statement. Off (the default), the rollback travels with the next
    /// statement's `BEGIN`, or is sent when the plugin's call ends or it
    /// drops the connection: the statement's snapshot and locks are held
    /// that much longer, within one plugin call.
    pub eager_rollback: bool,
}

impl Default for SqlSettings {
    fn default() -> Self {
        SqlSettings { allow_privileged_role: false, connection_share: 0.5, eager_rollback: false }
    }
}

fn share<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    let value = f64::deserialize(deserializer)?;
    if value > 0.0 && value <= 1.0 {
        Ok(value)
    } else {
        Err(serde::de::Error::custom(format!("connectionShare must be above 0 and at most 1, not {value}")))
    }
}
