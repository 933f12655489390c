//! The run state store: what a run must keep outside memory. Today that is
//! the deferred records (foreign keys, lineage) waiting for phase 2, and
//! the phase-1 documents a sink must send again with them (a table's
//! Create* request, re-sent with its foreign keys). A run of any size holds
//! them on disk, and a finalize step in another process can apply them
//! later.
//!
//! One SQLite file: `weir.statePath`, else `state.db` in the user's state
//! directory ([`StateStore::default_path`]). Records are kept per run and
//! removed once phase 2 has applied them.

use crate::model::Relation;
use sqlx::sqlite::{SqlitePool, SqlitePoolOptions};
use sqlx::{QueryBuilder, Row, Sqlite};
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StateError {
    #[error("state store {path}: {source}")]
    Open { path: String, source: sqlx::Error },
    #[error("state store {path}: {source}")]
    Query { path: String, source: sqlx::Error },
    #[error("state store {path}: a stored record is not readable: {reason}")]
    Corrupt { path: String, reason: String },
}

impl StateError {
    /// Whether the same work may succeed later (the store busy or gone).
    pub fn may_pass(&self) -> bool {
        match self {
            StateError::Open { source, .. } | StateError::Query { source, .. } => {
                crate::retry::sqlx_error_may_pass(source)
            }
            StateError::Corrupt { .. } => false,
        }
    }
}

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS deferred (
    run_id TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    kind   TEXT NOT NULL,
    owner  TEXT NOT NULL,
    target TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS document (
    run_id TEXT NOT NULL,
    fqn    TEXT NOT NULL,
    body   TEXT NOT NULL,
    PRIMARY KEY (run_id, fqn)
);
-- The column names of each table a run wrote, for checking the far end
-- of its foreign keys in phase 2.
CREATE TABLE IF NOT EXISTS table_columns (
    run_id  TEXT NOT NULL,
    fqn     TEXT NOT NULL,
    columns TEXT NOT NULL,
    PRIMARY KEY (run_id, fqn)
);
CREATE TABLE IF NOT EXISTS run (
    run_id        TEXT PRIMARY KEY,
    service       TEXT NOT NULL,
    host          TEXT NOT NULL,
    pid           INTEGER NOT NULL,
    -- when the process started (Linux /proc), so a reused pid is told apart
    process_start TEXT NOT NULL,
    started_at    TEXT NOT NULL
);
PRAGMA user_version = 2;
"#;

use crate::sqlite_file::{self, WRITE};

/// Rows per insert: SQLite caps a statement's bound parameters.
const ROWS_PER_INSERT: usize = 500;

pub struct StateStore {
    pool: SqlitePool,
    path: PathBuf,
    /// The next sequence number per run. Kept here so that a write
    /// transaction never starts by reading: several runs share one file,
    /// and a read that turns into a write cannot wait for another writer.
    next_seq: tokio::sync::Mutex<std::collections::HashMap<String, i64>>,
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

    pub async fn open(path: &Path) -> Result<StateStore, StateError> {
        let err = |source| StateError::Open { path: path.display().to_string(), source };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| err(sqlx::Error::Io(e)))?;
        }
        // Switching a new file to WAL and creating the tables take locks
        // SQLite's busy timeout does not wait for.
        let pool = sqlite_file::retry_busy(|| StateStore::connect(path)).await.map_err(err)?;
        Ok(StateStore { pool, path: path.to_path_buf(), next_seq: Default::default() })
    }

    async fn connect(path: &Path) -> Result<SqlitePool, sqlx::Error> {
        let pool = SqlitePoolOptions::new().max_connections(1).connect_with(sqlite_file::options(path, true)).await?;
        sqlx::raw_sql(SCHEMA).execute(&pool).await?;
        Ok(pool)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn query_error(&self) -> impl Fn(sqlx::Error) -> StateError + '_ {
        |source| StateError::Query { path: self.path.display().to_string(), source }
    }

    /// Keeps `records` for `run_id`, after the ones already kept.
    pub async fn defer(&self, run_id: &str, records: &[Relation]) -> Result<(), StateError> {
        if records.is_empty() {
            return Ok(());
        }
        let mut seqs = self.next_seq.lock().await;
        let next = match seqs.get(run_id) {
            Some(next) => *next,
            None => sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM deferred WHERE run_id = ?1")
                .bind(run_id)
                .fetch_one(&self.pool)
                .await
                .map_err(self.query_error())?,
        };
        let mut tx = self.pool.begin_with(WRITE).await.map_err(self.query_error())?;
        for (n, chunk) in records.chunks(ROWS_PER_INSERT).enumerate() {
            let first = next + (n * ROWS_PER_INSERT) as i64;
            let mut insert: QueryBuilder<Sqlite> =
                QueryBuilder::new("INSERT INTO deferred (run_id, seq, kind, owner, target, record) ");
            let rows = chunk.iter().enumerate().map(|(i, r)| (first + i as i64, r));
            insert.push_values(rows, |mut row, (seq, r)| {
                row.push_bind(run_id)
                    .push_bind(seq)
                    .push_bind(r.kind())
                    .push_bind(r.owner().to_string())
                    .push_bind(r.target().to_string())
                    .push_bind(serde_json::to_string(r).unwrap_or_default());
            });
            insert.build().execute(&mut *tx).await.map_err(self.query_error())?;
        }
        tx.commit().await.map_err(self.query_error())?;
        seqs.insert(run_id.to_string(), next + records.len() as i64);
        Ok(())
    }

    /// Up to `limit` records of `run_id` after sequence number `after`, in
    /// the order they were kept, with their sequence numbers.
    pub async fn deferred(&self, run_id: &str, after: i64, limit: usize) -> Result<Vec<(i64, Relation)>, StateError> {
        let rows = sqlx::query("SELECT seq, record FROM deferred WHERE run_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3")
            .bind(run_id)
            .bind(after)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(self.query_error())?;
        rows.iter()
            .map(|row| {
                let seq: i64 = row.try_get("seq").map_err(self.query_error())?;
                let text: String = row.try_get("record").map_err(self.query_error())?;
                let record = serde_json::from_str(&text).map_err(|e| StateError::Corrupt {
                    path: self.path.display().to_string(),
                    reason: format!("record {seq} of run {run_id}: {e}"),
                })?;
                Ok((seq, record))
            })
            .collect()
    }

    pub async fn count(&self, run_id: &str) -> Result<usize, StateError> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM deferred WHERE run_id = ?1")
            .bind(run_id)
            .fetch_one(&self.pool)
            .await
            .map_err(self.query_error())?;
        Ok(usize::try_from(n).unwrap_or_default())
    }

    /// Keeps phase-1 documents (FQN, body) of `run_id` for phase 2.
    pub async fn keep_documents(&self, run_id: &str, docs: &[(&str, &serde_json::Value)]) -> Result<(), StateError> {
        if docs.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin_with(WRITE).await.map_err(self.query_error())?;
        for chunk in docs.chunks(ROWS_PER_INSERT) {
            let mut insert: QueryBuilder<Sqlite> =
                QueryBuilder::new("INSERT OR REPLACE INTO document (run_id, fqn, body) ");
            insert.push_values(chunk, |mut row, (fqn, body)| {
                row.push_bind(run_id).push_bind(fqn.to_string()).push_bind(body.to_string());
            });
            insert.build().execute(&mut *tx).await.map_err(self.query_error())?;
        }
        tx.commit().await.map_err(self.query_error())?;
        Ok(())
    }

    /// The kept documents of `run_id` among `fqns`, by FQN.
    pub async fn documents(
        &self,
        run_id: &str,
        fqns: &[&str],
    ) -> Result<std::collections::HashMap<String, serde_json::Value>, StateError> {
        self.json_by_fqn("SELECT fqn, body AS value FROM document WHERE run_id = ", run_id, fqns).await
    }

    /// The JSON column `value` of the rows `select` (which ends in `run_id =
    /// `) finds for `fqns`, by FQN.
    async fn json_by_fqn<T: serde::de::DeserializeOwned>(
        &self,
        select_where_run_is: &'static str,
        run_id: &str,
        fqns: &[&str],
    ) -> Result<std::collections::HashMap<String, T>, StateError> {
        let mut found = std::collections::HashMap::with_capacity(fqns.len());
        for chunk in fqns.chunks(ROWS_PER_INSERT) {
            let mut select: QueryBuilder<Sqlite> = QueryBuilder::new(select_where_run_is);
            select.push_bind(run_id).push(" AND fqn IN (");
            let mut list = select.separated(", ");
            for fqn in chunk {
                list.push_bind(*fqn);
            }
            select.push(")");
            for row in select.build().fetch_all(&self.pool).await.map_err(self.query_error())? {
                let fqn: String = row.try_get("fqn").map_err(self.query_error())?;
                let text: String = row.try_get("value").map_err(self.query_error())?;
                let value = serde_json::from_str(&text).map_err(|e| StateError::Corrupt {
                    path: self.path.display().to_string(),
                    reason: format!("{fqn} of run {run_id}: {e}"),
                })?;
                found.insert(fqn, value);
            }
        }
        Ok(found)
    }

    /// Keeps the column names of tables `run_id` wrote.
    pub async fn keep_columns(&self, run_id: &str, tables: &[(String, Vec<String>)]) -> Result<(), StateError> {
        if tables.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin_with(WRITE).await.map_err(self.query_error())?;
        for chunk in tables.chunks(ROWS_PER_INSERT) {
            let mut insert: QueryBuilder<Sqlite> =
                QueryBuilder::new("INSERT OR REPLACE INTO table_columns (run_id, fqn, columns) ");
            insert.push_values(chunk, |mut row, (fqn, columns)| {
                row.push_bind(run_id).push_bind(fqn).push_bind(serde_json::to_string(columns).unwrap_or_default());
            });
            insert.build().execute(&mut *tx).await.map_err(self.query_error())?;
        }
        tx.commit().await.map_err(self.query_error())?;
        Ok(())
    }

    /// The column names of those of `fqns` that `run_id` wrote, by FQN.
    pub async fn columns(
        &self,
        run_id: &str,
        fqns: &[&str],
    ) -> Result<std::collections::HashMap<String, Vec<String>>, StateError> {
        self.json_by_fqn("SELECT fqn, columns AS value FROM table_columns WHERE run_id = ", run_id, fqns).await
    }

    /// Records that `run_id` of `service` runs in this process, so a later
    /// run can tell its records from those of a run that died.
    pub async fn begin_run(&self, run_id: &str, service: &str) -> Result<(), StateError> {
        let me = Process::current();
        sqlx::query(
            "INSERT OR REPLACE INTO run (run_id, service, host, pid, process_start, started_at)
             VALUES (?1, ?2, ?3, ?4, ?5, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
        )
        .bind(run_id)
        .bind(service)
        .bind(&me.host)
        .bind(i64::from(me.pid))
        .bind(&me.start)
        .execute(&self.pool)
        .await
        .map_err(self.query_error())?;
        Ok(())
    }

    /// Forgets a run's records and documents once phase 2 has applied them,
    /// and those of earlier runs of the same service whose process is gone
    /// (killed before their phase 2), or of runs that left no record of
    /// themselves (weir before 0.2). Returns what was purged, to warn about.
    pub async fn finish_run(&self, run_id: &str, service: &str) -> Result<Vec<Purged>, StateError> {
        let rows = sqlx::query("SELECT run_id, host, pid, process_start FROM run WHERE service = ?1 AND run_id <> ?2")
            .bind(service)
            .bind(run_id)
            .fetch_all(&self.pool)
            .await
            .map_err(self.query_error())?;
        let mut dead = Vec::new();
        for row in rows {
            let other = Process {
                host: row.try_get("host").map_err(self.query_error())?,
                pid: u32::try_from(row.try_get::<i64, _>("pid").map_err(self.query_error())?).unwrap_or(0),
                start: row.try_get("process_start").map_err(self.query_error())?,
            };
            if !other.alive() {
                dead.push(row.try_get::<String, _>("run_id").map_err(self.query_error())?);
            }
        }
        let unrecorded: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT run_id FROM deferred WHERE run_id NOT IN (SELECT run_id FROM run)")
                .fetch_all(&self.pool)
                .await
                .map_err(self.query_error())?;
        let mut purged = Vec::new();
        let mut tx = self.pool.begin_with(WRITE).await.map_err(self.query_error())?;
        for id in std::iter::once(run_id.to_string()).chain(dead).chain(unrecorded.into_iter().filter(|r| r != run_id))
        {
            let records: i64 = sqlx::query_scalar("SELECT count(*) FROM deferred WHERE run_id = ?1")
                .bind(&id)
                .fetch_one(&mut *tx)
                .await
                .map_err(self.query_error())?;
            for statement in [
                "DELETE FROM deferred WHERE run_id = ?1",
                "DELETE FROM document WHERE run_id = ?1",
                "DELETE FROM table_columns WHERE run_id = ?1",
                "DELETE FROM run WHERE run_id = ?1",
            ] {
                sqlx::query(statement).bind(&id).execute(&mut *tx).await.map_err(self.query_error())?;
            }
            if id != run_id && records > 0 {
                purged.push(Purged { run_id: id, records: usize::try_from(records).unwrap_or(0) });
            }
        }
        tx.commit().await.map_err(self.query_error())?;
        Ok(purged)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Records of a run that died before its phase 2, removed by a later one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purged {
    pub run_id: String,
    pub records: usize,
}

/// Which process a run is, as far as this machine can tell.
struct Process {
    host: String,
    pid: u32,
    /// Field 22 of `/proc/<pid>/stat`; empty where there is no `/proc`.
    start: String,
}

impl Process {
    fn current() -> Process {
        let pid = std::process::id();
        Process { host: host_name(), pid, start: process_start(pid).unwrap_or_default() }
    }

    /// Whether the process may still be running: on another machine, or
    /// where this one cannot tell, it may.
    fn alive(&self) -> bool {
        if self.host != host_name() || self.start.is_empty() {
            return true;
        }
        process_start(self.pid).is_some_and(|start| start == self.start)
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_default()
}

/// When `pid` started, in clock ticks since boot (Linux); `None` when there
/// is no such process, or no `/proc`.
fn process_start(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name, in parentheses, may hold spaces: count after it.
    let after_name = stat.rsplit_once(')')?.1;
    after_name.split_whitespace().nth(19).map(String::from)
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

    #[tokio::test]
    async fn records_survive_the_store_in_order_and_per_run() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/state.db");
        let store = StateStore::open(&path).await.unwrap();
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
        store.close().await;

        // Another process (here: another handle) reads them back.
        let store = StateStore::open(&path).await.unwrap();
        assert_eq!(store.count("run-1").await.unwrap(), 701);
        let mut seen = Vec::new();
        let mut after = 0;
        loop {
            let page = store.deferred("run-1", after, 300).await.unwrap();
            let Some((last, _)) = page.last() else { break };
            after = *last;
            seen.extend(page.into_iter().map(|(_, r)| r));
        }
        assert_eq!(seen.len(), 701);
        assert_eq!(seen[0].owner(), "s.d.x.t0");
        assert_eq!(seen[699].owner(), "s.d.x.t699");
        assert_eq!(seen[700].kind(), "lineage");
        assert_eq!(seen[700].body(), lineage.body());
        assert_eq!(store.finish_run("run-1", "svc").await.unwrap(), vec![]);
        assert_eq!(store.count("run-1").await.unwrap(), 0);
        assert_eq!(store.count("run-2").await.unwrap(), 1, "a run still going is left alone");
    }

    #[tokio::test]
    async fn a_dead_runs_records_are_purged_when_a_later_run_of_its_service_finishes() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(&dir.path().join("state.db")).await.unwrap();
        for (run, service) in [("killed", "svc"), ("other-service", "elsewhere"), ("now", "svc")] {
            store.begin_run(run, service).await.unwrap();
            store.defer(run, &[fk(1), fk(2)]).await.unwrap();
        }
        // The killed run's process is gone (as is the other service's).
        sqlx::query("UPDATE run SET pid = 2147483000 WHERE run_id IN ('killed', 'other-service')")
            .execute(&store.pool)
            .await
            .unwrap();
        // A weir that kept no run record left these.
        store.defer("unrecorded", &[fk(3)]).await.unwrap();
        let purged = store.finish_run("now", "svc").await.unwrap();
        assert_eq!(
            purged,
            vec![Purged { run_id: "killed".into(), records: 2 }, Purged { run_id: "unrecorded".into(), records: 1 }]
        );
        assert_eq!(store.count("killed").await.unwrap(), 0);
        assert_eq!(store.count("other-service").await.unwrap(), 2, "another service's run waits for its own");
        assert_eq!(store.count("now").await.unwrap(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn runs_sharing_one_file_do_not_lock_each_other_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let mut tasks = Vec::new();
        for run in 0..4 {
            let path = path.clone();
            tasks.push(tokio::spawn(async move {
                // Each run its own handle, as separate processes would have.
                let store = StateStore::open(&path).await.unwrap();
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
