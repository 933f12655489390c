//! `discover`: the names of everything there is, in one query at most.

use crate::fetch;
use crate::names::{SCHEMA, database_name};
use weir_sdk::sql::Row;
use weir_sdk::{Config, EntityKind, EntityRef, Result};

const TABLES: &str = include_str!("sql/discover_tables.sql");

pub fn discover(config: &Config, kind: EntityKind) -> Result<Vec<EntityRef>> {
    let db = database_name(config);
    match kind {
        // One file, one database, one schema: nothing to ask the source.
        EntityKind::Database => Ok(vec![entity_ref(kind, vec![db], 1)]),
        EntityKind::DatabaseSchema => Ok(vec![entity_ref(kind, vec![db, SCHEMA.to_string()], 1)]),
        EntityKind::Table => {
            let conn = fetch::open()?;
            let rows = conn.query(TABLES, &[]).map_err(|e| e.context("listing tables"))?;
            rows.iter().map(|row| table_ref(&db, &row)).collect()
        }
        // Not in `describe`'s entity kinds: SQLite has no procedures or
        // dashboards, so there is simply nothing of that kind.
        _ => Ok(Vec::new()),
    }
}

fn table_ref(db: &str, row: &Row) -> Result<EntityRef> {
    let name: String = row.get("name")?;
    // A column count can't exceed u32; clamp rather than fail on oddities.
    let cost = u32::try_from(row.get::<i64>("cost")?.max(1)).unwrap_or(u32::MAX);
    Ok(entity_ref(EntityKind::Table, vec![db.to_string(), SCHEMA.to_string(), name], cost))
}

fn entity_ref(kind: EntityKind, path: Vec<String>, cost: u32) -> EntityRef {
    EntityRef { kind, path, cost, key: None }
}
