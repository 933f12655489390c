//! How a plugin reaches a database: the host opens the connection from the
//! workflow's `serviceConnection`, the plugin asks for it by label, and
//! every statement runs read-only under a timeout and a result cap. The
//! password stays in the host.
//!
//! - `mod.rs`: grants (label → connection pool) and per-instance state.
//! - `host.rs`: the WIT `sql` interface.
//! - `rows.rs`: binding, streaming and result caps, shared by the drivers.
//! - `postgres.rs`, `sqlite.rs`, `mssql/`: one driver each (sqlx for the
//!   first two, tiberius for SQL Server).

mod host;
pub mod mssql;
pub mod postgres;
mod rows;
pub mod sqlite;

use crate::runtime::bindings::types::{ErrorKind, Failure};
use crate::runtime::bindings::weir::connector::sql::RowSet;
use crate::runtime::bindings::weir::connector::sql::SqlValue;
use mssql::{MssqlConnection, MssqlPool, MssqlTarget};
use sqlx::{ConnectOptions, Connection};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use thiserror::Error;

/// Where a granted connection points. Holds the password, so it never
/// implements `Debug` with it.
#[derive(Clone)]
pub enum SqlTarget {
    Postgres { host: String, port: u16, username: String, password: Option<String>, database: String },
    Sqlite { path: PathBuf },
    Mssql(MssqlTarget),
}

impl SqlTarget {
    /// A description safe to print: no password.
    pub fn describe(&self) -> String {
        match self {
            SqlTarget::Postgres { host, port, username, database, .. } => {
                format!("PostgreSQL {username}@{host}:{port}/{database}")
            }
            SqlTarget::Sqlite { path } => format!("SQLite {}", path.display()),
            SqlTarget::Mssql(target) => target.describe(),
        }
    }

    /// The same server and credentials, another database; `None` for
    /// engines without databases (SQLite).
    pub fn with_database(&self, database: &str) -> Option<SqlTarget> {
        match self {
            SqlTarget::Postgres { host, port, username, password, .. } => Some(SqlTarget::Postgres {
                host: host.clone(),
                port: *port,
                username: username.clone(),
                password: password.clone(),
                database: database.to_string(),
            }),
            SqlTarget::Mssql(target) => Some(SqlTarget::Mssql(target.with_database(database))),
            SqlTarget::Sqlite { .. } => None,
        }
    }
}

/// Bounds on what one statement may cost.
#[derive(Debug, Clone)]
pub struct QueryLimits {
    pub statement_timeout: Duration,
    /// How long opening a session may take (TCP, TLS and login).
    pub connect_timeout: Duration,
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
            connect_timeout: l.connect_timeout(),
            max_rows: l.max_rows,
            max_bytes: l.max_result_bytes(),
            max_open: l.max_handles,
        }
    }
}

#[derive(Debug, Error)]
pub enum SqlError {
    #[error("cannot connect to {target}: {reason}")]
    Connect { target: String, reason: String },
}

/// A pool of connections to one granted target. Cloning shares the pool.
#[derive(Clone)]
pub enum SqlSource {
    Postgres(sqlx::PgPool),
    Sqlite(sqlx::SqlitePool),
    Mssql(MssqlPool),
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
        let source = SqlSource::lazy(target, limits, max_connections)?;
        let failed = |reason: String| SqlError::Connect { target: target.describe(), reason };
        if let SqlSource::Mssql(pool) = &source {
            return pool.check().await.map(|()| source.clone()).map_err(failed);
        }
        // One direct connection, not the pool: the pool retries a refused
        // connection until its acquire timeout, which would hide a typo in
        // `hostPort` behind half a minute of silence.
        let check = async {
            match &source {
                SqlSource::Postgres(pool) => pool.connect_options().connect().await?.close().await,
                SqlSource::Sqlite(pool) => pool.connect_options().connect().await?.close().await,
                SqlSource::Mssql(_) => Ok(()),
            }
        };
        match tokio::time::timeout(limits.connect_timeout, check).await {
            Ok(Ok(())) => Ok(source),
            Ok(Err(err)) => Err(failed(err.to_string())),
            Err(_) => Err(failed(format!(
                "no answer within {} s (weir.limits.connectTimeoutSecs)",
                limits.connect_timeout.as_secs()
            ))),
        }
    }

    /// A pool that connects on first use.
    fn lazy(target: &SqlTarget, limits: &QueryLimits, max_connections: u32) -> Result<SqlSource, SqlError> {
        Ok(match target {
            SqlTarget::Postgres { .. } => SqlSource::Postgres(postgres::pool(target, limits, max_connections)?),
            SqlTarget::Sqlite { path } => SqlSource::Sqlite(sqlite::pool(path, max_connections)),
            SqlTarget::Mssql(target) => SqlSource::Mssql(MssqlPool::new(target.clone(), limits, max_connections)),
        })
    }

    pub async fn close(&self) {
        match self {
            SqlSource::Postgres(pool) => pool.close().await,
            SqlSource::Sqlite(pool) => pool.close().await,
            SqlSource::Mssql(pool) => pool.close().await,
        }
    }
}

/// Which databases a label family may reach (`databaseFilterPattern`).
pub type DatabaseFilter = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// Labels `<base>/<database>`: the same server and credentials as `base`,
/// another database (PostgreSQL and SQL Server sessions are bound to one). Granted with `ingestAllDatabases`; each database's
/// pool opens on first use.
struct Family {
    template: SqlTarget,
    allow: DatabaseFilter,
    max_connections: u32,
    opened: Mutex<BTreeMap<String, SqlSource>>,
}

/// The connections a run grants, by label.
#[derive(Default)]
pub struct SqlGrants {
    sources: BTreeMap<String, SqlSource>,
    families: BTreeMap<String, Family>,
    limits: QueryLimits,
}

impl SqlGrants {
    pub fn new(limits: QueryLimits) -> Self {
        SqlGrants { sources: BTreeMap::new(), families: BTreeMap::new(), limits }
    }

    pub fn grant(&mut self, label: &str, source: SqlSource) {
        self.sources.insert(label.to_string(), source);
    }

    /// Grants `<base>/<database>` for every database `allow` accepts on
    /// the server of `template`.
    pub fn grant_databases(&mut self, base: &str, template: SqlTarget, allow: DatabaseFilter, max_connections: u32) {
        let family = Family { template, allow, max_connections, opened: Mutex::new(BTreeMap::new()) };
        self.families.insert(base.to_string(), family);
    }

    pub fn labels(&self) -> Vec<String> {
        let families = self.families.keys().map(|base| format!("{base}/<database>"));
        self.sources.keys().cloned().chain(families).collect()
    }

    /// The pool behind `label`, opening a family member's pool if needed.
    /// `Err` says why the label is refused.
    fn source(&self, label: &str) -> Result<SqlSource, String> {
        if let Some(source) = self.sources.get(label) {
            return Ok(source.clone());
        }
        let refused =
            || format!("connection `{label}` is not granted to this plugin (granted: {})", self.labels().join(", "));
        let (base, database) = label.split_once('/').ok_or_else(refused)?;
        let family = self.families.get(base).ok_or_else(refused)?;
        if database.is_empty() || !(family.allow)(database) {
            return Err(format!("database `{database}` is excluded by databaseFilterPattern"));
        }
        let mut opened = family.opened.lock().map_err(|_| "connection registry poisoned".to_string())?;
        if let Some(source) = opened.get(database) {
            return Ok(source.clone());
        }
        let target = family.template.with_database(database).ok_or_else(refused)?;
        let source = SqlSource::lazy(&target, &self.limits, family.max_connections).map_err(|e| e.to_string())?;
        opened.insert(database.to_string(), source.clone());
        Ok(source)
    }

    pub async fn close(&self) {
        for source in self.sources.values() {
            source.close().await;
        }
        for family in self.families.values() {
            let opened: Vec<SqlSource> =
                family.opened.lock().map(|m| m.values().cloned().collect()).unwrap_or_default();
            for source in opened {
                source.close().await;
            }
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
    // Boxed: a TDS client is large beside a pooled sqlx connection.
    Mssql(Box<MssqlConnection>),
}

impl SqlConnection {
    async fn query(&mut self, statement: &str, params: &[SqlValue], limits: &QueryLimits) -> Result<RowSet, Failure> {
        match self {
            SqlConnection::Postgres(conn) => postgres::query(conn, statement, params, limits).await,
            SqlConnection::Sqlite(conn) => sqlite::query(conn, statement, params, limits).await,
            SqlConnection::Mssql(conn) => conn.query(statement, params, limits).await,
        }
    }

    fn engine(&self) -> &'static str {
        match self {
            SqlConnection::Postgres(_) => "postgres",
            SqlConnection::Sqlite(_) => "sqlite",
            SqlConnection::Mssql(_) => "mssql",
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

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> SqlTarget {
        SqlTarget::Postgres {
            host: "db".into(),
            port: 5432,
            username: "reader".into(),
            password: Some("pw".into()),
            database: "main".into(),
        }
    }

    #[tokio::test]
    async fn a_database_family_grants_only_what_the_filter_allows() {
        let mut grants = SqlGrants::new(QueryLimits::default());
        grants.grant_databases("source", server(), Arc::new(|db: &str| db != "payroll"), 2);
        assert!(grants.source("source/sales").is_ok());
        assert!(grants.source("source/sales").is_ok(), "a second open reuses the pool");
        let excluded = grants.source("source/payroll").err().unwrap();
        assert!(excluded.contains("excluded by databaseFilterPattern"), "{excluded}");
        assert!(grants.source("source/").is_err());
        let other = grants.source("other/sales").err().unwrap();
        assert!(other.contains("`other/sales` is not granted"), "{other}");
        assert_eq!(grants.labels(), vec!["source/<database>".to_string()]);
    }

    #[tokio::test]
    async fn without_a_family_only_exact_labels_are_granted() {
        let grants = SqlGrants::new(QueryLimits::default());
        let refused = grants.source("source/sales").err().unwrap();
        assert!(refused.contains("not granted"), "{refused}");
    }
}
