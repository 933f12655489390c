//! Database and schema entities: a name and an MS_Description each. A
//! database's description is in its own catalog, so each database is read
//! on its own connection (one query per database); schemas are one query
//! per batch and database.

use crate::fields::{self, Col, Fields, Kind, col, opt};
use crate::{ENGINE, refs};
use std::collections::HashMap;
use weir_sdk::sql::Connection;
use weir_sdk::sql_kit::Wanted;
use weir_sdk::{Batch, Database, DatabaseSchema, Entity, EntityKind, Result};

pub const DATABASE: &str = include_str!("sql/database.sql");
pub const SCHEMAS: &str = include_str!("sql/schemas.sql");

/// The result columns of `sql/database.sql`.
pub const DATABASE_COLUMNS: &[Col] = &[col("database_name", Kind::Text), opt("description", Kind::Text)];

/// The result columns of `sql/schemas.sql`.
pub const SCHEMA_COLUMNS: &[Col] = &[col("schema_name", Kind::Text), opt("description", Kind::Text)];

/// A name and its description, from either query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Described {
    pub name: String,
    pub description: Option<String>,
}

impl Described {
    pub fn read_database(row: &impl Fields) -> Result<Described> {
        Ok(Described { name: row.get("database_name")?, description: row.get("description")? })
    }

    pub fn read_schema(row: &impl Fields) -> Result<Described> {
        Ok(Described { name: row.get("schema_name")?, description: row.get("description")? })
    }
}

/// The database the connection is in. `wanted` holds that one database's
/// path (twice at most, which `Wanted::check` removed).
pub fn database(conn: &Connection, wanted: &Wanted) -> Result<Batch> {
    let rows = conn.query(DATABASE, &[]).map_err(|e| e.context("reading the database"))?;
    let rows = fields::read_all(&rows, DATABASE_COLUMNS, "the database", |r| Described::read_database(r))?;
    Ok(assemble_database(wanted, rows.into_iter().next()))
}

/// The path keeps the name it was discovered under (the configured
/// spelling for the connected database); the row only has to exist.
pub fn assemble_database(wanted: &Wanted, row: Option<Described>) -> Batch {
    let mut batch = Batch::default();
    for path in &wanted.paths {
        match &row {
            Some(row) => batch
                .entities
                .push(Entity::Database(Database { name: path[0].clone(), description: row.description.clone() })),
            None => batch.failures.push(ENGINE.not_found(EntityKind::Database, path)),
        }
    }
    batch
}

pub fn schemas(conn: &Connection, wanted: &Wanted) -> Result<Batch> {
    let mut rows = Vec::new();
    for chunk in wanted.paths.chunks(refs::MAX_SLOTS) {
        let result = conn.query(SCHEMAS, &refs::schemas_param(chunk)).map_err(|e| e.context("reading schemas"))?;
        rows.extend(fields::read_all(&result, SCHEMA_COLUMNS, "schemas", |r| Described::read_schema(r))?);
    }
    Ok(assemble_schemas(wanted, rows))
}

/// One entity per wanted path whose schema exists by that exact name, a
/// not-found failure for the others.
pub fn assemble_schemas(wanted: &Wanted, rows: Vec<Described>) -> Batch {
    let found: HashMap<String, Option<String>> = rows.into_iter().map(|r| (r.name, r.description)).collect();
    let mut batch = Batch::default();
    for path in &wanted.paths {
        let [database, name] = path.as_slice() else {
            continue;
        };
        match found.get(name) {
            Some(description) => batch.entities.push(Entity::DatabaseSchema(DatabaseSchema {
                database: database.clone(),
                name: name.clone(),
                description: description.clone(),
            })),
            None => batch.failures.push(ENGINE.not_found(EntityKind::DatabaseSchema, path)),
        }
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::fixture::{FixtureRow, assert_selects_all, maybe, text};

    fn wanted(paths: &[&[&str]]) -> Wanted {
        Wanted::of_paths(paths.iter().map(|p| p.iter().map(|s| s.to_string()).collect()).collect())
    }

    /// A row of schemas.sql, after learn.microsoft.com "sys.schemas"
    /// (name sysname) and "sys.extended_properties" (class 3 = schema,
    /// value sql_variant cast to nvarchar(max)).
    fn schema(name: &str, description: Option<&str>) -> Described {
        let fixture =
            FixtureRow::new(SCHEMA_COLUMNS, vec![("schema_name", text(name)), ("description", maybe(description))]);
        Described::read_schema(&fixture).unwrap_or_else(|e| panic!("{}", e.message))
    }

    #[test]
    fn the_statements_select_every_column_read() {
        assert_selects_all(DATABASE, DATABASE_COLUMNS);
        assert_selects_all(SCHEMAS, SCHEMA_COLUMNS);
    }

    #[test]
    fn schemas_with_descriptions_and_missing_ones() {
        let w = wanted(&[&["AdventureWorks", "Sales"], &["AdventureWorks", "Gone"], &["AdventureWorks", "dbo"]]);
        let rows = vec![
            schema("Sales", Some("Contains objects related to customers, sales orders, and sales territories.")),
            schema("dbo", None),
            // Answered by SCHEMA_ID on a case-insensitive database, or a
            // replayed answer: not a schema asked for.
            schema("Other", None),
        ];
        let batch = assemble_schemas(&w, rows);
        assert_eq!(batch.entities.len(), 2);
        match &batch.entities[0] {
            Entity::DatabaseSchema(s) => {
                assert_eq!((s.database.as_str(), s.name.as_str()), ("AdventureWorks", "Sales"));
                assert!(s.description.as_deref().unwrap_or_default().starts_with("Contains objects"));
            }
            _ => panic!("not a schema"),
        }
        assert_eq!(batch.failures.len(), 1);
        assert_eq!(batch.failures[0].path[1], "Gone");
    }

    #[test]
    fn database_description() {
        // database.sql: sys.databases.name and the class 0 MS_Description.
        let fixture = FixtureRow::new(
            DATABASE_COLUMNS,
            vec![
                ("database_name", text("AdventureWorks")),
                ("description", text("AdventureWorks sample OLTP database.")),
            ],
        );
        let row = Described::read_database(&fixture).unwrap_or_else(|e| panic!("{}", e.message));
        let batch = assemble_database(&wanted(&[&["AdventureWorks"]]), Some(row));
        match batch.entities.as_slice() {
            [Entity::Database(d)] => {
                assert_eq!(d.name, "AdventureWorks");
                assert_eq!(d.description.as_deref(), Some("AdventureWorks sample OLTP database."));
            }
            _ => panic!("not one database"),
        }
        let gone = assemble_database(&wanted(&[&["Gone"]]), None);
        assert_eq!(gone.failures.len(), 1);
    }
}
