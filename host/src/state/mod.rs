//! The run state store: what a run must keep outside memory. Today that is
//! the deferred records (foreign keys, lineage) waiting for phase 2, and
//! the phase-1 documents a sink must send again with them (a table's
//! Create* request, re-sent with its foreign keys). A run of any size holds
//! them on disk, and a finalize step in another process can apply them
//! later.
//!
//! Two engines, one set of queries: a SQLite file (`weir.statePath`, else
//! `state.db` in the user's state directory, [`StateStore::default_path`])
//! for runs on one machine, or a PostgreSQL database (`weir.stateStore:
//! postgres://...`) that every process of a run shares, pods on other
//! machines included. Records are kept per run and removed once phase 2
//! has applied them.

mod process;
mod schema;

use crate::model::Relation;
use process::Process;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqlitePool, SqlitePoolOptions};
use sqlx::{Connection, QueryBuilder, Row};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;
use thiserror::Error;

use crate::sqlite_file::{self, WRITE};

#[derive(Debug, Error)]
pub enum StateError {
    #[error("state store {path}: {source}")]
    Open { path: String, source: sqlx::Error },
    #[error("state store {path}: {source}")]
    Query { path: String, source: sqlx::Error },
    #[error("state store {path}: a stored record is not readable: {reason}")]
    Corrupt { path: String, reason: String },
    #[error("state store {path}: {reason}")]
    Unusable { path: String, reason: String },
}

impl StateError {
    /// Whether the same work may succeed later (the store busy or gone).
    pub fn may_pass(&self) -> bool {
        match self {
            StateError::Open { source, .. } | StateError::Query { source, .. } => {
                crate::retry::sqlx_error_may_pass(source)
            }
            StateError::Corrupt { .. } | StateError::Unusable { .. } => false,
        }
    }
}

/// Rows per insert: SQLite caps a statement's bound parameters.
const ROWS_PER_INSERT: usize = 500;

/// Sessions one process holds on a PostgreSQL store: its writes come from
/// the sink pipeline's workers and phase 2, a few at a time.
const PG_SESSIONS: u32 = 4;

/// How long opening a PostgreSQL store waits for an answer.
const PG_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// What differs between the engines beyond the shared SQL.
struct Dialect {
    /// How a write transaction begins.
    begin_write: &'static str,
    /// The current time as an ISO 8601 UTC string.
    now: &'static str,
    /// The current time in milliseconds since the epoch: leases are read
    /// against the store's one clock, not each process's.
    now_ms: &'static str,
}

const SQLITE: Dialect = Dialect {
    begin_write: WRITE,
    now: "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
    now_ms: "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
};
const POSTGRES: Dialect = Dialect {
    begin_write: "BEGIN",
    now: r#"to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"#,
    now_ms: "CAST(extract(epoch FROM clock_timestamp()) * 1000 AS BIGINT)",
};

/// Runs `$body` with `$pool` bound to the store's pool and `$dialect` to
/// its engine's [`Dialect`]: each method is written once, and compiled for
/// each engine.
macro_rules! on_pool {
    ($store:expr, |$pool:ident, $dialect:ident| $body:expr) => {
        match &$store.pool {
            crate::state::Pool::Sqlite($pool) => {
                let $dialect = &crate::state::SQLITE;
                let _ = $dialect;
                $body
            }
            crate::state::Pool::Postgres($pool) => {
                let $dialect = &crate::state::POSTGRES;
                let _ = $dialect;
                $body
            }
        }
    };
}

// After the macro, which the shard queries use too.
mod shards;

pub use shards::{Claim, NewShard, ShardState};

pub struct StateStore {
    pool: Pool,
    /// The file, or the URL without its password: what errors name.
    shown: String,
    /// The next sequence number per run (SQLite only, where one process
    /// writes a run's records). Kept here so that a write transaction
    /// never starts by reading: several runs share one file, and a read
    /// that turns into a write cannot wait for another writer.
    next_seq: tokio::sync::Mutex<HashMap<String, i64>>,
}

impl StateStore {
    /// `$WEIR_STATE_DIR/state.db`, else under `$XDG_STATE_HOME/weir`, else
    /// `~/.local/state/weir`, else the temporary directory.
    pub fn default_path() -> PathBuf {
        let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
        env("WEIR_STATE_DIR")
            .or_else(|| env("XDG_STATE_HOME").map(|d| d.join("weir")))
            .or_else(|| env("HOME").map(|d| d.join(".local/state/weir")))
            .unwrap_or_else(|| std::env::temp_dir().join("weir-state"))
            .join("state.db")
    }

    /// The SQLite store in `path`, created if missing.
    pub async fn open(path: &Path) -> Result<StateStore, StateError> {
        let err = |source| StateError::Open { path: path.display().to_string(), source };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| err(sqlx::Error::Io(e)))?;
        }
        // Switching a new file to WAL and creating the tables take locks
        // SQLite's busy timeout does not wait for.
        let pool = sqlite_file::retry_busy(|| StateStore::connect_sqlite(path)).await.map_err(err)?;
        Ok(StateStore { pool: Pool::Sqlite(pool), shown: path.display().to_string(), next_seq: Default::default() })
    }

    async fn connect_sqlite(path: &Path) -> Result<SqlitePool, sqlx::Error> {
        let pool = SqlitePoolOptions::new().max_connections(1).connect_with(sqlite_file::options(path, true)).await?;
        sqlx::raw_sql(schema::SQLITE).execute(&pool).await?;
        Ok(pool)
    }

    /// The PostgreSQL store at `url` (`postgres://user:password@host/db`):
    /// its schema is created, or checked, on first use. The role needs
    /// `CREATE` on the database the first time, and to read and write the
    /// `weir_state` schema's tables after that.
    pub async fn open_postgres(url: &str) -> Result<StateStore, StateError> {
        let shown = shown_url(url);
        let err = |source| StateError::Open { path: shown.clone(), source };
        let options = PgConnectOptions::from_str(url)
            .map_err(err)?
            .application_name("weir state store")
            .options([("search_path", schema::PG_SCHEMA)]);
        let setup = async {
            let mut conn = sqlx::PgConnection::connect_with(&options).await?;
            let version = migrate(&mut conn).await;
            let _ = conn.close().await;
            version
        };
        let version = match tokio::time::timeout(PG_CONNECT_TIMEOUT, setup).await {
            Ok(outcome) => outcome.map_err(err)?,
            Err(_) => return Err(err(sqlx::Error::PoolTimedOut)),
        };
        if version > schema::VERSION {
            return Err(StateError::Unusable {
                path: shown,
                reason: format!(
                    "its schema is version {version}, newer than this weir's ({}): run a newer weir",
                    schema::VERSION
                ),
            });
        }
        let pool = PgPoolOptions::new()
            .max_connections(PG_SESSIONS)
            .acquire_timeout(PG_CONNECT_TIMEOUT)
            .connect_lazy_with(options);
        Ok(StateStore { pool: Pool::Postgres(pool), shown, next_seq: Default::default() })
    }

    /// The file, or the URL without its password.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    fn query_error(&self) -> impl Fn(sqlx::Error) -> StateError + '_ {
        |source| StateError::Query { path: self.shown.clone(), source }
    }

    fn corrupt(&self, reason: String) -> StateError {
        StateError::Corrupt { path: self.shown.clone(), reason }
    }

    /// Keeps `records` for `run_id`, after the ones already kept.
    pub async fn defer(&self, run_id: &str, records: &[Relation]) -> Result<(), StateError> {
        if records.is_empty() {
            return Ok(());
        }
        let row_of = |r: &Relation| {
            (r.kind(), r.owner().to_string(), r.target().to_string(), serde_json::to_string(r).unwrap_or_default())
        };
        match &self.pool {
            Pool::Sqlite(pool) => {
                let mut seqs = self.next_seq.lock().await;
                let next = match seqs.get(run_id) {
                    Some(next) => *next,
                    None => sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM deferred WHERE run_id = $1")
                        .bind(run_id)
                        .fetch_one(pool)
                        .await
                        .map_err(self.query_error())?,
                };
                let mut tx = pool.begin_with(SQLITE.begin_write).await.map_err(self.query_error())?;
                for (n, chunk) in records.chunks(ROWS_PER_INSERT).enumerate() {
                    let first = next + (n * ROWS_PER_INSERT) as i64;
                    let mut insert =
                        QueryBuilder::new("INSERT INTO deferred (run_id, seq, kind, owner, target, record) ");
                    insert.push_values(chunk.iter().enumerate(), |mut row, (i, r)| {
                        let (kind, owner, target, record) = row_of(r);
                        row.push_bind(run_id)
                            .push_bind(first + i as i64)
                            .push_bind(kind)
                            .push_bind(owner)
                            .push_bind(target)
                            .push_bind(record);
                    });
                    insert.build().execute(&mut *tx).await.map_err(self.query_error())?;
                }
                tx.commit().await.map_err(self.query_error())?;
                seqs.insert(run_id.to_string(), next + records.len() as i64);
            }
            Pool::Postgres(pool) => {
                let mut tx = pool.begin().await.map_err(self.query_error())?;
                for chunk in records.chunks(ROWS_PER_INSERT) {
                    let mut insert = QueryBuilder::new("INSERT INTO deferred (run_id, kind, owner, target, record) ");
                    insert.push_values(chunk, |mut row, r| {
                        let (kind, owner, target, record) = row_of(r);
                        row.push_bind(run_id).push_bind(kind).push_bind(owner).push_bind(target).push_bind(record);
                    });
                    insert.build().execute(&mut *tx).await.map_err(self.query_error())?;
                }
                tx.commit().await.map_err(self.query_error())?;
            }
        }
        Ok(())
    }

    /// Up to `limit` records of `run_id` after sequence number `after`, in
    /// the order they were kept, with their sequence numbers.
    pub async fn deferred(&self, run_id: &str, after: i64, limit: usize) -> Result<Vec<(i64, Relation)>, StateError> {
        const PAGE: &str = "SELECT seq, record FROM deferred WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT $3";
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows: Vec<(i64, String)> = on_pool!(self, |pool, _d| {
            let rows = sqlx::query(PAGE).bind(run_id).bind(after).bind(limit).fetch_all(pool).await;
            let rows = rows.map_err(self.query_error())?;
            rows.iter()
                .map(|row| Ok((row.try_get("seq")?, row.try_get("record")?)))
                .collect::<Result<_, sqlx::Error>>()
                .map_err(self.query_error())?
        });
        rows.into_iter()
            .map(|(seq, text)| {
                let record = serde_json::from_str(&text)
                    .map_err(|e| self.corrupt(format!("record {seq} of run {run_id}: {e}")))?;
                Ok((seq, record))
            })
            .collect()
    }

    pub async fn count(&self, run_id: &str) -> Result<usize, StateError> {
        const COUNT: &str = "SELECT count(*) FROM deferred WHERE run_id = $1";
        let n: i64 = on_pool!(self, |pool, _d| sqlx::query_scalar(COUNT)
            .bind(run_id)
            .fetch_one(pool)
            .await
            .map_err(self.query_error())?);
        Ok(usize::try_from(n).unwrap_or_default())
    }

    /// Keeps phase-1 documents (FQN, body) of `run_id` for phase 2.
    pub async fn keep_documents(&self, run_id: &str, docs: &[(&str, &serde_json::Value)]) -> Result<(), StateError> {
        let rows: Vec<(String, String)> = docs.iter().map(|(fqn, body)| (fqn.to_string(), body.to_string())).collect();
        self.upsert_by_fqn(
            "INSERT INTO document (run_id, fqn, body) ",
            " ON CONFLICT (run_id, fqn) DO UPDATE SET body = excluded.body",
            run_id,
            &rows,
        )
        .await
    }

    /// The kept documents of `run_id` among `fqns`, by FQN.
    pub async fn documents(
        &self,
        run_id: &str,
        fqns: &[&str],
    ) -> Result<HashMap<String, serde_json::Value>, StateError> {
        self.json_by_fqn("SELECT fqn, body AS value FROM document WHERE run_id = ", run_id, fqns).await
    }

    /// Keeps the column names of tables `run_id` wrote.
    pub async fn keep_columns(&self, run_id: &str, tables: &[(String, Vec<String>)]) -> Result<(), StateError> {
        let rows: Vec<(String, String)> = tables
            .iter()
            .map(|(fqn, columns)| (fqn.clone(), serde_json::to_string(columns).unwrap_or_default()))
            .collect();
        self.upsert_by_fqn(
            "INSERT INTO table_columns (run_id, fqn, columns) ",
            " ON CONFLICT (run_id, fqn) DO UPDATE SET columns = excluded.columns",
            run_id,
            &rows,
        )
        .await
    }

    /// The column names of those of `fqns` that `run_id` wrote, by FQN.
    pub async fn columns(&self, run_id: &str, fqns: &[&str]) -> Result<HashMap<String, Vec<String>>, StateError> {
        self.json_by_fqn("SELECT fqn, columns AS value FROM table_columns WHERE run_id = ", run_id, fqns).await
    }

    /// Inserts (run, FQN, text) rows, replacing those already kept.
    async fn upsert_by_fqn(
        &self,
        insert_into: &'static str,
        on_conflict: &'static str,
        run_id: &str,
        rows: &[(String, String)],
    ) -> Result<(), StateError> {
        if rows.is_empty() {
            return Ok(());
        }
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin_write).await.map_err(self.query_error())?;
            for chunk in rows.chunks(ROWS_PER_INSERT) {
                let mut insert = QueryBuilder::new(insert_into);
                insert.push_values(chunk, |mut row, (fqn, text)| {
                    row.push_bind(run_id).push_bind(fqn.as_str()).push_bind(text.as_str());
                });
                insert.push(on_conflict);
                insert.build().execute(&mut *tx).await.map_err(self.query_error())?;
            }
            tx.commit().await.map_err(self.query_error())?;
        });
        Ok(())
    }

    /// The JSON column `value` of the rows `select` (which ends in `run_id =
    /// `) finds for `fqns`, by FQN.
    async fn json_by_fqn<T: serde::de::DeserializeOwned>(
        &self,
        select_where_run_is: &'static str,
        run_id: &str,
        fqns: &[&str],
    ) -> Result<HashMap<String, T>, StateError> {
        let mut texts: Vec<(String, String)> = Vec::with_capacity(fqns.len());
        for chunk in fqns.chunks(ROWS_PER_INSERT) {
            on_pool!(self, |pool, _d| {
                let mut select = QueryBuilder::new(select_where_run_is);
                select.push_bind(run_id).push(" AND fqn IN (");
                let mut list = select.separated(", ");
                for fqn in chunk {
                    list.push_bind(*fqn);
                }
                select.push(")");
                for row in select.build().fetch_all(pool).await.map_err(self.query_error())? {
                    let pair = (row.try_get("fqn"), row.try_get("value"));
                    texts.push((pair.0.map_err(self.query_error())?, pair.1.map_err(self.query_error())?));
                }
            });
        }
        texts
            .into_iter()
            .map(|(fqn, text)| {
                let value =
                    serde_json::from_str(&text).map_err(|e| self.corrupt(format!("{fqn} of run {run_id}: {e}")))?;
                Ok((fqn, value))
            })
            .collect()
    }

    /// Records that `run_id` of `service` runs in this process, so a later
    /// run can tell its records from those of a run that died.
    pub async fn begin_run(&self, run_id: &str, service: &str) -> Result<(), StateError> {
        let me = Process::current();
        on_pool!(self, |pool, dialect| {
            let insert = format!(
                "INSERT INTO run (run_id, service, host, pid, process_start, started_at)
                 VALUES ($1, $2, $3, $4, $5, {})
                 ON CONFLICT (run_id) DO UPDATE SET service = excluded.service, host = excluded.host,
                     pid = excluded.pid, process_start = excluded.process_start, started_at = excluded.started_at",
                dialect.now
            );
            sqlx::query(sqlx::AssertSqlSafe(insert))
                .bind(run_id)
                .bind(service)
                .bind(&me.host)
                .bind(i64::from(me.pid))
                .bind(&me.start)
                .execute(pool)
                .await
                .map_err(self.query_error())?;
        });
        Ok(())
    }

    /// Forgets a run's records and documents once phase 2 has applied them,
    /// and those of earlier runs of the same service whose process is gone
    /// (killed before their phase 2), or of runs that left no record of
    /// themselves (weir before 0.2). Returns what was purged, to warn about.
    pub async fn finish_run(&self, run_id: &str, service: &str) -> Result<Vec<Purged>, StateError> {
        const OTHERS: &str = "SELECT run_id, host, pid, process_start FROM run WHERE service = $1 AND run_id <> $2";
        const UNRECORDED: &str = "SELECT DISTINCT run_id FROM deferred WHERE run_id NOT IN (SELECT run_id FROM run)";
        const RECORDS: &str = "SELECT count(*) FROM deferred WHERE run_id = $1";
        const FORGET: [&str; 5] = [
            "DELETE FROM deferred WHERE run_id = $1",
            "DELETE FROM document WHERE run_id = $1",
            "DELETE FROM table_columns WHERE run_id = $1",
            "DELETE FROM run WHERE run_id = $1",
            "DELETE FROM shard WHERE run_id = $1",
        ];
        let (others, unrecorded): (Vec<(String, Process)>, Vec<String>) = on_pool!(self, |pool, _d| {
            let rows = sqlx::query(OTHERS).bind(service).bind(run_id).fetch_all(pool).await;
            let mut others = Vec::new();
            for row in rows.map_err(self.query_error())? {
                let read = || -> Result<(String, Process), sqlx::Error> {
                    let pid: i64 = row.try_get("pid")?;
                    let process = Process {
                        host: row.try_get("host")?,
                        pid: u32::try_from(pid).unwrap_or(0),
                        start: row.try_get("process_start")?,
                    };
                    Ok((row.try_get("run_id")?, process))
                };
                others.push(read().map_err(self.query_error())?);
            }
            let unrecorded = sqlx::query_scalar(UNRECORDED).fetch_all(pool).await.map_err(self.query_error())?;
            (others, unrecorded)
        });
        let dead = others.into_iter().filter(|(_, process)| !process.alive()).map(|(id, _)| id);
        let forget: Vec<String> = std::iter::once(run_id.to_string())
            .chain(dead)
            .chain(unrecorded.into_iter().filter(|r| r != run_id))
            .collect();
        let mut purged = Vec::new();
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin_write).await.map_err(self.query_error())?;
            for id in &forget {
                let records: i64 =
                    sqlx::query_scalar(RECORDS).bind(id).fetch_one(&mut *tx).await.map_err(self.query_error())?;
                for statement in FORGET {
                    sqlx::query(statement).bind(id).execute(&mut *tx).await.map_err(self.query_error())?;
                }
                if id != run_id && records > 0 {
                    purged.push(Purged { run_id: id.clone(), records: usize::try_from(records).unwrap_or(0) });
                }
            }
            tx.commit().await.map_err(self.query_error())?;
        });
        Ok(purged)
    }

    pub async fn close(&self) {
        on_pool!(self, |pool, _d| pool.close().await)
    }
}

/// Creates or checks the PostgreSQL schema, one session at a time, and
/// returns the version the store is at.
async fn migrate(conn: &mut sqlx::PgConnection) -> Result<i64, sqlx::Error> {
    let mut tx = conn.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(schema::PG_SCHEMA_LOCK).execute(&mut *tx).await?;
    sqlx::raw_sql(schema::POSTGRES).execute(&mut *tx).await?;
    let version: Option<i64> =
        sqlx::query_scalar("SELECT max(version) FROM weir_state.schema_version").fetch_one(&mut *tx).await?;
    // Every version so far only adds tables, which the script above
    // created: an older store is brought up by recording the new version.
    let version = match version {
        Some(version) if version >= schema::VERSION => version,
        Some(_) => {
            sqlx::query("UPDATE weir_state.schema_version SET version = $1")
                .bind(schema::VERSION)
                .execute(&mut *tx)
                .await?;
            schema::VERSION
        }
        None => {
            sqlx::query("INSERT INTO weir_state.schema_version (version) VALUES ($1)")
                .bind(schema::VERSION)
                .execute(&mut *tx)
                .await?;
            schema::VERSION
        }
    };
    tx.commit().await?;
    Ok(version)
}

/// A PostgreSQL URL as errors and logs may show it: without its password
/// or query string.
pub fn shown_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(parsed) => {
            let user = match parsed.username() {
                "" => String::new(),
                user => format!("{user}@"),
            };
            let host = parsed.host_str().unwrap_or_default();
            let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
            format!("{}://{user}{host}{port}{}", parsed.scheme(), parsed.path())
        }
        Err(_) => "(a PostgreSQL URL that does not parse)".to_string(),
    }
}

/// Records of a run that died before its phase 2, removed by a later one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purged {
    pub run_id: String,
    pub records: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fk(i: usize) -> Relation {
        Relation::ForeignKey {
            table: format!("s.d.x.t{i}"),
            name: format!("fk{i}"),
            columns: vec!["a".into()],
            referred_table: "s.d.x.parent".into(),
            referred_columns: vec!["s.d.x.parent.id".into()],
        }
    }

    /// Where a test's store lives: a SQLite file in a temporary directory,
    /// or a PostgreSQL database made for the test on the server the tests
    /// use (`WEIR_TEST_PG_URL`) and dropped after it.
    pub(super) enum Place {
        Sqlite(tempfile::TempDir),
        Postgres { admin: String, name: String, url: String },
    }

    impl Place {
        async fn sqlite() -> Place {
            Place::Sqlite(tempfile::tempdir().unwrap())
        }

        async fn postgres(test: &str) -> Place {
            let admin = std::env::var("WEIR_TEST_PG_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
            let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
            let name = format!("weir_state_{test}_{}_{nanos}", std::process::id());
            let mut conn = sqlx::PgConnection::connect(&admin)
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL at {admin} (set WEIR_TEST_PG_URL): {e}"));
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\""))).execute(&mut conn).await.unwrap();
            let _ = conn.close().await;
            let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap_or_else(|| admin.clone());
            Place::Postgres { url: format!("{base}/{name}"), admin, name }
        }

        /// Both places, for a test that must hold on either engine.
        pub(super) async fn both(test: &str) -> [Place; 2] {
            [Place::sqlite().await, Place::postgres(test).await]
        }

        /// A new handle on the store, as another process would open it.
        pub(super) async fn open(&self) -> StateStore {
            match self {
                Place::Sqlite(dir) => StateStore::open(&dir.path().join("state/state.db")).await.unwrap(),
                Place::Postgres { url, .. } => StateStore::open_postgres(url).await.unwrap(),
            }
        }
    }

    impl Drop for Place {
        fn drop(&mut self) {
            let Place::Postgres { admin, name, .. } = self else { return };
            let (admin, name) = (admin.clone(), name.clone());
            // Its own thread and runtime: a test's runtime may be gone.
            let dropped = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                runtime.block_on(async {
                    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
                    let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    sqlx::raw_sql(sqlx::AssertSqlSafe(drop)).execute(&mut conn).await.unwrap();
                })
            });
            let _ = dropped.join();
        }
    }

    #[tokio::test]
    async fn records_survive_the_store_in_order_and_per_run() {
        for place in Place::both("order").await {
            let store = place.open().await;
            store.begin_run("run-1", "svc").await.unwrap();
            store.begin_run("run-2", "svc").await.unwrap();
            let lineage = Relation::Lineage {
                from: "s.d.x.a".into(),
                to: "s.d.x.v".into(),
                body: json!({ "edge": { "fromEntity": { "type": "table", "fqn": "s.d.x.a" } } }),
            };
            let first: Vec<Relation> = (0..700).map(fk).collect();
            store.defer("run-1", &first).await.unwrap();
            store.defer("run-1", std::slice::from_ref(&lineage)).await.unwrap();
            store.defer("run-2", &[fk(9)]).await.unwrap();
            store.keep_documents("run-1", &[("s.d.x.t0", &json!({ "v": 1 }))]).await.unwrap();
            store.keep_documents("run-1", &[("s.d.x.t0", &json!({ "v": 2 }))]).await.unwrap();
            store.keep_columns("run-1", &[("s.d.x.t0".into(), vec!["a".into(), "b".into()])]).await.unwrap();
            store.close().await;

            // Another process (here: another handle) reads them back.
            let store = place.open().await;
            let shown = store.shown().to_string();
            assert_eq!(store.count("run-1").await.unwrap(), 701, "{shown}");
            let mut seen = Vec::new();
            let mut after = 0;
            loop {
                let page = store.deferred("run-1", after, 300).await.unwrap();
                let Some((last, _)) = page.last() else { break };
                after = *last;
                seen.extend(page.into_iter().map(|(_, r)| r));
            }
            assert_eq!(seen.len(), 701, "{shown}");
            assert_eq!(seen[0].owner(), "s.d.x.t0");
            assert_eq!(seen[699].owner(), "s.d.x.t699");
            assert_eq!(seen[700].kind(), "lineage");
            assert_eq!(seen[700].body(), lineage.body());
            let docs = store.documents("run-1", &["s.d.x.t0", "s.d.x.none"]).await.unwrap();
            assert_eq!(docs.len(), 1, "{shown}");
            assert_eq!(docs["s.d.x.t0"], json!({ "v": 2 }), "the later document replaces the earlier: {shown}");
            let columns = store.columns("run-1", &["s.d.x.t0"]).await.unwrap();
            assert_eq!(columns["s.d.x.t0"], vec!["a".to_string(), "b".to_string()], "{shown}");
            assert_eq!(store.finish_run("run-1", "svc").await.unwrap(), vec![], "{shown}");
            assert_eq!(store.count("run-1").await.unwrap(), 0, "{shown}");
            assert!(store.documents("run-1", &["s.d.x.t0"]).await.unwrap().is_empty(), "{shown}");
            assert_eq!(store.count("run-2").await.unwrap(), 1, "a run still going is left alone: {shown}");
        }
    }

    #[tokio::test]
    async fn a_dead_runs_records_are_purged_when_a_later_run_of_its_service_finishes() {
        for place in Place::both("purge").await {
            let store = place.open().await;
            for (run, service) in [("killed", "svc"), ("other-service", "elsewhere"), ("now", "svc")] {
                store.begin_run(run, service).await.unwrap();
                store.defer(run, &[fk(1), fk(2)]).await.unwrap();
            }
            // The killed run's process is gone (as is the other service's).
            const KILL: &str = "UPDATE run SET pid = 2147483000 WHERE run_id IN ('killed', 'other-service')";
            on_pool!(store, |pool, _d| {
                sqlx::query(KILL).execute(pool).await.unwrap();
            });
            // A weir that kept no run record left these.
            store.defer("unrecorded", &[fk(3)]).await.unwrap();
            let purged = store.finish_run("now", "svc").await.unwrap();
            assert_eq!(
                purged,
                vec![
                    Purged { run_id: "killed".into(), records: 2 },
                    Purged { run_id: "unrecorded".into(), records: 1 }
                ],
                "{}",
                store.shown()
            );
            assert_eq!(store.count("killed").await.unwrap(), 0);
            assert_eq!(store.count("other-service").await.unwrap(), 2, "another service's run waits for its own");
            assert_eq!(store.count("now").await.unwrap(), 0);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn runs_sharing_one_store_do_not_lock_each_other_out() {
        for place in Place::both("share").await {
            let place = std::sync::Arc::new(place);
            let mut tasks = Vec::new();
            for run in 0..4 {
                let place = place.clone();
                tasks.push(tokio::spawn(async move {
                    // Each run its own handle, as separate processes would
                    // have: on PostgreSQL they also create the schema at once.
                    let store = place.open().await;
                    let run_id = format!("run-{run}");
                    for i in 0..25 {
                        store.defer(&run_id, &[fk(i), fk(i + 100)]).await.unwrap();
                        store.keep_documents(&run_id, &[("s.d.x.t", &json!({ "i": i }))]).await.unwrap();
                    }
                    store.count(&run_id).await.unwrap()
                }));
            }
            for task in tasks {
                assert_eq!(task.await.unwrap(), 50);
            }
        }
    }

    #[tokio::test]
    async fn a_postgres_store_of_a_newer_schema_is_refused_and_its_password_never_shown() {
        let place = Place::postgres("newer").await;
        let Place::Postgres { url, .. } = &place else { unreachable!() };
        let store = place.open().await;
        on_pool!(store, |pool, _d| {
            sqlx::query("UPDATE schema_version SET version = 99").execute(pool).await.unwrap();
        });
        store.close().await;
        let mut with_password = reqwest::Url::parse(url).unwrap();
        with_password.set_password(Some("Sekr3t-pw")).unwrap();
        let with_password = with_password.to_string();
        let err = StateStore::open_postgres(&with_password).await.err().expect("a newer schema is refused");
        let text = err.to_string();
        assert!(text.contains("version 99") && text.contains("newer weir"), "{text}");
        assert!(!text.contains("Sekr3t-pw"), "the password leaked: {text}");
        assert!(!err.may_pass(), "waiting will not fix it");

        let nobody = StateStore::open_postgres("postgres://postgres:Sekr3t-pw@127.0.0.1:1/x").await.err().unwrap();
        let text = nobody.to_string();
        assert!(text.contains("postgres://postgres@127.0.0.1:1/x"), "{text}");
        assert!(!text.contains("Sekr3t-pw"), "the password leaked: {text}");
        assert!(nobody.may_pass(), "a store nobody answers for may come back: {text}");
    }

    #[tokio::test]
    async fn a_postgres_store_of_an_older_schema_is_brought_up_to_date() {
        let place = Place::postgres("older").await;
        let store = place.open().await;
        on_pool!(store, |pool, _d| {
            sqlx::raw_sql("DROP TABLE shard; UPDATE schema_version SET version = 2").execute(pool).await.unwrap();
        });
        store.close().await;
        let store = place.open().await;
        store.plan_shards("run", &[]).await.unwrap();
        assert!(store.shards("run").await.unwrap().is_empty(), "the shard table is back");
        let version: i64 = on_pool!(store, |pool, _d| sqlx::query_scalar("SELECT max(version) FROM schema_version")
            .fetch_one(pool)
            .await
            .unwrap());
        assert_eq!(version, schema::VERSION);
    }

    #[test]
    fn a_shown_url_keeps_the_user_and_the_place_and_drops_the_password() {
        assert_eq!(
            shown_url("postgres://u:p%40ss@db.example:5433/state?sslmode=require"),
            "postgres://u@db.example:5433/state"
        );
        assert_eq!(shown_url("postgresql://db/state"), "postgresql://db/state");
        assert!(!shown_url("postgres://u:pw@[::1").contains("pw"));
    }
}
