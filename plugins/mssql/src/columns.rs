//! Columns of a batch of tables, views and synonyms: one query for all of
//! them, rows read into plain values, then turned into contract columns
//! without the host.

use crate::fields::{Col, Fields, Kind, col, opt};
use crate::types::{self, SqlType};
use weir_sdk::{Column, Result};

pub const QUERY: &str = include_str!("sql/columns.sql");

/// The result columns of `sql/columns.sql`.
pub const COLUMNS: &[Col] = &[
    col("schema_name", Kind::Text),
    col("table_name", Kind::Text),
    col("column_id", Kind::Int),
    col("column_name", Kind::Text),
    col("type_name", Kind::Text),
    col("is_user_defined", Kind::Boolean),
    opt("base_type_name", Kind::Text),
    col("max_length", Kind::Int),
    col("numeric_precision", Kind::Int),
    col("numeric_scale", Kind::Int),
    col("is_nullable", Kind::Boolean),
    opt("default_definition", Kind::Text),
    col("is_identity", Kind::Boolean),
    opt("computed_definition", Kind::Text),
    opt("generated_always", Kind::Text),
    opt("description", Kind::Text),
];

/// One row of the columns query. Rows arrive in no particular order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnRow {
    /// The wanted object's schema and name (a synonym's, not its base's).
    pub schema: String,
    pub table: String,
    /// `sys.columns.column_id`: orders the columns, with gaps where
    /// columns were dropped.
    pub column_id: i32,
    pub name: String,
    pub type_name: String,
    pub user_defined: bool,
    pub base_type: Option<String>,
    pub max_length: i32,
    pub precision: i32,
    pub scale: i32,
    pub nullable: bool,
    /// `sys.default_constraints.definition`, as SQL Server keeps it:
    /// `((0))`, `(getdate())`.
    pub default_value: Option<String>,
    pub identity: bool,
    /// `sys.computed_columns.definition`: `([Qty]*[UnitPrice])`.
    pub computed: Option<String>,
    /// `sys.columns.generated_always_type_desc`.
    pub generated_always: Option<String>,
    pub description: Option<String>,
}

impl ColumnRow {
    pub fn read(row: &impl Fields) -> Result<ColumnRow> {
        Ok(ColumnRow {
            schema: row.get("schema_name")?,
            table: row.get("table_name")?,
            column_id: row.get("column_id")?,
            name: row.get("column_name")?,
            type_name: row.get("type_name")?,
            user_defined: row.get("is_user_defined")?,
            base_type: row.get("base_type_name")?,
            max_length: row.get("max_length")?,
            precision: row.get("numeric_precision")?,
            scale: row.get("numeric_scale")?,
            nullable: row.get("is_nullable")?,
            default_value: row.get("default_definition")?,
            identity: row.get("is_identity")?,
            computed: row.get("computed_definition")?,
            generated_always: row.get("generated_always")?,
            description: row.get("description")?,
        })
    }

    /// `position` is 1-based among the columns: column_id keeps the gaps
    /// that DROP COLUMN leaves.
    pub fn to_column(&self, position: u32) -> Column {
        let mapped = types::map(&SqlType {
            name: &self.type_name,
            user_defined: self.user_defined,
            base: self.base_type.as_deref(),
            max_length: self.max_length,
            precision: self.precision,
            scale: self.scale,
        });
        Column {
            name: self.name.clone(),
            data_type: mapped.data_type.to_string(),
            data_type_display: Some(mapped.display),
            array_data_type: None,
            data_length: mapped.data_length,
            precision: mapped.precision,
            scale: mapped.scale,
            nullable: self.nullable,
            default_value: self.default_value.clone(),
            // IDENTITY refuses an explicit value unless the session turns
            // IDENTITY_INSERT on, and never lets one be updated: what the
            // standard's GENERATED ALWAYS means (IDENTITY_INSERT being
            // T-SQL's OVERRIDING SYSTEM VALUE). Seed and increment have no
            // place in the contract.
            identity: self.identity.then(|| "always".to_string()),
            generated: self.generated(),
            description: self.description.clone(),
            ordinal_position: position,
        }
    }

    /// A computed column's expression; for a temporal table's period
    /// columns (and a ledger table's), what the server fills them with, in
    /// the words of the DDL: `GENERATED ALWAYS AS ROW START`.
    fn generated(&self) -> Option<String> {
        if let Some(expression) = &self.computed {
            return Some(expression.clone());
        }
        match self.generated_always.as_deref() {
            None | Some("NOT_APPLICABLE") => None,
            Some(kind) => Some(format!("GENERATED ALWAYS {}", kind.replace('_', " "))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::fixture::{FixtureRow, assert_selects_all, bit, int, maybe, null, text};
    use weir_sdk::sql::Value;

    /// A row of the columns query, shaped after learn.microsoft.com
    /// "sys.columns (Transact-SQL)" (column_id int, max_length smallint in
    /// bytes with -1 for max, precision/scale tinyint, is_nullable and
    /// is_identity bit) and "sys.types (Transact-SQL)" (name sysname,
    /// is_user_defined bit), as the host delivers them: integers as Int,
    /// bits as Boolean, names as Text.
    fn row(
        column_id: i64,
        name: &str,
        type_name: &str,
        max_length: i64,
        precision: i64,
        scale: i64,
    ) -> Vec<(&'static str, Value)> {
        vec![
            ("schema_name", text("Sales")),
            ("table_name", text("SalesOrderDetail")),
            ("column_id", int(column_id)),
            ("column_name", text(name)),
            ("type_name", text(type_name)),
            ("is_user_defined", bit(false)),
            ("base_type_name", null()),
            ("max_length", int(max_length)),
            ("numeric_precision", int(precision)),
            ("numeric_scale", int(scale)),
            ("is_nullable", bit(true)),
            ("default_definition", null()),
            ("is_identity", bit(false)),
            ("computed_definition", null()),
            ("generated_always", text("NOT_APPLICABLE")),
            ("description", null()),
        ]
    }

    fn set(mut values: Vec<(&'static str, Value)>, column: &str, value: Value) -> Vec<(&'static str, Value)> {
        match values.iter_mut().find(|(name, _)| *name == column) {
            Some(slot) => slot.1 = value,
            None => panic!("no column {column}"),
        }
        values
    }

    fn read(values: Vec<(&'static str, Value)>) -> ColumnRow {
        ColumnRow::read(&FixtureRow::new(COLUMNS, values)).unwrap_or_else(|e| panic!("{}", e.message))
    }

    #[test]
    fn the_statement_selects_every_column_read() {
        assert_selects_all(QUERY, COLUMNS);
    }

    #[test]
    fn identity_column() {
        // SalesOrderDetailID int IDENTITY(1,1) NOT NULL.
        let values = set(row(2, "SalesOrderDetailID", "int", 4, 10, 0), "is_identity", bit(true));
        let c = read(set(values, "is_nullable", bit(false))).to_column(2);
        assert_eq!((c.data_type.as_str(), c.data_type_display.as_deref()), ("INT", Some("int")));
        assert_eq!(c.identity.as_deref(), Some("always"));
        assert!(!c.nullable);
        assert_eq!(c.generated, None);
    }

    #[test]
    fn computed_column() {
        // LineTotal AS (isnull(([UnitPrice]*((1.0)-[UnitPriceDiscount]))*[OrderQty],(0.0))),
        // numeric(38,6) as SQL Server derives it.
        let expression = "(isnull(([UnitPrice]*((1.0)-[UnitPriceDiscount]))*[OrderQty],(0.0)))";
        let c =
            read(set(row(9, "LineTotal", "numeric", 17, 38, 6), "computed_definition", text(expression))).to_column(9);
        assert_eq!(c.generated.as_deref(), Some(expression));
        assert_eq!((c.data_type.as_str(), c.precision, c.scale), ("NUMERIC", Some(38), Some(6)));
        assert_eq!(c.data_type_display.as_deref(), Some("numeric(38,6)"));
    }

    #[test]
    fn default_and_tinyint() {
        // A tinyint arrives as Int (unsigned 0..255); its default as
        // sys.default_constraints.definition keeps it, parentheses and all.
        let values = set(row(4, "Status", "tinyint", 1, 3, 0), "default_definition", text("((1))"));
        let c = read(set(values, "is_nullable", bit(false))).to_column(4);
        assert_eq!((c.data_type.as_str(), c.default_value.as_deref()), ("TINYINT", Some("((1))")));
        assert!(!c.nullable);
    }

    #[test]
    fn alias_type_column() {
        // AdventureWorks' dbo.Phone, CREATE TYPE ... FROM nvarchar(25).
        let values = set(row(5, "PhoneNumber", "Phone", 50, 0, 0), "is_user_defined", bit(true));
        let c = read(set(values, "base_type_name", text("nvarchar"))).to_column(5);
        assert_eq!((c.data_type.as_str(), c.data_type_display.as_deref()), ("VARCHAR", Some("Phone")));
        assert_eq!(c.data_length, Some(25));
    }

    #[test]
    fn unicode_lengths_and_max() {
        let c = read(row(3, "Comment", "nvarchar", -1, 0, 0)).to_column(3);
        assert_eq!((c.data_type_display.as_deref(), c.data_length), (Some("nvarchar(max)"), None));
        let c = read(row(6, "Code", "nchar", 20, 0, 0)).to_column(6);
        assert_eq!(
            (c.data_type.as_str(), c.data_type_display.as_deref(), c.data_length),
            ("CHAR", Some("nchar(10)"), Some(10))
        );
    }

    #[test]
    fn decimal_and_description() {
        let values = set(
            row(7, "UnitPrice", "decimal", 9, 18, 4),
            "description",
            maybe(Some("Selling price of a single product.")),
        );
        let c = read(values).to_column(7);
        assert_eq!((c.precision, c.scale), (Some(18), Some(4)));
        assert_eq!(c.description.as_deref(), Some("Selling price of a single product."));
    }

    #[test]
    fn temporal_period_columns_are_generated() {
        let c = read(set(row(10, "ValidFrom", "datetime2", 8, 27, 7), "generated_always", text("AS_ROW_START")))
            .to_column(10);
        assert_eq!(c.generated.as_deref(), Some("GENERATED ALWAYS AS ROW START"));
        assert_eq!(c.data_type_display.as_deref(), Some("datetime2(7)"));
    }

    #[test]
    fn every_system_type_from_a_catalog_row() {
        // (sys.types.name, sys.columns max_length, precision, scale) as SQL
        // Server reports them for a column declared as in the comment, per
        // learn.microsoft.com "sys.columns" and each data type's page; then
        // the dataType, dataTypeDisplay and dataLength expected.
        let cases: &[(&str, i64, i64, i64, &str, &str, Option<i32>)] = &[
            ("bit", 1, 1, 0, "BOOLEAN", "bit", None),
            ("tinyint", 1, 3, 0, "TINYINT", "tinyint", None),
            ("smallint", 2, 5, 0, "SMALLINT", "smallint", None),
            ("int", 4, 10, 0, "INT", "int", None),
            ("bigint", 8, 19, 0, "BIGINT", "bigint", None),
            ("decimal", 9, 18, 4, "DECIMAL", "decimal(18,4)", None),
            ("numeric", 5, 9, 2, "NUMERIC", "numeric(9,2)", None),
            ("money", 8, 19, 4, "MONEY", "money", None),
            ("smallmoney", 4, 10, 4, "MONEY", "smallmoney", None),
            // float(53) and float(24), stored as real.
            ("float", 8, 53, 0, "DOUBLE", "float", None),
            ("real", 4, 24, 0, "FLOAT", "real", None),
            ("date", 3, 10, 0, "DATE", "date", None),
            ("time", 5, 16, 7, "TIME", "time(7)", None),
            ("datetime", 8, 23, 3, "DATETIME", "datetime", None),
            ("datetime2", 8, 27, 7, "DATETIME", "datetime2(7)", None),
            ("smalldatetime", 4, 16, 0, "DATETIME", "smalldatetime", None),
            ("datetimeoffset", 10, 34, 7, "TIMESTAMPZ", "datetimeoffset(7)", None),
            ("char", 10, 0, 0, "CHAR", "char(10)", Some(10)),
            ("nchar", 20, 0, 0, "CHAR", "nchar(10)", Some(10)),
            ("varchar", 50, 0, 0, "VARCHAR", "varchar(50)", Some(50)),
            ("varchar", -1, 0, 0, "VARCHAR", "varchar(max)", None),
            ("nvarchar", 100, 0, 0, "VARCHAR", "nvarchar(50)", Some(50)),
            ("nvarchar", -1, 0, 0, "VARCHAR", "nvarchar(max)", None),
            ("sysname", 256, 0, 0, "VARCHAR", "sysname", Some(128)),
            ("text", 16, 0, 0, "TEXT", "text", None),
            ("ntext", 16, 0, 0, "NTEXT", "ntext", None),
            ("binary", 16, 0, 0, "BINARY", "binary(16)", Some(16)),
            ("varbinary", 256, 0, 0, "VARBINARY", "varbinary(256)", Some(256)),
            ("varbinary", -1, 0, 0, "VARBINARY", "varbinary(max)", None),
            ("image", 16, 0, 0, "IMAGE", "image", None),
            ("timestamp", 8, 0, 0, "BINARY", "rowversion", Some(8)),
            ("uniqueidentifier", 16, 0, 0, "UUID", "uniqueidentifier", None),
            ("xml", -1, 0, 0, "XML", "xml", None),
            ("sql_variant", 8016, 0, 0, "VARIANT", "sql_variant", None),
            ("geography", -1, 0, 0, "GEOGRAPHY", "geography", None),
            ("geometry", -1, 0, 0, "GEOMETRY", "geometry", None),
            ("hierarchyid", 892, 0, 0, "HIERARCHYID", "hierarchyid", None),
        ];
        for (i, &(type_name, max_length, precision, scale, data_type, display, length)) in cases.iter().enumerate() {
            let c = read(row(1, "c", type_name, max_length, precision, scale)).to_column(1);
            let at = format!("case {i}: {type_name}({max_length}, {precision}, {scale})");
            assert_eq!(c.data_type, data_type, "{at}");
            assert_eq!(c.data_type_display.as_deref(), Some(display), "{at}");
            assert_eq!(c.data_length, length, "{at}");
            assert!(weir_sdk::is_data_type(&c.data_type), "{at}");
        }
    }
}
