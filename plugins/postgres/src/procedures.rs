//! Stored procedures and functions: one query per batch, keyed by the oids
//! discovery put in the refs' keys (overloads share a name, never an oid),
//! then a pure assembly step.

use crate::ENGINE;
use std::collections::HashMap;
use weir_sdk::serde_json;
use weir_sdk::sql::{Connection, Row, Value};
use weir_sdk::sql_kit::{Wanted, failure};
use weir_sdk::{Batch, Entity, EntityKind, Failure, Result, StoredProcedure};

const QUERY: &str = include_str!("sql/procedures.sql");

/// One row of the procedures query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcedureRow {
    pub oid: u32,
    pub schema: String,
    pub name: String,
    /// `pg_get_function_identity_arguments`: `a integer, b text`.
    pub signature: String,
    /// `pg_language.lanname`.
    pub language: Option<String>,
    pub code: Option<String>,
    pub description: Option<String>,
}

impl ProcedureRow {
    fn read(row: &Row<'_>) -> Result<ProcedureRow> {
        let oid: i64 = row.get("oid")?;
        Ok(ProcedureRow {
            oid: u32::try_from(oid).map_err(|_| Failure::permanent(format!("oid {oid} is out of range")))?,
            schema: row.get("schema")?,
            name: row.get("name")?,
            signature: row.get("signature")?,
            language: row.get("language")?,
            code: row.get("code")?,
            description: row.get("description")?,
        })
    }
}

pub fn process(conn: &Connection, database: &str, wanted: &Wanted) -> Result<Batch> {
    let oids: Vec<u32> = wanted.keys.iter().filter_map(|key| oid(key.as_deref())).collect();
    let param = Value::Text(serde_json::Value::from(oids).to_string());
    let rows = conn.query(QUERY, &[param]).map_err(|e| e.context("reading stored procedures"))?;
    let rows = rows.iter().map(|r| ProcedureRow::read(&r)).collect::<Result<Vec<_>>>()?;
    Ok(assemble(database, wanted, rows))
}

/// The oid a ref's key holds, as discovery wrote it.
fn oid(key: Option<&str>) -> Option<u32> {
    key?.parse().ok()
}

/// One entity per wanted ref, in order; not found when its oid is gone or
/// now names another function (oids are reused after a DROP).
pub fn assemble(database: &str, wanted: &Wanted, rows: Vec<ProcedureRow>) -> Batch {
    let mut rows: HashMap<u32, ProcedureRow> = rows.into_iter().map(|r| (r.oid, r)).collect();
    let mut batch = Batch::default();
    for (path, key) in wanted.paths.iter().zip(&wanted.keys) {
        let [_, schema, name] = path.as_slice() else {
            continue;
        };
        let Some(oid) = oid(key.as_deref()) else {
            let message = format!("stored procedure {} has no oid key ({key:?}); discover again", ENGINE.dotted(path));
            batch.failures.push(failure(path, Failure::permanent(message)));
            continue;
        };
        let row = rows.remove(&oid).filter(|r| r.schema == *schema && r.name == *name);
        let Some(row) = row else {
            batch.failures.push(ENGINE.not_found(EntityKind::StoredProcedure, path));
            continue;
        };
        batch.entities.push(Entity::StoredProcedure(StoredProcedure {
            database: database.to_string(),
            schema: row.schema,
            name: row.name,
            signature: Some(unquote(&row.signature)),
            language: row.language.as_deref().and_then(language).map(str::to_string),
            // pg_get_functiondef ends with a newline.
            code: row.code.map(|code| code.trim_end().to_string()).unwrap_or_default(),
            description: row.description,
        }));
    }
    batch
}

/// The identity arguments without PostgreSQL's identifier quoting:
/// `"a b" integer, x "Sales"."Order"` becomes `a b integer, x Sales.Order`.
/// The host names the entity `name(signature)`, and OpenMetadata cannot
/// hold a `"` in a name: a function taking a mixed-case type would
/// otherwise be refused for quotes that are no part of any name. Only a
/// `""` inside quotes (a real `"` in a name) is left, as one `"`. The
/// arguments carry no defaults, hence no string literals to mind.
pub fn unquote(signature: &str) -> String {
    let mut out = String::with_capacity(signature.len());
    let mut chars = signature.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                out.push('"');
            }
            '"' => quoted = !quoted,
            _ => out.push(c),
        }
    }
    out
}

/// OpenMetadata's `storedProcedureCode.language` for a `pg_language`: its
/// schema allows SQL, Java, JavaScript, Python and External only, so a
/// language outside them (plperl, pltcl, ...) is left unset rather than
/// called something it is not. C and internal functions are code outside
/// the database: External.
pub fn language(lanname: &str) -> Option<&'static str> {
    match lanname {
        "sql" | "plpgsql" => Some("SQL"),
        "c" | "internal" => Some("External"),
        "plpython3u" | "plpythonu" | "plpython2u" => Some("Python"),
        "plv8" | "plls" | "plcoffee" | "pljs" => Some("JavaScript"),
        "pljava" | "pljavau" => Some("Java"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn row(oid: u32, schema: &str, name: &str, signature: &str) -> ProcedureRow {
        ProcedureRow {
            oid,
            schema: schema.into(),
            name: name.into(),
            signature: signature.into(),
            language: Some("sql".into()),
            code: Some(format!("CREATE OR REPLACE FUNCTION {schema}.{name}({signature})\n AS $$ $$\n")),
            description: None,
        }
    }

    fn procedures(batch: &Batch) -> Vec<&StoredProcedure> {
        batch
            .entities
            .iter()
            .filter_map(|e| match e {
                Entity::StoredProcedure(p) => Some(p),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn overloads_come_out_apart_and_gone_ones_fail() {
        let wanted = Wanted {
            paths: vec![
                path(&["db", "sales", "add"]),
                path(&["db", "sales", "add"]),
                path(&["db", "sales", "gone"]),
                path(&["db", "sales", "renamed"]),
                path(&["db", "sales", "nokey"]),
            ],
            keys: vec![Some("11".into()), Some("12".into()), Some("13".into()), Some("14".into()), None],
            failures: Vec::new(),
        };
        let mut described = row(12, "sales", "add", "a numeric, b numeric");
        described.description = Some("Adds numbers".into());
        described.language = Some("plpgsql".into());
        let rows = vec![
            described,
            row(11, "sales", "add", "a integer, b integer"),
            // Oid 14 was dropped and reused by another function.
            row(14, "sales", "other", ""),
        ];
        let batch = assemble("db", &wanted, rows);
        let found = procedures(&batch);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].signature.as_deref(), Some("a integer, b integer"));
        assert_eq!(found[1].signature.as_deref(), Some("a numeric, b numeric"));
        assert_eq!(found[1].description.as_deref(), Some("Adds numbers"));
        assert_eq!(found[1].language.as_deref(), Some("SQL"));
        assert_eq!(found[0].database, "db");
        assert!(found[0].code.ends_with("AS $$ $$"), "{:?}", found[0].code);
        let failed: Vec<&[String]> = batch.failures.iter().map(|f| f.path.as_slice()).collect();
        assert_eq!(failed, vec![wanted.paths[2].as_slice(), wanted.paths[3].as_slice(), wanted.paths[4].as_slice()]);
        assert!(batch.failures[0].error.message.contains("not found"));
        assert!(batch.failures[2].error.message.contains("no oid key"));
    }

    #[test]
    fn signatures_lose_identifier_quoting() {
        assert_eq!(unquote("a integer, b text"), "a integer, b text");
        assert_eq!(unquote(r#""a b" integer, x "odd.schema"."T t""#), "a b integer, x odd.schema.T t");
        assert_eq!(unquote(r#"x "q""t""#), r#"x q"t"#);
        assert_eq!(unquote(""), "");
    }

    #[test]
    fn keys_are_oids() {
        assert_eq!(oid(Some("4294967295")), Some(u32::MAX));
        assert_eq!(oid(Some("-1")), None);
        assert_eq!(oid(Some("add(int)")), None);
        assert_eq!(oid(None), None);
    }

    #[test]
    fn languages_are_openmetadata_values() {
        assert_eq!(language("plpgsql"), Some("SQL"));
        assert_eq!(language("sql"), Some("SQL"));
        assert_eq!(language("internal"), Some("External"));
        assert_eq!(language("c"), Some("External"));
        assert_eq!(language("plpython3u"), Some("Python"));
        assert_eq!(language("plv8"), Some("JavaScript"));
        assert_eq!(language("pljava"), Some("Java"));
        assert_eq!(language("plperl"), None);
    }
}
