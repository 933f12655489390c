//! Database and schema entities: a name and a comment each, one query per
//! batch.

use crate::refs::{self, Wanted};
use std::collections::HashMap;
use weir_sdk::sql::{Connection, Rows, Value};
use weir_sdk::{Batch, Database, DatabaseSchema, Entity, EntityKind, Result};

const DATABASES: &str = include_str!("sql/databases.sql");
const SCHEMAS: &str = include_str!("sql/schemas.sql");

pub fn databases(conn: &Connection, wanted: &Wanted) -> Result<Batch> {
    let param = Value::Text(refs::names_param(&wanted.paths));
    let rows = conn.query(DATABASES, &[param]).map_err(|e| e.context("reading databases"))?;
    let comments = comments(&rows)?;
    Ok(assemble(EntityKind::Database, wanted, &comments, |path, description| {
        Entity::Database(Database { name: path[0].clone(), description })
    }))
}

pub fn schemas(conn: &Connection, wanted: &Wanted) -> Result<Batch> {
    let param = Value::Text(refs::names_param(&wanted.paths));
    let rows = conn.query(SCHEMAS, &[param]).map_err(|e| e.context("reading schemas"))?;
    let comments = comments(&rows)?;
    Ok(assemble(EntityKind::DatabaseSchema, wanted, &comments, |path, description| {
        Entity::DatabaseSchema(DatabaseSchema { database: path[0].clone(), name: path[1].clone(), description })
    }))
}

/// Name → comment, for the names that exist.
fn comments(rows: &Rows) -> Result<HashMap<String, Option<String>>> {
    rows.iter().map(|row| Ok((row.get("name")?, row.get("description")?))).collect()
}

/// One entity per wanted path whose last name exists, a not-found failure
/// for the others.
fn assemble(
    kind: EntityKind,
    wanted: &Wanted,
    comments: &HashMap<String, Option<String>>,
    entity: impl Fn(&[String], Option<String>) -> Entity,
) -> Batch {
    let mut batch = Batch::default();
    for path in &wanted.paths {
        match path.last().and_then(|name| comments.get(name)) {
            Some(description) => batch.entities.push(entity(path, description.clone())),
            None => batch.failures.push(refs::not_found(kind, path)),
        }
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_schemas_fail_alone() {
        let wanted = Wanted {
            paths: vec![
                vec!["db".into(), "public".into()],
                vec!["db".into(), "gone".into()],
                vec!["db".into(), "Edge Cases".into()],
            ],
            keys: vec![None, None, None],
            failures: Vec::new(),
        };
        let comments = HashMap::from([
            ("public".to_string(), Some("standard public schema".to_string())),
            ("Edge Cases".to_string(), None),
        ]);
        let batch = assemble(EntityKind::DatabaseSchema, &wanted, &comments, |path, description| {
            Entity::DatabaseSchema(DatabaseSchema { database: path[0].clone(), name: path[1].clone(), description })
        });
        assert_eq!(batch.entities.len(), 2);
        assert_eq!(batch.failures.len(), 1);
        assert_eq!(batch.failures[0].path, vec!["db".to_string(), "gone".into()]);
        match &batch.entities[0] {
            Entity::DatabaseSchema(s) => {
                assert_eq!(s.name, "public");
                assert_eq!(s.description.as_deref(), Some("standard public schema"));
            }
            _ => panic!("not a schema"),
        }
    }
}
