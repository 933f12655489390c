//! Discovery: the DAG list, a page of 100 at a time (pages after the first
//! all at once). Pipeline refs are DAGs, each carrying what the list says
//! of it (so `process` needs one call per DAG, its tasks); pipeline-status
//! refs are each
//! DAG's newest runs (`numberOfStatus` of them, newer than the last one
//! already ingested), one `GET /dags/{id}/dagRuns` per DAG, all at once.
//! A run's ref carries what `process` needs of it, so runs are read once.

use crate::api::{Api, Call, Version};
use crate::settings::Settings;
use crate::time;
use weir_sdk::percent::encode;
use weir_sdk::serde_json::{Value, json};
use weir_sdk::{Config, EntityKind, EntityRef, Result};

pub fn discover(settings: &Settings, api: &Api, config: &Config, kind: EntityKind) -> Result<Vec<EntityRef>> {
    match kind {
        EntityKind::Pipeline => Ok(dags(settings, api)?
            .into_iter()
            .map(|(dag_id, dag)| EntityRef { kind, path: vec![dag_id], cost: 1, key: Some(summary(&dag).to_string()) })
            .collect()),
        EntityKind::PipelineStatus => {
            let ids: Vec<String> = dags(settings, api)?.into_iter().map(|(id, _)| id).collect();
            runs(settings, api, config, &ids)
        }
        _ => Ok(Vec::new()),
    }
}

/// Every DAG the filters keep: its id and what the list says of it.
pub fn dags(settings: &Settings, api: &Api) -> Result<Vec<(String, Value)>> {
    let dags = api.list(&Call::get("/dags?order_by=dag_id"), "dags")?;
    Ok(dags
        .into_iter()
        .filter_map(|d| Some((d.get("dag_id").and_then(Value::as_str)?.to_string(), d)))
        .filter(|(id, _)| settings.keeps(id))
        .collect())
}

/// The fields of a DAG's list entry a pipeline is made of, for its ref.
fn summary(dag: &Value) -> Value {
    const KEPT: [&str; 9] = [
        "dag_display_name",
        "description",
        "timetable_summary",
        "schedule_interval",
        "max_active_runs",
        "is_paused",
        "fileloc",
        "owners",
        "tags",
    ];
    let kept = KEPT.iter().filter_map(|k| Some((k.to_string(), dag.get(*k)?.clone())));
    Value::Object(kept.collect())
}

fn runs(settings: &Settings, api: &Api, config: &Config, dags: &[String]) -> Result<Vec<EntityRef>> {
    if settings.runs == 0 {
        return Ok(Vec::new());
    }
    let since = lookback_start(settings.source.status_lookback_days);
    // When a run was due: Airflow 3's `run_after`, Airflow 2's
    // `execution_date` (it has no other that every run has).
    let due = match api.version()? {
        Version::V2 => "run_after",
        Version::V1 => "execution_date",
    };
    let calls: Vec<Call> = dags
        .iter()
        .map(|dag_id| {
            let mut path = format!("/dags/{}/dagRuns?order_by=-{due}&limit={}", encode(dag_id), settings.runs);
            // A millisecond past the last final run: the cursor is cut to
            // milliseconds, Airflow keeps microseconds.
            let after = config.last_runs.get(dag_id).map(|ms| ms + 1);
            if let Some(start) = after.into_iter().chain(since).max() {
                path.push_str(&format!("&{due}_gte={}", encode(&time::rfc3339(start))));
            }
            Call::get(path)
        })
        .collect();
    let mut refs = Vec::new();
    for (dag_id, answer) in dags.iter().zip(api.send_all(&calls)) {
        let page = match answer {
            Ok(page) => page,
            // A DAG deleted since it was listed has no runs to read.
            Err(failure) if failure.message.contains("answered 404") => continue,
            Err(failure) => return Err(failure.context(format!("the runs of DAG `{dag_id}`"))),
        };
        for run in page.get("dag_runs").and_then(Value::as_array).into_iter().flatten() {
            let Some(run_id) = run.get("dag_run_id").and_then(Value::as_str) else { continue };
            let summary = json!({
                "state": run.get("state"),
                "run_after": run.get(due),
                "end_date": run.get("end_date"),
            });
            refs.push(EntityRef {
                kind: EntityKind::PipelineStatus,
                path: vec![dag_id.clone(), run_id.to_string()],
                cost: 1,
                key: Some(summary.to_string()),
            });
        }
    }
    Ok(refs)
}

/// `statusLookbackDays` before now, when set and the clock is readable.
fn lookback_start(days: Option<u32>) -> Option<i64> {
    let days = days?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?;
    let now = i64::try_from(now.as_millis()).ok()?;
    Some(now - i64::from(days) * 86_400_000)
}
