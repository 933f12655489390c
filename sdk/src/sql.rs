//! Database connections opened by the host, and typed access to their rows.

use crate::bindings::weir::connector::sql as host;
use crate::{Failure, Result};
use std::collections::HashMap;

pub use host::{ColumnInfo, SqlValue as Value};

/// A read-only connection the workflow granted under a label.
pub struct Connection {
    #[cfg(target_arch = "wasm32")]
    inner: host::Connection,
    // Natively, a database of the running test host.
    #[cfg(not(target_arch = "wasm32"))]
    inner: crate::testing::FakeConnection,
}

/// Opens the connection granted under `label` (`"source"` is the workflow's
/// `serviceConnection`). Fails with `denied` when the label was not granted.
pub fn open(label: &str) -> Result<Connection> {
    #[cfg(target_arch = "wasm32")]
    let inner = host::open(label)?;
    #[cfg(not(target_arch = "wasm32"))]
    let inner = crate::testing::open(label)?;
    Ok(Connection { inner })
}

impl Connection {
    /// Runs one statement with positional parameters and returns all rows.
    pub fn query(&self, statement: &str, params: &[Value]) -> Result<Rows> {
        let set = self.inner.query(statement, params)?;
        Ok(Rows::new(set.columns, set.rows))
    }

    /// `postgres` or `sqlite`.
    pub fn engine(&self) -> String {
        self.inner.engine()
    }
}

/// A result set with columns addressable by name.
pub struct Rows {
    columns: Vec<ColumnInfo>,
    index: HashMap<String, usize>,
    rows: Vec<Vec<Value>>,
}

impl Rows {
    fn new(columns: Vec<ColumnInfo>, rows: Vec<Vec<Value>>) -> Self {
        let index = columns.iter().enumerate().map(|(i, c)| (c.name.clone(), i)).collect();
        Rows { columns, index, rows }
    }

    /// The result's columns in the statement's order, with the driver's
    /// type names.
    pub fn columns(&self) -> &[ColumnInfo] {
        &self.columns
    }
    /// How many rows the statement returned.
    pub fn len(&self) -> usize {
        self.rows.len()
    }
    /// Whether the statement returned no row.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
    /// The rows, in the order the server returned them.
    pub fn iter(&self) -> impl Iterator<Item = Row<'_>> {
        self.rows.iter().map(move |values| Row { rows: self, values })
    }
}

/// One row; read a column with [`Row::get`], typed by the caller.
#[derive(Clone, Copy)]
pub struct Row<'a> {
    rows: &'a Rows,
    values: &'a [Value],
}

impl<'a> Row<'a> {
    /// The value of `column`, converted to `T`. A missing column or a value
    /// of another type is an error that names the column.
    pub fn get<T: FromSql>(&self, column: &str) -> Result<T> {
        let value = self
            .rows
            .index
            .get(column)
            .and_then(|&i| self.values.get(i))
            .ok_or_else(|| Failure::permanent(format!("result has no column `{column}`")))?;
        T::from_sql(value).map_err(|e| e.context(format_args!("column `{column}`")))
    }

    /// The row's raw values, indexed as [`Rows::columns`]: for reading by
    /// position or a value of no fixed type.
    pub fn values(&self) -> &'a [Value] {
        self.values
    }
}

/// Conversion from a SQL value to a Rust type.
pub trait FromSql: Sized {
    /// Converts `value`; one of an unexpected SQL type is a permanent
    /// failure naming the type expected and the type found.
    fn from_sql(value: &Value) -> Result<Self>;
}

fn mismatch(expected: &str, value: &Value) -> Failure {
    let got = match value {
        Value::Null => "null",
        Value::Boolean(_) => "boolean",
        Value::Int(_) => "integer",
        Value::Float(_) => "float",
        Value::Text(_) => "text",
        Value::Bytes(_) => "bytes",
    };
    Failure::permanent(format!("expected {expected}, got {got}"))
}

impl FromSql for String {
    fn from_sql(value: &Value) -> Result<Self> {
        match value {
            Value::Text(s) => Ok(s.clone()),
            other => Err(mismatch("text", other)),
        }
    }
}

impl FromSql for i64 {
    fn from_sql(value: &Value) -> Result<Self> {
        match value {
            Value::Int(i) => Ok(*i),
            other => Err(mismatch("integer", other)),
        }
    }
}

impl FromSql for i32 {
    fn from_sql(value: &Value) -> Result<Self> {
        let wide = i64::from_sql(value)?;
        i32::try_from(wide).map_err(|_| Failure::permanent(format!("{wide} does not fit in i32")))
    }
}

impl FromSql for f64 {
    fn from_sql(value: &Value) -> Result<Self> {
        match value {
            Value::Float(f) => Ok(*f),
            Value::Int(i) => Ok(*i as f64),
            other => Err(mismatch("float", other)),
        }
    }
}

impl FromSql for bool {
    fn from_sql(value: &Value) -> Result<Self> {
        match value {
            Value::Boolean(b) => Ok(*b),
            Value::Int(i) => Ok(*i != 0),
            other => Err(mismatch("boolean", other)),
        }
    }
}

impl FromSql for Vec<u8> {
    fn from_sql(value: &Value) -> Result<Self> {
        match value {
            Value::Bytes(b) => Ok(b.clone()),
            other => Err(mismatch("bytes", other)),
        }
    }
}

impl<T: FromSql> FromSql for Option<T> {
    fn from_sql(value: &Value) -> Result<Self> {
        match value {
            Value::Null => Ok(None),
            other => T::from_sql(other).map(Some),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Boolean(b)
    }
}
