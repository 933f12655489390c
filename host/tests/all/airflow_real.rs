//! The Airflow connector against a real Airflow 3 (apache-airflow 3.3.2
//! from PyPI, in the venv `scripts/airflow-venv` makes; `scripts/test`
//! makes it before the tests). A DAGs folder of four DAGs (dependencies,
//! owners, tags, a paused one, one that fails, assets naming tables of a
//! real PostgreSQL database ingested in the same test) is parsed by
//! `airflow dag-processor` and served by `airflow api-server` on
//! 127.0.0.1, its runs made by `airflow dags test`. What weir writes is
//! compared with what Airflow's own API answers: pipelines, tasks,
//! statuses and lineage, in the catalog and through the OpenMetadata
//! fixture; then a run with nothing new (no run read again), a new run and
//! a DAG removed (marked deleted), a wrong password and a server that is
//! not there.
//!
//! Without the venv the test prints that it skipped, unless
//! `WEIR_REQUIRE_AIRFLOW=1` (as `scripts/test` sets), when it fails.

use crate::common::{self, Ingested, TestDb, count, export_all, ingest, ok, pg_connection, show};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use weir::bench::airflow::AirflowServer;
use weir_fixtures::openmetadata::{OpenMetadataFixture, definition_validator, require_specs, schema_errors, validator};

const PASSWORD: &str = "af-canary-pw-5b1e";
const WRONG_PASSWORD: &str = "af-wrong-canary-77c2";

/// The venv of `variable` (default `~/.cache/weir/<dir>`), or `None` after
/// saying why the test skips; with `WEIR_REQUIRE_AIRFLOW=1` a missing one
/// fails the test.
fn venv_of(test: &str, variable: &str, dir: &str, make: &str) -> Option<PathBuf> {
    let path = std::env::var_os(variable).map(PathBuf::from).unwrap_or_else(|| {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/root"));
        home.join(".cache/weir").join(dir)
    });
    if path.join("bin/airflow").is_file() {
        return Some(path);
    }
    let why = format!("no Airflow venv at {} (make it with {make}scripts/airflow-venv)", path.display());
    if std::env::var("WEIR_REQUIRE_AIRFLOW").is_ok_and(|v| v == "1") {
        panic!("{test}: {why}");
    }
    eprintln!("SKIPPED {test}: {why}");
    None
}

fn venv(test: &str) -> Option<PathBuf> {
    venv_of(test, "WEIR_AIRFLOW_VENV", "airflow-venv", "")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Waits until Airflow lists exactly these DAGs.
async fn wait_for(airflow: &AirflowServer, expected: &[&str]) {
    let what = format!("{expected:?}");
    airflow.wait_for_dags(&what, |ids| ids == expected).await.unwrap();
}

/// (run id, state) of every run of `dag`, as Airflow has them.
async fn runs(airflow: &AirflowServer, dag: &str) -> BTreeSet<(String, String)> {
    let page = airflow.get(&format!("/dags/{dag}/dagRuns?limit=100")).await.unwrap();
    let runs = page["dag_runs"].as_array().unwrap().iter();
    runs.map(|r| (r["dag_run_id"].as_str().unwrap().to_string(), r["state"].as_str().unwrap().to_string())).collect()
}

/// The DAGs: `load_films` reads `film` and writes `rental` (assets naming
/// the test database's tables), `broken_job` fails in its first task,
/// `nightly_report` is paused, `to_remove` goes away between runs.
fn write_dags(dags: &Path, db: &TestDb) {
    let table = |name: &str| format!("postgres://{}/{}/public/{name}", db.host_port(), db.name);
    let header = "from datetime import datetime\nfrom airflow.sdk import DAG, Asset\n\
                  from airflow.providers.standard.operators.bash import BashOperator\n\n";
    let files = [
        (
            "load_films.py",
            format!(
                "{header}with DAG(\"load_films\", schedule=\"@daily\", start_date=datetime(2026, 1, 1), catchup=False,\n\
                 \x20        description=\"Films into rentals\", tags=[\"shop\", \"daily\"], default_args={{\"owner\": \"ana\"}},\n\
                 \x20        max_active_runs=2):\n\
                 \x20   extract = BashOperator(task_id=\"extract\", bash_command=\"echo extract\", doc_md=\"Reads films\",\n\
                 \x20                          inlets=[Asset(\"{}\")])\n\
                 \x20   load = BashOperator(task_id=\"load\", bash_command=\"echo load\", outlets=[Asset(\"{}\")])\n\
                 \x20   extract >> load\n",
                table("film"),
                table("rental")
            ),
        ),
        (
            "broken_job.py",
            format!(
                "{header}with DAG(\"broken_job\", schedule=None, start_date=datetime(2026, 1, 1), default_args={{\"owner\": \"bo\"}}):\n\
                 \x20   BashOperator(task_id=\"fail\", bash_command=\"exit 1\") >> BashOperator(task_id=\"after\", bash_command=\"echo never\")\n"
            ),
        ),
        (
            "nightly_report.py",
            format!(
                "{header}with DAG(\"nightly_report\", schedule=\"0 2 * * *\", start_date=datetime(2026, 1, 1), catchup=False,\n\
                 \x20        is_paused_upon_creation=True):\n\
                 \x20   BashOperator(task_id=\"report\", bash_command=\"echo report\")\n"
            ),
        ),
        (
            "to_remove.py",
            format!(
                "{header}with DAG(\"to_remove\", schedule=None, start_date=datetime(2026, 1, 1)):\n\
                 \x20   BashOperator(task_id=\"only\", bash_command=\"echo only\")\n"
            ),
        ),
    ];
    for (name, text) in files {
        std::fs::write(dags.join(name), text).unwrap();
    }
}

fn airflow_yaml(host_port: &str, password: &str, sink: &str, state: &str) -> String {
    format!(
        "source:\n  type: airflow\n  serviceName: af\n  serviceConnection:\n    config:\n      type: Airflow\n      \
         hostPort: {host_port}\n      numberOfStatus: 10\n      connection:\n        type: RestAPI\n        \
         authConfig:\n          username: weir\n          password: {password}\n  sourceConfig:\n    config:\n      \
         type: PipelineMetadata\n      lineageInformation:\n        dbServiceNames: [pg]\n{sink}weir:\n  \
         statePath: {state}\n  markDeletedMaxFraction: 0.5\n"
    )
}

fn pg_yaml(db: &TestDb, sink: &str, state: &str) -> String {
    format!(
        "source:\n  type: postgres\n  serviceName: pg\n  serviceConnection:\n    config:\n{}\n  sourceConfig:\n    \
         config:\n      type: DatabaseMetadata\n{sink}weir:\n  statePath: {state}\n",
        pg_connection(db, db.reader())
    )
}

/// Runs weir off the async test's threads (it blocks on the process).
async fn ingest_async(dir: &Path, yaml: String, env: Vec<(String, String)>) -> Ingested {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        ingest(&dir, &yaml, &[], &env)
    })
    .await
    .unwrap()
}

/// A run as the catalog has it: FQN, executionStatus, and its tasks by
/// name with their status.
type RunRow = (String, String, Vec<(String, String)>);

fn statuses(docs: &[Value]) -> BTreeSet<RunRow> {
    docs.iter()
        .filter(|d| d["kind"] == "pipelineStatus")
        .map(|d| {
            let doc = &d["document"];
            let mut tasks: Vec<(String, String)> = doc["taskStatus"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| (t["name"].as_str().unwrap().into(), t["executionStatus"].as_str().unwrap().into()))
                .collect();
            tasks.sort();
            (d["fqn"].as_str().unwrap().to_string(), doc["executionStatus"].as_str().unwrap().to_string(), tasks)
        })
        .collect()
}

/// `af.dag."run id"`, as weir quotes a run id with dots or colons.
fn run_fqn(dag: &str, run_id: &str) -> String {
    format!("af.{dag}.{}", weir_fixtures::openmetadata::quote_name(run_id))
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_airflow_is_read_exactly_and_read_again_only_for_what_is_new() {
    let Some(venv) = venv("a_real_airflow_is_read_exactly_and_read_again_only_for_what_is_new") else { return };
    require_specs();
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create("airflow").await;
    db.run(
        "CREATE TABLE public.film (film_id int PRIMARY KEY, title text); \
         CREATE TABLE public.rental (rental_id int PRIMARY KEY, film_id int REFERENCES public.film);",
    )
    .await;
    let root = dir.path().join("airflow");
    std::fs::create_dir_all(root.join("dags")).unwrap();
    write_dags(&root.join("dags"), &db);
    let airflow = AirflowServer::start(&venv, &root, PASSWORD).await.unwrap();
    wait_for(&airflow, &["broken_job", "load_films", "nightly_report", "to_remove"]).await;
    airflow.run_dag("load_films", "2026-12-01").unwrap();
    airflow.run_dag("broken_job", "2026-12-01").unwrap();
    let film_runs = runs(&airflow, "load_films").await;
    let broken_runs = runs(&airflow, "broken_job").await;
    assert_eq!(film_runs.iter().map(|(_, s)| s.as_str()).collect::<Vec<_>>(), ["success"], "{film_runs:?}");
    assert_eq!(broken_runs.iter().map(|(_, s)| s.as_str()).collect::<Vec<_>>(), ["failed"], "{broken_runs:?}");

    // The tables the DAG reads and writes, in the same catalog.
    ok(ingest_async(dir.path(), pg_yaml(&db, "", "pg-state.db"), Vec::new()).await);
    let host = airflow.url("");
    let first = ok(ingest_async(dir.path(), airflow_yaml(&host, PASSWORD, "", "af-state.db"), Vec::new()).await);
    for shown in [&first.stdout, &first.stderr, &first.report.to_string()] {
        assert!(!shown.contains(PASSWORD), "the password is shown: {shown}");
    }
    assert_eq!(count(&first.report, "pipeline", "written"), 4, "{}", first.report);
    assert_eq!(count(&first.report, "pipelineStatus", "written"), 2, "{}", first.report);
    assert_eq!(first.report["relationsApplied"], 2, "film → load_films → rental: {}", first.report);

    // `weir check` signs in and lists as a run does; a wrong password fails
    // the listing with Airflow's answer, and is never shown.
    let check = |password: &str| {
        let wf = common::workflow(dir.path(), &airflow_yaml(&host, password, "", "check-state.db"));
        let out =
            common::weir(dir.path(), &["--catalog", "check.db", "check", "-c", wf.to_str().unwrap(), "--json"], &[]);
        let steps: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        let step = |name: &str| {
            steps["steps"].as_array().into_iter().flatten().find(|s| s["name"] == name).cloned().unwrap_or(Value::Null)
        };
        (
            out.status.code(),
            step("GetPipelines"),
            step("ReadPipelines"),
            format!("{steps}{}", common::text(&out.stderr)),
        )
    };
    let (code, listed, read, all) = tokio::task::block_in_place(|| check(PASSWORD));
    assert_eq!(code, Some(0), "{all}");
    assert_eq!(listed["outcome"], "passed", "{all}");
    assert!(listed["detail"].as_str().unwrap().starts_with("4 found"), "{listed}");
    assert_eq!(read["outcome"], "passed", "{all}");
    let (code, listed, _, all) = tokio::task::block_in_place(|| check("Not-The-Password-51"));
    assert_eq!(code, Some(1), "{all}");
    assert_eq!(listed["outcome"], "failed", "{all}");
    assert!(!all.contains("Not-The-Password-51") && !all.contains(PASSWORD), "a password is shown: {all}");

    let docs = export_all(dir.path(), "catalog.db");
    let create = validator("api/data/createPipeline.json");
    let status = definition_validator("entity/data/pipeline.json", "pipelineStatus");
    let mut names = Vec::new();
    for doc in docs.iter().filter(|d| d["kind"] == "pipeline") {
        let errors = schema_errors(&create, &doc["document"]);
        assert!(errors.is_empty(), "{}: {errors:?}", doc["fqn"]);
        names.push(doc["fqn"].as_str().unwrap().to_string());
    }
    assert_eq!(names, ["af.broken_job", "af.load_films", "af.nightly_report", "af.to_remove"]);
    for doc in docs.iter().filter(|d| d["kind"] == "pipelineStatus") {
        let errors = schema_errors(&status, &doc["document"]);
        assert!(errors.is_empty(), "{}: {errors:?}", doc["fqn"]);
    }
    let (film_run, broken_run) = (&film_runs.first().unwrap().0, &broken_runs.first().unwrap().0);
    let expected: BTreeSet<_> = [
        (
            run_fqn("load_films", film_run),
            "Successful".into(),
            pairs(&[("extract", "Successful"), ("load", "Successful")]),
        ),
        (run_fqn("broken_job", broken_run), "Failed".into(), pairs(&[("after", "Failed"), ("fail", "Failed")])),
    ]
    .into_iter()
    .collect();
    assert_eq!(statuses(&docs), expected);

    let films = show(dir.path(), "catalog.db", "af.load_films");
    let doc = &films["document"];
    assert_eq!(doc["state"], "Active", "{films}");
    assert_eq!(doc["description"], "Films into rentals");
    assert_eq!(doc["scheduleInterval"], "0 0 * * *", "Airflow's summary of @daily: {films}");
    assert_eq!(doc["concurrency"], 2, "max_active_runs");
    assert_eq!(doc["startDate"], "2026-01-01T00:00:00Z");
    assert_eq!(doc["sourceUrl"], airflow.url("/dags/load_films"));
    let tasks: Vec<(&str, &str, &Value)> = doc["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap(), t["taskType"].as_str().unwrap(), &t["downstreamTasks"]))
        .collect();
    assert_eq!(tasks, [("extract", "BashOperator", &json!(["load"])), ("load", "BashOperator", &json!([]))]);
    assert_eq!(doc["tasks"][0]["description"], "Reads films");
    assert_eq!(films["extra"]["owners"], json!(["ana"]));
    assert_eq!(films["extra"]["tags"], json!(["daily", "shop"]));
    let table = |name: &str| format!("pg.{}.public.{name}", db.name);
    let edges: BTreeSet<(String, String)> = films["lineage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["fromEntity"]["fqn"].as_str().unwrap().into(), e["toEntity"]["fqn"].as_str().unwrap().into()))
        .collect();
    let expected_edges: BTreeSet<(String, String)> =
        [(table("film"), "af.load_films".into()), ("af.load_films".into(), table("rental"))].into_iter().collect();
    assert_eq!(edges, expected_edges);
    let report = show(dir.path(), "catalog.db", "af.nightly_report");
    assert_eq!(report["document"]["state"], "Inactive", "a paused DAG: {report}");

    // Nothing new in Airflow: no run is read again.
    let again = ok(ingest_async(dir.path(), airflow_yaml(&host, PASSWORD, "", "af-state.db"), Vec::new()).await);
    assert_eq!(count(&again.report, "pipelineStatus", "found"), 0, "{}", again.report);
    assert_eq!(count(&again.report, "pipeline", "unchanged"), 4, "{}", again.report);

    // A new run, and a DAG whose file is gone.
    airflow.run_dag("load_films", "2026-12-02").unwrap();
    std::fs::remove_file(root.join("dags/to_remove.py")).unwrap();
    wait_for(&airflow, &["broken_job", "load_films", "nightly_report"]).await;
    let third = ok(ingest_async(dir.path(), airflow_yaml(&host, PASSWORD, "", "af-state.db"), Vec::new()).await);
    assert_eq!(count(&third.report, "pipelineStatus", "found"), 1, "only the new run: {}", third.report);
    assert_eq!(count(&third.report, "pipelineStatus", "written"), 1, "{}", third.report);
    assert_eq!(count(&third.report, "pipeline", "deleted"), 1, "{}", third.report);
    let out = common::weir(dir.path(), &["--catalog", "catalog.db", "catalog", "list", "--deleted"], &[]);
    assert!(common::text(&out.stdout).contains("af.to_remove"), "{}", common::text(&out.stdout));
    let newest = runs(&airflow, "load_films").await;
    let new_run = newest.iter().find(|(id, _)| id != film_run).expect("the second run");
    let docs = export_all(dir.path(), "catalog.db");
    assert!(
        statuses(&docs)
            .iter()
            .any(|(fqn, status, _)| *fqn == run_fqn("load_films", &new_run.0) && status == "Successful"),
        "{:?}",
        statuses(&docs)
    );

    // A wrong password: refused at login, said so, the password not shown.
    let wrong = ingest_async(dir.path(), airflow_yaml(&host, WRONG_PASSWORD, "", "wrong-state.db"), Vec::new()).await;
    assert_ne!(wrong.code, Some(0), "{}", wrong.stdout);
    let said = format!("{}{}{}", wrong.stdout, wrong.stderr, wrong.report);
    assert!(said.contains("Airflow refused the login of `weir` (status 401"), "{said}");
    assert!(!said.contains(WRONG_PASSWORD), "the password is shown: {said}");

    // No server where hostPort says.
    let gone = format!("http://127.0.0.1:{}", free_port());
    let away = ingest_async(dir.path(), airflow_yaml(&gone, PASSWORD, "", "away-state.db"), Vec::new()).await;
    assert_ne!(away.code, Some(0), "{}", away.stdout);
    let said = format!("{}{}{}", away.stdout, away.stderr, away.report);
    assert!(said.contains(&format!("Airflow at {gone}")), "{said}");

    // The same through OpenMetadata: the tables first, then Airflow.
    let om = OpenMetadataFixture::start().await;
    let sink = format!(
        "sink:\n  type: metadata-rest\nworkflowConfig:\n  openMetadataServerConfig:\n    hostPort: \"{}\"\n    \
         authProvider: openmetadata\n    securityConfig:\n      jwtToken: \"${{env:OM_TOKEN}}\"\n",
        om.base_url()
    );
    let env = vec![("OM_TOKEN".to_string(), om.token())];
    let ana = om.add_user("ana", "ana@example.com");
    ok(ingest_async(dir.path(), pg_yaml(&db, &sink, "om-pg-state.db"), env.clone()).await);
    let to_om = ok(ingest_async(dir.path(), airflow_yaml(&host, PASSWORD, &sink, "om-af-state.db"), env).await);
    let films = om.get("pipelines", "af.load_films").expect("load_films in OpenMetadata");
    assert_eq!(films["owners"], json!([{"id": ana, "type": "user"}]), "the DAG's owner, a user: {films}");
    let labels: Vec<&Value> = films["tags"].as_array().unwrap().iter().map(|t| &t["tagFQN"]).collect();
    assert_eq!(labels, [&json!("AirflowTags.daily"), &json!("AirflowTags.shop")], "{films}");
    assert_eq!(films["tags"][0]["source"], "Classification");
    assert!(om.get("tags", "AirflowTags.shop").is_some(), "the tag was made first");
    let warnings = to_om.report["warnings"].to_string();
    assert!(warnings.contains("pipeline owner `bo` is not a user"), "{warnings}");
    let names: Vec<Value> = om.entities("pipelines").iter().map(|p| p["fullyQualifiedName"].clone()).collect();
    assert_eq!(names, [json!("af.broken_job"), json!("af.load_films"), json!("af.nightly_report")]);
    let runs: BTreeSet<String> =
        om.statuses("af.load_films").iter().map(|s| s["executionId"].as_str().unwrap().to_string()).collect();
    assert_eq!(runs, newest.iter().map(|(id, _)| id.clone()).collect());
    let broken = om.statuses("af.broken_job");
    assert_eq!(broken.len(), 1, "{broken:?}");
    assert_eq!(broken[0]["executionStatus"], "Failed");
    let lineage = om.lineage();
    assert_eq!(lineage.len(), 2, "film → load_films → rental: {lineage:?}");
    om.assert_no_violations();
}

/// Airflow 2's DAGs: `load_films` writes `rental` (an outlet dataset;
/// Airflow 2's API lists no task's inlets), `report_rentals` is scheduled
/// on that dataset (it reads it), `broken_job` fails.
fn write_airflow_2_dags(dags: &Path, db: &TestDb) {
    let rental = format!("postgres://{}/{}/public/rental", db.host_port(), db.name);
    let header = "from datetime import datetime\nfrom airflow import DAG, Dataset\n\
                  from airflow.operators.bash import BashOperator\n\n";
    let files = [
        (
            "load_films.py",
            format!(
                "{header}with DAG(\"load_films\", schedule=\"@daily\", start_date=datetime(2026, 1, 1), catchup=False,\n\
                 \x20        tags=[\"shop\"], default_args={{\"owner\": \"ana\"}}):\n\
                 \x20   BashOperator(task_id=\"extract\", bash_command=\"echo extract\") >> \\\n\
                 \x20       BashOperator(task_id=\"load\", bash_command=\"echo load\", outlets=[Dataset(\"{rental}\")])\n"
            ),
        ),
        (
            "report_rentals.py",
            format!(
                "{header}with DAG(\"report_rentals\", schedule=[Dataset(\"{rental}\")], start_date=datetime(2026, 1, 1)):\n\
                 \x20   BashOperator(task_id=\"report\", bash_command=\"echo report\")\n"
            ),
        ),
        (
            "broken_job.py",
            format!(
                "{header}with DAG(\"broken_job\", schedule=None, start_date=datetime(2026, 1, 1)):\n\
                 \x20   BashOperator(task_id=\"fail\", bash_command=\"exit 1\") >> BashOperator(task_id=\"after\", bash_command=\"echo never\")\n"
            ),
        ),
    ];
    for (name, text) in files {
        std::fs::write(dags.join(name), text).unwrap();
    }
}

fn venv_2(test: &str) -> Option<PathBuf> {
    let make = "WEIR_AIRFLOW_VERSION=2.10.5 WEIR_AIRFLOW_VENV=~/.cache/weir/airflow2-venv ";
    venv_of(test, "WEIR_AIRFLOW2_VENV", "airflow2-venv", make)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_airflow_2_is_read_through_api_v1() {
    use weir::bench::airflow::Generation;
    let Some(venv) = venv_2("a_real_airflow_2_is_read_through_api_v1") else { return };
    require_specs();
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create("airflow2").await;
    db.run("CREATE TABLE public.rental (rental_id int PRIMARY KEY);").await;
    let root = dir.path().join("airflow");
    std::fs::create_dir_all(root.join("dags")).unwrap();
    write_airflow_2_dags(&root.join("dags"), &db);
    let airflow = AirflowServer::start_generation(&venv, &root, PASSWORD, Generation::Two).await.unwrap();
    wait_for(&airflow, &["broken_job", "load_films", "report_rentals"]).await;
    airflow.run_dag("load_films", "2026-12-01").unwrap();
    airflow.run_dag("broken_job", "2026-12-01").unwrap();
    let film_runs = runs(&airflow, "load_films").await;
    let broken_runs = runs(&airflow, "broken_job").await;

    ok(ingest_async(dir.path(), pg_yaml(&db, "", "pg-state.db"), Vec::new()).await);
    let host = airflow.url("");
    let first = ok(ingest_async(dir.path(), airflow_yaml(&host, PASSWORD, "", "af-state.db"), Vec::new()).await);
    for shown in [&first.stdout, &first.stderr, &first.report.to_string()] {
        assert!(!shown.contains(PASSWORD), "the password is shown: {shown}");
    }
    assert_eq!(count(&first.report, "pipeline", "written"), 3, "{}", first.report);
    assert_eq!(first.report["relationsApplied"], 2, "load_films → rental → report_rentals: {}", first.report);
    let docs = export_all(dir.path(), "catalog.db");
    let create = validator("api/data/createPipeline.json");
    let status = definition_validator("entity/data/pipeline.json", "pipelineStatus");
    for doc in &docs {
        let errors = match doc["kind"].as_str() {
            Some("pipeline") => schema_errors(&create, &doc["document"]),
            Some("pipelineStatus") => schema_errors(&status, &doc["document"]),
            _ => Vec::new(),
        };
        assert!(errors.is_empty(), "{}: {errors:?}", doc["fqn"]);
    }
    let (film_run, broken_run) = (&film_runs.first().unwrap().0, &broken_runs.first().unwrap().0);
    let expected: BTreeSet<_> = [
        (
            run_fqn("load_films", film_run),
            "Successful".into(),
            pairs(&[("extract", "Successful"), ("load", "Successful")]),
        ),
        (run_fqn("broken_job", broken_run), "Failed".into(), pairs(&[("after", "Failed"), ("fail", "Failed")])),
    ]
    .into_iter()
    .collect();
    assert_eq!(statuses(&docs), expected);
    let films = show(dir.path(), "catalog.db", "af.load_films");
    assert_eq!(films["document"]["scheduleInterval"], "@daily", "{films}");
    assert_eq!(films["document"]["sourceUrl"], airflow.url("/dags/load_films/grid"));
    assert_eq!(films["document"]["tasks"][0]["downstreamTasks"], json!(["load"]));
    assert_eq!(films["document"]["tasks"][0]["taskType"], "BashOperator");
    assert_eq!(films["extra"]["owners"], json!(["ana"]));
    let rental = format!("pg.{}.public.rental", db.name);
    assert_eq!(films["lineage"][0]["toEntity"]["fqn"], rental, "{films}");
    let report = show(dir.path(), "catalog.db", "af.report_rentals");
    assert_eq!(report["lineage"][0]["fromEntity"]["fqn"], rental, "{report}");

    let again = ok(ingest_async(dir.path(), airflow_yaml(&host, PASSWORD, "", "af-state.db"), Vec::new()).await);
    assert_eq!(count(&again.report, "pipelineStatus", "found"), 0, "{}", again.report);

    let wrong = ingest_async(dir.path(), airflow_yaml(&host, WRONG_PASSWORD, "", "wrong-state.db"), Vec::new()).await;
    assert_ne!(wrong.code, Some(0), "{}", wrong.stdout);
    let said = format!("{}{}{}", wrong.stdout, wrong.stderr, wrong.report);
    assert!(said.contains("Airflow refused the login of `weir` (status 401)"), "{said}");
    assert!(!said.contains(WRONG_PASSWORD), "the password is shown: {said}");
}
