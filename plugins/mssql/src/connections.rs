//! Which connection reads which database. The catalog views (sys.objects,
//! sys.columns, ...) describe the database of the session only, and a
//! statement naming another database's catalog (`db.sys.objects`) would
//! tie every query to a name; so, as in the PostgreSQL connector, each
//! database is read through its own label, `source/<database>`, which the
//! host grants on the same server and login as `source` when
//! `ingestAllDatabases` is on. The configured database stays on `source`.

use crate::settings::Settings;
use weir_sdk::sql::{self, Connection};
use weir_sdk::{Failure, Result};

/// The connection label the workflow's `serviceConnection` is granted as.
pub const SOURCE: &str = "source";

/// The label family of the other databases, as `describe` declares it.
pub const OTHER_DATABASES: &str = "source/*";

/// The engine name the host gives SQL Server connections.
const ENGINE: &str = "mssql";

/// The label that reaches `database`. Without `ingestAllDatabases` only
/// the configured database is reachable.
pub fn label(settings: &Settings, database: &str) -> Result<String> {
    if database == settings.database {
        Ok(SOURCE.to_string())
    } else if settings.ingest_all_databases {
        Ok(format!("{SOURCE}/{database}"))
    } else {
        Err(Failure::permanent(format!(
            "database {database:?} is not the connected database {:?} (connection.ingestAllDatabases is off)",
            settings.database
        )))
    }
}

/// Whether two database names name the same database. SQL Server compares
/// them with the server's collation, case-insensitive unless the server
/// was installed otherwise; a case-sensitive server whose databases differ
/// only in case is not worth a query to find out.
pub fn same_database(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

/// Opens the connection that reads `database`.
pub fn open_database(settings: &Settings, database: &str) -> Result<Connection> {
    open(&label(settings, database)?)
}

/// Opens a granted connection, refusing one that is not SQL Server: the
/// catalog queries would fail on anything else with a less useful message.
pub fn open(label: &str) -> Result<Connection> {
    let conn = sql::open(label).map_err(|e| e.context(format_args!("connection `{label}`")))?;
    let engine = conn.engine();
    if engine != ENGINE {
        return Err(Failure::config(format!("the `{label}` connection is {engine}, but this plugin reads SQL Server")));
    }
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filters::Filters;

    fn settings(all: bool) -> Settings {
        Settings {
            database: "AdventureWorks".into(),
            include_tables: true,
            include_views: true,
            ingest_all_databases: all,
            filters: Filters::default(),
        }
    }

    #[test]
    fn the_configured_database_is_source_and_the_others_need_ingest_all() {
        assert_eq!(label(&settings(false), "AdventureWorks").ok().as_deref(), Some("source"));
        assert!(label(&settings(false), "Sales").is_err());
        assert_eq!(label(&settings(true), "AdventureWorks").ok().as_deref(), Some("source"));
        assert_eq!(label(&settings(true), "Sales DW").ok().as_deref(), Some("source/Sales DW"));
    }

    #[test]
    fn database_names_compare_case_insensitively() {
        assert!(same_database("AdventureWorks", "adventureworks"));
        assert!(!same_database("AdventureWorks", "AdventureWorksDW"));
    }
}
