//! Listing what exists in SQL Server: the catalog queries of discovery,
//! one per kind and database. Databases the login cannot read are skipped
//! with a warning that names them, so that the run does not fail on them
//! later.
//!
//! T-SQL has no regular expressions (LIKE is not one), so unlike the
//! PostgreSQL connector nothing can be pushed into the catalog queries:
//! discovery reads every name and drops the filtered ones here, before
//! counting their columns or naming them in warnings. The host applies the
//! same patterns to what discovery returns and has the last word; both use
//! the SDK's matcher (Rust's `regex`, anchored at the start,
//! case-insensitive), so the plugin never drops a name the host would keep.

use crate::fields::{self, Col, Fields, Kind, col, opt};
use crate::synonyms;
use crate::{ENGINE, Settings};
use weir_sdk::sql::{Connection, Value};
use weir_sdk::sql_kit::{Skipped, check_connected, cost, entity_ref};
use weir_sdk::{EntityKind, EntityRef, Result};

const DATABASE: &str = include_str!("sql/discover_database.sql");
const DATABASES: &str = include_str!("sql/discover_databases.sql");
const SCHEMAS: &str = include_str!("sql/discover_schemas.sql");
const TABLES: &str = include_str!("sql/discover_tables.sql");
const PROCEDURES: &str = include_str!("sql/discover_procedures.sql");

/// The result columns of `sql/discover_database.sql`.
pub const DATABASE_COLUMNS: &[Col] = &[opt("database_name", Kind::Text)];

/// The result columns of `sql/discover_databases.sql`.
pub const DATABASES_COLUMNS: &[Col] = &[
    col("database_name", Kind::Text),
    col("is_connected", Kind::Boolean),
    col("is_system", Kind::Boolean),
    col("is_snapshot", Kind::Boolean),
    col("state", Kind::Text),
    col("has_access", Kind::Boolean),
];

/// The result columns of `sql/discover_schemas.sql`.
pub const SCHEMAS_COLUMNS: &[Col] = &[col("schema_name", Kind::Text)];

/// The result columns of `sql/discover_tables.sql`.
pub const TABLES_COLUMNS: &[Col] = &[
    col("schema_name", Kind::Text),
    col("table_name", Kind::Text),
    col("object_type", Kind::Text),
    col("column_count", Kind::Int),
    opt("base_type", Kind::Text),
];

/// The result columns of `sql/discover_procedures.sql`.
pub const PROCEDURES_COLUMNS: &[Col] = &[col("schema_name", Kind::Text), col("procedure_name", Kind::Text)];

/// `DB_NAME()`.
pub fn connected_database(conn: &Connection) -> Result<Option<String>> {
    let rows = conn.query(DATABASE, &[]).map_err(|e| e.context("reading the database name"))?;
    let names =
        fields::read_all(&rows, DATABASE_COLUMNS, "the database name", |r| r.get::<Option<String>>("database_name"))?;
    Ok(names.into_iter().flatten().next())
}

/// One row of discover_databases.sql.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatabaseRow {
    pub name: String,
    pub connected: bool,
    pub system: bool,
    pub snapshot: bool,
    /// `sys.databases.state_desc`: ONLINE, RESTORING, OFFLINE, ...
    pub state: String,
    pub has_access: bool,
}

impl DatabaseRow {
    pub fn read(row: &impl Fields) -> Result<DatabaseRow> {
        Ok(DatabaseRow {
            name: row.get("database_name")?,
            connected: row.get("is_connected")?,
            system: row.get("is_system")?,
            snapshot: row.get("is_snapshot")?,
            state: row.get("state")?,
            has_access: row.get("has_access")?,
        })
    }
}

/// `ingestAllDatabases`: the databases of the server to read. Those the
/// login may not open are skipped, named in `skipped`.
pub fn all_databases(conn: &Connection, settings: &Settings, skipped: &mut Skipped) -> Result<Vec<String>> {
    let rows = conn.query(DATABASES, &[]).map_err(|e| e.context("listing databases"))?;
    let rows = fields::read_all(&rows, DATABASES_COLUMNS, "databases", |r| DatabaseRow::read(r))?;
    choose_databases(settings, rows, skipped)
}

/// Which of the server's databases to read, in the order listed:
/// - the connected one, under its configured name, if the filter keeps it;
/// - not the other system databases (master, tempdb, model, msdb): they
///   hold the server's own bookkeeping, and OpenMetadata's connector
///   leaves tempdb, model and msdb out by default too;
/// - not database snapshots: read-only copies of another database as it
///   was, whose catalog would repeat that database's;
/// - not what `databaseFilterPattern` drops;
/// - and, named in a warning, not those offline or closed to the login.
pub fn choose_databases(settings: &Settings, rows: Vec<DatabaseRow>, skipped: &mut Skipped) -> Result<Vec<String>> {
    let connected = rows.iter().find(|r| r.connected).map(|r| r.name.as_str());
    check_connected(&ENGINE, settings, connected)?;
    let mut names = Vec::new();
    for row in rows {
        let name = if row.connected { settings.database.clone() } else { row.name };
        if !settings.filters.keeps_database(&name) {
            continue;
        }
        if row.connected {
            names.push(name);
            continue;
        }
        if row.system || row.snapshot {
            continue;
        }
        let shown = ENGINE.dotted(std::slice::from_ref(&name));
        if row.state != "ONLINE" {
            skipped.add(format!("database {shown} skipped: it is {}", row.state));
        } else if !row.has_access {
            skipped.add(format!("database {shown} skipped: the login has no access to it (no user in it)"));
        } else {
            names.push(name);
        }
    }
    Ok(names)
}

pub fn in_database(conn: &Connection, settings: &Settings, database: &str, kind: EntityKind) -> Result<Vec<EntityRef>> {
    match kind {
        EntityKind::DatabaseSchema => {
            let rows = conn.query(SCHEMAS, &[]).map_err(|e| e.context("listing schemas"))?;
            let names = fields::read_all(&rows, SCHEMAS_COLUMNS, "schemas", |r| r.get::<String>("schema_name"))?;
            Ok(schema_refs(settings, database, names))
        }
        EntityKind::Table => {
            let params = [Value::Boolean(settings.include_tables), Value::Boolean(settings.include_views)];
            let rows = conn.query(TABLES, &params).map_err(|e| e.context("listing tables and views"))?;
            let rows = fields::read_all(&rows, TABLES_COLUMNS, "tables and views", |r| TableListRow::read(r))?;
            Ok(table_refs(settings, database, rows))
        }
        EntityKind::StoredProcedure => {
            let rows = conn.query(PROCEDURES, &[]).map_err(|e| e.context("listing stored procedures"))?;
            let rows = fields::read_all(&rows, PROCEDURES_COLUMNS, "stored procedures", |r| {
                Ok((r.get::<String>("schema_name")?, r.get::<String>("procedure_name")?))
            })?;
            Ok(procedure_refs(settings, database, rows))
        }
        _ => Ok(Vec::new()),
    }
}

fn schema_refs(settings: &Settings, database: &str, names: Vec<String>) -> Vec<EntityRef> {
    names
        .into_iter()
        .filter(|name| settings.filters.keeps_schema(name))
        .map(|name| entity_ref(EntityKind::DatabaseSchema, vec![database.to_string(), name], 1))
        .collect()
}

/// One row of discover_tables.sql.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableListRow {
    pub schema: String,
    pub name: String,
    pub object_type: String,
    pub column_count: i64,
    pub base_type: Option<String>,
}

impl TableListRow {
    pub fn read(row: &impl Fields) -> Result<TableListRow> {
        Ok(TableListRow {
            schema: row.get("schema_name")?,
            name: row.get("table_name")?,
            object_type: row.get("object_type")?,
            column_count: row.get("column_count")?,
            base_type: row.get("base_type")?,
        })
    }
}

fn table_refs(settings: &Settings, database: &str, rows: Vec<TableListRow>) -> Vec<EntityRef> {
    rows.into_iter()
        .filter(|r| settings.filters.keeps_table(&r.schema, &r.name))
        .filter(|r| r.object_type.trim() != "SN" || synonyms::is_table_alias(r.base_type.as_deref()))
        .map(|r| entity_ref(EntityKind::Table, vec![database.to_string(), r.schema, r.name], cost(r.column_count)))
        .collect()
}

fn procedure_refs(settings: &Settings, database: &str, rows: Vec<(String, String)>) -> Vec<EntityRef> {
    rows.into_iter()
        .filter(|(schema, name)| settings.filters.keeps_procedure(schema, name))
        .map(|(schema, name)| entity_ref(EntityKind::StoredProcedure, vec![database.to_string(), schema, name], 1))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::fixture::{FixtureRow, assert_selects_all, bit, int, maybe, text};
    use weir_sdk::ErrorKind;
    use weir_sdk::serde_json::json;

    type Filters = weir_sdk::sql_kit::Filters<weir_sdk::filter::FilterPattern>;

    fn settings(database: &str, filters: Filters) -> Settings {
        Settings {
            database: database.into(),
            include_tables: true,
            include_views: true,
            ingest_all_databases: true,
            filters,
        }
    }

    fn filters(json: weir_sdk::serde_json::Value) -> Filters {
        Filters::from_source(&json).unwrap_or_else(|e| panic!("{}", e.message))
    }

    /// A row of discover_databases.sql, after learn.microsoft.com
    /// "sys.databases (Transact-SQL)" (database_id 1-4 the system
    /// databases, source_database_id set on snapshots, state_desc) and
    /// "HAS_DBACCESS": the query hands flags over as bit.
    fn database(name: &str, connected: bool, system: bool, state: &str, access: bool) -> DatabaseRow {
        let fixture = FixtureRow::new(
            DATABASES_COLUMNS,
            vec![
                ("database_name", text(name)),
                ("is_connected", bit(connected)),
                ("is_system", bit(system)),
                ("is_snapshot", bit(false)),
                ("state", text(state)),
                ("has_access", bit(access)),
            ],
        );
        DatabaseRow::read(&fixture).unwrap_or_else(|e| panic!("{}", e.message))
    }

    fn server() -> Vec<DatabaseRow> {
        let mut snapshot = database("AdventureWorks_snap", false, false, "ONLINE", true);
        snapshot.snapshot = true;
        vec![
            database("AdventureWorks", false, false, "ONLINE", true),
            snapshot,
            database("HR", false, false, "ONLINE", false),
            database("master", true, true, "ONLINE", true),
            database("model", false, true, "ONLINE", true),
            database("msdb", false, true, "ONLINE", true),
            database("Restoring", false, false, "RESTORING", false),
            database("Sales", false, false, "ONLINE", true),
            database("tempdb", false, true, "ONLINE", true),
        ]
    }

    #[test]
    fn the_statements_select_every_column_read() {
        assert_selects_all(DATABASE, DATABASE_COLUMNS);
        assert_selects_all(DATABASES, DATABASES_COLUMNS);
        assert_selects_all(SCHEMAS, SCHEMAS_COLUMNS);
        assert_selects_all(TABLES, TABLES_COLUMNS);
        assert_selects_all(PROCEDURES, PROCEDURES_COLUMNS);
    }

    #[test]
    fn all_databases_leave_out_system_snapshots_and_closed_ones() {
        let mut skipped = Skipped::new(&ENGINE);
        let names = choose_databases(&settings("master", Filters::default()), server(), &mut skipped)
            .unwrap_or_else(|e| panic!("{}", e.message));
        assert_eq!(names, vec!["AdventureWorks".to_string(), "master".into(), "Sales".into()]);
        let lines = skipped.lines();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].contains("HR") && lines[0].contains("no access"), "{}", lines[0]);
        assert!(lines[1].contains("RESTORING"), "{}", lines[1]);
    }

    #[test]
    fn the_connected_database_keeps_its_configured_name_and_the_filter_applies() {
        let mut rows = server();
        for row in &mut rows {
            row.connected = row.name == "Sales";
        }
        let settings = settings("SALES", filters(json!({"databaseFilterPattern": {"excludes": ["^adventure"]}})));
        let names =
            choose_databases(&settings, rows, &mut Skipped::new(&ENGINE)).unwrap_or_else(|e| panic!("{}", e.message));
        assert_eq!(names, vec!["SALES".to_string()]);
    }

    #[test]
    fn the_connected_database_must_be_the_configured_one() {
        let wrong =
            choose_databases(&settings("AdventureWorks", Filters::default()), server(), &mut Skipped::new(&ENGINE));
        assert!(matches!(wrong.err().map(|e| e.kind), Some(ErrorKind::Config)));
        let settings = settings("AdventureWorks", Filters::default());
        assert!(check_connected(&ENGINE, &settings, Some("adventureworks")).is_ok());
        let none = check_connected(&ENGINE, &settings, None).err().map(|e| e.message);
        assert_eq!(none.as_deref(), Some("DB_NAME() returned nothing"));
    }

    #[test]
    fn tables_are_filtered_and_synonyms_of_routines_dropped() {
        // Rows of discover_tables.sql: sys.objects.type trimmed, COUNT(*)
        // of sys.columns (int), the synonym base's type when it resolves.
        let row = |schema: &str, name: &str, object_type: &str, columns: i64, base: Option<&str>| {
            let fixture = FixtureRow::new(
                TABLES_COLUMNS,
                vec![
                    ("schema_name", text(schema)),
                    ("table_name", text(name)),
                    ("object_type", text(object_type)),
                    ("column_count", int(columns)),
                    ("base_type", maybe(base)),
                ],
            );
            TableListRow::read(&fixture).unwrap_or_else(|e| panic!("{}", e.message))
        };
        let rows = vec![
            row("Sales", "Orders", "U", 12, None),
            row("Sales", "tmp_Orders", "U", 12, None),
            row("Sales", "vOrders", "V", 0, None),
            row("Sales", "OrdersAlias", "SN", 12, Some("U")),
            row("Sales", "GetOrders", "SN", 0, Some("P")),
            row("Sales", "RemoteOrders", "SN", 0, None),
            row("Person", "Person", "U", 13, None),
        ];
        let settings = settings(
            "AdventureWorks",
            filters(
                json!({"schemaFilterPattern": {"includes": ["^sales$"]}, "tableFilterPattern": {"excludes": ["^tmp_"]}}),
            ),
        );
        let refs = table_refs(&settings, "AdventureWorks", rows);
        let found: Vec<(&str, u32)> = refs.iter().map(|r| (r.path[2].as_str(), r.cost)).collect();
        assert_eq!(found, vec![("Orders", 12), ("vOrders", 1), ("OrdersAlias", 12), ("RemoteOrders", 1)]);
        assert!(refs.iter().all(|r| r.path[0] == "AdventureWorks" && r.key.is_none()));
    }

    #[test]
    fn schemas_and_procedures_are_filtered() {
        let settings = settings(
            "db",
            filters(json!({"schemaFilterPattern": {"excludes": ["^staging$"]},
                           "storedProcedureFilterPattern": {"excludes": ["^sp_"]}})),
        );
        let schemas = schema_refs(&settings, "db", vec!["dbo".into(), "Staging".into()]);
        assert_eq!(schemas.len(), 1);
        assert_eq!(schemas[0].path, vec!["db".to_string(), "dbo".into()]);
        let procedures =
            procedure_refs(&settings, "db", vec![("dbo".into(), "uspX".into()), ("dbo".into(), "sp_old".into())]);
        assert_eq!(procedures.len(), 1);
        assert_eq!(procedures[0].path[2], "uspX");
    }

    #[test]
    fn skipped_databases_are_named_up_to_a_cap() {
        let mut many = Skipped::new(&ENGINE);
        for i in 0..57 {
            many.add(format!("database d{i} skipped"));
        }
        let lines = many.lines();
        assert_eq!(lines.len(), 51);
        assert_eq!(lines[50], "7 more databases skipped (only the first 50 are named)");
    }
}
