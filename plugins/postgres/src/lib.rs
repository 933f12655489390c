//! The PostgreSQL connector: databases, schemas, tables, views and
//! materialized views with their columns, keys, checks, foreign keys and
//! view lineage, and stored procedures and functions, read from the system
//! catalogs of the database the host connects to (or of every database of
//! the server, with `ingestAllDatabases`).
//!
//! Settings, connections, the order of discovery and the dispatch of a
//! batch are `weir_sdk::sql_kit`'s; here are PostgreSQL's own parts:
//!
//! - `filters`: which filter patterns PostgreSQL can apply, pushed down.
//! - `discover`: one catalog query per entity kind and database,
//!   unreadable objects skipped with a warning.
//! - `containers` (databases, schemas), `tables` (relations with lineage +
//!   `columns` + `constraints`) and `procedures` read a batch with a fixed
//!   number of queries per database, whatever the batch size.
//! - `types`: PostgreSQL types to OpenMetadata `dataType`, pure.
//! - `refs`: how messages quote a name, and the JSON batch parameters.
//! - `sql/`: the statements, kept as files so they can be run in psql as is.

mod columns;
mod constraints;
mod containers;
mod discover;
mod filters;
mod procedures;
mod refs;
mod tables;
mod types;

use weir_sdk::sql::Connection;
use weir_sdk::sql_kit::{self, Engine, SchemaText, Skipped, SqlConnector, Wanted};
use weir_sdk::{Batch, EntityKind, EntityRef, Result};

#[derive(Default)]
pub struct Postgres;

type Settings = sql_kit::Settings<filters::Pattern>;

pub const ENGINE: Engine = Engine {
    name: "postgres",
    version: env!("CARGO_PKG_VERSION"),
    engine: "postgres",
    title: "PostgreSQL",
    // libpq's and OpenMetadata's default.
    default_database: "postgres",
    current_database: "current_database()",
    same_database: |a, b| a == b,
    quote: refs::quote,
    skipped_rest: "objects skipped because the role cannot read them",
    schema: SchemaText {
        use_fqn_for_filtering: "Match the patterns against fully qualified names; nothing is pushed down then.",
        include_tables: "Discover tables: ordinary, partitioned (the parent only) and foreign.",
        include_views: "Discover views and materialized views.",
    },
};

impl SqlConnector for Postgres {
    const ENGINE: Engine = ENGINE;
    type Pattern = filters::Pattern;

    fn connected_database(conn: &Connection) -> Result<Option<String>> {
        discover::connected_database(conn)
    }

    fn all_databases(conn: &Connection, settings: &Settings, skipped: &mut Skipped) -> Result<Vec<String>> {
        discover::all_databases(conn, settings, skipped)
    }

    fn discover_in(
        conn: &Connection,
        settings: &Settings,
        database: &str,
        kind: EntityKind,
        skipped: &mut Skipped,
    ) -> Result<Vec<EntityRef>> {
        match kind {
            EntityKind::DatabaseSchema => discover::schemas(conn, settings, database, skipped),
            EntityKind::Table => discover::tables(conn, settings, database, skipped),
            EntityKind::StoredProcedure => discover::procedures(conn, settings, database),
            _ => Ok(Vec::new()),
        }
    }

    fn process_in(conn: &Connection, database: &str, kind: EntityKind, wanted: &Wanted) -> Result<Batch> {
        match kind {
            EntityKind::DatabaseSchema => containers::schemas(conn, wanted),
            EntityKind::Table => tables::process(conn, database, wanted),
            EntityKind::StoredProcedure => procedures::process(conn, database, wanted),
            // Databases are `process_databases`'; `Wanted::check` keeps no
            // path of any other kind.
            _ => Ok(Batch::default()),
        }
    }

    fn process_databases(settings: &Settings, wanted: Wanted) -> Result<Batch> {
        containers::databases(settings, wanted)
    }
}

weir_sdk::export_connector!(Postgres);

#[cfg(test)]
mod tests {
    use super::*;
    use weir_sdk::serde_json::{self, Value};
    use weir_sdk::{Config, Connector};

    #[test]
    fn describe_names_the_plugin_and_its_wording() {
        let info = Postgres::describe();
        assert_eq!((info.name.as_str(), info.version.as_str()), ("postgres", env!("CARGO_PKG_VERSION")));
        assert_eq!(info.source_types, vec!["postgres".to_string()]);
        let schema: Value = serde_json::from_str(&info.config_schema).unwrap_or_else(|e| panic!("{e}"));
        let text = |key: &str| schema["properties"][key]["description"].as_str().map(str::to_string);
        assert_eq!(text("includeViews").as_deref(), Some("Discover views and materialized views."));
    }

    #[test]
    fn names_compare_exactly_and_skips_are_what_the_role_cannot_read() {
        assert!(!(ENGINE.same_database)("pagila", "Pagila"));
        let mut skipped = Skipped::new(&ENGINE);
        (0..51).for_each(|i| skipped.add(format!("table db.s.t{i} skipped")));
        let last = skipped.lines().pop().unwrap_or_default();
        assert_eq!(last, "1 more objects skipped because the role cannot read them (only the first 50 are named)");
    }

    #[test]
    fn settings_default_to_the_postgres_database() {
        let s = Settings::from_config(&Config::default(), &ENGINE).unwrap_or_else(|e| panic!("{}", e.message));
        assert_eq!(
            s,
            Settings {
                database: "postgres".into(),
                include_tables: true,
                include_views: true,
                ingest_all_databases: false,
                filters: Default::default(),
            }
        );
    }
}
