//! The WIT `sql` interface, on one instance's [`SqlState`].

use super::{SqlConnection, SqlSource, SqlState, failure};
use crate::contract::types::{ErrorKind, Failure};
use crate::contract::weir::connector::sql::{Connection, Host, HostConnection, RowSet, SqlValue};
use wasmtime::component::Resource;

impl Host for SqlState {
    async fn open(&mut self, label: String) -> wasmtime::Result<Result<Resource<Connection>, Failure>> {
        let state = self;
        let grants = state.grants.clone();
        let source = match grants.source(&label) {
            Ok(source) => source,
            Err(reason) => {
                tracing::warn!(plugin = %state.plugin, label = %label, "denied a connection: {reason}");
                return Ok(Err(failure(ErrorKind::Denied, reason)));
            }
        };
        if state.open.len() >= grants.limits.max_open as usize {
            return Ok(Err(failure(
                ErrorKind::Denied,
                format!("this instance already holds {} connections (weir.limits.maxHandles)", grants.limits.max_open),
            )));
        }
        let acquired = match source {
            SqlSource::Postgres(source) => source.acquire().await.map(SqlConnection::Postgres),
            SqlSource::Sqlite(pool) => pool.acquire().await.map(SqlConnection::Sqlite).map_err(|e| e.to_string()),
            SqlSource::Mssql(pool) => pool.acquire().await.map(|c| SqlConnection::Mssql(Box::new(c))),
        };
        let conn = match acquired {
            Ok(conn) => conn,
            Err(err) => {
                let message = state.redactor.redact(&err);
                return Ok(Err(failure(ErrorKind::Transient, format!("connection `{label}`: {message}"))));
            }
        };
        // Handles are never reused within an instance, so a stale one
        // cannot reach another connection.
        let handle = state.next_handle;
        state.next_handle = handle.checked_add(1).ok_or_else(|| wasmtime::format_err!("SQL handles exhausted"))?;
        state.open.insert(handle, conn);
        Ok(Ok(Resource::new_own(handle)))
    }
}

impl HostConnection for SqlState {
    async fn query(
        &mut self,
        conn: Resource<Connection>,
        statement: String,
        params: Vec<SqlValue>,
    ) -> wasmtime::Result<Result<RowSet, Failure>> {
        let state = self;
        let grants = state.grants.clone();
        let redactor = state.redactor.clone();
        state.queries += 1;
        let result = state.connection(&conn)?.query(&statement, &params, &grants.limits).await;
        Ok(result.map_err(|mut f| {
            f.message = redactor.redact(&f.message);
            f
        }))
    }

    async fn engine(&mut self, conn: Resource<Connection>) -> wasmtime::Result<String> {
        Ok(self.connection(&conn)?.engine().to_string())
    }

    async fn drop(&mut self, conn: Resource<Connection>) -> wasmtime::Result<()> {
        if let Some(mut conn) = self.open.remove(&conn.rep()) {
            conn.settle().await;
        }
        Ok(())
    }
}

impl SqlState {
    /// The connection behind a handle. wasmtime only hands over handles
    /// the guest owns, so a miss is the host's fault: a trap, not a value.
    fn connection(&mut self, conn: &Resource<Connection>) -> wasmtime::Result<&mut SqlConnection> {
        self.open.get_mut(&conn.rep()).ok_or_else(|| wasmtime::format_err!("no SQL connection {}", conn.rep()))
    }
}
