//! Reading result rows by column name, and the written shape of each
//! query's result.
//!
//! The code that turns catalog rows into entities reads them through
//! [`Fields`] rather than through `weir_sdk::sql::Row` itself: the SDK's
//! rows can only be made by the host, and the unit tests feed the same code
//! fixture rows holding the values the host delivers for SQL Server (`Int`
//! for a tinyint, `Text` for a decimal, `Boolean` for a bit).
//!
//! Each query's result columns are written down once, as a [`Col`] list
//! next to the code that reads them. Every answer is checked against it
//! before it is read ([`read_all`]); the tests check that every column is
//! in the statement's SELECT list and that every fixture row has exactly
//! those columns, with values of the declared kind.

use weir_sdk::sql::{FromSql, Row, Rows, Value};
use weir_sdk::{Failure, Result};

/// A row whose columns can be read by name, typed by the caller.
pub trait Fields {
    /// The value of `column` as `T`; a missing column or a value of another
    /// type is a failure naming the column.
    fn get<T: FromSql>(&self, column: &str) -> Result<T>;
}

impl Fields for Row<'_> {
    fn get<T: FromSql>(&self, column: &str) -> Result<T> {
        Row::get(self, column)
    }
}

/// Reads every row of a result set with `read`, after checking it has the
/// shape written down for its query; the first bad row fails the whole
/// set, naming `what`.
pub fn read_all<T>(rows: &Rows, columns: &[Col], what: &str, read: impl Fn(&Row<'_>) -> Result<T>) -> Result<Vec<T>> {
    check_shape(rows, columns).map_err(|e| e.context(format_args!("reading {what}")))?;
    rows.iter().map(|row| read(&row).map_err(|e| e.context(format_args!("reading {what}")))).collect()
}

/// Every written column is in the answer, and each of its values is of
/// the written kind, or NULL where the column may be. A server or driver
/// that answers otherwise fails here with the column named, rather than
/// later with a value read as something it is not.
fn check_shape(rows: &Rows, columns: &[Col]) -> Result<()> {
    let mut positions = Vec::with_capacity(columns.len());
    for col in columns {
        match rows.columns().iter().position(|c| c.name == col.name) {
            Some(at) => positions.push((col, at)),
            None => return Err(Failure::permanent(format!("the answer has no column `{}`", col.name))),
        }
    }
    for row in rows.iter() {
        for (col, at) in &positions {
            if let Some(value) = row.values().get(*at)
                && !fits(col, value)
            {
                return Err(Failure::permanent(format!(
                    "column `{}` should hold {:?}{} values, not {}",
                    col.name,
                    col.kind,
                    if col.nullable { " or NULL" } else { "" },
                    kind_of(value)
                )));
            }
        }
    }
    Ok(())
}

/// Whether `value` may be in column `col`.
pub fn fits(col: &Col, value: &Value) -> bool {
    match value {
        Value::Null => col.nullable,
        Value::Text(_) => col.kind == Kind::Text,
        Value::Int(_) => col.kind == Kind::Int,
        Value::Boolean(_) => col.kind == Kind::Boolean,
        Value::Float(_) | Value::Bytes(_) => false,
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "NULL",
        Value::Boolean(_) => "Boolean",
        Value::Int(_) => "Int",
        Value::Float(_) => "Float",
        Value::Text(_) => "Text",
        Value::Bytes(_) => "Bytes",
    }
}

/// The kind of value a result column holds, in the contract's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Int,
    Boolean,
}

/// One result column of a query: its name (the alias in the SELECT list),
/// the kind of its values, and whether it may be NULL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Col {
    pub name: &'static str,
    pub kind: Kind,
    pub nullable: bool,
}

/// A column that is never NULL.
pub const fn col(name: &'static str, kind: Kind) -> Col {
    Col { name, kind, nullable: false }
}

/// A column that may be NULL.
pub const fn opt(name: &'static str, kind: Kind) -> Col {
    Col { name, kind, nullable: true }
}

#[cfg(test)]
pub mod fixture {
    //! Rows built in tests as the host would deliver them from SQL Server.

    use super::{Col, Fields, fits};
    use weir_sdk::sql::{FromSql, Value};
    use weir_sdk::{Failure, Result};

    /// One row of a query's result: the values by column name, checked
    /// against the query's written columns when built.
    pub struct FixtureRow {
        values: Vec<(&'static str, Value)>,
    }

    impl FixtureRow {
        /// A row of the query whose result is `columns`: every column
        /// given, none other, each value of its column's kind (or NULL
        /// where the column may be). A fixture that does not fit the query
        /// is a broken test, hence the panics.
        pub fn new(columns: &[Col], values: Vec<(&'static str, Value)>) -> FixtureRow {
            for (name, value) in &values {
                let Some(col) = columns.iter().find(|c| c.name == *name) else {
                    panic!("the query has no column `{name}`");
                };
                assert!(
                    fits(col, value),
                    "column `{name}` is {:?} (nullable: {}), not {value:?}",
                    col.kind,
                    col.nullable
                );
            }
            for col in columns {
                assert!(values.iter().any(|(name, _)| *name == col.name), "fixture row lacks column `{}`", col.name);
            }
            FixtureRow { values }
        }
    }

    impl Fields for FixtureRow {
        fn get<T: FromSql>(&self, column: &str) -> Result<T> {
            let value = self
                .values
                .iter()
                .find(|(name, _)| *name == column)
                .map(|(_, value)| value)
                .ok_or_else(|| Failure::permanent(format!("result has no column `{column}`")))?;
            T::from_sql(value).map_err(|e| e.context(format_args!("column `{column}`")))
        }
    }

    pub fn text(s: &str) -> Value {
        Value::Text(s.to_string())
    }

    pub fn int(i: i64) -> Value {
        Value::Int(i)
    }

    pub fn bit(b: bool) -> Value {
        Value::Boolean(b)
    }

    pub fn null() -> Value {
        Value::Null
    }

    /// Text, or NULL.
    pub fn maybe(s: Option<&str>) -> Value {
        s.map_or(Value::Null, text)
    }

    /// Whether `sql` names `column` in its SELECT list (`... AS column`).
    pub fn selects(sql: &str, column: &str) -> bool {
        let needle = format!(" AS {column}");
        sql.match_indices(&needle).any(|(at, _)| {
            let after = sql[at + needle.len()..].chars().next();
            !matches!(after, Some(c) if c.is_alphanumeric() || c == '_')
        })
    }

    /// Checks a query's written columns against its text.
    pub fn assert_selects_all(sql: &str, columns: &[Col]) {
        for col in columns {
            assert!(selects(sql, col.name), "the statement does not select `{}`", col.name);
        }
    }
}
