//! DAGs as pipelines: what the DAG list said of each (its ref carries
//! it) and `GET /dags/{id}/tasks` for every DAG of a batch, sent together
//! (`GET /dags/{id}/details` too for a ref without it); then the assets
//! the batch's DAGs touch, for lineage. A DAG's start date is its tasks'
//! earliest (Airflow gives each task the DAG's unless it has its own).

use crate::api::{Api, Call};
use crate::assets;
use crate::settings::Settings;
use weir_sdk::percent::encode;
use weir_sdk::serde_json::Value;
use weir_sdk::{Batch, Entity, EntityFailure, EntityRef, Pipeline, Task};

pub fn process(settings: &Settings, api: &Api, refs: &[EntityRef], batch: &mut Batch) {
    let listed: Vec<Option<Value>> =
        refs.iter().map(|r| r.key.as_deref().and_then(|k| weir_sdk::serde_json::from_str(k).ok())).collect();
    let mut calls = Vec::new();
    for (r, listed) in refs.iter().zip(&listed) {
        let dag = encode(&r.path[0]);
        calls.push(Call::get(format!("/dags/{dag}/tasks")));
        if listed.is_none() {
            calls.push(Call::get(format!("/dags/{dag}/details")));
        }
    }
    let mut answers = api.send_all(&calls).into_iter();
    let mut written = Vec::new();
    for (r, listed) in refs.iter().zip(listed) {
        let Some(tasks) = answers.next() else { break };
        let details = match listed {
            Some(listed) => Ok(listed),
            None => answers.next().unwrap_or_else(|| Err(weir_sdk::Failure::permanent("no answer"))),
        };
        match details.and_then(|d| Ok((d, tasks?))) {
            Ok((details, tasks)) => {
                batch.entities.push(Entity::Pipeline(pipeline(settings, api, &r.path[0], &details, &tasks)));
                written.push(r.path[0].clone());
            }
            Err(error) => batch.failures.push(EntityFailure { path: r.path.clone(), error }),
        }
    }
    if settings.source.include_lineage && !written.is_empty() {
        assets::lineage(settings, api, &written, batch);
    }
}

fn pipeline(settings: &Settings, api: &Api, dag_id: &str, details: &Value, tasks: &Value) -> Pipeline {
    let dag_url = api.dag_url(dag_id);
    let tasks = tasks.get("tasks").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let owners = if settings.source.include_owners { strings(details.get("owners")) } else { Vec::new() };
    let tags = if settings.source.include_tags {
        let tags = details.get("tags").and_then(Value::as_array).into_iter().flatten();
        tags.filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_string)).collect()
    } else {
        Vec::new()
    };
    Pipeline {
        name: dag_id.to_string(),
        display_name: text(details, "dag_display_name").filter(|d| d != dag_id),
        description: text(details, "description").or_else(|| text(details, "doc_md")),
        source_url: Some(dag_url.clone()),
        // Airflow 2 has no summary: its `schedule_interval` holds one.
        schedule_interval: text(details, "timetable_summary")
            .or_else(|| details.get("schedule_interval").and_then(|s| text(s, "value"))),
        start_date: text(details, "start_date").or_else(|| earliest_start(tasks)),
        // As OpenMetadata's own Airflow connector fills it: runs at once.
        concurrency: details.get("max_active_runs").and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok()),
        active: details.get("is_paused").and_then(Value::as_bool) != Some(true),
        location: text(details, "fileloc"),
        tags,
        owners,
        tasks: tasks.iter().filter_map(|t| task(settings, api, dag_id, t)).collect(),
    }
}

/// The earliest `start_date` of the tasks, as Airflow writes it.
fn earliest_start(tasks: &[Value]) -> Option<String> {
    let starts = tasks.iter().filter_map(|t| text(t, "start_date"));
    starts.filter_map(|s| Some((crate::time::millis(&s)?, s))).min().map(|(_, s)| s)
}

fn task(settings: &Settings, api: &Api, dag_id: &str, task: &Value) -> Option<Task> {
    let name = text(task, "task_id")?;
    let task_type = text(task, "operator_name")
        .or_else(|| task.get("class_ref").and_then(|c| text(c, "class_name")))
        .filter(|t| !t.is_empty());
    let owner = if settings.source.include_owners { text(task, "owner") } else { None };
    Some(Task {
        display_name: text(task, "task_display_name").filter(|d| *d != name),
        description: text(task, "doc_md"),
        task_type,
        downstream_tasks: strings(task.get("downstream_task_ids")),
        source_url: Some(api.task_url(dag_id, &name)),
        owner,
        name,
    })
}

/// A non-empty string field.
pub fn text(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

fn strings(value: Option<&Value>) -> Vec<String> {
    let values = value.and_then(Value::as_array).into_iter().flatten();
    values.filter_map(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string).collect()
}
