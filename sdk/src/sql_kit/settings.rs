//! The workflow settings every SQL connector reads, checked once per call
//! so a typo fails as a configuration error instead of deep inside a query.

use super::Engine;
use crate::filter::FilterPattern;
use crate::serde_json::{self, Value};
use crate::{Config, Failure, Result};

/// The settings of one call, with the `*FilterPattern`s kept as the
/// connector's `P`. The kit reads them at the start of every `discover`
/// and `process` call and hands them to the connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings<P> {
    /// The database every path starts with: the one the host connects to.
    pub database: String,
    /// `sourceConfig.config.includeTables` (default true); the connector's
    /// discovery applies it.
    pub include_tables: bool,
    /// `sourceConfig.config.includeViews` (default true); the connector's
    /// discovery applies it.
    pub include_views: bool,
    /// `connection.ingestAllDatabases`: every database of the server, each
    /// through its own `source/<database>` connection.
    pub ingest_all_databases: bool,
    /// The filter patterns of `sourceConfig.config`.
    pub filters: Filters<P>,
}

impl<P: ReadPattern> Settings<P> {
    /// Reads the settings of `config`. A `connection.database` that is
    /// absent, null or empty is the engine's default database; a key of the
    /// wrong type or a malformed pattern is a `Config` failure naming it.
    pub fn from_config(config: &Config, engine: &Engine) -> Result<Settings<P>> {
        let database = match config.connection.get("database") {
            None | Some(Value::Null) => engine.default_database.to_string(),
            // The OpenMetadata UI saves a cleared field as "".
            Some(Value::String(name)) if name.is_empty() => engine.default_database.to_string(),
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

/// A `*FilterPattern` object as one connector keeps it.
pub trait ReadPattern: Sized + Default {
    /// Reads the pattern of `sourceConfig.config.{key}`, a JSON object; a
    /// malformed one is a configuration error naming `key`.
    fn read(key: &str, object: &Value) -> Result<Self>;
}

/// Compiled, to apply the patterns in the plugin as the host applies them:
/// an invalid regular expression is a configuration error naming it.
impl ReadPattern for FilterPattern {
    fn read(key: &str, object: &Value) -> Result<Self> {
        serde_json::from_value(object.clone()).map_err(|e| Failure::config(format!("sourceConfig.config.{key}: {e}")))
    }
}

/// The patterns of `sourceConfig.config` that discovery applies or pushes
/// down. The host applies them again to what discovery returns and has the
/// last word, so a connector may keep more than they keep, never less.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters<P> {
    /// `databaseFilterPattern`, matched against database names.
    pub database: P,
    /// `schemaFilterPattern`, matched against schema names.
    pub schema: P,
    /// `tableFilterPattern`, matched against table and view names.
    pub table: P,
    /// `storedProcedureFilterPattern`, matched against procedure names.
    pub procedure: P,
    /// `useFqnForFiltering`: the host matches whole FQNs, which the plugin
    /// does not build, so the plugin filters nothing.
    pub use_fqn: bool,
}

impl<P: ReadPattern> Filters<P> {
    /// Reads the patterns of `sourceConfig.config`; one absent or null is
    /// `P::default()`. A pattern that is not an object, or that `P` refuses,
    /// and a `useFqnForFiltering` that is not a boolean are `Config` failures.
    pub fn from_source(source: &Value) -> Result<Filters<P>> {
        Ok(Filters {
            database: pattern(source, "databaseFilterPattern")?,
            schema: pattern(source, "schemaFilterPattern")?,
            table: pattern(source, "tableFilterPattern")?,
            procedure: pattern(source, "storedProcedureFilterPattern")?,
            use_fqn: match source.get("useFqnForFiltering") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(other) => {
                    return Err(Failure::config(format!(
                        "sourceConfig.config.useFqnForFiltering must be a boolean, not {other}"
                    )));
                }
            },
        })
    }
}

fn pattern<P: ReadPattern>(source: &Value, key: &str) -> Result<P> {
    match source.get(key) {
        None | Some(Value::Null) => Ok(P::default()),
        Some(object @ Value::Object(_)) => P::read(key, object),
        Some(other) => Err(Failure::config(format!(
            "sourceConfig.config.{key} must be {{includes: [..], excludes: [..]}}, not {other}"
        ))),
    }
}

/// What a plugin that filters names itself keeps; everything under
/// `useFqnForFiltering`.
impl Filters<FilterPattern> {
    /// A database, by `databaseFilterPattern`.
    pub fn keeps_database(&self, name: &str) -> bool {
        self.use_fqn || self.database.keeps(name)
    }

    /// A schema, by `schemaFilterPattern`.
    pub fn keeps_schema(&self, name: &str) -> bool {
        self.use_fqn || self.schema.keeps(name)
    }

    /// A table, view or synonym: its schema's pattern and its own.
    pub fn keeps_table(&self, schema: &str, name: &str) -> bool {
        self.use_fqn || (self.schema.keeps(schema) && self.table.keeps(name))
    }

    /// A stored procedure: its schema's pattern and its own.
    pub fn keeps_procedure(&self, schema: &str, name: &str) -> bool {
        self.use_fqn || (self.schema.keeps(schema) && self.procedure.keeps(name))
    }
}

#[cfg(test)]
mod tests {
    use super::super::engine::tests::TEST_ENGINE;
    use super::*;
    use crate::ErrorKind;

    fn settings(json: &str) -> Result<Settings<FilterPattern>> {
        Settings::from_config(&Config::parse(json)?, &TEST_ENGINE)
    }

    fn filters(json: &str) -> Result<Filters<FilterPattern>> {
        Filters::from_source(&serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}")))
    }

    #[test]
    fn defaults() {
        let s = settings(r#"{"serviceName": "svc", "connection": {"hostPort": "h:5432"}}"#)
            .unwrap_or_else(|e| panic!("{}", e.message));
        assert_eq!(s.database, "main");
        assert!(s.include_tables && s.include_views && !s.ingest_all_databases);
        assert!(!s.filters.use_fqn);
        let s = settings(r#"{"connection": {"database": ""}}"#).unwrap_or_else(|e| panic!("{}", e.message));
        assert_eq!(s.database, "main");
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

    #[test]
    fn patterns_apply_per_level_as_the_host_applies_them() {
        let f = filters(
            r#"{"databaseFilterPattern": {"excludes": ["^ReportServer"]},
                "schemaFilterPattern": {"includes": ["sales", "^hr$"]},
                "tableFilterPattern": {"excludes": ["tmp_"]},
                "storedProcedureFilterPattern": {"excludes": ["^sp_"]}}"#,
        )
        .unwrap_or_else(|e| panic!("{}", e.message));
        assert!(f.keeps_database("AdventureWorks"));
        assert!(!f.keeps_database("ReportServerTempDB"));
        // Anchored at the start, case-insensitive.
        assert!(f.keeps_schema("Sales"));
        assert!(!f.keeps_schema("presales"));
        assert!(f.keeps_table("SALES", "Orders"));
        assert!(!f.keeps_table("sales", "tmp_orders"));
        assert!(!f.keeps_table("dbo", "Orders"));
        assert!(!f.keeps_procedure("hr", "sp_helpme"));
        assert!(f.keeps_procedure("hr", "uspHire"));
    }

    #[test]
    fn fqn_filtering_is_left_to_the_host() {
        let f = filters(r#"{"useFqnForFiltering": true, "schemaFilterPattern": {"includes": ["svc\\.db\\.sales"]}}"#)
            .unwrap_or_else(|e| panic!("{}", e.message));
        assert!(f.use_fqn);
        assert!(f.keeps_schema("dbo"));
        assert!(f.keeps_table("dbo", "t"));
    }

    #[test]
    fn nothing_configured_keeps_everything() {
        let f = filters("{}").unwrap_or_else(|e| panic!("{}", e.message));
        assert!(f.keeps_database("master") && f.keeps_schema("dbo") && f.keeps_procedure("dbo", "p"));
    }

    #[test]
    fn malformed_patterns_are_config_errors() {
        for json in [
            r#"{"schemaFilterPattern": ["a"]}"#,
            r#"{"tableFilterPattern": {"includes": "a"}}"#,
            r#"{"tableFilterPattern": {"includes": ["("]}}"#,
            r#"{"useFqnForFiltering": "yes"}"#,
        ] {
            match filters(json) {
                Err(e) => assert!(matches!(e.kind, ErrorKind::Config), "{json}: {}", e.message),
                Ok(_) => panic!("accepted {json}"),
            }
        }
    }
}
