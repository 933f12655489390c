//! How a plugin reaches a database: the host opens the connection from the
//! workflow's `serviceConnection`, the plugin asks for it by label, and
//! every statement runs read-only under a timeout and a result cap. The
//! password stays in the host.
//!
//! - `mod.rs`: the server a run reaches, grants (label → connection pool)
//!   and per-instance state (open connections by handle).
//! - `settings.rs`: `weir.sql` in the workflow.
//! - `target.rs`: the server a workflow's connection keys point at.
//! - `grant.rs`: which labels a run grants, from the workflow and the
//!   plugin's `describe()`.
//! - `host.rs`: the WIT `sql` interface, on [`SqlState`].
//! - `read_only.rs`: the statement check both servers' drivers apply.
//! - `rows.rs`: binding, streaming and result caps, shared by the drivers.
//! - `postgres/`, `sqlite.rs`, `mssql/`: one driver each (sqlx for the
//!   first two, tiberius for SQL Server).

pub mod grant;
mod host;
pub mod mssql;
pub mod postgres;
pub mod read_only;
mod rows;
mod settings;
pub mod sqlite;
mod target;

pub use settings::SqlSettings;
pub use target::{ConnectionKeys, Engine};

use crate::caps::{Grants, Redactor};
use crate::contract::types::{ErrorKind, Failure};
use crate::contract::weir::connector::sql::{RowSet, SqlValue};
use mssql::{MssqlConnection, MssqlPool, MssqlTarget};
use postgres::{PgServer, PgSession, PgSource, PgTarget};
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
    Postgres(PgTarget),
    Sqlite { path: PathBuf },
    Mssql(MssqlTarget),
}

impl SqlTarget {
    /// A description safe to print: no password.
    pub fn describe(&self) -> String {
        match self {
            SqlTarget::Postgres(target) => target.describe(),
            SqlTarget::Sqlite { path } => format!("SQLite {}", path.display()),
            SqlTarget::Mssql(target) => target.describe(),
        }
    }

    /// Whether the engine binds a session to one database, so that other
    /// databases need sessions of their own (not SQLite).
    pub fn has_databases(&self) -> bool {
        !matches!(self, SqlTarget::Sqlite { .. })
    }
}

/// Bounds on what one statement may cost.
#[derive(Debug, Clone)]
pub struct QueryLimits {
    pub statement_timeout: Duration,
    /// How long opening a session may take (TCP, TLS and login).
    pub connect_timeout: Duration,
    /// How long a plugin may wait for a free session: a call's deadline.
    pub session_wait: Duration,
    pub max_rows: u64,
    /// What the host may hold for one result, in bytes of its own memory.
    pub max_bytes: u64,
    /// Connections one instance may hold at once.
    pub max_open: u32,
}

impl QueryLimits {
    /// Nothing at all: no connection may be held.
    pub const NONE: QueryLimits = QueryLimits {
        statement_timeout: Duration::ZERO,
        connect_timeout: Duration::ZERO,
        session_wait: Duration::ZERO,
        max_rows: 0,
        max_bytes: 0,
        max_open: 0,
    };
}

#[derive(Debug, Error)]
pub enum SqlError {
    /// `may_pass`: the server could not be reached or was not ready (it
    /// may be later), as opposed to refusing the login or the database.
    #[error("cannot connect to {target}: {reason}")]
    Connect { target: String, reason: String, may_pass: bool },
    /// The server answered, but weir will not hand this connection to a
    /// plugin (a PostgreSQL role that can do more than read).
    #[error("refusing the connection to {target}: {reason}")]
    Refused { target: String, reason: String },
}

impl SqlError {
    /// Whether running again later may succeed.
    pub fn may_pass(&self) -> bool {
        matches!(self, SqlError::Connect { may_pass: true, .. })
    }
}

/// A server the run reaches, checked once when the run starts; the pool of
/// each database a plugin asks for comes from it.
#[derive(Clone)]
pub enum SqlServer {
    Postgres(Arc<PgServer>),
    Sqlite { path: PathBuf, max_connections: u32 },
    Mssql { target: MssqlTarget, limits: QueryLimits, max_connections: u32 },
}

impl SqlServer {
    /// Checks that one connection can be made now, so a wrong host or
    /// password fails the run up front with one clear line, and learns what
    /// the server needs known (a PostgreSQL role's privileges, its free
    /// connection slots). `max_connections` is how many sessions the run's
    /// instances could use at once. Returns the warnings the run shows.
    pub async fn connect(
        target: &SqlTarget,
        limits: &QueryLimits,
        settings: &SqlSettings,
        max_connections: u32,
    ) -> Result<(SqlServer, Vec<String>), SqlError> {
        let failed = |reason: String, may_pass: bool| SqlError::Connect { target: target.describe(), reason, may_pass };
        match target {
            SqlTarget::Postgres(target) => {
                let (server, warnings) = PgServer::connect(target, limits, settings, max_connections).await?;
                Ok((SqlServer::Postgres(server), warnings))
            }
            SqlTarget::Mssql(target) => {
                let server = SqlServer::Mssql { target: target.clone(), limits: limits.clone(), max_connections };
                if let Some(SqlSource::Mssql(pool)) = server.source(None) {
                    pool.check().await.map_err(|e| failed(e.reason, e.may_pass))?;
                }
                Ok((server, Vec::new()))
            }
            SqlTarget::Sqlite { path } => {
                let pool = sqlite::pool(path, 1);
                let check = async { pool.connect_options().connect().await?.close().await };
                match tokio::time::timeout(limits.connect_timeout, check).await {
                    Ok(Ok(())) => {}
                    Ok(Err(err)) => return Err(failed(err.to_string(), crate::retry::sqlx_error_may_pass(&err))),
                    Err(_) => return Err(failed("no answer in time (weir.limits.connectTimeoutSecs)".into(), true)),
                }
                Ok((SqlServer::Sqlite { path: path.clone(), max_connections }, Vec::new()))
            }
        }
    }

    /// The pool of `database` (the workflow's own when `None`); `None` for
    /// another database on an engine without databases (SQLite). Pools
    /// connect on first use.
    pub fn source(&self, database: Option<&str>) -> Option<SqlSource> {
        Some(match self {
            SqlServer::Postgres(server) => SqlSource::Postgres(server.source(database)),
            SqlServer::Sqlite { path, max_connections } => match database {
                None => SqlSource::Sqlite(sqlite::pool(path, *max_connections)),
                Some(_) => return None,
            },
            SqlServer::Mssql { target, limits, max_connections } => {
                let target = match database {
                    Some(database) => target.with_database(database),
                    None => target.clone(),
                };
                SqlSource::Mssql(MssqlPool::new(target, limits, *max_connections))
            }
        })
    }
}

/// A pool of connections to one database. Cloning shares the pool.
#[derive(Clone)]
pub enum SqlSource {
    Postgres(PgSource),
    Sqlite(sqlx::SqlitePool),
    Mssql(MssqlPool),
}

impl SqlSource {
    /// The target's own database, on a server checked as
    /// [`SqlServer::connect`] does with the default settings.
    pub async fn connect(
        target: &SqlTarget,
        limits: &QueryLimits,
        max_connections: u32,
    ) -> Result<SqlSource, SqlError> {
        let (server, _) = SqlServer::connect(target, limits, &SqlSettings::default(), max_connections).await?;
        server.source(None).ok_or_else(|| SqlError::Connect {
            target: target.describe(),
            reason: "the engine has no database to open".into(),
            may_pass: false,
        })
    }

    pub async fn close(&self) {
        match self {
            SqlSource::Postgres(source) => source.close().await,
            SqlSource::Sqlite(pool) => pool.close().await,
            SqlSource::Mssql(pool) => pool.close().await,
        }
    }
}

/// Which databases a label family may reach (`databaseFilterPattern`).
pub type DatabaseFilter = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// Labels `<base>/<database>`: the same server and credentials as `base`,
/// another database (PostgreSQL and SQL Server sessions are bound to one).
/// Granted with `ingestAllDatabases`; each database's pool opens on first
/// use.
struct PerDatabaseSource {
    server: SqlServer,
    allow: DatabaseFilter,
    opened: Mutex<BTreeMap<String, SqlSource>>,
}

/// The connections a run grants, by label.
pub struct SqlGrants {
    sources: BTreeMap<String, SqlSource>,
    families: BTreeMap<String, PerDatabaseSource>,
    limits: QueryLimits,
}

impl Default for SqlGrants {
    /// No connection at all.
    fn default() -> Self {
        SqlGrants::new(QueryLimits::NONE)
    }
}

impl SqlGrants {
    pub fn new(limits: QueryLimits) -> Self {
        SqlGrants { sources: BTreeMap::new(), families: BTreeMap::new(), limits }
    }

    pub fn grant(&mut self, label: &str, source: SqlSource) {
        self.sources.insert(label.to_string(), source);
    }

    /// Grants `<base>/<database>` for every database `allow` accepts on
    /// `server`.
    pub fn grant_databases(&mut self, base: &str, server: SqlServer, allow: DatabaseFilter) {
        let family = PerDatabaseSource { server, allow, opened: Mutex::new(BTreeMap::new()) };
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
        let source = family.server.source(Some(database)).ok_or_else(refused)?;
        opened.insert(database.to_string(), source.clone());
        Ok(source)
    }

    /// The engine behind the first label granted outright (`postgres`,
    /// `mssql`, `sqlite`), with that label.
    pub fn first_engine(&self) -> Option<(String, &'static str)> {
        self.sources.iter().next().map(|(label, source)| {
            let engine = match source {
                SqlSource::Postgres(_) => "postgres",
                SqlSource::Sqlite(_) => "sqlite",
                SqlSource::Mssql(_) => "mssql",
            };
            (label.clone(), engine)
        })
    }

    /// Runs `statement` on `label` as a plugin's statement runs (the same
    /// read-only session, statement check and limits): what `weir check`
    /// tests a privilege with. Gives the first row's integers (a null or
    /// another type as 0), or the server's reason.
    pub async fn probe(&self, label: &str, statement: &str) -> Result<Vec<i64>, String> {
        let source = self.source(label)?;
        let mut conn = match source {
            SqlSource::Postgres(source) => source.acquire().await.map(SqlConnection::Postgres),
            SqlSource::Sqlite(pool) => pool.acquire().await.map(SqlConnection::Sqlite).map_err(|e| e.to_string()),
            SqlSource::Mssql(pool) => pool.acquire().await.map(|c| SqlConnection::Mssql(Box::new(c))),
        }?;
        let rows = conn.query(statement, &[], &self.limits).await.map(|set| set.rows).map_err(|f| f.message);
        conn.settle().await;
        let first = rows?.into_iter().next().unwrap_or_default();
        Ok(first.iter().map(|v| if let SqlValue::Int(n) = v { *n } else { 0 }).collect())
    }

    pub async fn close(&self) {
        postgres::cancels_sent().await;
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

/// One instance's SQL: the run's grants and the connections this instance
/// holds, by the handle number the plugin's `connection` resource carries.
pub struct SqlState {
    grants: Arc<SqlGrants>,
    plugin: Arc<str>,
    redactor: Arc<Redactor>,
    open: BTreeMap<u32, SqlConnection>,
    next_handle: u32,
    queries: u64,
}

impl SqlState {
    pub fn new(grants: &Grants) -> Self {
        SqlState {
            grants: grants.sql.clone(),
            plugin: grants.plugin.clone(),
            redactor: grants.redactor.clone(),
            open: BTreeMap::new(),
            next_handle: 0,
            queries: 0,
        }
    }

    /// Statements this instance has sent since it was created.
    pub fn queries(&self) -> u64 {
        self.queries
    }

    /// A plugin call ended: nothing it began stays open on a server while
    /// the host goes on, even on connections the plugin keeps for later.
    pub async fn end_call(&mut self) {
        for conn in self.open.values_mut() {
            conn.settle().await;
        }
    }
}

/// A connection handed to a plugin, held in its resource table until the
/// plugin drops it (or the instance is dropped).
pub enum SqlConnection {
    Postgres(PgSession),
    Sqlite(sqlx::pool::PoolConnection<sqlx::Sqlite>),
    // Boxed: a TDS client is large beside a pooled sqlx connection.
    Mssql(Box<MssqlConnection>),
}

impl SqlConnection {
    async fn query(&mut self, statement: &str, params: &[SqlValue], limits: &QueryLimits) -> Result<RowSet, Failure> {
        match self {
            SqlConnection::Postgres(session) => session.query(statement, params, limits).await,
            SqlConnection::Sqlite(conn) => sqlite::query(conn, statement, params, limits).await,
            SqlConnection::Mssql(conn) => conn.query(statement, params, limits).await,
        }
    }

    /// Ends what a statement left open on the server (PostgreSQL's
    /// read-only transaction); the other engines leave nothing.
    async fn settle(&mut self) {
        if let SqlConnection::Postgres(session) = self {
            session.settle().await;
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

/// Gathers a result's rows as they stream in, and fails the query as soon
/// as it has more rows than allowed or holds more of the host's memory than
/// allowed: what the host holds is counted (values, the text and bytes they
/// point to, the row vectors), not what came over the wire.
struct ResultBudget<'a> {
    limits: &'a QueryLimits,
    rows: Vec<Vec<SqlValue>>,
    /// Bytes the rows hold, less the outer vector.
    held: u64,
}

impl<'a> ResultBudget<'a> {
    fn new(limits: &'a QueryLimits) -> Self {
        ResultBudget { limits, rows: Vec::new(), held: 0 }
    }

    fn push(&mut self, row: Vec<SqlValue>) -> Result<(), Failure> {
        if self.rows.len() as u64 >= self.limits.max_rows {
            return Err(failure(
                ErrorKind::Permanent,
                format!(
                    "result has more than {} rows (weir.limits.maxRows); query in smaller batches",
                    self.limits.max_rows
                ),
            ));
        }
        self.held += row_size(&row);
        self.rows.push(row);
        let outer = (self.rows.capacity() * std::mem::size_of::<Vec<SqlValue>>()) as u64;
        if self.held + outer > self.limits.max_bytes {
            return Err(failure(
                ErrorKind::Permanent,
                format!(
                    "result takes more than {} MiB of the host's memory (weir.limits.maxResultMib); \
                     query in smaller batches",
                    self.limits.max_bytes >> 20
                ),
            ));
        }
        Ok(())
    }

    fn into_rows(self) -> Vec<Vec<SqlValue>> {
        self.rows
    }
}

/// What one row costs the host while the result is held.
fn row_size(row: &Vec<SqlValue>) -> u64 {
    let heap: usize = row
        .iter()
        .map(|value| match value {
            SqlValue::Text(s) => s.capacity(),
            SqlValue::Bytes(b) => b.capacity(),
            _ => 0,
        })
        .sum();
    (row.capacity() * std::mem::size_of::<SqlValue>() + heap) as u64
}

fn failure(kind: ErrorKind, message: impl Into<String>) -> Failure {
    Failure { kind, message: message.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server nothing connects to: family pools open on first use.
    fn server() -> SqlServer {
        let target = MssqlTarget {
            host: "db".into(),
            port: 1433,
            database: "main".into(),
            auth: mssql::MssqlAuth::SqlServer { username: "reader".into(), password: "pw".into() },
            encryption: mssql::Encryption::Plaintext,
            trust_server_certificate: false,
            ca_certificate: None,
        };
        SqlServer::Mssql { target, limits: crate::runtime::Limits::default().query_limits(), max_connections: 2 }
    }

    #[tokio::test]
    async fn a_database_family_grants_only_what_the_filter_allows() {
        let mut grants = SqlGrants::new(crate::runtime::Limits::default().query_limits());
        grants.grant_databases("source", server(), Arc::new(|db: &str| db != "payroll"));
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
        let grants = SqlGrants::new(crate::runtime::Limits::default().query_limits());
        let refused = grants.source("source/sales").err().unwrap();
        assert!(refused.contains("not granted"), "{refused}");
    }
}
