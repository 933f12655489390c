//! The few workflow settings the plugin reads, checked once per call so a
//! typo fails as a configuration error instead of deep inside a query.

use weir_sdk::serde_json::Value;
use weir_sdk::{Config, Failure, Result};

/// libpq's and OpenMetadata's default when `connection.database` is unset.
const DEFAULT_DATABASE: &str = "postgres";

/// JSON Schema of the `sourceConfig.config` keys read here, for `describe`.
/// The filter patterns are applied by the host, so they are not listed.
pub const SOURCE_CONFIG_SCHEMA: &str = r#"{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "properties": {
    "includeTables": {
      "description": "Discover tables: ordinary, partitioned (the parent only) and foreign.",
      "type": "boolean",
      "default": true
    },
    "includeViews": {
      "description": "Discover views and materialized views.",
      "type": "boolean",
      "default": true
    }
  }
}"#;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The database every path starts with: the one the host connects to.
    pub database: String,
    pub include_tables: bool,
    pub include_views: bool,
}

impl Settings {
    pub fn from_config(config: &Config) -> Result<Settings> {
        let database = match config.connection.get("database") {
            None | Some(Value::Null) => DEFAULT_DATABASE.to_string(),
            // The OpenMetadata UI saves a cleared field as "".
            Some(Value::String(name)) if name.is_empty() => DEFAULT_DATABASE.to_string(),
            Some(Value::String(name)) => name.clone(),
            Some(other) => {
                return Err(Failure::config(format!("connection.database must be a string, not {other}")));
            }
        };
        Ok(Settings {
            database,
            include_tables: flag(&config.source_config, "includeTables")?,
            include_views: flag(&config.source_config, "includeViews")?,
        })
    }
}

/// A boolean of `sourceConfig.config`, true when absent as in OpenMetadata.
fn flag(source: &Value, key: &str) -> Result<bool> {
    match source.get(key) {
        None | Some(Value::Null) => Ok(true),
        Some(Value::Bool(value)) => Ok(*value),
        Some(other) => Err(Failure::config(format!("sourceConfig.config.{key} must be a boolean, not {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_sdk::ErrorKind;

    fn settings(json: &str) -> Result<Settings> {
        Settings::from_config(&Config::parse(json)?)
    }

    #[test]
    fn defaults() {
        let s = settings(r#"{"serviceName": "pg", "connection": {"hostPort": "h:5432"}}"#)
            .unwrap_or_else(|e| panic!("{}", e.message));
        assert_eq!(s, Settings { database: "postgres".into(), include_tables: true, include_views: true });
        let s = settings(r#"{"connection": {"database": ""}}"#).unwrap_or_else(|e| panic!("{}", e.message));
        assert_eq!(s.database, "postgres");
    }

    #[test]
    fn reads_database_and_flags() {
        let s = settings(
            r#"{"connection": {"database": "pagila"},
                "sourceConfig": {"includeViews": false, "includeTables": true}}"#,
        )
        .unwrap_or_else(|e| panic!("{}", e.message));
        assert_eq!(s, Settings { database: "pagila".into(), include_tables: true, include_views: false });
    }

    #[test]
    fn wrong_types_are_config_errors() {
        for json in [r#"{"connection": {"database": 5}}"#, r#"{"sourceConfig": {"includeTables": "yes"}}"#] {
            match settings(json) {
                Err(e) => assert!(matches!(e.kind, ErrorKind::Config), "{}", e.message),
                Ok(s) => panic!("accepted {s:?}"),
            }
        }
    }
}
