//! The SQL Server connector: databases, schemas, tables, external tables,
//! views, indexed views and synonyms with their columns, keys, checks,
//! foreign keys, descriptions (MS_Description) and lineage (views' sources,
//! synonyms' bases), and stored procedures and functions, read from the
//! catalog views (sys.*) of the database the host connects to, or of every
//! database of the server with `ingestAllDatabases`. SQL Server 2016 and
//! later (OPENJSON, generated_always_type).
//!
//! Settings, connections, the order of discovery and the dispatch of a
//! batch are `weir_sdk::sql_kit`'s; here are SQL Server's own parts:
//!
//! - `discover`: one catalog query per entity kind and database, the
//!   filter patterns applied to what it returns (T-SQL has no regex).
//! - `connections`: how SQL Server compares database names.
//! - `containers` (databases, schemas), `tables` (objects + `columns` +
//!   `constraints` + `lineage`, with `synonyms` and `definitions`) and
//!   `procedures` read a batch with a fixed number of queries per
//!   database, whatever the batch size.
//! - `types`: SQL Server types to OpenMetadata `dataType`, pure.
//! - `fields`: reading rows by column name, and each query's written
//!   result columns; `refs`: how messages quote a name, and the slot
//!   parameters of a batch.
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
mod lineage;
mod procedures;
mod refs;
mod synonyms;
mod tables;
mod types;

use weir_sdk::filter::FilterPattern;
use weir_sdk::sql::Connection;
use weir_sdk::sql_kit::{self, Engine, SchemaText, Skipped, SqlConnector, Wanted};
use weir_sdk::{Batch, EntityKind, EntityRef, Result};

#[derive(Default)]
pub struct Mssql;

type Settings = sql_kit::Settings<FilterPattern>;

pub const ENGINE: Engine = Engine {
    name: "mssql",
    version: env!("CARGO_PKG_VERSION"),
    engine: "mssql",
    title: "SQL Server",
    // The one every SQL Server has and every login may open.
    default_database: "master",
    current_database: "DB_NAME()",
    same_database: connections::same_database,
    quote: refs::quote,
    skipped_rest: "databases skipped",
    schema: SchemaText {
        use_fqn_for_filtering: "Match the patterns against fully qualified names; the plugin then leaves all filtering to the host.",
        include_tables: "Discover tables and external tables.",
        include_views: "Discover views, indexed views and synonyms.",
    },
};

impl SqlConnector for Mssql {
    const ENGINE: Engine = ENGINE;
    type Pattern = FilterPattern;

    fn connected_database(conn: &Connection) -> Result<Option<String>> {
        discover::connected_database(conn)
    }

    fn all_databases(conn: &Connection, settings: &Settings, skipped: &mut Skipped) -> Result<Vec<String>> {
        discover::all_databases(conn, settings, skipped)
    }

    /// The catalog views list only what the login may see: nothing to skip.
    fn discover_in(
        conn: &Connection,
        settings: &Settings,
        database: &str,
        kind: EntityKind,
        _: &mut Skipped,
    ) -> Result<Vec<EntityRef>> {
        discover::in_database(conn, settings, database, kind)
    }

    /// A database's own description lives in its catalog, so databases
    /// too are read database by database.
    fn process_in(conn: &Connection, database: &str, kind: EntityKind, wanted: &Wanted) -> Result<Batch> {
        match kind {
            EntityKind::Database => containers::database(conn, wanted),
            EntityKind::DatabaseSchema => containers::schemas(conn, wanted),
            EntityKind::Table => tables::process(conn, database, wanted),
            EntityKind::StoredProcedure => procedures::process(conn, database, wanted),
            // `Wanted::check` keeps no path of any other kind.
            _ => Ok(Batch::default()),
        }
    }
}

weir_sdk::export_connector!(Mssql);

#[cfg(test)]
mod tests {
    use super::*;
    use weir_sdk::{Config, Connector};

    #[test]
    fn describe_names_the_plugin() {
        let info = Mssql::describe();
        assert_eq!((info.name.as_str(), info.version.as_str()), ("mssql", env!("CARGO_PKG_VERSION")));
        assert_eq!(info.source_types, vec!["mssql".to_string()]);
        assert!(info.config_schema.contains(r#""description": "Discover views, indexed views and synonyms.""#));
    }

    #[test]
    fn settings_default_to_master() {
        let s = Settings::from_config(&Config::default(), &ENGINE).unwrap_or_else(|e| panic!("{}", e.message));
        assert_eq!(s.database, "master");
    }
}
