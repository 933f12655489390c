//! `weir argo render` seen from outside: for a PostgreSQL, a SQL Server
//! and a Looker workflow, the documents validate against Argo's schema
//! (v4.1.2, each by its kind), the DAG runs the kinds parents first, the
//! pods read every secret from the Kubernetes Secret and no secret is in
//! the output; a workflow that cannot run in pods is refused.

use crate::common;

use common::{text, weir, workflow};
use serde_json::Value;
use weir_fixtures::argo::{schema_errors, validator};

const CANARY: &str = "Canary-Pw-5521";

fn shared() -> String {
    format!(
        "sink:\n  type: catalog\n  config:\n    url: postgres://weir:{CANARY}@catalog.db.internal/catalog\nweir:\n  stateStore: postgres://weir:{CANARY}@state.db.internal/state\n"
    )
}

fn postgres() -> String {
    format!(
        "source:\n  type: postgres\n  serviceName: Sales_PG\n  serviceConnection:\n    config:\n      type: Postgres\n      hostPort: pg.internal:5432\n      username: reader\n      authType:\n        password: {CANARY}\n      database: sales\n{}workflowConfig:\n  distributedExecution:\n    enabled: false\n    parallelism: 20\n    maxPods: 500\n    retryPolicy:\n      maxAttempts: 3\n      backoffSeconds: 15\n      backoffFactor: 3\n    resourceRequests:\n      cpu: 250m\n      memory: 256Mi\n    resourceLimits:\n      memory: 1Gi\n",
        shared()
    )
}

fn mssql() -> String {
    format!(
        "source:\n  type: mssql\n  serviceName: sqlsrv\n  serviceConnection:\n    config:\n      type: Mssql\n      hostPort: mssql.internal:1433\n      username: reader\n      password: {CANARY}\n      database: Sales\n  sourceConfig:\n    config:\n      type: DatabaseMetadata\n{}",
        shared()
    )
}

fn looker() -> String {
    format!(
        "source:\n  type: looker\n  serviceName: bi\n  serviceConnection:\n    config:\n      type: Looker\n      hostPort: https://looker.internal\n      clientId: weir\n      clientSecret: {CANARY}\n  sourceConfig:\n    config:\n      type: DashboardMetadata\n{}",
        shared()
    )
}

/// Renders `yaml` and returns the output and the three documents.
fn render(yaml: &str) -> (String, Vec<Value>) {
    let dir = tempfile::tempdir().unwrap();
    let wf = workflow(dir.path(), yaml);
    let args = [
        "argo",
        "render",
        "-c",
        wf.to_str().unwrap(),
        "--image",
        "registry.example/weir:1.2.3",
        "--namespace",
        "ingest",
        "--secret",
        "weir-creds",
        "-o",
        "argo.yaml",
    ];
    let out = weir(dir.path(), &args, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let rendered = std::fs::read_to_string(dir.path().join("argo.yaml")).unwrap();
    let docs: Vec<Value> = serde_yaml::Deserializer::from_str(&rendered)
        .map(|d| serde_yaml::from_value::<Value>(serde_yaml::Value::deserialize(d).unwrap()).unwrap())
        .collect();
    assert!(!rendered.contains(CANARY) && !text(&out.stderr).contains(CANARY), "a secret in the output:\n{rendered}");
    (rendered, docs)
}

use serde::Deserialize;

fn check_valid(docs: &[Value]) {
    assert_eq!(docs.len(), 3);
    assert_eq!(docs[0]["kind"], "ConfigMap");
    assert_eq!(docs[0]["apiVersion"], "v1");
    for doc in &docs[1..] {
        let kind = doc["kind"].as_str().unwrap();
        let errors = schema_errors(&validator(kind), doc);
        assert!(errors.is_empty(), "{kind} is not valid Argo: {errors:#?}\n{doc:#}");
    }
    // The validator has teeth: a retry limit as a number is not Argo's
    // IntOrString (a string in its schema), a task without a name is not a task.
    let mut broken = docs[1].clone();
    broken["spec"]["templates"][1]["retryStrategy"]["limit"] = serde_json::json!(3);
    broken["spec"]["templates"][0]["dag"]["tasks"][0].as_object_mut().unwrap().remove("name");
    let errors = schema_errors(&validator("WorkflowTemplate"), &broken);
    assert_eq!(errors.len(), 2, "{errors:#?}");
}

fn template<'a>(docs: &'a [Value], name: &str) -> &'a Value {
    docs[1]["spec"]["templates"].as_array().unwrap().iter().find(|t| t["name"] == name).unwrap()
}

#[test]
fn a_postgres_workflow_renders_as_valid_argo_with_its_secrets_in_a_secret() {
    let (_, docs) = render(&postgres());
    check_valid(&docs);
    let [config_map, wft, run] = [&docs[0], &docs[1], &docs[2]];
    assert_eq!(config_map["metadata"]["namespace"], "ingest");
    assert_eq!(wft["metadata"]["name"], "weir-sales-pg");
    assert_eq!(run["spec"]["workflowTemplateRef"]["name"], "weir-sales-pg");
    assert_eq!(run["metadata"]["generateName"], "weir-sales-pg-");
    assert_eq!(wft["spec"]["parallelism"], 20);

    // The file the pods read: every secret an env reference, nothing else changed.
    let file = config_map["data"]["workflow.yaml"].as_str().unwrap();
    for key in ["WEIR_SOURCE_PASSWORD", "WEIR_CATALOG_URL", "WEIR_STATE_STORE"] {
        assert!(file.contains(&format!("${{env:{key}}}")), "{key}: {file}");
    }
    assert!(file.contains("pg.internal:5432"), "{file}");

    // The DAG: discover, the kinds parents first, each after the one before whatever its pods did, finalize.
    let tasks = wft["spec"]["templates"][0]["dag"]["tasks"].as_array().unwrap();
    let names: Vec<&str> = tasks.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["discover", "database", "database-schema", "table", "stored-procedure", "finalize"]);
    assert_eq!(tasks[1]["depends"], "discover");
    let after_schemas = tasks[3]["depends"].as_str().unwrap();
    assert!(after_schemas.contains("database-schema.Failed") && after_schemas.contains("database-schema.Skipped"));
    assert_eq!(tasks[3]["withParam"], "{{tasks.discover.outputs.parameters.table}}");
    assert!(tasks[5]["depends"].as_str().unwrap().starts_with("stored-procedure.Succeeded"));

    // Every pod: the image, the secrets from the Secret, retried only when the cause may pass.
    for name in ["discover", "process", "finalize"] {
        let t = template(&docs, name);
        let c = &t["container"];
        assert_eq!(c["image"], "registry.example/weir:1.2.3");
        assert_eq!(c["resources"]["requests"]["cpu"], "250m");
        assert_eq!(c["resources"]["limits"]["memory"], "1Gi");
        let env = c["env"].as_array().unwrap();
        for key in ["WEIR_SOURCE_PASSWORD", "WEIR_CATALOG_URL", "WEIR_STATE_STORE"] {
            let e = env.iter().find(|e| e["name"] == key).unwrap_or_else(|| panic!("{name}: no {key}"));
            assert_eq!(e["valueFrom"]["secretKeyRef"], serde_json::json!({ "name": "weir-creds", "key": key }));
        }
        let retry = &t["retryStrategy"];
        assert_eq!(retry["limit"], "2", "maxAttempts 3 is two retries");
        assert_eq!(retry["backoff"]["duration"], "15");
        assert_eq!(retry["backoff"]["factor"], "3");
        let when = retry["expression"].as_str().unwrap();
        assert!(when.contains(r#"lastRetry.exitCode == "75""#) && when.contains(r#""137""#), "{when}");
        assert!(!when.contains(r#""2""#) && !when.contains(r#""1""#), "exit 1 and 2 are final: {when}");
    }
    let discover = template(&docs, "discover");
    let outputs = discover["outputs"]["parameters"].as_array().unwrap();
    assert_eq!(outputs.len(), 4, "one list of shard ids per kind");
    assert_eq!(outputs[2]["valueFrom"]["path"], "/tmp/weir/shards.table.json");
    let args: Vec<&str> = template(&docs, "process")["container"]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(
        args,
        [
            "process",
            "-c",
            "/etc/weir/workflow.yaml",
            "--run-id",
            "{{workflow.name}}",
            "--shard",
            "{{inputs.parameters.shard}}"
        ]
    );
}

#[test]
fn sql_server_and_looker_workflows_render_as_valid_argo() {
    let (_, docs) = render(&mssql());
    check_valid(&docs);
    let tasks: Vec<String> = docs[1]["spec"]["templates"][0]["dag"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    assert!(tasks.contains(&"table".to_string()) && tasks.last().unwrap() == "finalize", "{tasks:?}");
    let env = docs[1]["spec"]["templates"][1]["container"]["env"].to_string();
    assert!(env.contains("WEIR_SOURCE_PASSWORD"), "{env}");

    let (_, docs) = render(&looker());
    check_valid(&docs);
    let file = docs[0]["data"]["workflow.yaml"].as_str().unwrap();
    assert!(file.contains("${env:WEIR_SOURCE_CLIENT_SECRET}"), "{file}");
    let tasks = docs[1]["spec"]["templates"][0]["dag"]["tasks"].to_string();
    assert!(tasks.contains("dashboard"), "{tasks}");
}

#[test]
fn a_workflow_that_cannot_run_in_pods_is_refused_with_what_to_set() {
    let dir = tempfile::tempdir().unwrap();
    let one_machine = postgres().replace("  stateStore: postgres://weir:Canary-Pw-5521@state.db.internal/state\n", "");
    let wf = workflow(dir.path(), &one_machine);
    let out = weir(dir.path(), &["argo", "render", "-c", wf.to_str().unwrap(), "--image", "w:1"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("weir.stateStore"), "{stderr}");
    assert!(!stderr.contains(CANARY), "{stderr}");
    let no_image = workflow(dir.path(), &postgres());
    let out = weir(dir.path(), &["argo", "render", "-c", no_image.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("--image"), "{}", text(&out.stderr));
}

#[test]
fn ingest_does_not_run_here_what_the_file_asks_to_run_on_argo() {
    // With `enabled: true` and no Argo Server to submit to, nothing runs.
    let dir = tempfile::tempdir().unwrap();
    let wf = workflow(dir.path(), &postgres().replace("    enabled: false\n", "    enabled: true\n"));
    let out = weir(dir.path(), &["ingest", "-c", wf.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("distributedExecution.argoServer") && stderr.contains("weir argo render"), "{stderr}");
    assert!(!stderr.contains(CANARY), "{stderr}");
}
