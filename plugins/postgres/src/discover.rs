//! Listing what exists: one catalog query per kind, names and a cost hint
//! only. Filtering by pattern is the host's job.

use crate::settings::Settings;
use weir_sdk::sql::{Connection, Value};
use weir_sdk::{EntityKind, EntityRef, Failure, Result};

const DATABASE: &str = include_str!("sql/discover_database.sql");
const SCHEMAS: &str = include_str!("sql/discover_schemas.sql");
const TABLES: &str = include_str!("sql/discover_tables.sql");

pub fn discover(conn: &Connection, settings: &Settings, kind: EntityKind) -> Result<Vec<EntityRef>> {
    match kind {
        EntityKind::Database => database(conn, settings),
        EntityKind::DatabaseSchema => schemas(conn, settings),
        EntityKind::Table => tables(conn, settings),
        // Not in `describe`'s kinds: nothing of that kind here.
        _ => Ok(Vec::new()),
    }
}

/// The configured database, after checking that it is the one the host
/// connected to: every path carries its name, and a mismatch would file
/// the catalog of one database under the name of another.
fn database(conn: &Connection, settings: &Settings) -> Result<Vec<EntityRef>> {
    let rows = conn.query(DATABASE, &[]).map_err(|e| e.context("reading the database name"))?;
    let connected: Option<String> = match rows.iter().next() {
        Some(row) => row.get("name")?,
        None => None,
    };
    match connected {
        Some(name) if name == settings.database => Ok(vec![entity_ref(EntityKind::Database, vec![name], 1)]),
        Some(name) => Err(Failure::config(format!(
            "the source connection is to database {name:?}, but connection.database says {:?}",
            settings.database
        ))),
        None => Err(Failure::permanent("current_database() returned nothing")),
    }
}

fn schemas(conn: &Connection, settings: &Settings) -> Result<Vec<EntityRef>> {
    let rows = conn.query(SCHEMAS, &[]).map_err(|e| e.context("listing schemas"))?;
    rows.iter()
        .map(|row| {
            let schema: String = row.get("name")?;
            Ok(entity_ref(EntityKind::DatabaseSchema, vec![settings.database.clone(), schema], 1))
        })
        .collect()
}

fn tables(conn: &Connection, settings: &Settings) -> Result<Vec<EntityRef>> {
    let params = [Value::Boolean(settings.include_tables), Value::Boolean(settings.include_views)];
    let rows = conn.query(TABLES, &params).map_err(|e| e.context("listing tables and views"))?;
    rows.iter()
        .map(|row| {
            let schema: String = row.get("schema")?;
            let name: String = row.get("name")?;
            let columns: i64 = row.get("column_count")?;
            let path = vec![settings.database.clone(), schema, name];
            Ok(entity_ref(EntityKind::Table, path, cost(columns)))
        })
        .collect()
}

/// Work per table grows with its columns; a table without any still costs
/// a row in each query.
fn cost(columns: i64) -> u32 {
    u32::try_from(columns.max(1)).unwrap_or(u32::MAX)
}

fn entity_ref(kind: EntityKind, path: Vec<String>, cost: u32) -> EntityRef {
    EntityRef { kind, path, cost, key: None }
}

#[cfg(test)]
mod tests {
    use super::cost;

    #[test]
    fn cost_is_columns_at_least_one() {
        assert_eq!(cost(0), 1);
        assert_eq!(cost(14), 14);
        assert_eq!(cost(-3), 1);
        assert_eq!(cost(i64::MAX), u32::MAX);
    }
}
