//! The run's status on its OpenMetadata ingestion pipeline, as OpenMetadata's
//! own ingestion reports it, so a run started from weir shows in the
//! pipeline's run history in OpenMetadata's UI.
//!
//! With `ingestionPipelineFQN` (and optionally `pipelineRunId`) in the
//! workflow, the sink sends `PUT /v1/services/ingestionPipelines/{fqn}/
//! pipelineStatus` with a `PipelineStatus` (`entity/services/
//! ingestionPipelines/ingestionPipeline.json`): `running` when the run
//! begins, then `success`, `partialSuccess` or `failed` with a summary per
//! step (`status.json#/definitions/stepSummary`). The server keeps one
//! status per `runId` and replaces it when the same `runId` comes again
//! (`IngestionPipelineRepository.addPipelineStatus`), so the second PUT
//! updates the first. The state follows the Python workflow's rule
//! (`workflow/base.py`): success when nothing failed, else partialSuccess
//! while the share of records processed is at least
//! `workflowConfig.successThreshold` (default 90), else failed.
//!
//! Reporting is best effort, as in OpenMetadata's workflow: a status the
//! server refuses is a warning in the report, never a failed run.

use super::client::Client;
use crate::model::KindCounts;
use crate::percent::encode;
use crate::report::RunReport;
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::Mutex;

/// Failures a step summary carries, at most (OpenMetadata's own sends ten).
const FAILURES_SHOWN: usize = 10;

/// `successThreshold`'s default in OpenMetadata's workflow schema.
pub const DEFAULT_SUCCESS_THRESHOLD: u8 = 90;

/// Where the status goes and what it says so far.
pub struct RunStatus {
    /// The ingestion pipeline's FQN.
    fqn: String,
    /// `pipelineRunId`, if the workflow gives one; else each run's id in
    /// OpenMetadata is made from weir's, so every process of a
    /// distributed run reports under the same one.
    pipeline_run: Option<String>,
    threshold: u8,
    started_ms: Mutex<Option<i64>>,
    /// Cleared once the server said it has no such pipeline.
    live: std::sync::atomic::AtomicBool,
}

impl RunStatus {
    pub fn new(fqn: String, pipeline_run: Option<String>, threshold: Option<u8>) -> RunStatus {
        RunStatus {
            fqn,
            pipeline_run,
            threshold: threshold.unwrap_or(DEFAULT_SUCCESS_THRESHOLD).min(100),
            started_ms: Mutex::new(None),
            live: std::sync::atomic::AtomicBool::new(true),
        }
    }

    /// The run's id in OpenMetadata.
    fn run_id(&self, weir_run: &str) -> String {
        self.pipeline_run.clone().unwrap_or_else(|| uuid_of(weir_run))
    }

    /// `running`, from `started_ms` (the run's start).
    pub async fn running(&self, client: &Client, weir_run: &str, started_ms: i64) -> Option<String> {
        *self.started_ms.lock().unwrap_or_else(|e| e.into_inner()) = Some(started_ms);
        let body = json!({
            "runId": self.run_id(weir_run),
            "pipelineState": "running",
            "startDate": started_ms,
            "timestamp": started_ms,
        });
        self.put(client, &body).await
    }

    /// The final state of a run that finished with `report`, with its steps.
    pub async fn finished(&self, client: &Client, report: &RunReport, service_type: &str) -> Option<String> {
        let state = final_state(report, self.threshold);
        let started = report.started_unix_ms as i64;
        let body = self.final_body(&report.run_id, state, started, steps(report, service_type));
        self.put(client, &body).await
    }

    /// `failed`: the run could not go on, for `reason`.
    pub async fn failed(&self, client: &Client, weir_run: &str, reason: &str, service_type: &str) -> Option<String> {
        let started = self.started_ms.lock().unwrap_or_else(|e| e.into_inner()).unwrap_or_else(now_ms);
        let step = json!({
            "name": step_name(service_type),
            "errors": 1,
            "failures": [{"name": self.fqn, "error": reason}],
        });
        let body = self.final_body(weir_run, "failed", started, vec![step]);
        self.put(client, &body).await
    }

    fn final_body(&self, weir_run: &str, state: &str, started: i64, steps: Vec<Value>) -> Value {
        let started = self.started_ms.lock().unwrap_or_else(|e| e.into_inner()).unwrap_or(started);
        json!({
            "runId": self.run_id(weir_run),
            "pipelineState": state,
            "startDate": started,
            "timestamp": started,
            "endDate": now_ms(),
            "status": steps,
        })
    }

    /// Sends `body`; a warning for the report when the server refused it.
    async fn put(&self, client: &Client, body: &Value) -> Option<String> {
        use std::sync::atomic::Ordering;
        if !self.live.load(Ordering::Relaxed) {
            return None;
        }
        let path = format!("/v1/services/ingestionPipelines/{}/pipelineStatus", encode(&self.fqn));
        match client.send(Method::PUT, &path, Some(body)).await {
            Ok(_) => {
                tracing::info!(pipeline = %self.fqn, run = %body["runId"], state = %body["pipelineState"], "run status sent to OpenMetadata");
                None
            }
            Err(e) => {
                if e.status() == Some(404) {
                    self.live.store(false, Ordering::Relaxed);
                }
                Some(format!(
                    "the run's status could not be reported to OpenMetadata's ingestion pipeline {}: {e}",
                    self.fqn
                ))
            }
        }
    }
}

/// success, partialSuccess or failed, by OpenMetadata's rule.
fn final_state(report: &RunReport, threshold: u8) -> &'static str {
    let failed = report.failed();
    if failed == 0 {
        return "success";
    }
    let done = report.kinds.iter().map(|k| k.written + k.unchanged).sum::<usize>();
    let share = done.max(1) as f64 * 100.0 / (done.max(1) + failed) as f64;
    if share >= f64::from(threshold) { "partialSuccess" } else { "failed" }
}

/// A source step (named after the service type, as OpenMetadata's sources
/// are) and the sink step (`OpenMetadata`).
fn steps(report: &RunReport, service_type: &str) -> Vec<Value> {
    let sum = |f: fn(&KindCounts) -> usize| report.kinds.iter().map(f).sum::<usize>();
    let failures: Vec<Value> = report
        .failures
        .iter()
        .take(FAILURES_SHOWN)
        .map(|f| json!({"name": f.entity, "error": format!("{}: {}", f.error, f.reason)}))
        .collect();
    let progress: serde_json::Map<String, Value> = report
        .kinds
        .iter()
        .map(|k| {
            let total = k.found - k.filtered.min(k.found);
            (k.kind.clone(), json!({"total": total, "processed": k.written + k.unchanged + k.failed}))
        })
        .collect();
    let source = json!({
        "name": step_name(service_type),
        "records": sum(|k| k.written + k.unchanged),
        "filtered": sum(|k| k.filtered),
        "errors": report.failed(),
        "warnings": report.warnings.len(),
        "failures": failures,
        "progress": progress,
        "sourceTimeMs": (report.phases.discover_secs + report.phases.process_secs) * 1000.0,
    });
    let sink = json!({
        "name": "OpenMetadata",
        "records": sum(|k| k.written),
        "updated_records": 0,
        "errors": report.relations_unresolved.len(),
        "warnings": 0,
        "filtered": sum(|k| k.unchanged),
        "sinkTimeMs": report.phases.relations_secs * 1000.0,
    });
    vec![source, sink]
}

fn step_name(service_type: &str) -> String {
    if service_type.is_empty() { "Source".into() } else { service_type.to_string() }
}

fn now_ms() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)).unwrap_or_default()
}

/// A UUID (version 4 in shape) made from weir's run id, for a run given no
/// `pipelineRunId`: OpenMetadata reads a run's status back by a UUID, and
/// every process of one run must name it alike.
pub fn uuid_of(run_id: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(run_id.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex = crate::runtime::cache::hex(&b);
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::FailureRecord;

    fn report(written: usize, failed: usize) -> RunReport {
        let mut r = RunReport::default();
        let k = r.kind_mut("table");
        k.found = written + failed;
        k.written = written;
        k.failed = failed;
        for i in 0..failed {
            r.failures.push(FailureRecord {
                entity: format!("s.d.x.t{i}"),
                kind: "table".into(),
                error: "permanent".into(),
                reason: "bad".into(),
                may_pass: false,
                shard: None,
            });
        }
        r
    }

    #[test]
    fn the_state_follows_openmetadatas_success_threshold() {
        assert_eq!(final_state(&report(10, 0), 90), "success");
        assert_eq!(final_state(&report(95, 5), 90), "partialSuccess");
        assert_eq!(final_state(&report(80, 20), 90), "failed");
        assert_eq!(final_state(&report(80, 20), 80), "partialSuccess");
    }

    #[test]
    fn a_run_without_a_pipeline_run_id_gets_a_uuid_made_from_its_own() {
        let id = uuid_of("18ef2c3498988c2e-2eae");
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12], "{id}");
        assert!(parts[2].starts_with('4') && "89ab".contains(&parts[3][..1]), "{id}");
        assert_eq!(id, uuid_of("18ef2c3498988c2e-2eae"), "every process of the run names it alike");
        assert_ne!(id, uuid_of("another-run"));
    }
}
