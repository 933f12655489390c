//! SQL Server values to and from the contract's typed values, and server
//! errors to the contract's error kinds.
//!
//! Exactness over convenience: tinyint is unsigned and arrives whole,
//! decimals arrive as their exact text, dates as ISO 8601 text. Types with
//! no faithful value in the contract (`sql_variant`, CLR types such as
//! geography or hierarchyid) are refused with a message that says to cast
//! them in the query, as the PostgreSQL driver does for its unmapped types.

use super::super::failure;
use crate::contract::types::{ErrorKind, Failure};
use crate::contract::weir::connector::sql::SqlValue;
use tiberius::time::chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};
use tiberius::{Column, ColumnData, ColumnType, FromSql, Query};

/// Binds the plugin's parameters as `@P1`, `@P2`, ...: text as nvarchar,
/// integers as bigint, booleans as bit, floats as float, bytes as
/// varbinary, and null as an nvarchar NULL.
pub(super) fn bind(statement: &str, params: &[SqlValue]) -> Query<'static> {
    let mut query = Query::new(statement.to_string());
    for param in params {
        match param {
            SqlValue::Null => query.bind(None::<String>),
            SqlValue::Boolean(b) => query.bind(*b),
            SqlValue::Int(i) => query.bind(*i),
            SqlValue::Float(f) => query.bind(*f),
            SqlValue::Text(s) => query.bind(s.clone()),
            SqlValue::Bytes(b) => query.bind(b.clone()),
        }
    }
    query
}

/// The SQL Server name of a result column's type, for `column-info`.
pub(super) fn type_name(column_type: ColumnType) -> &'static str {
    match column_type {
        ColumnType::Null => "null",
        ColumnType::Bit | ColumnType::Bitn => "bit",
        ColumnType::Int1 => "tinyint",
        ColumnType::Int2 => "smallint",
        ColumnType::Int4 | ColumnType::Intn => "int",
        ColumnType::Int8 => "bigint",
        ColumnType::Float4 => "real",
        ColumnType::Float8 | ColumnType::Floatn => "float",
        ColumnType::Money => "money",
        ColumnType::Money4 => "smallmoney",
        ColumnType::Decimaln => "decimal",
        ColumnType::Numericn => "numeric",
        ColumnType::Guid => "uniqueidentifier",
        ColumnType::Datetime | ColumnType::Datetimen => "datetime",
        ColumnType::Datetime4 => "smalldatetime",
        ColumnType::Daten => "date",
        ColumnType::Timen => "time",
        ColumnType::Datetime2 => "datetime2",
        ColumnType::DatetimeOffsetn => "datetimeoffset",
        ColumnType::BigVarBin => "varbinary",
        ColumnType::BigBinary => "binary",
        ColumnType::BigVarChar => "varchar",
        ColumnType::BigChar => "char",
        ColumnType::NVarchar => "nvarchar",
        ColumnType::NChar => "nchar",
        ColumnType::Xml => "xml",
        ColumnType::Udt => "clr-type",
        ColumnType::Text => "text",
        ColumnType::NText => "ntext",
        ColumnType::Image => "image",
        ColumnType::SSVariant => "sql_variant",
    }
}

/// One cell of a result row.
pub(super) fn decode(column: &Column, data: &ColumnData<'static>) -> Result<SqlValue, Failure> {
    let refuse = |what: &str| {
        failure(
            ErrorKind::Permanent,
            format!(
                "column `{}` is {what}, which the sql capability does not map; cast it in the query (CAST(x AS nvarchar(max)))",
                column.name()
            ),
        )
    };
    match column.column_type() {
        ColumnType::SSVariant => return Err(refuse("sql_variant")),
        ColumnType::Udt => return Err(refuse("a CLR type (geography, geometry, hierarchyid, ...)")),
        _ => {}
    }
    let bad = |e: tiberius::error::Error| failure(ErrorKind::Permanent, format!("column `{}`: {e}", column.name()));
    let value = match data {
        ColumnData::U8(v) => v.map(|v| SqlValue::Int(v.into())),
        ColumnData::I16(v) => v.map(|v| SqlValue::Int(v.into())),
        ColumnData::I32(v) => v.map(|v| SqlValue::Int(v.into())),
        ColumnData::I64(v) => v.map(SqlValue::Int),
        ColumnData::F32(v) => v.map(|v| SqlValue::Float(v.into())),
        ColumnData::F64(v) => v.map(SqlValue::Float),
        ColumnData::Bit(v) => v.map(SqlValue::Boolean),
        ColumnData::String(v) => v.as_ref().map(|s| SqlValue::Text(s.to_string())),
        ColumnData::Guid(v) => v.map(|g| SqlValue::Text(g.to_string())),
        ColumnData::Binary(v) => v.as_ref().map(|b| SqlValue::Bytes(b.to_vec())),
        ColumnData::Numeric(v) => v.map(|n| SqlValue::Text(decimal_text(n.value(), n.scale()))),
        ColumnData::Xml(v) => v.as_ref().map(|x| SqlValue::Text(x.to_string())),
        ColumnData::DateTime(_) | ColumnData::SmallDateTime(_) | ColumnData::DateTime2(_) => {
            NaiveDateTime::from_sql(data).map_err(bad)?.map(|t| SqlValue::Text(t.format(DATE_TIME).to_string()))
        }
        ColumnData::Date(_) => NaiveDate::from_sql(data).map_err(bad)?.map(|d| SqlValue::Text(d.to_string())),
        ColumnData::Time(_) => {
            NaiveTime::from_sql(data).map_err(bad)?.map(|t| SqlValue::Text(t.format("%H:%M:%S%.f").to_string()))
        }
        ColumnData::DateTimeOffset(_) => DateTime::<FixedOffset>::from_sql(data)
            .map_err(bad)?
            .map(|t| SqlValue::Text(t.format("%Y-%m-%dT%H:%M:%S%.f%:z").to_string())),
    };
    Ok(value.unwrap_or(SqlValue::Null))
}

const DATE_TIME: &str = "%Y-%m-%dT%H:%M:%S%.f";

/// A decimal's exact text: `value` scaled down by `scale` digits.
fn decimal_text(value: i128, scale: u8) -> String {
    let digits = value.unsigned_abs().to_string();
    let scale = usize::from(scale);
    let sign = if value < 0 { "-" } else { "" };
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (whole, fraction) = padded.split_at(padded.len() - scale);
    format!("{sign}{whole}.{fraction}")
}

/// Maps a driver error to the contract's kinds. A refused permission is
/// `denied`; a deadlock, a lost connection or a server that is busy
/// `transient`; the rest `permanent`.
pub(super) fn to_failure(err: tiberius::error::Error) -> Failure {
    use tiberius::error::Error;
    match &err {
        Error::Server(token) => {
            let kind = match token.code() {
                // Permission denied on an object, a database or a
                // statement; a write into a read-only database.
                229 | 230 | 262 | 297 | 300 | 916 | 3906 => ErrorKind::Denied,
                // Deadlock victim, lock timeout, and Azure SQL's "busy,
                // try again" family.
                1205 | 1222 | 40197 | 40501 | 40613 | 49918 | 49919 | 49920 => ErrorKind::Transient,
                _ => ErrorKind::Permanent,
            };
            failure(kind, format!("SQL Server error {}: {}", token.code(), token.message()))
        }
        Error::Io { .. } | Error::Tls(_) => failure(ErrorKind::Transient, err.to_string()),
        _ => failure(ErrorKind::Permanent, err.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_keep_every_digit() {
        assert_eq!(decimal_text(123_400, 4), "12.3400");
        assert_eq!(decimal_text(-5, 2), "-0.05");
        assert_eq!(decimal_text(42, 0), "42");
        assert_eq!(decimal_text(0, 3), "0.000");
        assert_eq!(decimal_text(i128::from(i64::MAX) * 1000, 3), "9223372036854775807.000");
    }

    #[test]
    fn unmapped_types_ask_for_a_cast() {
        let variant = Column::new("value".into(), ColumnType::SSVariant);
        let err = decode(&variant, &ColumnData::String(Some("x".into()))).err().map(|f| f.message);
        assert!(err.as_deref().is_some_and(|m| m.contains("`value` is sql_variant") && m.contains("CAST")), "{err:?}");
    }

    #[test]
    fn tinyint_is_unsigned() {
        let column = Column::new("b".into(), ColumnType::Int1);
        assert!(matches!(decode(&column, &ColumnData::U8(Some(250))), Ok(SqlValue::Int(250))));
    }
}
