//! Constraints of a batch of tables, from one pg_constraint query: keys
//! and checks stay on the table, foreign keys become deferred records
//! because the table they point at may not exist yet in the sink.

use weir_sdk::serde_json;
use weir_sdk::sql::Row;
use weir_sdk::{CheckConstraint, ConstraintKind, Failure, ForeignKey, Result, TableConstraint};

pub const QUERY: &str = include_str!("sql/constraints.sql");

/// One row of the constraints query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConstraintRow {
    pub schema: String,
    pub table: String,
    pub name: String,
    /// `pg_constraint.contype`.
    pub kind: String,
    /// In key order.
    pub columns: Vec<String>,
    pub referred_schema: Option<String>,
    pub referred_table: Option<String>,
    pub referred_columns: Vec<String>,
    pub definition: Option<String>,
}

impl ConstraintRow {
    pub fn read(row: &Row<'_>) -> Result<ConstraintRow> {
        Ok(ConstraintRow {
            schema: row.get("schema")?,
            table: row.get("name")?,
            name: row.get("constraint_name")?,
            kind: row.get("kind")?,
            columns: name_list(row.get("columns")?)?,
            referred_schema: row.get("referred_schema")?,
            referred_table: row.get("referred_table")?,
            referred_columns: name_list(row.get("referred_columns")?)?,
            definition: row.get("definition")?,
        })
    }
}

/// A JSON array of names from `json_agg`; NULL when there were none.
fn name_list(json: Option<String>) -> Result<Vec<String>> {
    match json {
        None => Ok(Vec::new()),
        Some(text) => {
            serde_json::from_str(&text).map_err(|e| Failure::permanent(format!("constraint column list {text:?}: {e}")))
        }
    }
}

/// What one constraint becomes.
#[derive(Debug, Clone)]
pub enum Classified {
    Key(TableConstraint),
    Check(CheckConstraint),
    Foreign(ForeignKey),
}

/// Classifies a constraint of the table at `table_path`. `None` for kinds
/// the contract has no place for.
pub fn classify(database: &str, table_path: &[String], row: &ConstraintRow) -> Option<Classified> {
    let key = |kind| {
        Some(Classified::Key(TableConstraint { kind, name: Some(row.name.clone()), columns: row.columns.clone() }))
    };
    match row.kind.as_str() {
        "p" => key(ConstraintKind::PrimaryKey),
        "u" => key(ConstraintKind::Unique),
        "c" => Some(Classified::Check(CheckConstraint {
            name: row.name.clone(),
            expression: row.definition.clone().unwrap_or_default(),
        })),
        "f" => {
            let referred_table = vec![database.to_string(), row.referred_schema.clone()?, row.referred_table.clone()?];
            Some(Classified::Foreign(ForeignKey {
                name: Some(row.name.clone()),
                table: table_path.to_vec(),
                columns: row.columns.clone(),
                referred_table,
                referred_columns: row.referred_columns.clone(),
            }))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn composite_cross_schema_foreign_key_keeps_order() {
        let row = ConstraintRow {
            schema: "Edge Cases".into(),
            table: "pay_ref".into(),
            name: "pay_ref_fkey".into(),
            kind: "f".into(),
            columns: vec!["payment_date".into(), "payment_id".into()],
            referred_schema: Some("public".into()),
            referred_table: Some("payment".into()),
            referred_columns: vec!["payment_date".into(), "payment_id".into()],
            definition: None,
        };
        let table = path(&["db", "Edge Cases", "pay_ref"]);
        match classify("db", &table, &row) {
            Some(Classified::Foreign(fk)) => {
                assert_eq!(fk.table, table);
                assert_eq!(fk.referred_table, path(&["db", "public", "payment"]));
                assert_eq!(fk.columns, fk.referred_columns);
                assert_eq!(fk.name.as_deref(), Some("pay_ref_fkey"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn keys_and_checks() {
        let mut row = ConstraintRow {
            name: "mixed_pk".into(),
            kind: "p".into(),
            columns: vec!["code".into(), "id".into()],
            ..ConstraintRow::default()
        };
        let table = path(&["db", "s", "t"]);
        match classify("db", &table, &row) {
            Some(Classified::Key(k)) => {
                assert!(matches!(k.kind, ConstraintKind::PrimaryKey));
                assert_eq!(k.columns, vec!["code".to_string(), "id".into()]);
            }
            other => panic!("{other:?}"),
        }
        row.kind = "c".into();
        row.definition = Some("CHECK (price >= 0::numeric)".into());
        match classify("db", &table, &row) {
            Some(Classified::Check(c)) => assert_eq!(c.expression, "CHECK (price >= 0::numeric)"),
            other => panic!("{other:?}"),
        }
        row.kind = "x".into();
        assert!(classify("db", &table, &row).is_none());
    }

    #[test]
    fn name_lists() {
        assert_eq!(name_list(None).ok(), Some(vec![]));
        assert_eq!(name_list(Some(r#"["a", "b \"c\""]"#.into())).ok(), Some(vec!["a".to_string(), "b \"c\"".into()]));
        assert!(name_list(Some("not json".into())).is_err());
    }
}
