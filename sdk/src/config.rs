use crate::{Failure, Result};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::BTreeMap;

/// The plugin's view of the workflow: service name and type, the
/// connection settings without any secret, and `sourceConfig.config`.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// `serviceName`: the OpenMetadata service the entities are filed
    /// under. Empty only when the document has none.
    pub service_name: String,
    /// `serviceType`: the workflow's `source.type`, that is the connector
    /// (`postgres`, `looker`), not OpenMetadata's service type.
    pub service_type: String,
    /// `serviceConnection.config` with passwords and tokens removed.
    pub connection: Value,
    /// `sourceConfig.config`.
    pub source_config: Value,
    /// For pipeline-status discovery: per pipeline, the timestamp (ms since
    /// the epoch) up to which every run is already in the sink, final. A
    /// connector reads only runs after it; the host keeps it between runs
    /// in its state store. Empty on a first run or with `--full`.
    pub last_runs: BTreeMap<String, i64>,
}

impl Config {
    /// Parses the JSON document the host passes to every call.
    pub fn parse(json: &str) -> Result<Config> {
        let doc: Value = serde_json::from_str(json)
            .map_err(|e| Failure::config(format!("plugin configuration is not JSON: {e}")))?;
        let text = |key: &str| doc.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
        Ok(Config {
            service_name: text("serviceName"),
            service_type: text("serviceType"),
            connection: doc.get("connection").cloned().unwrap_or(Value::Null),
            source_config: doc.get("sourceConfig").cloned().unwrap_or(Value::Null),
            last_runs: doc
                .get("lastRuns")
                .and_then(Value::as_object)
                .map(|runs| runs.iter().filter_map(|(k, v)| Some((k.clone(), v.as_i64()?))).collect())
                .unwrap_or_default(),
        })
    }

    /// A string setting of the connection (`database`, `hostPort`, ...).
    pub fn connection_str(&self, key: &str) -> Option<&str> {
        self.connection.get(key).and_then(Value::as_str)
    }

    /// A boolean setting of the connection, `default` when absent.
    pub fn connection_bool(&self, key: &str, default: bool) -> bool {
        self.connection.get(key).and_then(Value::as_bool).unwrap_or(default)
    }

    /// Deserializes `sourceConfig.config` into the plugin's own type.
    pub fn source<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_value(self.source_config.clone())
            .map_err(|e| Failure::config(format!("sourceConfig.config: {e}")))
    }
}
