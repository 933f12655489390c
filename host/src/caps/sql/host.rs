use super::{SqlConnection, SqlSource, failure};
use crate::runtime::bindings::types::{ErrorKind, Failure};
use crate::runtime::bindings::weir::connector::sql::{Host, HostConnection, RowSet, SqlValue};
use crate::runtime::instance::HostState;
use wasmtime::component::Resource;

impl Host for HostState {
    async fn open(&mut self, label: String) -> wasmtime::Result<Result<Resource<SqlConnection>, Failure>> {
        let grants = self.caps.grants.sql.clone();
        let plugin = self.caps.grants.plugin.clone();
        let source = match grants.source(&label) {
            Ok(source) => source,
            Err(reason) => {
                tracing::warn!(plugin = %plugin, label = %label, "denied a connection: {reason}");
                return Ok(Err(failure(ErrorKind::Denied, reason)));
            }
        };
        if self.caps.sql.open >= grants.limits.max_open {
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
                let message = self.caps.grants.redactor.redact(&err);
                return Ok(Err(failure(ErrorKind::Transient, format!("connection `{label}`: {message}"))));
            }
        };
        self.caps.sql.open += 1;
        Ok(Ok(self.table.push(conn)?))
    }
}

impl HostConnection for HostState {
    async fn query(
        &mut self,
        conn: Resource<SqlConnection>,
        statement: String,
        params: Vec<SqlValue>,
    ) -> wasmtime::Result<Result<RowSet, Failure>> {
        let grants = self.caps.grants.clone();
        self.caps.sql.queries += 1;
        let conn = self.table.get_mut(&conn)?;
        let result = conn.query(&statement, &params, &grants.sql.limits).await;
        Ok(result.map_err(|mut f| {
            f.message = grants.redactor.redact(&f.message);
            f
        }))
    }

    async fn engine(&mut self, conn: Resource<SqlConnection>) -> wasmtime::Result<String> {
        Ok(self.table.get(&conn)?.engine().to_string())
    }

    async fn drop(&mut self, conn: Resource<SqlConnection>) -> wasmtime::Result<()> {
        self.table.delete(conn)?;
        self.caps.sql.open = self.caps.sql.open.saturating_sub(1);
        Ok(())
    }
}
