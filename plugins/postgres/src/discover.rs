//! Listing what exists in PostgreSQL: the catalog queries of discovery,
//! one per kind and database. The filter patterns are pushed into them so
//! that an excluded schema costs nothing (`filters`); the host applies them
//! again and has the last word. What the role cannot read is skipped here,
//! with a warning that names it, so that the run does not fail on it later.

use crate::filters::{self, Filters};
use crate::{ENGINE, Settings};
use weir_sdk::log::{self, Level};
use weir_sdk::sql::{Connection, Rows, Value};
use weir_sdk::sql_kit::{Skipped, check_connected, cost, entity_ref};
use weir_sdk::{EntityKind, EntityRef, Result};

const DATABASE: &str = include_str!("sql/discover_database.sql");
const DATABASES: &str = include_str!("sql/discover_databases.sql");
const SCHEMAS: &str = include_str!("sql/discover_schemas.sql");
const TABLES: &str = include_str!("sql/discover_tables.sql");
const PROCEDURES: &str = include_str!("sql/discover_procedures.sql");

/// `current_database()`.
pub fn connected_database(conn: &Connection) -> Result<Option<String>> {
    let rows = conn.query(DATABASE, &[]).map_err(|e| e.context("reading the database name"))?;
    match rows.iter().next() {
        Some(row) => row.get("name"),
        None => Ok(None),
    }
}

/// `ingestAllDatabases`: every database that accepts connections, is no
/// template and passes the pushed-down `databaseFilterPattern`. Those the
/// role may not connect to are skipped, named in `skipped`.
pub fn all_databases(conn: &Connection, settings: &Settings, skipped: &mut Skipped) -> Result<Vec<String>> {
    let rows = filtered_query(conn, DATABASES, &[], &settings.filters, "listing databases")?;
    let mut names = Vec::new();
    let mut connected = None;
    let mut refused = Vec::new();
    for row in rows.iter() {
        let name: String = row.get("name")?;
        if row.get::<bool>("connected")? {
            connected = Some(name.clone());
        }
        if !row.get::<bool>("kept")? {
            continue;
        }
        if row.get::<bool>("can_connect")? {
            names.push(name);
        } else {
            refused.push(name);
        }
    }
    check_connected(&ENGINE, settings, connected.as_deref())?;
    for name in refused {
        let name = ENGINE.dotted(&[name]);
        skipped.add(format!("database {name} skipped: the role may not connect to it (no CONNECT privilege)"));
    }
    Ok(names)
}

pub fn schemas(
    conn: &Connection,
    settings: &Settings,
    database: &str,
    skipped: &mut Skipped,
) -> Result<Vec<EntityRef>> {
    let rows = filtered_query(conn, SCHEMAS, &[], &settings.filters, "listing schemas")?;
    let mut refs = Vec::new();
    for row in rows.iter() {
        let path = vec![database.to_string(), row.get("name")?];
        if row.get::<bool>("usable")? {
            refs.push(entity_ref(EntityKind::DatabaseSchema, path, 1));
        } else {
            let name = ENGINE.dotted(&path);
            skipped.add(format!("schema {name} skipped: the role has no USAGE privilege on it"));
        }
    }
    Ok(refs)
}

pub fn tables(conn: &Connection, settings: &Settings, database: &str, skipped: &mut Skipped) -> Result<Vec<EntityRef>> {
    let params = [Value::Boolean(settings.include_tables), Value::Boolean(settings.include_views)];
    let rows = filtered_query(conn, TABLES, &params, &settings.filters, "listing tables and views")?;
    let mut refs = Vec::new();
    for row in rows.iter() {
        let path = vec![database.to_string(), row.get("schema")?, row.get("name")?];
        if row.get::<bool>("readable")? {
            let columns: i64 = row.get("column_count")?;
            refs.push(entity_ref(EntityKind::Table, path, cost(columns)));
        } else {
            let name = ENGINE.dotted(&path);
            skipped.add(format!("table {name} skipped: the role has no SELECT privilege on it"));
        }
    }
    Ok(refs)
}

/// Functions and procedures, each keyed by its oid: overloads share a
/// path, and the key is what tells them apart in `procedures`.
pub fn procedures(conn: &Connection, settings: &Settings, database: &str) -> Result<Vec<EntityRef>> {
    let rows = filtered_query(conn, PROCEDURES, &[], &settings.filters, "listing stored procedures")?;
    rows.iter()
        .map(|row| {
            let oid: i64 = row.get("oid")?;
            let path = vec![database.to_string(), row.get("schema")?, row.get("name")?];
            Ok(EntityRef { kind: EntityKind::StoredProcedure, path, cost: 1, key: Some(oid.to_string()) })
        })
        .collect()
}

/// Runs a discover query with the pushed-down patterns as its last
/// parameter. PostgreSQL's regex dialect is not the host's: a pattern the
/// host accepts may be refused here, and that must not fail discovery, so
/// the query runs again with nothing pushed down.
fn filtered_query(conn: &Connection, sql: &str, params: &[Value], filters: &Filters, what: &str) -> Result<Rows> {
    let pushed = filters::param(filters);
    let mut all = params.to_vec();
    all.push(Value::Text(pushed.clone()));
    match conn.query(sql, &all) {
        Err(e) if pushed != filters::none() && filters::is_regex_error(&e) => {
            log::log(
                Level::Warn,
                &format!("{what}: PostgreSQL refused a filter pattern, so the patterns are applied by the host alone"),
                &[("error", &e.message)],
            );
            if let Some(last) = all.last_mut() {
                *last = Value::Text(filters::none());
            }
            conn.query(sql, &all)
        }
        other => other,
    }
    .map_err(|e| e.context(what))
}
