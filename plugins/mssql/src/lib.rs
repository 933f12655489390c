//! The SQL Server connector: databases, schemas, tables, external tables,
//! views, indexed views and synonyms with their columns, keys, checks,
//! foreign keys, descriptions (MS_Description) and lineage (views' sources,
//! synonyms' bases), and stored procedures and functions, read from the
//! catalog views (sys.*) of the database the host connects to, or of every
//! database of the server with `ingestAllDatabases`. SQL Server 2016 and
//! later (OPENJSON, generated_always_type).
//!
//! - `settings`: the workflow keys read, checked up front; `filters`: the
//!   filter patterns, applied at discovery (T-SQL has no regex).
//! - `connections`: which granted connection reads which database.
//! - `discover`: one catalog query per entity kind and database.
//! - `process`: dispatch of a batch; `containers` (databases, schemas),
//!   `tables` (objects + `columns` + `constraints` + `lineage`, with
//!   `synonyms` and `definitions`) and `procedures` read it with a fixed
//!   number of queries per database, whatever the batch size.
//! - `types`: SQL Server types to OpenMetadata `dataType`, pure.
//! - `fields`: reading rows by column name, and each query's written
//!   result columns; `refs`: checking refs and building the JSON batch
//!   parameter.
//! - `sql/`: the statements, kept as files so they can be run in SSMS as
//!   is (with their `@P` parameters declared). Each is one read-only
//!   SELECT, as the host's T-SQL check requires.

mod columns;
mod connections;
mod constraints;
mod containers;
mod definitions;
mod discover;
mod fields;
mod filters;
mod lineage;
mod procedures;
mod process;
mod refs;
mod settings;
mod synonyms;
mod tables;
mod types;

use connections::{OTHER_DATABASES, SOURCE};
use settings::Settings;
use weir_sdk::{Batch, Capability, Config, Connector, EntityKind, EntityRef, PluginInfo, Result};

pub struct Mssql;

impl Connector for Mssql {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "mssql".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            source_types: vec!["mssql".to_string()],
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

weir_sdk::export_connector!(Mssql);

#[cfg(test)]
mod tests {
    use super::*;
    use weir_sdk::serde_json::{self, Value};

    #[test]
    fn describe_lists_kinds_in_processing_order() {
        let info = Mssql::describe();
        assert_eq!(info.name, "mssql");
        assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
        assert_eq!(info.source_types, vec!["mssql".to_string()]);
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
        let schema: Value = serde_json::from_str(&Mssql::describe().config_schema).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["properties"]["includeViews"]["type"], "boolean");
        assert_eq!(schema["properties"]["includeTables"]["default"], true);
        assert_eq!(schema["properties"]["schemaFilterPattern"]["$ref"], "#/definitions/filterPattern");
    }
}
