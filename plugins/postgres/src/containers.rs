//! Database and schema entities: a name and a comment each, one query per
//! batch.

use crate::{ENGINE, Settings, refs};
use std::collections::HashMap;
use weir_sdk::sql::{Connection, Rows, Value};
use weir_sdk::sql_kit::{self, SOURCE, Wanted};
use weir_sdk::{Batch, Database, DatabaseSchema, Entity, EntityKind, Result};

const DATABASES: &str = include_str!("sql/databases.sql");
const SCHEMAS: &str = include_str!("sql/schemas.sql");

/// pg_database is shared by every database of the server: one query on
/// `source` answers for all the databases this run may read.
pub fn databases(settings: &Settings, wanted: Wanted) -> Result<Batch> {
    let mut reachable = Wanted::default();
    let mut failures = Vec::new();
    for (path, key) in wanted.paths.into_iter().zip(wanted.keys) {
        let database = path.first().map(String::as_str).unwrap_or_default();
        match sql_kit::label(settings, database) {
            Ok(_) => reachable.push(path, key),
            Err(e) => failures.push(sql_kit::failure(&path, e)),
        }
    }
    let mut batch =
        if reachable.paths.is_empty() { Batch::default() } else { read_databases(&ENGINE.open(SOURCE)?, &reachable)? };
    batch.failures.extend(failures);
    Ok(batch)
}

fn read_databases(conn: &Connection, wanted: &Wanted) -> Result<Batch> {
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
            None => batch.failures.push(ENGINE.not_found(kind, path)),
        }
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_schemas_fail_alone() {
        let wanted = Wanted::of_paths(vec![
            vec!["db".into(), "public".into()],
            vec!["db".into(), "gone".into()],
            vec!["db".into(), "Edge Cases".into()],
        ]);
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
