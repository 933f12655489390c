//! Runs as pipeline statuses: the run itself came with its ref from
//! discovery; its task instances are read for the whole batch in one
//! paged `POST /dags/~/dagRuns/~/taskInstances/list`.
//!
//! A run's timestamp is its `run_after` (when it was due, set for every
//! run, manual ones too; the logical date may be empty in Airflow 3),
//! which is also what the next run's discovery starts from.

use crate::api::{Api, Call, Version};
use crate::pipelines::text;
use crate::time::millis;
use std::collections::{BTreeMap, BTreeSet};
use weir_sdk::serde_json::{Value, json};
use weir_sdk::{Batch, Entity, EntityFailure, EntityRef, ExecutionStatus, Failure, PipelineStatus, TaskStatus};

pub fn process(api: &Api, refs: &[EntityRef], batch: &mut Batch) {
    let dag_ids: BTreeSet<&str> = refs.iter().map(|r| r.path[0].as_str()).collect();
    let run_ids: BTreeSet<&str> = refs.iter().map(|r| r.path[1].as_str()).collect();
    let mut body = json!({"dag_ids": dag_ids, "dag_run_ids": run_ids});
    // Airflow 2's form has no `order_by` (and refuses it).
    if api.version().ok() == Some(Version::V2) {
        body["order_by"] = json!("id");
    }
    let instances = match api.list(&Call::post("/dags/~/dagRuns/~/taskInstances/list", body), "task_instances") {
        Ok(instances) => instances,
        Err(error) => {
            let error = error.context("the runs' task instances");
            batch.failures.extend(refs.iter().map(|r| EntityFailure { path: r.path.clone(), error: error.clone() }));
            return;
        }
    };
    // (dag, run) -> task -> instances (a mapped task has several).
    let mut by_run: BTreeMap<(&str, &str), BTreeMap<String, Vec<&Value>>> = BTreeMap::new();
    for ti in &instances {
        let (Some(dag), Some(run), Some(task)) = (str_of(ti, "dag_id"), str_of(ti, "dag_run_id"), text(ti, "task_id"))
        else {
            continue;
        };
        // A task gone from the DAG since the run is not one of its tasks.
        if str_of(ti, "state") == Some("removed") {
            continue;
        }
        by_run.entry((dag, run)).or_default().entry(task).or_default().push(ti);
    }
    for r in refs {
        let (dag, run_id) = (&r.path[0], &r.path[1]);
        let run: Value = r.key.as_deref().and_then(|k| weir_sdk::serde_json::from_str(k).ok()).unwrap_or_default();
        let Some(timestamp) = run.get("run_after").and_then(Value::as_str).and_then(millis) else {
            let error = Failure::permanent(format!("run `{run_id}` of DAG `{dag}` has no run_after time"));
            batch.failures.push(EntityFailure { path: r.path.clone(), error });
            continue;
        };
        let tasks = by_run.get(&(dag.as_str(), run_id.as_str()));
        let tasks = tasks.into_iter().flatten().map(|(task, tis)| task_status(api, dag, run_id, task, tis));
        batch.entities.push(Entity::PipelineStatus(PipelineStatus {
            pipeline: dag.clone(),
            execution_id: run_id.clone(),
            status: status(run.get("state").and_then(Value::as_str)),
            timestamp,
            end_time: run.get("end_date").and_then(Value::as_str).and_then(millis),
            tasks: tasks.collect(),
        }));
    }
}

/// One task of a run; a mapped task's instances as one: the worst state,
/// the earliest start and the latest end.
fn task_status(api: &Api, dag: &str, run_id: &str, task: &str, tis: &[&Value]) -> TaskStatus {
    let status =
        tis.iter().map(|ti| status(str_of(ti, "state"))).max_by_key(severity).unwrap_or(ExecutionStatus::Pending);
    let times = |key: &'static str| tis.iter().filter_map(move |ti| str_of(ti, key).and_then(millis));
    TaskStatus {
        name: task.to_string(),
        status,
        start_time: times("start_date").min(),
        end_time: times("end_date").max(),
        log_link: Some(api.log_url(dag, run_id, task)),
    }
}

/// Airflow's run and task states in OpenMetadata's four.
fn status(state: Option<&str>) -> ExecutionStatus {
    match state {
        Some("success") => ExecutionStatus::Successful,
        Some("failed" | "upstream_failed") => ExecutionStatus::Failed,
        Some("skipped") => ExecutionStatus::Skipped,
        // queued, running, scheduled, up_for_retry, deferred, none...
        _ => ExecutionStatus::Pending,
    }
}

fn severity(status: &ExecutionStatus) -> u8 {
    match status {
        ExecutionStatus::Skipped => 0,
        ExecutionStatus::Successful => 1,
        ExecutionStatus::Pending => 2,
        ExecutionStatus::Failed => 3,
    }
}

fn str_of<'v>(value: &'v Value, key: &str) -> Option<&'v str> {
    value.get(key).and_then(Value::as_str)
}
