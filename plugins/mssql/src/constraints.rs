//! Constraints of a batch of tables, from three queries (keys, foreign
//! keys, checks), each one row per constraint column or constraint. Keys
//! and checks stay on the table; foreign keys become deferred records,
//! because the table they point at may not exist yet in the sink.

use crate::fields::{Col, Fields, Kind, col};
use std::collections::BTreeMap;
use weir_sdk::{CheckConstraint, ConstraintKind, ForeignKey, Result, TableConstraint};

pub const KEYS: &str = include_str!("sql/keys.sql");
pub const FOREIGN_KEYS: &str = include_str!("sql/foreign_keys.sql");
pub const CHECKS: &str = include_str!("sql/checks.sql");

/// The result columns of `sql/keys.sql`.
pub const KEY_COLUMNS: &[Col] = &[
    col("schema_name", Kind::Text),
    col("table_name", Kind::Text),
    col("constraint_name", Kind::Text),
    col("constraint_type", Kind::Text),
    col("key_ordinal", Kind::Int),
    col("column_name", Kind::Text),
];

/// The result columns of `sql/foreign_keys.sql`.
pub const FOREIGN_KEY_COLUMNS: &[Col] = &[
    col("schema_name", Kind::Text),
    col("table_name", Kind::Text),
    col("constraint_name", Kind::Text),
    col("key_ordinal", Kind::Int),
    col("column_name", Kind::Text),
    col("referred_schema", Kind::Text),
    col("referred_table", Kind::Text),
    col("referred_column", Kind::Text),
];

/// The result columns of `sql/checks.sql`.
pub const CHECK_COLUMNS: &[Col] = &[
    col("schema_name", Kind::Text),
    col("table_name", Kind::Text),
    col("constraint_name", Kind::Text),
    col("definition", Kind::Text),
];

/// One column of a primary key or unique constraint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyRow {
    pub schema: String,
    pub table: String,
    pub name: String,
    /// `sys.key_constraints.type`: `PK` or `UQ`.
    pub kind: String,
    /// `sys.index_columns.key_ordinal`, from 1.
    pub ordinal: i32,
    pub column: String,
}

impl KeyRow {
    pub fn read(row: &impl Fields) -> Result<KeyRow> {
        Ok(KeyRow {
            schema: row.get("schema_name")?,
            table: row.get("table_name")?,
            name: row.get("constraint_name")?,
            kind: row.get("constraint_type")?,
            ordinal: row.get("key_ordinal")?,
            column: row.get("column_name")?,
        })
    }
}

/// One column pair of a foreign key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForeignKeyRow {
    pub schema: String,
    pub table: String,
    pub name: String,
    /// `sys.foreign_key_columns.constraint_column_id`, from 1.
    pub ordinal: i32,
    pub column: String,
    pub referred_schema: String,
    pub referred_table: String,
    pub referred_column: String,
}

impl ForeignKeyRow {
    pub fn read(row: &impl Fields) -> Result<ForeignKeyRow> {
        Ok(ForeignKeyRow {
            schema: row.get("schema_name")?,
            table: row.get("table_name")?,
            name: row.get("constraint_name")?,
            ordinal: row.get("key_ordinal")?,
            column: row.get("column_name")?,
            referred_schema: row.get("referred_schema")?,
            referred_table: row.get("referred_table")?,
            referred_column: row.get("referred_column")?,
        })
    }
}

/// One CHECK constraint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckRow {
    pub schema: String,
    pub table: String,
    pub name: String,
    /// `sys.check_constraints.definition`: `([UnitPrice]>=(0.00))`.
    pub definition: String,
}

impl CheckRow {
    pub fn read(row: &impl Fields) -> Result<CheckRow> {
        Ok(CheckRow {
            schema: row.get("schema_name")?,
            table: row.get("table_name")?,
            name: row.get("constraint_name")?,
            definition: row.get("definition")?,
        })
    }
}

/// The keys of one table from their column rows: the primary key first,
/// then unique constraints by name (stable output for the sink's change
/// detection), each with its columns in key order.
pub fn keys(rows: Vec<KeyRow>) -> Vec<TableConstraint> {
    // Sorted by (not the primary key, name), then key order.
    let mut rows = rows;
    rows.sort_by(|a, b| (a.kind != "PK", &a.name, a.ordinal).cmp(&(b.kind != "PK", &b.name, b.ordinal)));
    let mut keys: Vec<TableConstraint> = Vec::new();
    for row in rows {
        let kind = match row.kind.as_str() {
            "PK" => ConstraintKind::PrimaryKey,
            "UQ" => ConstraintKind::Unique,
            _ => continue,
        };
        match keys.last_mut() {
            Some(key) if key.name.as_deref() == Some(row.name.as_str()) => key.columns.push(row.column),
            _ => keys.push(TableConstraint { kind, name: Some(row.name), columns: vec![row.column] }),
        }
    }
    keys
}

/// The foreign keys of the table at `table_path`, by name, each with its
/// column pairs in key order. A foreign key never leaves its database.
pub fn foreign_keys(database: &str, table_path: &[String], rows: Vec<ForeignKeyRow>) -> Vec<ForeignKey> {
    let mut by_name: BTreeMap<String, Vec<ForeignKeyRow>> = BTreeMap::new();
    for row in rows {
        by_name.entry(row.name.clone()).or_default().push(row);
    }
    by_name
        .into_iter()
        .filter_map(|(name, mut pairs)| {
            pairs.sort_by_key(|p| p.ordinal);
            let first = pairs.first()?;
            let referred_table =
                vec![database.to_string(), first.referred_schema.clone(), first.referred_table.clone()];
            Some(ForeignKey {
                name: Some(name),
                table: table_path.to_vec(),
                columns: pairs.iter().map(|p| p.column.clone()).collect(),
                referred_table,
                referred_columns: pairs.iter().map(|p| p.referred_column.clone()).collect(),
            })
        })
        .collect()
}

/// The checks of one table, by name, written as in DDL: `CHECK (...)`,
/// as the PostgreSQL connector gives them.
pub fn checks(mut rows: Vec<CheckRow>) -> Vec<CheckConstraint> {
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    rows.into_iter().map(|r| CheckConstraint { name: r.name, expression: format!("CHECK {}", r.definition) }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::fixture::{FixtureRow, assert_selects_all, int, text};

    fn path(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    /// A row of keys.sql, after learn.microsoft.com "sys.key_constraints"
    /// (type char(2) PK/UQ, trimmed by the query) and "sys.index_columns"
    /// (key_ordinal tinyint, 1-based, 0 for included columns).
    fn key(name: &str, kind: &str, ordinal: i64, column: &str) -> KeyRow {
        let fixture = FixtureRow::new(
            KEY_COLUMNS,
            vec![
                ("schema_name", text("Sales")),
                ("table_name", text("SalesOrderDetail")),
                ("constraint_name", text(name)),
                ("constraint_type", text(kind)),
                ("key_ordinal", int(ordinal)),
                ("column_name", text(column)),
            ],
        );
        KeyRow::read(&fixture).unwrap_or_else(|e| panic!("{}", e.message))
    }

    /// A row of foreign_keys.sql, after learn.microsoft.com
    /// "sys.foreign_key_columns" (constraint_column_id int, 1-based).
    fn fk(name: &str, ordinal: i64, column: &str, referred: &str, referred_column: &str) -> ForeignKeyRow {
        let fixture = FixtureRow::new(
            FOREIGN_KEY_COLUMNS,
            vec![
                ("schema_name", text("Sales")),
                ("table_name", text("SalesOrderDetail")),
                ("constraint_name", text(name)),
                ("key_ordinal", int(ordinal)),
                ("column_name", text(column)),
                ("referred_schema", text("Sales")),
                ("referred_table", text(referred)),
                ("referred_column", text(referred_column)),
            ],
        );
        ForeignKeyRow::read(&fixture).unwrap_or_else(|e| panic!("{}", e.message))
    }

    #[test]
    fn the_statements_select_every_column_read() {
        assert_selects_all(KEYS, KEY_COLUMNS);
        assert_selects_all(FOREIGN_KEYS, FOREIGN_KEY_COLUMNS);
        assert_selects_all(CHECKS, CHECK_COLUMNS);
    }

    #[test]
    fn composite_primary_key_in_key_order_before_unique_constraints() {
        // PRIMARY KEY (SalesOrderID, SalesOrderDetailID), rows unordered;
        // and a unique constraint named before it alphabetically.
        let rows = vec![
            key("PK_SalesOrderDetail", "PK", 2, "SalesOrderDetailID"),
            key("AK_rowguid", "UQ", 1, "rowguid"),
            key("PK_SalesOrderDetail", "PK", 1, "SalesOrderID"),
        ];
        let keys = keys(rows);
        assert_eq!(keys.len(), 2);
        assert!(matches!(keys[0].kind, ConstraintKind::PrimaryKey));
        assert_eq!(keys[0].name.as_deref(), Some("PK_SalesOrderDetail"));
        assert_eq!(keys[0].columns, vec!["SalesOrderID".to_string(), "SalesOrderDetailID".into()]);
        assert!(matches!(keys[1].kind, ConstraintKind::Unique));
        assert_eq!(keys[1].columns, vec!["rowguid".to_string()]);
    }

    #[test]
    fn composite_foreign_key_keeps_column_pairs_in_order() {
        // FOREIGN KEY (SpecialOfferID, ProductID) REFERENCES
        // Sales.SpecialOfferProduct (SpecialOfferID, ProductID).
        let rows = vec![
            fk("FK_SOD_SpecialOfferProduct", 2, "ProductID", "SpecialOfferProduct", "ProductID"),
            fk("FK_SOD_SalesOrderHeader", 1, "SalesOrderID", "SalesOrderHeader", "SalesOrderID"),
            fk("FK_SOD_SpecialOfferProduct", 1, "SpecialOfferID", "SpecialOfferProduct", "SpecialOfferID"),
        ];
        let table = path(&["AdventureWorks", "Sales", "SalesOrderDetail"]);
        let fks = foreign_keys("AdventureWorks", &table, rows);
        assert_eq!(fks.len(), 2);
        let composite = &fks[1];
        assert_eq!(composite.name.as_deref(), Some("FK_SOD_SpecialOfferProduct"));
        assert_eq!(composite.table, table);
        assert_eq!(composite.columns, vec!["SpecialOfferID".to_string(), "ProductID".into()]);
        assert_eq!(composite.referred_columns, composite.columns);
        assert_eq!(composite.referred_table, path(&["AdventureWorks", "Sales", "SpecialOfferProduct"]));
        assert_eq!(fks[0].columns, vec!["SalesOrderID".to_string()]);
    }

    #[test]
    fn checks_read_as_ddl() {
        // After learn.microsoft.com "sys.check_constraints": definition
        // nvarchar(max), as the server normalised it.
        let fixture = FixtureRow::new(
            CHECK_COLUMNS,
            vec![
                ("schema_name", text("Sales")),
                ("table_name", text("SalesOrderDetail")),
                ("constraint_name", text("CK_SalesOrderDetail_UnitPrice")),
                ("definition", text("([UnitPrice]>=(0.00))")),
            ],
        );
        let row = CheckRow::read(&fixture).unwrap_or_else(|e| panic!("{}", e.message));
        let checks = checks(vec![row]);
        assert_eq!(checks[0].name, "CK_SalesOrderDetail_UnitPrice");
        assert_eq!(checks[0].expression, "CHECK ([UnitPrice]>=(0.00))");
    }
}
