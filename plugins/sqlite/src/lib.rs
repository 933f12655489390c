//! `weir-plugin-sqlite`: reads the catalog of a SQLite database file.
//!
//! One database (named after the file, or `connection.database`), one
//! schema (`main`), and its tables and views with columns, keys, CHECK
//! constraints and the descriptions written as `--` comments in their
//! CREATE statements. `process` costs four queries per batch, whatever its
//! size: SQLite's pragmas are table-valued functions, so one query can read
//! the columns (or indexes, or foreign keys) of every table in the batch.
//!
//! Modules: `discover` and `process` are the two entry points; `fetch`
//! holds every query (the SQL itself is in `src/sql/`); `types`, `ddl` and
//! `lexer` are pure code with unit tests; `names` picks the database name.

mod ddl;
mod discover;
mod fetch;
mod lexer;
mod names;
mod process;
mod types;

use weir_sdk::{Batch, Capability, Config, Connector, EntityKind, EntityRef, PluginInfo, Result};

/// The plugin reads no `sourceConfig.config` key of its own: the host
/// applies the filter patterns before `process` sees a reference.
const CONFIG_SCHEMA: &str = r#"{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "SQLite source",
  "description": "The sqlite plugin reads no sourceConfig.config keys itself; schema, table and database filter patterns are applied by the host. The database is connection.databaseMode (the file path), named connection.database or else after the file.",
  "type": "object",
  "additionalProperties": true
}"#;

struct Sqlite;

impl Connector for Sqlite {
    fn new() -> Self {
        Sqlite
    }

    fn describe() -> PluginInfo {
        PluginInfo {
            name: "sqlite".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            source_types: vec!["sqlite".into()],
            entity_kinds: vec![EntityKind::Database, EntityKind::DatabaseSchema, EntityKind::Table],
            capabilities: vec![Capability::Sql(names::SOURCE.into())],
            config_schema: CONFIG_SCHEMA.into(),
        }
    }

    fn discover(&mut self, config: &Config, kind: EntityKind) -> Result<Vec<EntityRef>> {
        discover::discover(config, kind)
    }

    fn process(&mut self, config: &Config, refs: Vec<EntityRef>) -> Result<Batch> {
        process::process(config, refs)
    }
}

weir_sdk::export_connector!(Sqlite);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_is_consistent() {
        let info = Sqlite::describe();
        assert_eq!(info.name, "sqlite");
        assert_eq!(info.source_types, vec!["sqlite"]);
        assert!(matches!(info.capabilities.as_slice(), [Capability::Sql(label)] if label == "source"));
        let schema: weir_sdk::serde_json::Value =
            weir_sdk::serde_json::from_str(&info.config_schema).expect("the config schema is JSON");
        assert_eq!(schema["type"], "object");
    }
}
