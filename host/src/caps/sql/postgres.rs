//! PostgreSQL through sqlx. Every plugin statement runs inside a read-only
//! transaction the host opens and always rolls back, on a session whose
//! default is read-only and whose statements time out.

use super::rows::{self, Decoder};
use super::{QueryLimits, SqlError, SqlTarget, failure};
use crate::runtime::bindings::types::{ErrorKind, Failure};
use crate::runtime::bindings::weir::connector::sql::{RowSet, SqlValue};
use sqlx::Postgres;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::{Column, Row, TypeInfo};
use std::time::Duration;

pub(super) fn pool(target: &SqlTarget, limits: &QueryLimits, max_connections: u32) -> Result<PgPool, SqlError> {
    let SqlTarget::Postgres { host, port, username, password, database } = target else {
        return Err(SqlError::Connect { target: target.describe(), reason: "not a PostgreSQL target".into() });
    };
    let timeout_ms = limits.statement_timeout.as_millis().to_string();
    let mut options = PgConnectOptions::new_without_pgpass()
        .host(host)
        .port(*port)
        .username(username)
        .database(database)
        .application_name("weir")
        .options([("default_transaction_read_only", "on"), ("statement_timeout", timeout_ms.as_str())]);
    if let Some(password) = password {
        options = options.password(password);
    }
    Ok(PgPoolOptions::new()
        .max_connections(max_connections.max(1))
        .acquire_timeout(Duration::from_secs(30))
        .connect_lazy_with(options))
}

pub(super) async fn query(
    conn: &mut PgConnection,
    statement: &str,
    params: &[SqlValue],
    limits: &QueryLimits,
) -> Result<RowSet, Failure> {
    sqlx::raw_sql("BEGIN READ ONLY").execute(&mut *conn).await.map_err(to_failure)?;
    let result = fetch(conn, statement, params, limits).await;
    // Whatever the statement did (even COMMIT or SET TRANSACTION), the
    // next one starts from a fresh read-only transaction.
    if let Err(err) = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await {
        tracing::debug!(error = %err, "rollback after a plugin statement failed");
    }
    result
}

async fn fetch(
    conn: &mut PgConnection,
    statement: &str,
    params: &[SqlValue],
    limits: &QueryLimits,
) -> Result<RowSet, Failure> {
    let query = rows::bind::<Postgres>(statement, params);
    rows::collect(query, &mut *conn, limits, Decoder { row: decode_row, error: to_failure }).await
}

fn decode_row(row: &PgRow) -> Result<Vec<SqlValue>, Failure> {
    (0..row.len()).map(|i| decode(row, i)).collect()
}

fn decode(row: &PgRow, i: usize) -> Result<SqlValue, Failure> {
    let column = &row.columns()[i];
    let type_name = column.type_info().name();
    let bad = |e: sqlx::Error| failure(ErrorKind::Permanent, format!("column `{}`: {e}", column.name()));
    let value = match type_name {
        "BOOL" => row.try_get::<Option<bool>, _>(i).map_err(bad)?.map(SqlValue::Boolean),
        "INT2" => row.try_get::<Option<i16>, _>(i).map_err(bad)?.map(|v| SqlValue::Int(v.into())),
        "INT4" => row.try_get::<Option<i32>, _>(i).map_err(bad)?.map(|v| SqlValue::Int(v.into())),
        "INT8" => row.try_get::<Option<i64>, _>(i).map_err(bad)?.map(SqlValue::Int),
        "OID" => {
            row.try_get::<Option<sqlx::postgres::types::Oid>, _>(i).map_err(bad)?.map(|v| SqlValue::Int(v.0.into()))
        }
        "FLOAT4" => row.try_get::<Option<f32>, _>(i).map_err(bad)?.map(|v| SqlValue::Float(v.into())),
        "FLOAT8" => row.try_get::<Option<f64>, _>(i).map_err(bad)?.map(SqlValue::Float),
        "TEXT" | "VARCHAR" | "NAME" | "BPCHAR" | "UNKNOWN" | "CITEXT" => {
            row.try_get::<Option<String>, _>(i).map_err(bad)?.map(SqlValue::Text)
        }
        // The one-byte internal type of catalog columns such as relkind.
        "\"CHAR\"" => {
            row.try_get::<Option<i8>, _>(i).map_err(bad)?.map(|v| SqlValue::Text(char::from(v as u8).to_string()))
        }
        "BYTEA" => row.try_get::<Option<Vec<u8>>, _>(i).map_err(bad)?.map(SqlValue::Bytes),
        other => {
            return Err(failure(
                ErrorKind::Permanent,
                format!(
                    "column `{}` has type {other}, which the sql capability does not map; cast it to text in the query",
                    column.name()
                ),
            ));
        }
    };
    Ok(value.unwrap_or(SqlValue::Null))
}

/// Maps a driver error to the contract's kinds: a write attempt or missing
/// privilege is `denied`, a timeout or dropped connection `transient`.
fn to_failure(err: sqlx::Error) -> Failure {
    let kind = match &err {
        sqlx::Error::Database(db) => match db.code().as_deref() {
            // read_only_sql_transaction, insufficient_privilege
            Some("25006") | Some("42501") => ErrorKind::Denied,
            // query_canceled (statement timeout), serialization, deadlock,
            // connection exceptions
            Some(code) if code == "57014" || code.starts_with("40") || code.starts_with("08") => ErrorKind::Transient,
            _ => ErrorKind::Permanent,
        },
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => ErrorKind::Transient,
        _ => ErrorKind::Permanent,
    };
    failure(kind, err.to_string())
}
