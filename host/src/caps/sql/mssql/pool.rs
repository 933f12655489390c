//! The connections of one SQL Server target: opened on demand, at most
//! `max_connections` at once, reused after a clean statement and dropped
//! after any failure (a timed-out or half-read TDS stream cannot be
//! trusted for the next statement).

use super::super::{QueryLimits, ResultBudget, failure};
use super::{MssqlTarget, read_only, values};
use crate::contract::types::{ErrorKind, Failure};
use crate::contract::weir::connector::sql::{ColumnInfo, RowSet, SqlValue};
use futures_util::TryStreamExt;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tiberius::{Client, QueryItem};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

type TdsClient = Client<Compat<TcpStream>>;

/// How long a plugin waits for a free connection before its open fails.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// A pool of connections to one target. Cloning shares it.
#[derive(Clone)]
pub struct MssqlPool {
    inner: Arc<Inner>,
}

struct Inner {
    target: MssqlTarget,
    limits: QueryLimits,
    idle: Mutex<Vec<TdsClient>>,
    permits: Arc<Semaphore>,
}

impl MssqlPool {
    pub fn new(target: MssqlTarget, limits: &QueryLimits, max_connections: u32) -> MssqlPool {
        let permits = Arc::new(Semaphore::new(max_connections.max(1) as usize));
        MssqlPool { inner: Arc::new(Inner { target, limits: limits.clone(), idle: Mutex::new(Vec::new()), permits }) }
    }

    pub fn describe(&self) -> String {
        self.inner.target.describe()
    }

    /// Connects once now, so that a wrong host or password fails the run up
    /// front; the connection is kept for the first statement.
    pub async fn check(&self) -> Result<(), ConnectError> {
        let client = connect(&self.inner.target, &self.inner.limits).await?;
        self.inner.put_back(client);
        Ok(())
    }

    /// A connection for a plugin: an idle one, or a new one.
    pub async fn acquire(&self) -> Result<MssqlConnection, String> {
        let permit = tokio::time::timeout(ACQUIRE_TIMEOUT, self.inner.permits.clone().acquire_owned())
            .await
            .map_err(|_| format!("no connection free within {} s", ACQUIRE_TIMEOUT.as_secs()))?
            .map_err(|_| "the connection pool is closed".to_string())?;
        let idle = self.inner.idle.lock().ok().and_then(|mut idle| idle.pop());
        let client = match idle {
            Some(client) => client,
            None => connect(&self.inner.target, &self.inner.limits).await.map_err(|e| e.reason)?,
        };
        Ok(MssqlConnection { client: Some(client), pool: self.inner.clone(), _permit: permit })
    }

    /// Closes the idle connections and refuses new ones.
    pub async fn close(&self) {
        self.inner.permits.close();
        let idle: Vec<TdsClient> = self.inner.idle.lock().map(|mut idle| idle.drain(..).collect()).unwrap_or_default();
        for client in idle {
            if let Err(err) = client.close().await {
                tracing::debug!(error = %err, "closing a SQL Server connection");
            }
        }
    }
}

impl Inner {
    fn put_back(&self, client: TdsClient) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(client);
        }
    }
}

/// Opens one session: TCP, then TLS and login, both under the connect
/// deadline (tiberius's handshake timeout does not cover the TCP connect).
/// Follows one routing answer (an availability group listener sending a
/// read-only session to a secondary, or Azure's gateway).
/// Why a connection could not be made, and whether trying later may work
/// (the server unreachable or slow, not a refused login).
pub struct ConnectError {
    pub reason: String,
    pub may_pass: bool,
}

async fn connect(target: &MssqlTarget, limits: &QueryLimits) -> Result<TdsClient, ConnectError> {
    let deadline = limits.connect_timeout;
    let attempt = async {
        match open(target).await {
            Err(tiberius::error::Error::Routing { host, port }) => {
                tracing::debug!(%host, port, "SQL Server routed the session");
                let routed = MssqlTarget { host, port, ..target.clone() };
                open(&routed).await
            }
            other => other,
        }
    };
    match tokio::time::timeout(deadline, attempt).await {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(err)) => {
            let may_pass = matches!(err, tiberius::error::Error::Io { .. });
            Err(ConnectError { reason: err.to_string(), may_pass })
        }
        Err(_) => Err(ConnectError {
            reason: format!("no answer within {} s (weir.limits.connectTimeoutSecs)", deadline.as_secs()),
            may_pass: true,
        }),
    }
}

async fn open(target: &MssqlTarget) -> tiberius::Result<TdsClient> {
    let config = target.config().map_err(|m| tiberius::error::Error::Conversion(m.into()))?;
    let tcp = TcpStream::connect((target.host.as_str(), target.port)).await?;
    tcp.set_nodelay(true)?;
    Client::connect(config, tcp.compat_write()).await
}

/// A connection handed to a plugin; back to the pool when dropped, unless
/// a statement on it failed.
pub struct MssqlConnection {
    client: Option<TdsClient>,
    pool: Arc<Inner>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for MssqlConnection {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            self.pool.put_back(client);
        }
    }
}

impl MssqlConnection {
    /// Checks, sends and reads one statement. Passing a cap or the
    /// deadline is an error, never a silent truncation.
    pub async fn query(
        &mut self,
        statement: &str,
        params: &[SqlValue],
        limits: &QueryLimits,
    ) -> Result<RowSet, Failure> {
        read_only::check(statement)
            .map_err(|reason| failure(ErrorKind::Denied, format!("statement refused: {reason}")))?;
        // A new session when the last one was dropped after a failure.
        let client = match self.client.take() {
            Some(client) => client,
            None => connect(&self.pool.target, &self.pool.limits)
                .await
                .map_err(|e| failure(ErrorKind::Transient, format!("reconnecting: {}", e.reason)))?,
        };
        let mut client = client;
        let read = tokio::time::timeout(limits.statement_timeout, fetch(&mut client, statement, params, limits)).await;
        match read {
            Ok(Ok(rows)) => {
                self.client = Some(client);
                Ok(rows)
            }
            // The client is dropped with the stream in an unknown state.
            Ok(Err(failure)) => Err(failure),
            Err(_) => Err(failure(
                ErrorKind::Transient,
                format!(
                    "statement timeout: no result after {} s (weir.limits.statementTimeoutSecs)",
                    limits.statement_timeout.as_secs()
                ),
            )),
        }
    }
}

async fn fetch(
    client: &mut TdsClient,
    statement: &str,
    params: &[SqlValue],
    limits: &QueryLimits,
) -> Result<RowSet, Failure> {
    let mut stream = values::bind(statement, params).query(client).await.map_err(values::to_failure)?;
    let mut budget = ResultBudget::new(limits);
    let mut columns = Vec::new();
    while let Some(item) = stream.try_next().await.map_err(values::to_failure)? {
        match item {
            // The check admits one statement, so one result set.
            QueryItem::Metadata(meta) if meta.result_index() == 0 => {
                columns = meta
                    .columns()
                    .iter()
                    .map(|c| ColumnInfo {
                        name: c.name().to_string(),
                        type_name: values::type_name(c.column_type()).to_string(),
                    })
                    .collect();
            }
            QueryItem::Row(row) if row.result_index() == 0 => {
                let decoded = row
                    .cells()
                    .map(|(column, data)| values::decode(column, data))
                    .collect::<Result<Vec<_>, Failure>>()?;
                budget.push(decoded)?;
            }
            _ => {}
        }
    }
    Ok(RowSet { columns, rows: budget.into_rows() })
}
