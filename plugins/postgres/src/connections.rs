//! Which connection reads which database. A PostgreSQL session is bound to
//! one database and cannot read another's catalog, so with
//! `ingestAllDatabases` each database is reached through its own label,
//! `source/<database>`, which the host grants on the same server and
//! credentials as `source`. The configured database stays on `source`.

use crate::settings::Settings;
use weir_sdk::sql::{self, Connection};
use weir_sdk::{Failure, Result};

/// The connection label the workflow's `serviceConnection` is granted as.
pub const SOURCE: &str = "source";

/// The label family of the other databases, as `describe` declares it.
pub const OTHER_DATABASES: &str = "source/*";

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

/// Opens the connection that reads `database`.
pub fn open_database(settings: &Settings, database: &str) -> Result<Connection> {
    open(&label(settings, database)?)
}

/// Opens a granted connection, refusing one that is not PostgreSQL: the
/// catalog queries would fail on anything else with a less useful message.
pub fn open(label: &str) -> Result<Connection> {
    let conn = sql::open(label).map_err(|e| e.context(format_args!("connection `{label}`")))?;
    let engine = conn.engine();
    if engine != "postgres" {
        return Err(Failure::config(format!("the `{label}` connection is {engine}, but this plugin reads PostgreSQL")));
    }
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filters::Filters;

    fn settings(all: bool) -> Settings {
        Settings {
            database: "pagila".into(),
            include_tables: true,
            include_views: true,
            ingest_all_databases: all,
            filters: Filters::default(),
        }
    }

    #[test]
    fn the_configured_database_is_source_and_the_others_need_ingest_all() {
        assert_eq!(label(&settings(false), "pagila").ok().as_deref(), Some("source"));
        assert!(label(&settings(false), "sales").is_err());
        assert_eq!(label(&settings(true), "pagila").ok().as_deref(), Some("source"));
        assert_eq!(label(&settings(true), "sales db").ok().as_deref(), Some("source/sales db"));
    }
}
