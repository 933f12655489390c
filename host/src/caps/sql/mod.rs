//! How a plugin reaches a database: the host opens the connection from the
//! workflow's `serviceConnection`, the plugin asks for it by label, and
//! every statement runs read-only under a timeout and a result cap. The
//! password stays in the host.
//!
//! - `mod.rs`: grants (label → connection pool) and per-instance state.
//! - `host.rs`: the WIT `sql` interface.
//! - `rows.rs`: binding, streaming and result caps, shared by the drivers.
//! - `postgres.rs`, `sqlite.rs`: one driver each.

mod host;
pub mod postgres;
mod rows;
pub mod sqlite;

use crate::runtime::bindings::types::{ErrorKind, Failure};
use crate::runtime::bindings::weir::connector::sql::RowSet;
use crate::runtime::bindings::weir::connector::sql::SqlValue;
use sqlx::{ConnectOptions, Connection};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;
use thiserror::Error;

/// Where a granted connection points. Holds the password, so it never
/// implements `Debug` with it.
#[derive(Clone)]
pub enum SqlTarget {
    Postgres { host: String, port: u16, username: String, password: Option<String>, database: String },
    Sqlite { path: PathBuf },
}

impl SqlTarget {
    /// A description safe to print: no password.
    pub fn describe(&self) -> String {
        match self {
            SqlTarget::Postgres { host, port, username, database, .. } => {
                format!("PostgreSQL {username}@{host}:{port}/{database}")
            }
            SqlTarget::Sqlite { path } => format!("SQLite {}", path.display()),
        }
    }
}

/// Bounds on what one statement may cost.
#[derive(Debug, Clone)]
pub struct QueryLimits {
    pub statement_timeout: Duration,
    pub max_rows: u64,
    pub max_bytes: u64,
    /// Connections one instance may hold at once.
    pub max_open: u32,
}

impl Default for QueryLimits {
    fn default() -> Self {
        let limits = crate::runtime::Limits::default();
        QueryLimits::from(&limits)
    }
}

impl From<&crate::runtime::Limits> for QueryLimits {
    fn from(l: &crate::runtime::Limits) -> Self {
        QueryLimits {
            statement_timeout: l.statement_timeout(),
            max_rows: l.max_rows,
            max_bytes: l.max_result_bytes(),
            max_open: l.max_handles,
        }
    }
}

/// How long the up-front connection check waits.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, Error)]
pub enum SqlError {
    #[error("cannot connect to {target}: {reason}")]
    Connect { target: String, reason: String },
}

/// A pool of connections to one granted target.
pub enum SqlSource {
    Postgres(sqlx::PgPool),
    Sqlite(sqlx::SqlitePool),
}

impl SqlSource {
    /// Opens a pool of at most `max_connections` and checks that one
    /// connection can be made now, so a wrong host or password fails the run
    /// up front with one clear line.
    pub async fn connect(
        target: &SqlTarget,
        limits: &QueryLimits,
        max_connections: u32,
    ) -> Result<SqlSource, SqlError> {
        let source = match target {
            SqlTarget::Postgres { .. } => SqlSource::Postgres(postgres::pool(target, limits, max_connections)?),
            SqlTarget::Sqlite { path } => SqlSource::Sqlite(sqlite::pool(path, max_connections)),
        };
        // One direct connection, not the pool: the pool retries a refused
        // connection until its acquire timeout, which would hide a typo in
        // `hostPort` behind half a minute of silence.
        let check = async {
            match &source {
                SqlSource::Postgres(pool) => pool.connect_options().connect().await?.close().await,
                SqlSource::Sqlite(pool) => pool.connect_options().connect().await?.close().await,
            }
        };
        let failed = |reason: String| SqlError::Connect { target: target.describe(), reason };
        match tokio::time::timeout(CONNECT_TIMEOUT, check).await {
            Ok(Ok(())) => Ok(source),
            Ok(Err(err)) => Err(failed(err.to_string())),
            Err(_) => Err(failed(format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()))),
        }
    }

    pub async fn close(&self) {
        match self {
            SqlSource::Postgres(pool) => pool.close().await,
            SqlSource::Sqlite(pool) => pool.close().await,
        }
    }
}

/// The connections a run grants, by label.
#[derive(Default)]
pub struct SqlGrants {
    sources: BTreeMap<String, SqlSource>,
    limits: QueryLimits,
}

impl SqlGrants {
    pub fn new(limits: QueryLimits) -> Self {
        SqlGrants { sources: BTreeMap::new(), limits }
    }

    pub fn grant(&mut self, label: &str, source: SqlSource) {
        self.sources.insert(label.to_string(), source);
    }

    pub fn labels(&self) -> Vec<String> {
        self.sources.keys().cloned().collect()
    }

    pub async fn close(&self) {
        for source in self.sources.values() {
            source.close().await;
        }
    }
}

/// What one instance holds, and how many statements it has sent.
#[derive(Default)]
pub struct InstanceSql {
    open: u32,
    queries: u64,
}

impl InstanceSql {
    /// Statements this instance has sent since it was created.
    pub fn queries(&self) -> u64 {
        self.queries
    }
}

/// A connection handed to a plugin, held in its resource table until the
/// plugin drops it (or the instance is dropped).
pub enum SqlConnection {
    Postgres(sqlx::pool::PoolConnection<sqlx::Postgres>),
    Sqlite(sqlx::pool::PoolConnection<sqlx::Sqlite>),
}

impl SqlConnection {
    async fn query(&mut self, statement: &str, params: &[SqlValue], limits: &QueryLimits) -> Result<RowSet, Failure> {
        match self {
            SqlConnection::Postgres(conn) => postgres::query(conn, statement, params, limits).await,
            SqlConnection::Sqlite(conn) => sqlite::query(conn, statement, params, limits).await,
        }
    }

    fn engine(&self) -> &'static str {
        match self {
            SqlConnection::Postgres(_) => "postgres",
            SqlConnection::Sqlite(_) => "sqlite",
        }
    }
}

/// Counts rows and bytes of a result as it streams in, and fails the query
/// as soon as either cap is passed.
struct ResultBudget<'a> {
    limits: &'a QueryLimits,
    rows: u64,
    bytes: u64,
}

impl<'a> ResultBudget<'a> {
    fn new(limits: &'a QueryLimits) -> Self {
        ResultBudget { limits, rows: 0, bytes: 0 }
    }

    fn take(&mut self, row: &[SqlValue]) -> Result<(), Failure> {
        self.rows += 1;
        self.bytes += row.iter().map(value_size).sum::<u64>();
        if self.rows > self.limits.max_rows {
            return Err(failure(
                ErrorKind::Permanent,
                format!(
                    "result has more than {} rows (weir.limits.maxRows); query in smaller batches",
                    self.limits.max_rows
                ),
            ));
        }
        if self.bytes > self.limits.max_bytes {
            return Err(failure(
                ErrorKind::Permanent,
                format!(
                    "result is larger than {} MiB (weir.limits.maxResultMib); query in smaller batches",
                    self.limits.max_bytes >> 20
                ),
            ));
        }
        Ok(())
    }
}

fn value_size(value: &SqlValue) -> u64 {
    match value {
        SqlValue::Text(s) => s.len() as u64 + 8,
        SqlValue::Bytes(b) => b.len() as u64 + 8,
        _ => 8,
    }
}

fn failure(kind: ErrorKind, message: impl Into<String>) -> Failure {
    Failure { kind, message: message.into() }
}
