//! The few workflow settings the plugin reads, checked once per call so a
//! typo fails as a configuration error instead of deep inside a query.

use crate::filters::Filters;
use weir_sdk::serde_json::Value;
use weir_sdk::{Config, Failure, Result};

/// The host connects to this database when `connection.database` is unset:
/// the one every SQL Server has and every login may open.
const DEFAULT_DATABASE: &str = "master";

/// JSON Schema of the `sourceConfig.config` keys read here, for `describe`.
/// The host applies the filter patterns; the plugin applies them too, in
/// discovery, as T-SQL has no regular expressions to push them down.
pub const SOURCE_CONFIG_SCHEMA: &str = r##"{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "definitions": {
    "filterPattern": {
      "description": "Regular expressions matched from the start of a name, case-insensitively: kept when includes is empty or one matches, and no exclude matches.",
      "type": "object",
      "properties": {
        "includes": { "type": "array", "items": { "type": "string" } },
        "excludes": { "type": "array", "items": { "type": "string" } }
      }
    }
  },
  "properties": {
    "databaseFilterPattern": { "$ref": "#/definitions/filterPattern" },
    "schemaFilterPattern": { "$ref": "#/definitions/filterPattern" },
    "tableFilterPattern": { "$ref": "#/definitions/filterPattern" },
    "storedProcedureFilterPattern": { "$ref": "#/definitions/filterPattern" },
    "useFqnForFiltering": {
      "description": "Match the patterns against fully qualified names; the plugin then leaves all filtering to the host.",
      "type": "boolean",
      "default": false
    },
    "includeTables": {
      "description": "Discover tables and external tables.",
      "type": "boolean",
      "default": true
    },
    "includeViews": {
      "description": "Discover views, indexed views and synonyms.",
      "type": "boolean",
      "default": true
    }
  }
}"##;

#[derive(Debug, Clone)]
pub struct Settings {
    /// The database every path starts with: the one the host connects to.
    pub database: String,
    pub include_tables: bool,
    pub include_views: bool,
    /// `connection.ingestAllDatabases`: every database of the server, each
    /// through its own `source/<database>` connection.
    pub ingest_all_databases: bool,
    pub filters: Filters,
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
        let ingest_all_databases = match config.connection.get("ingestAllDatabases") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(value)) => *value,
            Some(other) => {
                return Err(Failure::config(format!("connection.ingestAllDatabases must be a boolean, not {other}")));
            }
        };
        Ok(Settings {
            database,
            include_tables: flag(&config.source_config, "includeTables")?,
            include_views: flag(&config.source_config, "includeViews")?,
            ingest_all_databases,
            filters: Filters::from_source(&config.source_config)?,
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
        let s = settings(r#"{"serviceName": "sql", "connection": {"hostPort": "h:1433"}}"#)
            .unwrap_or_else(|e| panic!("{}", e.message));
        assert_eq!(s.database, "master");
        assert!(s.include_tables && s.include_views && !s.ingest_all_databases);
        assert!(!s.filters.use_fqn);
        let s = settings(r#"{"connection": {"database": ""}}"#).unwrap_or_else(|e| panic!("{}", e.message));
        assert_eq!(s.database, "master");
    }

    #[test]
    fn reads_database_and_flags() {
        let s = settings(
            r#"{"connection": {"database": "AdventureWorks", "ingestAllDatabases": true},
                "sourceConfig": {"includeViews": false, "includeTables": true,
                                 "schemaFilterPattern": {"includes": ["^Sales$"]}}}"#,
        )
        .unwrap_or_else(|e| panic!("{}", e.message));
        assert_eq!((s.database.as_str(), s.include_tables, s.include_views), ("AdventureWorks", true, false));
        assert!(s.ingest_all_databases);
        assert!(s.filters.keeps_schema("Sales"));
        assert!(!s.filters.keeps_schema("Person"));
    }

    #[test]
    fn wrong_types_are_config_errors() {
        for json in [
            r#"{"connection": {"database": 5}}"#,
            r#"{"connection": {"ingestAllDatabases": "yes"}}"#,
            r#"{"sourceConfig": {"includeTables": "yes"}}"#,
            r#"{"sourceConfig": {"schemaFilterPattern": "^dbo$"}}"#,
        ] {
            match settings(json) {
                Err(e) => assert!(matches!(e.kind, ErrorKind::Config), "{}", e.message),
                Ok(s) => panic!("accepted {s:?}"),
            }
        }
    }
}
