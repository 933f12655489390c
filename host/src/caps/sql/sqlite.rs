//! SQLite through sqlx. The file is opened read-only and ATTACH is
//! disabled, so a plugin can neither write nor reach another file.

use super::rows::{self, Decoder};
use super::{QueryLimits, failure};
use crate::contract::types::{ErrorKind, Failure};
use crate::contract::weir::connector::sql::{RowSet, SqlValue};
use sqlx::Sqlite;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqlitePool, SqlitePoolOptions, SqliteRow};
use sqlx::{Row, TypeInfo, ValueRef};
use std::path::Path;
use std::time::Duration;

pub(super) fn pool(path: &Path, max_connections: u32) -> SqlitePool {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .create_if_missing(false)
        .busy_timeout(Duration::from_secs(5));
    SqlitePoolOptions::new()
        .max_connections(max_connections.max(1))
        .after_connect(|conn, _meta| Box::pin(async move { forbid_attach(conn).await }))
        .connect_lazy_with(options)
}

/// ATTACH would let a statement open any file the host can read.
async fn forbid_attach(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    let raw = handle.as_raw_handle();
    // SAFETY: the handle is locked for the duration of the call and valid
    // while `handle` lives; sqlite3_limit only reads and sets an integer.
    unsafe {
        libsqlite3_sys::sqlite3_limit(raw.as_ptr(), libsqlite3_sys::SQLITE_LIMIT_ATTACHED, 0);
    }
    Ok(())
}

pub(super) async fn query(
    conn: &mut SqliteConnection,
    statement: &str,
    params: &[SqlValue],
    limits: &QueryLimits,
) -> Result<RowSet, Failure> {
    let query = rows::bind::<Sqlite>(statement, params);
    rows::collect(query, &mut *conn, limits, Decoder { row: decode_row, error: to_failure }).await
}

/// SQLite types are per value, not per column: decode by storage class.
fn decode_row(row: &SqliteRow) -> Result<Vec<SqlValue>, Failure> {
    let mut values = Vec::with_capacity(row.len());
    for i in 0..row.len() {
        let bad = |e: sqlx::Error| failure(ErrorKind::Permanent, format!("column {i}: {e}"));
        let raw = row.try_get_raw(i).map_err(bad)?;
        if raw.is_null() {
            values.push(SqlValue::Null);
            continue;
        }
        let class = raw.type_info().name().to_string();
        let value = match class.as_str() {
            "INTEGER" | "BOOLEAN" => SqlValue::Int(row.try_get_unchecked::<i64, _>(i).map_err(bad)?),
            "REAL" => SqlValue::Float(row.try_get_unchecked::<f64, _>(i).map_err(bad)?),
            "BLOB" => SqlValue::Bytes(row.try_get_unchecked::<Vec<u8>, _>(i).map_err(bad)?),
            _ => SqlValue::Text(row.try_get_unchecked::<String, _>(i).map_err(bad)?),
        };
        values.push(value);
    }
    Ok(values)
}

fn to_failure(err: sqlx::Error) -> Failure {
    let kind = match &err {
        busy if crate::retry::sqlite_busy(busy) => ErrorKind::Transient,
        sqlx::Error::Database(db) => match db.code().as_deref() {
            // SQLITE_READONLY, SQLITE_AUTH, SQLITE_PERM
            Some("8") | Some("23") | Some("3") => ErrorKind::Denied,
            _ if db.message().contains("readonly") => ErrorKind::Denied,
            _ => ErrorKind::Permanent,
        },
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut => ErrorKind::Transient,
        _ => ErrorKind::Permanent,
    };
    failure(kind, err.to_string())
}
