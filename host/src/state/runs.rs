//! The history of runs: one row per run, written when it starts and when it
//! ends, and kept after the run's working records are forgotten. It is what
//! `weir runs list` and `weir runs show` read, for runs in one process and
//! runs whose stages ran in pods alike (their discovery starts the row,
//! their finalize ends it).

use super::{StateError, StateStore};
use crate::engines::on_pool;
use crate::model::KindCounts;
use crate::report::RunReport;
use serde::{Deserialize, Serialize};

/// How a run stands, in OpenMetadata's words for a pipeline's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RunStatus {
    Running,
    /// Finished, every entity written.
    Success,
    /// Finished, some entities failed.
    PartialSuccess,
    /// Could not go on.
    Failed,
    /// Never ended: its process was killed (never stored, only shown).
    Interrupted,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Success => "success",
            RunStatus::PartialSuccess => "partialSuccess",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
        }
    }

    fn parse(text: &str) -> Option<RunStatus> {
        [RunStatus::Running, RunStatus::Success, RunStatus::PartialSuccess, RunStatus::Failed]
            .into_iter()
            .find(|s| s.as_str() == text)
    }

    /// The status of a run that finished with `report`.
    pub fn of_report(report: &RunReport) -> RunStatus {
        if report.failed() > 0 { RunStatus::PartialSuccess } else { RunStatus::Success }
    }
}

/// What the history keeps of a finished run: its counts and the shape of
/// its failures, not every failure (the JSON report has those).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RunSummary {
    pub plugin: String,
    pub plugin_version: String,
    pub catalog: String,
    pub elapsed_secs: f64,
    pub kinds: Vec<KindCounts>,
    pub failed: usize,
    /// The largest groups of failures: error, reason, how many.
    pub failure_reasons: Vec<(String, String, usize)>,
    pub relations_applied: usize,
    pub relations_unresolved: usize,
    pub marked_deleted: usize,
    pub shards: usize,
    /// The pods (or hosts) that ran its shards.
    pub processes: Vec<String>,
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

/// The most failure groups and warnings a summary keeps.
const KEPT: usize = 10;

impl RunSummary {
    pub fn of(report: &RunReport) -> RunSummary {
        let mut processes: Vec<String> = report.shards.iter().filter_map(|s| s.process.clone()).collect();
        processes.sort_unstable();
        processes.dedup();
        RunSummary {
            plugin: report.plugin.clone(),
            plugin_version: report.plugin_version.clone(),
            catalog: report.catalog.clone(),
            elapsed_secs: report.elapsed_secs,
            kinds: report.kinds.clone(),
            failed: report.failed(),
            failure_reasons: report
                .failure_groups()
                .iter()
                .take(KEPT)
                .map(|g| (g.error.to_string(), g.reason.to_string(), g.entities.len()))
                .collect(),
            relations_applied: report.relations_applied,
            relations_unresolved: report.relations_unresolved.len(),
            marked_deleted: report.marked_deleted.len(),
            shards: report.shards.len(),
            processes,
            warnings: report.warnings.iter().take(KEPT).cloned().collect(),
            stopped: report.stopped.clone(),
        }
    }
}

/// One run as the history has it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunRecord {
    pub run_id: String,
    pub service: String,
    /// Milliseconds since the epoch.
    pub started_ms: i64,
    pub ended_ms: Option<i64>,
    pub status: RunStatus,
    /// The exit status the run's command ended with.
    pub exit_code: Option<i64>,
    /// Its stages ran in separate processes (`weir discover/process/finalize`).
    pub distributed: bool,
    /// The process that started it.
    pub process: String,
    pub summary: Option<RunSummary>,
    /// Why it could not go on, for a failed run.
    pub error: Option<String>,
}

const COLUMNS: &str =
    "run_id, service, started_ms, ended_ms, status, exit_code, distributed, process, summary, error FROM run_history";

impl StateStore {
    /// Records that `run_id` started (or, resumed, started again: its first
    /// start is kept).
    pub async fn record_start(
        &self,
        run_id: &str,
        service: &str,
        distributed: bool,
        process: &str,
    ) -> Result<(), StateError> {
        on_pool!(self, |pool, dialect| {
            let upsert = format!(
                "INSERT INTO run_history (run_id, service, started_ms, status, distributed, process)
                 VALUES ($1, $2, {}, 'running', $3, $4)
                 ON CONFLICT (run_id) DO UPDATE SET status = 'running', ended_ms = NULL, exit_code = NULL, error = NULL",
                dialect.now_ms
            );
            sqlx::query(sqlx::AssertSqlSafe(upsert))
                .bind(run_id)
                .bind(service)
                .bind(i64::from(distributed))
                .bind(process)
                .execute(pool)
                .await
                .map_err(self.query_error())?;
        });
        Ok(())
    }

    /// Records how `run_id` ended: with its summary when it finished, with
    /// its error when it could not go on.
    pub async fn record_end(
        &self,
        run_id: &str,
        status: RunStatus,
        exit_code: u8,
        summary: Option<&RunSummary>,
        error: Option<&str>,
    ) -> Result<(), StateError> {
        let summary = summary.map(|s| serde_json::to_string(s).unwrap_or_default());
        on_pool!(self, |pool, dialect| {
            let end = format!(
                "UPDATE run_history SET ended_ms = {}, status = $2, exit_code = $3, summary = $4, error = $5
                 WHERE run_id = $1",
                dialect.now_ms
            );
            sqlx::query(sqlx::AssertSqlSafe(end))
                .bind(run_id)
                .bind(status.as_str())
                .bind(i64::from(exit_code))
                .bind(summary.as_deref())
                .bind(error)
                .execute(pool)
                .await
                .map_err(self.query_error())?;
        });
        Ok(())
    }

    /// Whether this store takes writes: a row written and rolled back, for
    /// `weir check`.
    pub async fn check_writable(&self) -> Result<(), StateError> {
        const PROBE: &str = "INSERT INTO run_history (run_id, service, started_ms, status, distributed, process)
             VALUES ('weir-check', '', 0, 'running', 0, '')";
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin_write).await.map_err(self.query_error())?;
            sqlx::query(PROBE).execute(&mut *tx).await.map_err(self.query_error())?;
            tx.rollback().await.map_err(self.query_error())?;
        });
        Ok(())
    }

    /// The latest `limit` runs, newest first; of one service if given.
    pub async fn run_history(&self, service: Option<&str>, limit: usize) -> Result<Vec<RunRecord>, StateError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let query =
            format!("SELECT {COLUMNS} WHERE ($1 IS NULL OR service = $1) ORDER BY started_ms DESC, run_id LIMIT $2");
        let rows: Vec<HistoryRow> = on_pool!(self, |pool, _d| sqlx::query_as(sqlx::AssertSqlSafe(query.clone()))
            .bind(service)
            .bind(limit)
            .fetch_all(pool)
            .await
            .map_err(self.query_error())?);
        Ok(rows.into_iter().map(record).collect())
    }

    /// One run, if the history has it.
    pub async fn run_of(&self, run_id: &str) -> Result<Option<RunRecord>, StateError> {
        let query = format!("SELECT {COLUMNS} WHERE run_id = $1");
        let row: Option<HistoryRow> = on_pool!(self, |pool, _d| sqlx::query_as(sqlx::AssertSqlSafe(query.clone()))
            .bind(run_id)
            .fetch_optional(pool)
            .await
            .map_err(self.query_error())?);
        Ok(row.map(record))
    }
}

type HistoryRow = (String, String, i64, Option<i64>, String, Option<i64>, i64, String, Option<String>, Option<String>);

fn record(row: HistoryRow) -> RunRecord {
    let (run_id, service, started_ms, ended_ms, status, exit_code, distributed, process, summary, error) = row;
    RunRecord {
        run_id,
        service,
        started_ms,
        ended_ms,
        // A status this weir does not know was written by a newer one.
        status: RunStatus::parse(&status).unwrap_or(RunStatus::Failed),
        exit_code,
        distributed: distributed != 0,
        process,
        summary: summary.and_then(|s| serde_json::from_str(&s).ok()),
        error,
    }
}
