//! `runs`: a test-only connector of a pipeline service, serving the
//! pipelines its connection's `runsPipelines` lists (a key of its own,
//! declared in its config schema), so the host's tests can check how
//! pipeline kinds reach every sink. It answers for the `airflow` source
//! type, so the workflow's `sourceConfig` is read as OpenMetadata's
//! `PipelineMetadata` one. Never shipped.
//!
//! Each pipeline: `{name, paused, tasks: [{name, downstream}], runs: [{id,
//! timestamp, status, tasks: {name: status}}], inlets, outlets}`, where
//! `inlets`/`outlets` are `[service, db, schema, table]` paths of tables
//! read and written (lineage edges table → pipeline → table).

use weir_sdk::serde_json::Value as Json;
use weir_sdk::*;

struct Runs;

fn text(value: &Json, key: &str) -> String {
    value.get(key).and_then(Json::as_str).unwrap_or_default().to_string()
}

fn strings(value: Option<&Json>) -> Vec<String> {
    value.and_then(Json::as_array).into_iter().flatten().filter_map(Json::as_str).map(String::from).collect()
}

fn status(name: &str) -> ExecutionStatus {
    match name {
        "success" => ExecutionStatus::Successful,
        "failed" => ExecutionStatus::Failed,
        "skipped" => ExecutionStatus::Skipped,
        _ => ExecutionStatus::Pending,
    }
}

fn pipelines(config: &Config) -> Vec<Json> {
    config.connection.get("runsPipelines").and_then(Json::as_array).cloned().unwrap_or_default()
}

impl Connector for Runs {
    fn new() -> Self {
        Runs
    }

    fn describe() -> PluginInfo {
        PluginInfo {
            name: "runs".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            source_types: vec!["airflow".into()],
            entity_kinds: vec![EntityKind::Pipeline, EntityKind::PipelineStatus],
            capabilities: Vec::new(),
            config_schema: r#"{"connection": {"type": "object", "properties": {"runsPipelines": {"type": "array"}}}}"#
                .into(),
        }
    }

    fn discover(&mut self, config: &Config, kind: EntityKind) -> Result<Vec<EntityRef>> {
        let mut refs = Vec::new();
        for p in pipelines(config) {
            let name = text(&p, "name");
            match kind {
                EntityKind::Pipeline => refs.push(EntityRef { kind, path: vec![name], cost: 1, key: None }),
                EntityKind::PipelineStatus => {
                    for run in p.get("runs").and_then(Json::as_array).into_iter().flatten() {
                        let path = vec![name.clone(), text(run, "id")];
                        refs.push(EntityRef { kind, path, cost: 1, key: Some(run.to_string()) });
                    }
                }
                _ => {}
            }
        }
        Ok(refs)
    }

    fn process(&mut self, config: &Config, refs: Vec<EntityRef>) -> Result<Batch> {
        let all = pipelines(config);
        let mut batch = Batch::default();
        for r in refs {
            let Some(p) = all.iter().find(|p| text(p, "name") == r.path[0]) else { continue };
            if r.kind == EntityKind::PipelineStatus {
                let run: Json = r.key.as_deref().and_then(|k| serde_json::from_str(k).ok()).unwrap_or_default();
                let tasks = run.get("tasks").and_then(Json::as_object).cloned().unwrap_or_default();
                batch.entities.push(Entity::PipelineStatus(PipelineStatus {
                    pipeline: r.path[0].clone(),
                    execution_id: r.path[1].clone(),
                    status: status(&text(&run, "status")),
                    timestamp: run.get("timestamp").and_then(Json::as_i64).unwrap_or_default(),
                    end_time: None,
                    tasks: tasks
                        .iter()
                        .map(|(name, s)| TaskStatus {
                            name: name.clone(),
                            status: status(s.as_str().unwrap_or_default()),
                            start_time: None,
                            end_time: None,
                            log_link: None,
                        })
                        .collect(),
                }));
                continue;
            }
            let name = r.path[0].clone();
            let tasks = p.get("tasks").and_then(Json::as_array).cloned().unwrap_or_default();
            batch.entities.push(Entity::Pipeline(Pipeline {
                name: name.clone(),
                display_name: None,
                description: Some(format!("{name}, as the test lists it")),
                source_url: None,
                schedule_interval: Some("@daily".into()),
                start_date: None,
                concurrency: Some(1),
                active: p.get("paused") != Some(&Json::Bool(true)),
                location: None,
                tags: strings(p.get("tags")),
                owners: strings(p.get("owners")),
                tasks: tasks
                    .iter()
                    .map(|t| Task {
                        name: text(t, "name"),
                        display_name: None,
                        description: None,
                        task_type: Some("BashOperator".into()),
                        downstream_tasks: strings(t.get("downstream")),
                        source_url: None,
                        owner: None,
                    })
                    .collect(),
            }));
            let table = |end: &Json| {
                let parts = strings(Some(end));
                parts.split_first().map(|(service, path)| (service.clone(), path.to_vec()))
            };
            for (service, path) in strings_of(p.get("inlets")).iter().filter_map(table) {
                batch.deferred.push(Deferred::Lineage(LineageEdge {
                    from_kind: EntityKind::Table,
                    from: path,
                    from_service: Some(service),
                    to_kind: EntityKind::Pipeline,
                    to: vec![name.clone()],
                    to_service: None,
                    sql: None,
                }));
            }
            for (service, path) in strings_of(p.get("outlets")).iter().filter_map(table) {
                batch.deferred.push(Deferred::Lineage(LineageEdge {
                    from_kind: EntityKind::Pipeline,
                    from: vec![name.clone()],
                    from_service: None,
                    to_kind: EntityKind::Table,
                    to: path,
                    to_service: Some(service),
                    sql: None,
                }));
            }
        }
        Ok(batch)
    }
}

fn strings_of(value: Option<&Json>) -> Vec<Json> {
    value.and_then(Json::as_array).cloned().unwrap_or_default()
}

export_connector!(Runs);
