//! PostgreSQL through sqlx. Every plugin statement is checked by the host
//! first (`read_only.rs`), then runs inside a read-only transaction the host
//! opens and always rolls back, on a session whose default is read-only and
//! whose statements time out. The role is inspected once per run
//! (`server.rs`): one that can do more than read is refused unless the
//! workflow accepts it. Sessions across all databases of the server stay
//! within weir's share of its connection slots (`sessions.rs`).

pub mod read_only;
pub mod server;
mod sessions;

use super::rows::{self, Decoder};
use super::{QueryLimits, SqlError, SqlSettings, failure};
use crate::contract::types::{ErrorKind, Failure};
use crate::contract::weir::connector::sql::{RowSet, SqlValue};
use read_only::FunctionPolicy;
use sessions::Sessions;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::{Column, Connection, Postgres, Row, TypeInfo};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OwnedSemaphorePermit;

/// Where the workflow's PostgreSQL connection points. Holds the password,
/// so it never implements `Debug`.
#[derive(Clone)]
pub struct PgTarget {
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: Option<String>,
    pub database: String,
}

impl PgTarget {
    pub fn describe(&self) -> String {
        format!("PostgreSQL {}@{}:{}/{}", self.username, self.host, self.port, self.database)
    }

    fn options(&self, database: &str, limits: &QueryLimits) -> PgConnectOptions {
        let timeout_ms = limits.statement_timeout.as_millis().to_string();
        let mut options = PgConnectOptions::new_without_pgpass()
            .host(&self.host)
            .port(self.port)
            .username(&self.username)
            .database(database)
            .application_name("weir")
            .options([("default_transaction_read_only", "on"), ("statement_timeout", timeout_ms.as_str())]);
        if let Some(password) = &self.password {
            options = options.password(password);
        }
        options
    }
}

/// One server as a run reaches it: what a statement may call there, and
/// the sessions weir may hold, shared by the pools of all its databases.
pub struct PgServer {
    target: PgTarget,
    limits: QueryLimits,
    functions: FunctionPolicy,
    /// Verdicts of the statement check by statement text: a connector sends
    /// the same few statements with other parameters, batch after batch,
    /// and parsing a long catalog query costs half a millisecond.
    verdicts: std::sync::Mutex<HashMap<String, Result<(), String>>>,
    sessions: Sessions,
    /// `weir.sql.eagerRollback`.
    eager_rollback: bool,
}

/// Statements whose verdicts are kept, and the longest kept.
const VERDICTS: usize = 1024;
const VERDICT_TEXT: usize = 64 * 1024;

impl PgServer {
    /// Connects once to check the credentials and inspect the role and the
    /// server; `wanted` is how many sessions the run would like at once.
    /// Returns the warnings the run should show.
    pub async fn connect(
        target: &PgTarget,
        limits: &QueryLimits,
        settings: &SqlSettings,
        wanted: u32,
    ) -> Result<(Arc<PgServer>, Vec<String>), SqlError> {
        let failed = |reason: String, may_pass: bool| SqlError::Connect { target: target.describe(), reason, may_pass };
        let options = target.options(&target.database, limits);
        // One direct connection, not a pool: a pool retries a refused
        // connection until its acquire timeout, which would hide a typo in
        // `hostPort` behind half a minute of silence.
        let inspect = async {
            let mut conn = PgConnection::connect_with(&options).await?;
            let facts = server::inspect(&mut conn).await;
            let _ = conn.close().await;
            facts
        };
        let facts = match tokio::time::timeout(limits.connect_timeout, inspect).await {
            Ok(Ok(facts)) => facts,
            Ok(Err(err)) => return Err(failed(err.to_string(), crate::retry::sqlx_error_may_pass(&err))),
            Err(_) => {
                return Err(failed(
                    format!("no answer within {} s (weir.limits.connectTimeoutSecs)", limits.connect_timeout.as_secs()),
                    true,
                ));
            }
        };
        let mut warnings = Vec::new();
        match facts.admit(settings) {
            Ok(warning) => warnings.extend(warning),
            Err(reason) => return Err(SqlError::Refused { target: target.describe(), reason }),
        }
        let budget = facts.slots.budget(wanted, settings.connection_share);
        if budget < wanted {
            let slots = facts.slots;
            warnings.push(format!(
                "{} has {} free connection slots (max_connections {}, {} reserved, {} in use): weir holds at most \
                 {budget} sessions at once (weir.sql.connectionShare {}), fewer than the {wanted} its instances \
                 could use, so instances wait their turn",
                target.describe(),
                slots.free(),
                slots.max,
                slots.reserved,
                slots.in_use.saturating_sub(1),
                settings.connection_share,
            ));
        }
        let server = PgServer {
            target: target.clone(),
            limits: limits.clone(),
            functions: facts.functions,
            verdicts: std::sync::Mutex::new(HashMap::new()),
            sessions: Sessions::new(budget, limits.session_wait),
            eager_rollback: settings.eager_rollback,
        };
        Ok((Arc::new(server), warnings))
    }

    /// The statement check, remembered per statement text.
    fn check(&self, statement: &str) -> Result<(), String> {
        if let Some(verdict) = self.verdicts.lock().ok().and_then(|v| v.get(statement).cloned()) {
            return verdict;
        }
        let verdict = read_only::check(statement, &self.functions);
        if statement.len() <= VERDICT_TEXT
            && let Ok(mut verdicts) = self.verdicts.lock()
        {
            if verdicts.len() >= VERDICTS {
                verdicts.clear();
            }
            verdicts.insert(statement.to_string(), verdict.clone());
        }
        verdict
    }

    /// The pool of `database` on this server (the target's own when
    /// `None`); it connects on first use.
    pub fn source(self: &Arc<Self>, database: Option<&str>) -> PgSource {
        let database = database.unwrap_or(&self.target.database).to_string();
        let options = self.target.options(&database, &self.limits);
        let pool = PgPoolOptions::new()
            .max_connections(self.sessions.budget())
            .acquire_timeout(self.limits.session_wait)
            .connect_lazy_with(options);
        self.sessions.register(&database, pool.clone());
        PgSource { pool, database, server: self.clone() }
    }
}

/// The pool of one database; cloning shares it.
#[derive(Clone)]
pub struct PgSource {
    pool: PgPool,
    database: String,
    server: Arc<PgServer>,
}

impl PgSource {
    /// A session for a plugin, within the server's budget.
    pub async fn acquire(&self) -> Result<PgSession, String> {
        let (conn, permit) = self.server.sessions.acquire(&self.database, &self.pool).await?;
        Ok(PgSession {
            conn,
            backend: None,
            in_transaction: false,
            pool: self.pool.clone(),
            server: self.server.clone(),
            _permit: permit,
        })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A session a plugin holds.
///
/// Every plugin statement runs in a read-only transaction of its own that
/// is rolled back, whatever the statement did. Begun and rolled back on
/// their own, those cost two round trips beside the statement's; so the
/// rollback of one statement travels with the `BEGIN` of the next, in one
/// message, and a statement costs two round trips (one more the first
/// time its text is prepared on the session). The last statement's
/// transaction is rolled back when the plugin's call ends or it drops the
/// connection ([`PgSession::settle`]), or at once with
/// `weir.sql.eagerRollback`.
pub struct PgSession {
    conn: PoolConnection<Postgres>,
    /// The server process behind the session, learnt with the first
    /// statement: a statement cut off by the plugin's deadline is
    /// cancelled on the server by it.
    backend: Option<i32>,
    /// A statement's transaction is still open (not yet rolled back).
    in_transaction: bool,
    pool: PgPool,
    server: Arc<PgServer>,
    _permit: OwnedSemaphorePermit,
}

impl PgSession {
    pub(super) async fn query(
        &mut self,
        statement: &str,
        params: &[SqlValue],
        limits: &QueryLimits,
    ) -> Result<RowSet, Failure> {
        self.server.check(statement).map_err(|reason| {
            failure(ErrorKind::Denied, format!("statement refused by weir before it reached the server: {reason}"))
        })?;
        let conn = &mut *self.conn;
        let backend = match self.backend {
            Some(pid) => {
                // Whatever the last statement did (even COMMIT or SET
                // TRANSACTION), this one starts from a fresh read-only
                // transaction.
                let begin = if self.in_transaction { "ROLLBACK; BEGIN READ ONLY" } else { "BEGIN READ ONLY" };
                sqlx::raw_sql(begin).execute(&mut *conn).await.map_err(to_failure)?;
                pid
            }
            None => {
                let rows = sqlx::raw_sql("BEGIN READ ONLY; SELECT pg_catalog.pg_backend_pid()")
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(to_failure)?;
                let pid = rows.first().and_then(|r| r.try_get::<i32, _>(0).ok()).unwrap_or_default();
                self.backend = Some(pid);
                pid
            }
        };
        self.in_transaction = true;
        let mut cancel = CancelOnDrop { backend, options: Some(self.pool.connect_options()) };
        let result = fetch(conn, statement, params, limits).await;
        cancel.disarm();
        if self.server.eager_rollback {
            self.settle().await;
        }
        result
    }

    /// Rolls back the last statement's transaction, if it is still open:
    /// when the plugin's call ends, or it drops the connection.
    pub(super) async fn settle(&mut self) {
        if !self.in_transaction {
            return;
        }
        match sqlx::raw_sql("ROLLBACK").execute(&mut *self.conn).await {
            Ok(_) => self.in_transaction = false,
            Err(err) => {
                tracing::debug!(error = %err, "rollback after a plugin statement failed");
                // Not back in the pool with a transaction open.
                self.conn.close_on_drop();
            }
        }
    }
}

impl Drop for PgSession {
    fn drop(&mut self) {
        // Dropped without settling (the instance faulted): close it, so the
        // server ends the transaction, rather than pool it half-used.
        if self.in_transaction {
            self.conn.close_on_drop();
        }
    }
}

/// Cancels a statement on the server when the host stops waiting for it
/// (the plugin's call ran past its deadline and was dropped), so it does
/// not run on until `statementTimeoutSecs` and hold the run's exit.
struct CancelOnDrop {
    backend: i32,
    options: Option<Arc<PgConnectOptions>>,
}

impl CancelOnDrop {
    fn disarm(&mut self) {
        self.options = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        let (Some(options), Ok(runtime)) = (self.options.take(), tokio::runtime::Handle::try_current()) else {
            return;
        };
        let backend = self.backend;
        let task = runtime.spawn(async move {
            // The role may cancel its own sessions; a fresh connection, as
            // the one running the statement is busy.
            let cancel = async {
                let mut conn = PgConnection::connect_with(&options).await?;
                sqlx::query("SELECT pg_catalog.pg_cancel_backend($1)").bind(backend).execute(&mut conn).await?;
                conn.close().await
            };
            match tokio::time::timeout(Duration::from_secs(10), cancel).await {
                Ok(Ok(())) => tracing::debug!(backend, "cancelled a statement past its call's deadline"),
                Ok(Err(err)) => {
                    tracing::warn!(backend, error = %err, "could not cancel a statement past its call's deadline")
                }
                Err(_) => tracing::warn!(backend, "could not cancel a statement past its call's deadline in time"),
            }
        });
        if let Ok(mut pending) = CANCELS.lock() {
            pending.retain(|t| !t.is_finished());
            pending.push(task);
        }
    }
}

/// Cancels sent and not yet answered: a run waits for them before it ends
/// ([`cancels_sent`]), or its process could exit with the statement still
/// running on the server.
static CANCELS: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>> = std::sync::Mutex::new(Vec::new());

/// Waits for every cancel sent so far (each gives up after 10 s).
pub async fn cancels_sent() {
    let pending: Vec<_> = CANCELS.lock().map(|mut p| std::mem::take(&mut *p)).unwrap_or_default();
    for task in pending {
        let _ = task.await;
    }
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
            // query_canceled (statement timeout), the server shutting down
            // or restarting (57P01-03: admin shutdown, crash shutdown,
            // cannot connect now), too many connections, serialization,
            // deadlock, connection exceptions
            Some("57014" | "57P01" | "57P02" | "57P03" | "53300") => ErrorKind::Transient,
            Some(code) if code.starts_with("40") || code.starts_with("08") => ErrorKind::Transient,
            _ => ErrorKind::Permanent,
        },
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => ErrorKind::Transient,
        _ => ErrorKind::Permanent,
    };
    failure(kind, err.to_string())
}
