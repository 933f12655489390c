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
mod runs;
mod schema;

use crate::model::Relation;
use process::Process;
use sqlx::sqlite::{SqlitePool, SqlitePoolOptions};
use sqlx::{QueryBuilder, Row};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::engines::{self, PgOpenError, Pool, SQLITE, on_pool};
use crate::sqlite_file;

#[derive(Debug, Error)]
pub enum StateError {
    // The cause follows in the error's chain, not twice in the message.
    #[error("state store {path}")]
    Open { path: String, source: sqlx::Error },
    #[error("state store {path}")]
    Query { path: String, source: sqlx::Error },
    #[error("state store {path}: a stored record is not readable: {reason}")]
    Corrupt { path: String, reason: String },
    #[error("state store {path}: {reason}")]
    Unusable { path: String, reason: String },
    /// The shard is no longer this process's: its lease ran out and
    /// another process may have taken it over. What this one did of it is
    /// not kept; the other's is.
    #[error("shard {shard} is no longer held by {owner} (its lease ran out): this process stops working on it")]
    NotHeld { shard: String, owner: String },
}

impl StateError {
    /// Whether the same work may succeed later (the store busy or gone).
    pub fn may_pass(&self) -> bool {
        match self {
            StateError::Open { source, .. } | StateError::Query { source, .. } => {
                crate::retry::sqlx_error_may_pass(source)
            }
            StateError::Corrupt { .. } | StateError::Unusable { .. } => false,
            // Another process has the shard: run again, this one finds it
            // done or waits for it.
            StateError::NotHeld { .. } => true,
        }
    }
}

/// Counts the row of a shard held by an owner (`$1` run, `$2` shard, `$3`
/// owner); `lock` locks it (`FOR UPDATE` on PostgreSQL; a SQLite write
/// transaction holds the whole file).
fn held_check(lock: &str) -> String {
    format!(
        "SELECT count(*) FROM (SELECT 1 FROM shard WHERE run_id = $1 AND shard_id = $2 AND owner = $3 \
         AND status = 'running'{lock}) AS held"
    )
}

/// Rows per insert: SQLite caps a statement's bound parameters.
const ROWS_PER_INSERT: usize = 500;

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
        schema::upgrade_sqlite(&pool).await?;
        Ok(pool)
    }

    /// The PostgreSQL store at `url` (`postgres://user:password@host/db`):
    /// its schema is created, or checked, on first use. The role needs
    /// `CREATE` on the database the first time, and to read and write the
    /// `weir_state` schema's tables after that.
    pub async fn open_postgres(url: &str) -> Result<StateStore, StateError> {
        let shown = shown_url(url);
        let pool = engines::open_postgres(url, &schema::PG_LAYOUT).await.map_err(|e| match e {
            PgOpenError::Connect(source) => StateError::Open { path: shown.clone(), source },
            PgOpenError::Newer { found, ours } => {
                StateError::Unusable { path: shown.clone(), reason: PgOpenError::newer(found, ours) }
            }
        })?;
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

    /// Keeps `records` for `run_id`, after the ones already kept; `shard`
    /// names the shard they came from when it runs in a process of its own
    /// (see [`StateStore::forget_shard`]).
    ///
    /// With `held` (shard id, owner), the records are kept only while that
    /// owner holds the shard: the shard's row is locked and checked in the
    /// same transaction, so a process that lost its lease cannot add to
    /// the records of the process that took the shard over (whose claim
    /// waits for this transaction, then forgets what it finds).
    pub async fn defer(
        &self,
        run_id: &str,
        held: Option<(&str, &str)>,
        records: &[Relation],
    ) -> Result<(), StateError> {
        if records.is_empty() {
            return Ok(());
        }
        let shard = held.map(|(shard, _)| shard);
        // The same check in either engine's write transaction.
        macro_rules! check_held {
            ($tx:ident, $lock:expr) => {
                if let Some((shard, owner)) = held {
                    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(held_check($lock)))
                        .bind(run_id)
                        .bind(shard)
                        .bind(owner)
                        .fetch_one(&mut *$tx)
                        .await
                        .map_err(self.query_error())?;
                    if n == 0 {
                        return Err(StateError::NotHeld { shard: shard.into(), owner: owner.into() });
                    }
                }
            };
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
                check_held!(tx, "");
                for (n, chunk) in records.chunks(ROWS_PER_INSERT).enumerate() {
                    let first = next + (n * ROWS_PER_INSERT) as i64;
                    let mut insert =
                        QueryBuilder::new("INSERT INTO deferred (run_id, seq, kind, owner, target, record, shard_id) ");
                    insert.push_values(chunk.iter().enumerate(), |mut row, (i, r)| {
                        let (kind, owner, target, record) = row_of(r);
                        row.push_bind(run_id)
                            .push_bind(first + i as i64)
                            .push_bind(kind)
                            .push_bind(owner)
                            .push_bind(target)
                            .push_bind(record)
                            .push_bind(shard);
                    });
                    insert.build().execute(&mut *tx).await.map_err(self.query_error())?;
                }
                tx.commit().await.map_err(self.query_error())?;
                seqs.insert(run_id.to_string(), next + records.len() as i64);
            }
            Pool::Postgres(pool) => {
                let mut tx = pool.begin().await.map_err(self.query_error())?;
                check_held!(tx, " FOR UPDATE");
                for chunk in records.chunks(ROWS_PER_INSERT) {
                    let mut insert =
                        QueryBuilder::new("INSERT INTO deferred (run_id, kind, owner, target, record, shard_id) ");
                    insert.push_values(chunk, |mut row, r| {
                        let (kind, owner, target, record) = row_of(r);
                        row.push_bind(run_id)
                            .push_bind(kind)
                            .push_bind(owner)
                            .push_bind(target)
                            .push_bind(record)
                            .push_bind(shard);
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

    /// Forgets the deferred records an earlier attempt at `shard` kept, so
    /// a shard run again (its process killed) keeps each record once.
    pub async fn forget_shard(&self, run_id: &str, shard: &str) -> Result<u64, StateError> {
        const FORGET: &str = "DELETE FROM deferred WHERE run_id = $1 AND shard_id = $2";
        let gone = on_pool!(self, |pool, _d| sqlx::query(FORGET)
            .bind(run_id)
            .bind(shard)
            .execute(pool)
            .await
            .map_err(self.query_error())?
            .rows_affected());
        Ok(gone)
    }

    /// Keeps the databases and schemas (FQN, kind) `run_id` wrote, for the
    /// processes that write their children.
    pub async fn keep_parents(&self, run_id: &str, parents: &[(String, String)]) -> Result<(), StateError> {
        self.upsert_by_fqn(
            "INSERT INTO written_parent (run_id, fqn, kind) ",
            " ON CONFLICT (run_id, fqn) DO UPDATE SET kind = excluded.kind",
            run_id,
            parents,
        )
        .await
    }

    /// The content hashes `target` was last sent for these entities of
    /// `service` ((kind, FQN)), of those it has: one query per 500.
    pub async fn entity_hashes(
        &self,
        target: &str,
        service: &str,
        entities: &[(&str, &str)],
    ) -> Result<HashMap<(String, String), String>, StateError> {
        let mut found = HashMap::new();
        for chunk in entities.chunks(ROWS_PER_INSERT) {
            let rows: Vec<(String, String, String)> = on_pool!(self, |pool, _d| {
                let mut query = QueryBuilder::new("SELECT kind, fqn, hash FROM entity_hash WHERE target = ");
                query.push_bind(target).push(" AND service = ").push_bind(service).push(" AND fqn IN (");
                let mut fqns = query.separated(", ");
                for (_, fqn) in chunk {
                    fqns.push_bind(*fqn);
                }
                query.push(")");
                query.build_query_as().fetch_all(pool).await.map_err(self.query_error())?
            });
            found.extend(rows.into_iter().map(|(kind, fqn, hash)| ((kind, fqn), hash)));
        }
        Ok(found)
    }

    /// Keeps the content hashes just sent to `target` ((kind, FQN, hash)),
    /// seen by `run_id`.
    pub async fn keep_hashes(
        &self,
        target: &str,
        service: &str,
        run_id: &str,
        sent: &[(String, String, String)],
    ) -> Result<(), StateError> {
        for chunk in sent.chunks(ROWS_PER_INSERT) {
            on_pool!(self, |pool, dialect| {
                let mut tx = pool.begin_with(dialect.begin_write).await.map_err(self.query_error())?;
                let mut insert =
                    QueryBuilder::new("INSERT INTO entity_hash (target, service, kind, fqn, hash, seen_run) ");
                insert.push_values(chunk, |mut row, (kind, fqn, hash)| {
                    row.push_bind(target).push_bind(service).push_bind(kind).push_bind(fqn).push_bind(hash);
                    row.push_bind(run_id);
                });
                insert.push(
                    " ON CONFLICT (target, service, kind, fqn) DO UPDATE SET hash = excluded.hash, \
                     seen_run = excluded.seen_run",
                );
                insert.build().execute(&mut *tx).await.map_err(self.query_error())?;
                tx.commit().await.map_err(self.query_error())?;
            });
        }
        Ok(())
    }

    /// The entities of `kind` in `service` whose hashes `target` keeps
    /// (what it was sent and not marked deleted since): (FQN, the last run
    /// that saw it).
    pub async fn kept_entities(
        &self,
        target: &str,
        service: &str,
        kind: &str,
    ) -> Result<Vec<(String, String)>, StateError> {
        const KEPT: &str = "SELECT fqn, seen_run FROM entity_hash WHERE target = $1 AND service = $2 AND kind = $3";
        let fqns = on_pool!(self, |pool, _d| sqlx::query_as(KEPT)
            .bind(target)
            .bind(service)
            .bind(kind)
            .fetch_all(pool)
            .await
            .map_err(self.query_error())?);
        Ok(fqns)
    }

    /// Forgets the hashes of entities ((kind, FQN)) `target` marked
    /// deleted: one that comes back is sent again.
    pub async fn forget_hashes(
        &self,
        target: &str,
        service: &str,
        entities: &[(&str, &str)],
    ) -> Result<(), StateError> {
        self.update_hashes(target, service, entities, None).await
    }

    /// Marks entities ((kind, FQN)) `target` has as they are seen by
    /// `run_id`, though not sent again.
    pub async fn see_hashes(
        &self,
        target: &str,
        service: &str,
        run_id: &str,
        entities: &[(&str, &str)],
    ) -> Result<(), StateError> {
        self.update_hashes(target, service, entities, Some(run_id)).await
    }

    /// Marks entities seen by a run (`Some(run_id)`) or forgets them
    /// (`None`), 500 to a statement.
    async fn update_hashes(
        &self,
        target: &str,
        service: &str,
        entities: &[(&str, &str)],
        seen_by: Option<&str>,
    ) -> Result<(), StateError> {
        for chunk in entities.chunks(ROWS_PER_INSERT) {
            on_pool!(self, |pool, dialect| {
                let mut tx = pool.begin_with(dialect.begin_write).await.map_err(self.query_error())?;
                let mut delete = match seen_by {
                    Some(run_id) => {
                        let mut update = QueryBuilder::new("UPDATE entity_hash SET seen_run = ");
                        update.push_bind(run_id).push(" WHERE target = ");
                        update
                    }
                    None => QueryBuilder::new("DELETE FROM entity_hash WHERE target = "),
                };
                delete.push_bind(target).push(" AND service = ").push_bind(service).push(" AND (kind, fqn) IN (");
                let mut pairs = delete.separated(", ");
                for (kind, fqn) in chunk {
                    pairs.push("(").push_bind_unseparated(*kind).push_unseparated(", ");
                    pairs.push_bind_unseparated(*fqn).push_unseparated(")");
                }
                delete.push(")");
                delete.build().execute(&mut *tx).await.map_err(self.query_error())?;
                tx.commit().await.map_err(self.query_error())?;
            });
        }
        Ok(())
    }

    /// Per pipeline of `service`, the time up to which `target` has every
    /// run, final ([`StateStore::advance_cursors`]).
    pub async fn run_cursors(&self, target: &str, service: &str) -> Result<HashMap<String, i64>, StateError> {
        const CURSORS: &str = "SELECT pipeline, until_ms FROM run_cursor WHERE target = $1 AND service = $2";
        let rows: Vec<(String, i64)> = on_pool!(self, |pool, _d| sqlx::query_as(CURSORS)
            .bind(target)
            .bind(service)
            .fetch_all(pool)
            .await
            .map_err(self.query_error())?);
        Ok(rows.into_iter().collect())
    }

    /// Moves the pipelines' cursors over the runs `target` just took
    /// (`settled`: written and final) or did not (unfinished, refused):
    /// a cursor stops short of the earliest run not settled, so the next
    /// run reads it again, and within one run it never moves past one.
    pub async fn advance_cursors(
        &self,
        target: &str,
        service: &str,
        run_id: &str,
        runs: &[RunSeen],
    ) -> Result<(), StateError> {
        const ONE: &str =
            "SELECT until_ms, run_id, held FROM run_cursor WHERE target = $1 AND service = $2 AND pipeline = $3";
        const PUT: &str = "INSERT INTO run_cursor (target, service, pipeline, until_ms, run_id, held)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (target, service, pipeline) DO UPDATE SET until_ms = excluded.until_ms,
                 run_id = excluded.run_id, held = excluded.held";
        let mut by_pipeline: std::collections::BTreeMap<&str, (Option<i64>, Option<i64>)> = Default::default();
        for run in runs {
            let (settled, unsettled) = by_pipeline.entry(run.pipeline.as_str()).or_default();
            let slot = if run.settled { settled } else { unsettled };
            *slot = Some(match *slot {
                Some(t) if run.settled => t.max(run.timestamp),
                Some(t) => t.min(run.timestamp),
                None => run.timestamp,
            });
        }
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin_write).await.map_err(self.query_error())?;
            for (pipeline, (settled, unsettled)) in &by_pipeline {
                let row: Option<(i64, String, i64)> = sqlx::query_as(ONE)
                    .bind(target)
                    .bind(service)
                    .bind(*pipeline)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(self.query_error())?;
                let Some((until, held)) = next_cursor(row, run_id, *settled, *unsettled) else { continue };
                sqlx::query(PUT)
                    .bind(target)
                    .bind(service)
                    .bind(*pipeline)
                    .bind(until)
                    .bind(run_id)
                    .bind(i64::from(held))
                    .execute(&mut *tx)
                    .await
                    .map_err(self.query_error())?;
            }
            tx.commit().await.map_err(self.query_error())?;
        });
        Ok(())
    }

    /// Every database and schema (FQN, kind) processes of `run_id` wrote.
    pub async fn parents(&self, run_id: &str) -> Result<Vec<(String, String)>, StateError> {
        const ALL: &str = "SELECT fqn, kind FROM written_parent WHERE run_id = $1 ORDER BY fqn";
        let rows = on_pool!(self, |pool, _d| sqlx::query_as(ALL)
            .bind(run_id)
            .fetch_all(pool)
            .await
            .map_err(self.query_error())?);
        Ok(rows)
    }

    /// Keeps what the discovery of `run_id` found (its part of the run
    /// report, as JSON), for the run's finalize in another process.
    /// `distributed`: its stages run in separate processes, so no process
    /// owns it (see [`StateStore::finish_run`]).
    pub async fn keep_discovery(&self, run_id: &str, report: &str, distributed: bool) -> Result<(), StateError> {
        const KEEP: &str = "INSERT INTO run_discovery (run_id, report, distributed) VALUES ($1, $2, $3)
             ON CONFLICT (run_id) DO UPDATE SET report = excluded.report, distributed = excluded.distributed";
        on_pool!(self, |pool, _d| sqlx::query(KEEP)
            .bind(run_id)
            .bind(report)
            .bind(i64::from(distributed))
            .execute(pool)
            .await
            .map_err(self.query_error())?
            .rows_affected());
        Ok(())
    }

    /// Whether `run_id`'s stages run in separate processes (`None`: no
    /// discovery of it is kept).
    pub async fn is_distributed(&self, run_id: &str) -> Result<Option<bool>, StateError> {
        const READ: &str = "SELECT distributed FROM run_discovery WHERE run_id = $1";
        let flag: Option<i64> = on_pool!(self, |pool, _d| sqlx::query_scalar(READ)
            .bind(run_id)
            .fetch_optional(pool)
            .await
            .map_err(self.query_error())?);
        Ok(flag.map(|f| f != 0))
    }

    /// What [`StateStore::keep_discovery`] kept for `run_id`, if anything.
    pub async fn discovery(&self, run_id: &str) -> Result<Option<String>, StateError> {
        const READ: &str = "SELECT report FROM run_discovery WHERE run_id = $1";
        let report = on_pool!(self, |pool, _d| sqlx::query_scalar(READ)
            .bind(run_id)
            .fetch_optional(pool)
            .await
            .map_err(self.query_error())?);
        Ok(report)
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

    /// Whether the process that last recorded `run_id` may still be
    /// running it; `None` when the store has no record of the run.
    pub async fn run_alive(&self, run_id: &str) -> Result<Option<bool>, StateError> {
        const ONE: &str = "SELECT host, pid, process_start FROM run WHERE run_id = $1";
        let row: Option<(String, i64, String)> = on_pool!(self, |pool, _d| sqlx::query_as(ONE)
            .bind(run_id)
            .fetch_optional(pool)
            .await
            .map_err(self.query_error())?);
        Ok(row.map(|(host, pid, start)| Process { host, pid: u32::try_from(pid).unwrap_or(0), start }.alive()))
    }

    /// Forgets a run's records and documents once phase 2 has applied them,
    /// and those of earlier runs of the same service whose process is gone
    /// (killed before their phase 2), or of runs that left no record of
    /// themselves (weir before 0.2). Returns what was purged, to warn about.
    pub async fn finish_run(&self, run_id: &str, service: &str) -> Result<Vec<Purged>, StateError> {
        // A run whose shards run in separate processes is owned by none of
        // them: it is kept until its finalize, whichever process is gone.
        const OTHERS: &str = "SELECT run_id, host, pid, process_start FROM run WHERE service = $1 AND run_id <> $2
             AND run_id NOT IN (SELECT run_id FROM run_discovery WHERE distributed = 1)";
        const UNRECORDED: &str = "SELECT DISTINCT run_id FROM deferred WHERE run_id NOT IN (SELECT run_id FROM run)";
        const RECORDS: &str = "SELECT count(*) FROM deferred WHERE run_id = $1";
        const FORGET: [&str; 7] = [
            "DELETE FROM written_parent WHERE run_id = $1",
            "DELETE FROM run_discovery WHERE run_id = $1",
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
        self.pool.close().await
    }
}

pub use crate::engines::shown_url;
pub use runs::{RunRecord, RunStatus, RunSummary};

/// A pipeline's run as a sink took it, for its cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSeen {
    pub pipeline: String,
    /// Milliseconds since the epoch: the status's timestamp.
    pub timestamp: i64,
    /// Written, and the run is over: it need not be read again.
    pub settled: bool,
}

/// A cursor's next place (until, held) from its row (until, run, held)
/// and the latest settled and earliest unsettled run of a flush; `None`
/// when it stays.
fn next_cursor(
    row: Option<(i64, String, i64)>,
    run_id: &str,
    settled: Option<i64>,
    unsettled: Option<i64>,
) -> Option<(i64, bool)> {
    let held_here = row.as_ref().filter(|(_, run, held)| run == run_id && *held != 0).map(|(until, ..)| *until);
    match (unsettled, held_here) {
        (Some(first), Some(until)) => Some(((first - 1).min(until), true)),
        (Some(first), None) => Some((first - 1, true)),
        (None, Some(_)) => None,
        (None, None) => {
            let latest = settled?;
            let until = row.map_or(latest, |(until, ..)| until.max(latest));
            Some((until, false))
        }
    }
}

/// Records of a run that died before its phase 2, removed by a later one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purged {
    pub run_id: String,
    pub records: usize,
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    #[test]
    fn a_cursor_stops_short_of_an_unfinished_run_until_it_is_done() {
        let row = |until: i64, run: &str, held: bool| Some((until, run.to_string(), i64::from(held)));
        // First run: runs up to 30 settled.
        assert_eq!(next_cursor(None, "r1", Some(30), None), Some((30, false)));
        // One still running at 20: read again from it next time.
        assert_eq!(next_cursor(None, "r1", Some(30), Some(20)), Some((19, true)));
        // A later flush of the same run does not move a held cursor on...
        assert_eq!(next_cursor(row(19, "r1", true), "r1", Some(40), None), None);
        // ...but lowers it for an earlier unsettled run.
        assert_eq!(next_cursor(row(19, "r1", true), "r1", None, Some(10)), Some((9, true)));
        // The next run moves it on once everything is settled.
        assert_eq!(next_cursor(row(19, "r1", true), "r2", Some(40), None), Some((40, false)));
        // A cursor never goes back for runs older than it that are settled.
        assert_eq!(next_cursor(row(40, "r2", false), "r3", Some(35), None), Some((40, false)));
        assert_eq!(next_cursor(None, "r1", None, None), None);
    }
    use serde_json::json;
    use sqlx::Connection;

    pub(super) fn fk(i: usize) -> Relation {
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
                owned_by_from: true,
            };
            let first: Vec<Relation> = (0..700).map(fk).collect();
            store.defer("run-1", None, &first).await.unwrap();
            store.defer("run-1", None, std::slice::from_ref(&lineage)).await.unwrap();
            store.defer("run-2", None, &[fk(9)]).await.unwrap();
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
                store.defer(run, None, &[fk(1), fk(2)]).await.unwrap();
            }
            // The killed run's process is gone (as is the other service's).
            const KILL: &str = "UPDATE run SET pid = 2147483000 WHERE run_id IN ('killed', 'other-service')";
            on_pool!(store, |pool, _d| {
                sqlx::query(KILL).execute(pool).await.unwrap();
            });
            // A weir that kept no run record left these.
            store.defer("unrecorded", None, &[fk(3)]).await.unwrap();
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

    #[tokio::test]
    async fn a_shard_run_again_replaces_its_records_and_a_distributed_run_outlives_its_processes() {
        for place in Place::both("shard-records").await {
            let store = place.open().await;
            let shown = store.shown().to_string();
            store.begin_run("spread", "svc").await.unwrap();
            store.keep_discovery("spread", r#"{"found": 3}"#, true).await.unwrap();
            store.plan_shards("spread", &shards::tests::plan()).await.unwrap();
            let lease = std::time::Duration::from_secs(60);
            store.claim("spread", "table-0001", "pod-a", lease).await.unwrap();
            store.claim("spread", "table-0000", "pod-b", lease).await.unwrap();
            store.defer("spread", Some(("table-0001", "pod-a")), &[fk(1), fk(2)]).await.unwrap();
            store.defer("spread", Some(("table-0000", "pod-b")), &[fk(3)]).await.unwrap();
            // table-0001's process was killed; its next attempt starts over.
            assert_eq!(store.forget_shard("spread", "table-0001").await.unwrap(), 2, "{shown}");
            store.defer("spread", Some(("table-0001", "pod-a")), &[fk(1), fk(2)]).await.unwrap();
            assert_eq!(store.count("spread").await.unwrap(), 3, "each record once: {shown}");
            store
                .keep_parents("spread", &[("s.d".into(), "database".into()), ("s.d.x".into(), "databaseSchema".into())])
                .await
                .unwrap();
            store.keep_parents("spread", &[("s.d.x".into(), "databaseSchema".into())]).await.unwrap();
            assert_eq!(store.parents("spread").await.unwrap().len(), 2, "{shown}");
            assert_eq!(store.discovery("spread").await.unwrap().as_deref(), Some(r#"{"found": 3}"#));
            // Its discover process is gone; a run of the same service
            // finishing must not take it for a dead one.
            const GONE: &str = "UPDATE run SET pid = 2147483000 WHERE run_id = 'spread'";
            on_pool!(store, |pool, _d| {
                sqlx::query(GONE).execute(pool).await.unwrap();
            });
            store.begin_run("later", "svc").await.unwrap();
            assert_eq!(store.finish_run("later", "svc").await.unwrap(), vec![], "{shown}");
            assert_eq!(store.count("spread").await.unwrap(), 3, "{shown}");
            store.finish_run("spread", "svc").await.unwrap();
            assert_eq!(store.discovery("spread").await.unwrap(), None, "{shown}");
            assert!(store.parents("spread").await.unwrap().is_empty(), "{shown}");
        }
    }

    #[tokio::test]
    async fn a_sqlite_store_of_an_older_weir_gains_the_shard_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let pool = SqlitePoolOptions::new().connect_with(sqlite_file::options(&path, true)).await.unwrap();
            let old = "CREATE TABLE deferred (run_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,
                 owner TEXT NOT NULL, target TEXT NOT NULL, record TEXT NOT NULL, PRIMARY KEY (run_id, seq));
                 PRAGMA user_version = 3;";
            sqlx::raw_sql(old).execute(&pool).await.unwrap();
            pool.close().await;
        }
        let store = StateStore::open(&path).await.unwrap();
        store.plan_shards("run", &shards::tests::plan()).await.unwrap();
        store.claim("run", "table-0001", "pod", std::time::Duration::from_secs(60)).await.unwrap();
        store.defer("run", Some(("table-0001", "pod")), &[fk(1)]).await.unwrap();
        assert_eq!(store.forget_shard("run", "table-0001").await.unwrap(), 1);
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
                        store.defer(&run_id, None, &[fk(i), fk(i + 100)]).await.unwrap();
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
