//! Columns of a batch of tables: one query for all of them, rows read into
//! plain values, then turned into contract columns without the host.

use crate::types::{self, ColumnType, PgType};
use weir_sdk::sql::Row;
use weir_sdk::{Column, Result};

pub const QUERY: &str = include_str!("sql/columns.sql");

/// One row of the columns query. Rows arrive in no particular order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnRow {
    pub schema: String,
    pub table: String,
    /// `pg_attribute.attnum`: orders the columns, with gaps where columns
    /// were dropped.
    pub attnum: i32,
    pub name: String,
    /// `format_type()`: what the user declared, domain and enum names
    /// included (`character varying(20)`, `year`, `text[]`).
    pub display: String,
    pub not_null: bool,
    pub default_value: Option<String>,
    /// `pg_attribute.attidentity`: `a`, `d` or empty.
    pub identity: String,
    /// The expression of a generated column.
    pub generated: Option<String>,
    pub description: Option<String>,
    pub type_name: String,
    pub type_kind: String,
    pub typmod: i32,
    pub range_subtype: Option<String>,
    pub element_name: Option<String>,
    pub element_kind: Option<String>,
    pub element_range_subtype: Option<String>,
}

impl ColumnRow {
    pub fn read(row: &Row<'_>) -> Result<ColumnRow> {
        Ok(ColumnRow {
            schema: row.get("schema")?,
            table: row.get("name")?,
            attnum: row.get("attnum")?,
            name: row.get("column_name")?,
            display: row.get("display")?,
            not_null: row.get("not_null")?,
            default_value: row.get("default_value")?,
            identity: row.get("identity")?,
            generated: row.get("generated")?,
            description: row.get("description")?,
            type_name: row.get("type_name")?,
            type_kind: row.get("type_kind")?,
            typmod: row.get("typmod")?,
            range_subtype: row.get("range_subtype")?,
            element_name: row.get("element_name")?,
            element_kind: row.get("element_kind")?,
            element_range_subtype: row.get("element_range_subtype")?,
        })
    }

    /// `position` is 1-based among the live columns: attnum keeps the gaps
    /// that DROP COLUMN leaves.
    pub fn to_column(&self, position: u32) -> Column {
        let element = self.element_name.as_deref().map(|name| PgType {
            name,
            kind: self.element_kind.as_deref().unwrap_or("b"),
            range_subtype: self.element_range_subtype.as_deref(),
        });
        let mapped = types::map(&ColumnType {
            base: PgType { name: &self.type_name, kind: &self.type_kind, range_subtype: self.range_subtype.as_deref() },
            element,
            typmod: self.typmod,
        });
        Column {
            name: self.name.clone(),
            data_type: mapped.data_type.to_string(),
            data_type_display: Some(self.display.clone()),
            array_data_type: mapped.array_data_type.map(str::to_string),
            data_length: mapped.data_length,
            precision: mapped.precision,
            scale: mapped.scale,
            nullable: !self.not_null,
            default_value: self.default_value.clone(),
            identity: identity(&self.identity),
            generated: self.generated.clone(),
            description: self.description.clone(),
            ordinal_position: position,
        }
    }
}

/// `attidentity` in the words of the DDL.
fn identity(code: &str) -> Option<String> {
    match code {
        "a" => Some("always".into()),
        "d" => Some("by default".into()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, display: &str, type_name: &str, typmod: i32) -> ColumnRow {
        ColumnRow {
            schema: "public".into(),
            table: "film".into(),
            name: name.into(),
            display: display.into(),
            type_name: type_name.into(),
            type_kind: "b".into(),
            typmod,
            ..ColumnRow::default()
        }
    }

    #[test]
    fn domain_column_keeps_its_declared_name() {
        // pagila's film.release_year: the domain `year` over int4.
        let c = row("release_year", "year", "int4", -1).to_column(4);
        assert_eq!(c.data_type, "INT");
        assert_eq!(c.data_type_display.as_deref(), Some("year"));
        assert_eq!(c.ordinal_position, 4);
        assert!(c.nullable);
    }

    #[test]
    fn array_column() {
        let mut r = row("special_features", "text[]", "_text", -1);
        r.element_name = Some("text".into());
        r.element_kind = Some("b".into());
        let c = r.to_column(13);
        assert_eq!(c.data_type, "ARRAY");
        assert_eq!(c.array_data_type.as_deref(), Some("TEXT"));
    }

    #[test]
    fn not_null_numeric_with_default() {
        let mut r = row("rental_rate", "numeric(4,2)", "numeric", 262150);
        r.not_null = true;
        r.default_value = Some("4.99".into());
        let c = r.to_column(8);
        assert!(!c.nullable);
        assert_eq!((c.precision, c.scale), (Some(4), Some(2)));
        assert_eq!(c.default_value.as_deref(), Some("4.99"));
    }
}
