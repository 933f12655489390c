//! The catalog queries of one `process` batch, and nothing else: rows come
//! back as plain structs so that turning them into entities (in
//! `process.rs`) is pure code that tests can drive without a host.
//!
//! A batch costs four queries whatever its size: objects, columns, indexes,
//! foreign keys (the last two only when the batch holds tables). Each passes
//! the batch's names as one JSON array and joins SQLite's table-valued
//! pragma functions against `sqlite_master`.

use crate::names::SOURCE;
use weir_sdk::sql::{self, Connection, FromSql, Row, Value};
use weir_sdk::{ErrorKind, Failure, Result, log, serde_json};

const OBJECTS: &str = include_str!("sql/objects.sql");
const COLUMNS: &str = include_str!("sql/columns.sql");
const INDEXES: &str = include_str!("sql/indexes.sql");
const FOREIGN_KEYS: &str = include_str!("sql/foreign_keys.sql");

/// Opens the workflow's connection and makes sure it is a SQLite one: the
/// pragmas below mean nothing to another engine.
pub fn open() -> Result<Connection> {
    let conn = sql::open(SOURCE)?;
    let engine = conn.engine();
    if engine != "sqlite" {
        return Err(Failure::config(format!(
            "the sqlite plugin needs a SQLite connection, but the host opened a `{engine}` one"
        )));
    }
    Ok(conn)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectType {
    Table,
    View,
}

/// A row of `sqlite_master`.
#[derive(Debug, Clone)]
pub struct Object {
    pub name: String,
    pub kind: ObjectType,
    /// The CREATE statement; SQLite keeps it for every table and view.
    pub sql: String,
}

/// A row of `pragma_table_xinfo`.
#[derive(Debug, Clone)]
pub struct ColumnRow {
    pub table: String,
    pub name: String,
    /// The declared type as written; empty when none was.
    pub declared: String,
    pub not_null: bool,
    pub default: Option<String>,
    /// 1-based position in the primary key, 0 when not part of it.
    pub pk: i64,
}

/// A row of `pragma_index_list` joined with `pragma_index_info`.
#[derive(Debug, Clone)]
pub struct IndexRow {
    pub table: String,
    pub index: String,
    /// `pk` or `u`.
    pub origin: String,
    /// `None` for an expression; constraints never have one, but the
    /// pragma allows it.
    pub column: Option<String>,
}

/// A row of `pragma_foreign_key_list`, names resolved (see the SQL).
#[derive(Debug, Clone)]
pub struct ForeignKeyRow {
    pub table: String,
    pub id: i64,
    pub column: String,
    pub referred_table: String,
    /// `None` when the clause names no columns and the referred table has
    /// no declared primary key to stand in for them.
    pub referred_column: Option<String>,
}

/// Everything one batch needs, plus the objects that could not be read.
#[derive(Debug, Default)]
pub struct Catalog {
    pub objects: Vec<Object>,
    pub columns: Vec<ColumnRow>,
    pub indexes: Vec<IndexRow>,
    pub foreign_keys: Vec<ForeignKeyRow>,
    /// Objects whose own query failed (a view over a dropped table, a
    /// virtual table whose module the host lacks), with the reason.
    pub failures: Vec<(String, Failure)>,
}

/// Reads the catalog rows of the tables and views called `names`.
pub fn fetch(conn: &Connection, names: &[String]) -> Result<Catalog> {
    let mut catalog = Catalog {
        objects: query(conn, OBJECTS, names, read_object).map_err(|e| e.context("reading tables and views"))?,
        ..Catalog::default()
    };
    let present: Vec<String> = catalog.objects.iter().map(|o| o.name.clone()).collect();
    let tables: Vec<String> =
        catalog.objects.iter().filter(|o| o.kind == ObjectType::Table).map(|o| o.name.clone()).collect();

    catalog.columns = per_object(conn, COLUMNS, &present, "columns", read_column, &mut catalog.failures)?;
    if !tables.is_empty() {
        catalog.indexes = per_object(conn, INDEXES, &tables, "indexes", read_index, &mut catalog.failures)?;
        catalog.foreign_keys =
            per_object(conn, FOREIGN_KEYS, &tables, "foreign keys", read_foreign_key, &mut catalog.failures)?;
    }
    Ok(catalog)
}

/// Runs `statement` for all `names` at once. SQLite fails a whole query
/// when one object in it cannot be read (a view whose table was dropped
/// answers "no such table" as soon as a pragma touches it), so on a
/// permanent error the query is repeated one object at a time, only to
/// find the culprits: they become entity failures and the rest of the
/// batch goes on. This costs extra queries on that error path only.
fn per_object<T>(
    conn: &Connection,
    statement: &str,
    names: &[String],
    what: &str,
    read: fn(&Row) -> Result<T>,
    failures: &mut Vec<(String, Failure)>,
) -> Result<Vec<T>> {
    let err = match query(conn, statement, names, read) {
        Ok(rows) => return Ok(rows),
        Err(err) if err.kind == ErrorKind::Permanent => err,
        // Transient, config and denied errors concern the whole batch.
        Err(err) => return Err(err.context(format_args!("reading {what}"))),
    };
    log::log(
        log::Level::Warn,
        "batch catalog query failed; retrying one object at a time",
        &[("what", what), ("error", &err.message), ("objects", &names.len().to_string())],
    );
    let mut rows = Vec::new();
    for name in names {
        match query(conn, statement, std::slice::from_ref(name), read) {
            Ok(mut some) => rows.append(&mut some),
            Err(err) if err.kind == ErrorKind::Permanent => {
                failures.push((name.clone(), err.context(format_args!("reading {what}"))));
            }
            Err(err) => return Err(err.context(format_args!("reading {what}"))),
        }
    }
    Ok(rows)
}

/// Runs `statement` with the JSON array of `names` as its one parameter.
fn query<T>(conn: &Connection, statement: &str, names: &[String], read: fn(&Row) -> Result<T>) -> Result<Vec<T>> {
    let names = serde_json::to_string(names)?;
    let rows = conn.query(statement, &[Value::Text(names)])?;
    rows.iter().map(|row| read(&row)).collect()
}

fn read_object(row: &Row) -> Result<Object> {
    let kind = match row.get::<String>("type")?.as_str() {
        "view" => ObjectType::View,
        _ => ObjectType::Table,
    };
    let AnyText(sql) = row.get("sql")?;
    Ok(Object { name: row.get("name")?, kind, sql: sql.unwrap_or_default() })
}

fn read_column(row: &Row) -> Result<ColumnRow> {
    let AnyText(declared) = row.get("type")?;
    let AnyText(default) = row.get("dflt_value")?;
    Ok(ColumnRow {
        table: row.get("tbl")?,
        name: row.get("name")?,
        declared: declared.unwrap_or_default(),
        not_null: row.get::<i64>("not_null")? != 0,
        default,
        pk: row.get("pk")?,
    })
}

fn read_index(row: &Row) -> Result<IndexRow> {
    Ok(IndexRow { table: row.get("tbl")?, index: row.get("idx")?, origin: row.get("origin")?, column: row.get("col")? })
}

fn read_foreign_key(row: &Row) -> Result<ForeignKeyRow> {
    Ok(ForeignKeyRow {
        table: row.get("tbl")?,
        id: row.get("id")?,
        column: row.get("col")?,
        referred_table: row.get("ref_table")?,
        referred_column: row.get("ref_col")?,
    })
}

/// Text from a column whose values SQLite types dynamically. The pragmas
/// return the declared type and the default's source text as TEXT, but
/// nothing in SQLite promises it, and a default like `0` must not fail a
/// batch for having come back as an integer.
struct AnyText(Option<String>);

impl FromSql for AnyText {
    fn from_sql(value: &Value) -> Result<Self> {
        Ok(AnyText(match value {
            Value::Null => None,
            Value::Text(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Boolean(b) => Some(b.to_string()),
            Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        }))
    }
}
