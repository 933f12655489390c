//! The PostgreSQL connector: databases, schemas, tables, views and
//! materialized views with their columns, keys, checks and foreign keys,
//! read from the system catalogs of the database the host connects to.
//!
//! - `settings`: the workflow keys read, checked up front.
//! - `discover`: one catalog query per entity kind.
//! - `process`: dispatch of a batch; `containers` (databases, schemas) and
//!   `tables` (relations + `columns` + `constraints`) read it with a fixed
//!   number of queries, whatever the batch size.
//! - `types`: PostgreSQL types to OpenMetadata `dataType`, pure.
//! - `refs`: checking refs and building the JSON batch parameter.
//! - `sql/`: the statements, kept as files so they can be run in psql as is.

mod columns;
mod constraints;
mod containers;
mod discover;
mod process;
mod refs;
mod settings;
mod tables;
mod types;

use settings::Settings;
use weir_sdk::sql::{self, Connection};
use weir_sdk::{Batch, Capability, Config, Connector, EntityKind, EntityRef, Failure, PluginInfo, Result};

/// The connection label the workflow's `serviceConnection` is granted as.
const SOURCE: &str = "source";

pub struct Postgres;

impl Connector for Postgres {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "postgres".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            source_types: vec!["postgres".to_string()],
            entity_kinds: vec![EntityKind::Database, EntityKind::DatabaseSchema, EntityKind::Table],
            capabilities: vec![Capability::Sql(SOURCE.into())],
            config_schema: settings::SOURCE_CONFIG_SCHEMA.to_string(),
        }
    }

    fn discover(config: &Config, kind: EntityKind) -> Result<Vec<EntityRef>> {
        let settings = Settings::from_config(config)?;
        discover::discover(&connect()?, &settings, kind)
    }

    fn process(config: &Config, refs: Vec<EntityRef>) -> Result<Batch> {
        let settings = Settings::from_config(config)?;
        process::process(&connect()?, &settings, refs)
    }
}

/// Opens the granted connection, refusing one that is not PostgreSQL: the
/// catalog queries would fail on anything else with a less useful message.
fn connect() -> Result<Connection> {
    let conn = sql::open(SOURCE)?;
    let engine = conn.engine();
    if engine != "postgres" {
        return Err(Failure::config(format!(
            "the `{SOURCE}` connection is {engine}, but this plugin reads PostgreSQL"
        )));
    }
    Ok(conn)
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
        assert!(info.entity_kinds == vec![EntityKind::Database, EntityKind::DatabaseSchema, EntityKind::Table]);
        assert!(matches!(info.capabilities.as_slice(), [Capability::Sql(label)] if label == "source"));
    }

    #[test]
    fn config_schema_is_json_schema() {
        let schema: Value = serde_json::from_str(&Postgres::describe().config_schema).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["properties"]["includeViews"]["type"], "boolean");
        assert_eq!(schema["properties"]["includeTables"]["default"], true);
    }
}
