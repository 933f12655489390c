//! Pipeline kinds (contract 0.2.2) through every layer: the `runs` test
//! plugin lists pipelines with their tasks and runs; the host writes them
//! as OpenMetadata `CreatePipeline` requests and `pipelineStatus`
//! records, with lineage table → pipeline → table into a database
//! service, into the catalog and into the OpenMetadata fixture, and marks
//! a pipeline gone from the source deleted.

use crate::common::{self, count, export_all, ingest, ok, test_plugin, text, weir};
use serde_json::{Value, json};
use weir_fixtures::openmetadata::{OpenMetadataFixture, definition_validator, require_specs, schema_errors, validator};

/// Two pipelines: `load_orders` (film → rental, two runs) and the paused
/// `report` (one failed run), unless `without_report`.
fn pipelines(without_report: bool) -> Value {
    let mut all = vec![json!({
        "name": "load_orders",
        "owners": ["ana"],
        "tags": ["shop"],
        "tasks": [{"name": "extract", "downstream": ["load"]}, {"name": "load"}],
        "runs": [
            {"id": "scheduled__2026-12-01T00:00:00+00:00", "timestamp": 1_796_083_200_000_i64, "status": "success",
             "tasks": {"extract": "success", "load": "success"}},
            {"id": "manual__2026-12-02T10:00:00.5+00:00", "timestamp": 1_796_205_600_500_i64, "status": "running",
             "tasks": {"extract": "success", "load": "running"}},
        ],
        "inlets": [["pg", "db", "s", "film"]],
        "outlets": [["pg", "db", "s", "rental"]],
    })];
    if !without_report {
        all.push(json!({
            "name": "report",
            "paused": true,
            "tasks": [{"name": "x"}],
            "runs": [{"id": "manual__1", "timestamp": 1_796_000_000_000_i64, "status": "failed", "tasks": {"x": "failed"}}],
        }));
    }
    json!(all)
}

fn runs_yaml(pipelines: &Value, sink: &str) -> String {
    format!(
        "source:\n  type: airflow\n  serviceName: af\n  serviceConnection:\n    config:\n      type: Airflow\n      \
         hostPort: http://127.0.0.1:9\n      connection:\n        type: RestAPI\n        authConfig:\n          \
         token: unused\n      runsPipelines: {pipelines}\n  sourceConfig:\n    config:\n      type: PipelineMetadata\n{sink}\
         weir:\n  plugin: {}\n  statePath: state.db\n",
        test_plugin("runs").display()
    )
}

fn documents_of<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

#[test]
fn pipelines_their_runs_and_lineage_land_in_the_catalog_valid_and_a_gone_one_is_marked_deleted() {
    require_specs();
    let dir = tempfile::tempdir().unwrap();
    // The tables the pipeline reads and writes, in a database service.
    let tables = format!(
        "source:\n  type: tree\n  serviceName: pg\n  serviceConnection:\n    config:\n      type: Custom\n  \
         sourceConfig:\n    config: {}\nweir:\n  plugin: {}\n  statePath: tree-state.db\n",
        json!({"treeDatabases": ["db"], "treeSchemas": [["db", "s"]], "treeTables": [["db", "s", "film"], ["db", "s", "rental"]]}),
        test_plugin("tree").display()
    );
    ok(ingest(dir.path(), &tables, &[], &[]));

    let first = ok(ingest(dir.path(), &runs_yaml(&pipelines(false), ""), &[], &[]));
    assert_eq!(count(&first.report, "pipeline", "written"), 2, "{}", first.report);
    assert_eq!(count(&first.report, "pipelineStatus", "written"), 3, "{}", first.report);
    assert_eq!(first.report["relationsApplied"], 2, "film → load_orders → rental: {}", first.report);
    let docs = export_all(dir.path(), "catalog.db");
    let create = validator("api/data/createPipeline.json");
    let status = definition_validator("entity/data/pipeline.json", "pipelineStatus");
    let mut names = Vec::new();
    for doc in documents_of(&docs, "pipeline") {
        let errors = schema_errors(&create, &doc["document"]);
        assert!(errors.is_empty(), "{}: {errors:?}", doc["fqn"]);
        names.push(doc["fqn"].as_str().unwrap_or_default().to_string());
    }
    assert_eq!(names, ["af.load_orders", "af.report"]);
    let mut runs = Vec::new();
    for doc in documents_of(&docs, "pipelineStatus") {
        let errors = schema_errors(&status, &doc["document"]);
        assert!(errors.is_empty(), "{}: {errors:?}", doc["fqn"]);
        runs.push((doc["fqn"].as_str().unwrap_or_default().to_string(), doc["document"]["executionStatus"].clone()));
    }
    runs.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        runs,
        [
            ("af.load_orders.\"manual__2026-12-02T10:00:00.5+00:00\"".to_string(), json!("Pending")),
            ("af.load_orders.scheduled__2026-12-01T00:00:00+00:00".to_string(), json!("Successful")),
            ("af.report.manual__1".to_string(), json!("Failed")),
        ]
    );
    let report = common::show(dir.path(), "catalog.db", "af.report");
    assert_eq!(report["document"]["state"], "Inactive", "a paused pipeline: {report}");
    let load = common::show(dir.path(), "catalog.db", "af.load_orders");
    assert_eq!(load["document"]["tasks"][0]["downstreamTasks"], json!(["load"]), "{load}");
    assert_eq!(load["extra"]["owners"], json!(["ana"]), "{load}");

    // `report` is gone from the source: marked deleted (one of two is past
    // the default fraction's fail-safe, so it is raised); the rest unchanged.
    let yaml = format!("{}  markDeletedMaxFraction: 0.6\n", runs_yaml(&pipelines(true), ""));
    let second = ok(ingest(dir.path(), &yaml, &[], &[]));
    assert_eq!(count(&second.report, "pipeline", "deleted"), 1, "{}", second.report);
    assert_eq!(count(&second.report, "pipeline", "unchanged"), 1, "{}", second.report);
    assert_eq!(count(&second.report, "pipelineStatus", "unchanged"), 2, "{}", second.report);
    let out = weir(dir.path(), &["--catalog", "catalog.db", "catalog", "list", "--deleted"], &[]);
    assert!(text(&out.stdout).contains("af.report"), "{}", text(&out.stdout));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelines_and_their_runs_reach_openmetadata_as_its_own_ingestion_sends_them() {
    require_specs();
    let om = OpenMetadataFixture::start().await;
    let dir = tempfile::tempdir().unwrap();
    let sink = format!(
        "sink:\n  type: metadata-rest\nworkflowConfig:\n  openMetadataServerConfig:\n    hostPort: \"{}\"\n    \
         authProvider: openmetadata\n    securityConfig:\n      jwtToken: \"${{env:OM_TOKEN}}\"\n",
        om.base_url()
    );
    let mut all = pipelines(false);
    // A run naming a task its pipeline does not have: OpenMetadata refuses it.
    all[1]["runs"].as_array_mut().unwrap().push(
        json!({"id": "manual__2", "timestamp": 1_796_000_100_000_i64, "status": "success", "tasks": {"y": "success"}}),
    );
    let yaml = runs_yaml(&all, &sink);
    let (path, token) = (dir.path().to_path_buf(), om.token());
    let run =
        tokio::task::spawn_blocking(move || ingest(&path, &yaml, &[], &[("OM_TOKEN", token.as_str())])).await.unwrap();
    assert_eq!(run.code, Some(2), "a partial run: {}\n{}", run.stdout, run.stderr);
    let names: Vec<Value> = om.entities("pipelines").iter().map(|p| p["fullyQualifiedName"].clone()).collect();
    assert_eq!(names, [json!("af.load_orders"), json!("af.report")]);
    let statuses: Vec<Value> = om.statuses("af.load_orders").iter().map(|s| s["executionId"].clone()).collect();
    assert_eq!(statuses, [json!("scheduled__2026-12-01T00:00:00+00:00"), json!("manual__2026-12-02T10:00:00.5+00:00")]);
    assert_eq!(om.statuses("af.report").len(), 1, "the refused run is not kept");
    let failed = run.report["failures"].to_string();
    assert!(failed.contains("Invalid task name y") && failed.contains("manual__2"), "{failed}");
    assert_eq!(count(&run.report, "pipelineStatus", "written"), 3, "{}", run.report);
}
