//! What both drivers do the same way: bind the contract's typed values,
//! stream the rows under the result budget and the statement deadline, and
//! describe the columns.

use super::{QueryLimits, ResultBudget, failure};
use crate::contract::types::{ErrorKind, Failure};
use crate::contract::weir::connector::sql::{ColumnInfo, RowSet, SqlValue};
use futures_util::TryStreamExt;
use sqlx::query::Query;
use sqlx::{Column, Database, Encode, Executor, IntoArguments, Row, Type, TypeInfo};

/// How long past the statement timeout the host waits for the server to
/// enforce it before giving up on the statement itself.
const DEADLINE_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// The plugin's statement with its parameters bound.
pub(super) fn bind<'q, DB>(statement: &str, params: &[SqlValue]) -> Query<'q, DB, <DB as Database>::Arguments>
where
    DB: Database,
    for<'t> Option<String>: Encode<'t, DB> + Type<DB>,
    for<'t> bool: Encode<'t, DB> + Type<DB>,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
    for<'t> f64: Encode<'t, DB> + Type<DB>,
    for<'t> String: Encode<'t, DB> + Type<DB>,
    for<'t> Vec<u8>: Encode<'t, DB> + Type<DB>,
{
    // The statement is the plugin's own text by design; it runs read-only.
    let mut query = sqlx::query(sqlx::AssertSqlSafe(statement.to_string()));
    for param in params {
        query = match param {
            // Sent as text; the server resolves it where the context allows.
            SqlValue::Null => query.bind(None::<String>),
            SqlValue::Boolean(b) => query.bind(*b),
            SqlValue::Int(i) => query.bind(*i),
            SqlValue::Float(f) => query.bind(*f),
            SqlValue::Text(s) => query.bind(s.clone()),
            SqlValue::Bytes(b) => query.bind(b.clone()),
        };
    }
    query
}

/// How a driver turns its rows and errors into the contract's.
pub(super) struct Decoder<DB: Database> {
    pub row: fn(&DB::Row) -> Result<Vec<SqlValue>, Failure>,
    pub error: fn(sqlx::Error) -> Failure,
}

/// Runs `query` and gathers its rows; passing a cap or the deadline is an
/// error, never a silent truncation.
pub(super) async fn collect<'c, DB, E>(
    query: Query<'c, DB, <DB as Database>::Arguments>,
    executor: E,
    limits: &QueryLimits,
    decoder: Decoder<DB>,
) -> Result<RowSet, Failure>
where
    DB: Database,
    <DB as Database>::Arguments: IntoArguments<DB>,
    E: Executor<'c, Database = DB>,
{
    let mut stream = query.fetch(executor);
    let mut budget = ResultBudget::new(limits);
    let mut columns = Vec::new();
    // Engines without a server-side timeout (SQLite) are stopped here.
    // PostgreSQL cancels on the server at statement_timeout, which leaves
    // the session clean; the grace lets that happen first.
    let deadline = tokio::time::Instant::now() + limits.statement_timeout + DEADLINE_GRACE;
    loop {
        let next = tokio::time::timeout_at(deadline, stream.try_next()).await.map_err(|_| {
            let secs = limits.statement_timeout.as_secs();
            failure(
                ErrorKind::Transient,
                format!("statement timeout: no result after {secs} s (weir.limits.statementTimeoutSecs)"),
            )
        })?;
        let Some(row) = next.map_err(decoder.error)? else { break };
        if columns.is_empty() {
            columns = describe(&row);
        }
        budget.push((decoder.row)(&row)?)?;
    }
    Ok(RowSet { columns, rows: budget.into_rows() })
}

fn describe<R: Row>(row: &R) -> Vec<ColumnInfo> {
    row.columns()
        .iter()
        .map(|c| ColumnInfo { name: c.name().to_string(), type_name: c.type_info().name().to_string() })
        .collect()
}
