//! The PostgreSQL connector: databases, schemas, tables, views and
//! materialized views with their columns, keys, checks, foreign keys and
//! view lineage, and stored procedures and functions, read from the system
//! catalogs of the database the host connects to (or of every database of
//! the server, with `ingestAllDatabases`).
//!
//! - `settings`: the workflow keys read, checked up front; `filters`: the
//!   filter patterns, and which of them PostgreSQL can apply.
//! - `connections`: which granted connection reads which database.
//! - `discover`: one catalog query per entity kind and database, filters
//!   pushed down, unreadable objects skipped with a warning.
//! - `process`: dispatch of a batch; `containers` (databases, schemas),
//!   `tables` (relations with lineage + `columns` + `constraints`) and
//!   `procedures` read it with a fixed number of queries per database,
//!   whatever the batch size.
//! - `types`: PostgreSQL types to OpenMetadata `dataType`, pure.
//! - `refs`: checking refs and building the JSON batch parameter.
//! - `sql/`: the statements, kept as files so they can be run in psql as is.

mod columns;
mod connections;
mod constraints;
mod containers;
mod discover;
mod filters;
mod procedures;
mod process;
mod refs;
mod settings;
mod tables;
mod types;

use connections::{OTHER_DATABASES, SOURCE};
use settings::Settings;
use weir_sdk::{Batch, Capability, Config, Connector, EntityKind, EntityRef, PluginInfo, Result};

pub struct Postgres;

impl Connector for Postgres {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "postgres".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            source_types: vec!["postgres".to_string()],
            entity_kinds: vec![
                EntityKind::Database,
                EntityKind::DatabaseSchema,
                EntityKind::Table,
                EntityKind::StoredProcedure,
            ],
            // `source/*` is granted only with `ingestAllDatabases`; the host
            // ignores it otherwise.
            capabilities: vec![Capability::Sql(SOURCE.into()), Capability::Sql(OTHER_DATABASES.into())],
            config_schema: settings::SOURCE_CONFIG_SCHEMA.to_string(),
        }
    }

    fn discover(config: &Config, kind: EntityKind) -> Result<Vec<EntityRef>> {
        let settings = Settings::from_config(config)?;
        discover::discover(&settings, kind)
    }

    fn process(config: &Config, refs: Vec<EntityRef>) -> Result<Batch> {
        let settings = Settings::from_config(config)?;
        process::process(&settings, refs)
    }
}

weir_sdk::export_connector!(Postgres);

#[cfg(test)]
mod tests {
    use super::*;
    use weir_sdk::serde_json::{self, Value};

    #[test]
    fn describe_lists_kinds_in_processing_order() {
        let info = Postgres::describe();
        assert_eq!(info.name, "postgres");
        assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
        assert_eq!(info.source_types, vec!["postgres".to_string()]);
        assert!(
            info.entity_kinds
                == vec![
                    EntityKind::Database,
                    EntityKind::DatabaseSchema,
                    EntityKind::Table,
                    EntityKind::StoredProcedure
                ]
        );
        assert!(matches!(info.capabilities.as_slice(),
            [Capability::Sql(source), Capability::Sql(others)] if source == "source" && others == "source/*"));
    }

    #[test]
    fn config_schema_is_json_schema() {
        let schema: Value = serde_json::from_str(&Postgres::describe().config_schema).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["properties"]["includeViews"]["type"], "boolean");
        assert_eq!(schema["properties"]["includeTables"]["default"], true);
        assert_eq!(schema["properties"]["schemaFilterPattern"]["$ref"], "#/definitions/filterPattern");
    }
}
