//! A distributed run seen from outside, as Argo would run it: `weir argo
//! render` writes the documents; each pod's command line is run exactly as
//! rendered (parameters, the ConfigMap's mount, the Secret's variables
//! substituted the way Argo and Kubernetes do) as a separate `weir`
//! process, in the DAG's order: discover, then every shard of a kind at
//! once (one SIGKILLed mid-shard and retried as the rendered
//! `retryStrategy` says), kinds parents first, then finalize. Real PostgreSQL
//! for the source (behind a latency proxy, so a shard takes long enough to
//! be killed in the middle), the state store and the catalog. The catalog
//! it leaves equals a one-process `weir ingest` of the same database.

use crate::common;

use common::{TestDb, pg_connection, text, weir, weir_command, workflow};
use serde::Deserialize;
use serde_json::Value;
use sqlx::{Connection, PgConnection};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir::bench::latency::LatencyProxy;
use weir_fixtures::argo::{Attempt, Cluster, Launcher, Pod};

/// Three schemas of four tables, foreign keys within and across schemas,
/// a view over two of them (lineage), comments.
pub(crate) const SCHEMA: &str = r#"
CREATE SCHEMA sales; CREATE SCHEMA stock; CREATE SCHEMA people;
CREATE TABLE people.person (id bigint PRIMARY KEY, name text);
CREATE TABLE people.team (id bigint PRIMARY KEY, lead bigint REFERENCES people.person (id));
CREATE TABLE people.badge (person bigint REFERENCES people.person (id), code text);
CREATE TABLE people.note (id int);
CREATE TABLE stock.item (id bigint PRIMARY KEY, label text);
CREATE TABLE stock.bin (id bigint PRIMARY KEY, item bigint REFERENCES stock.item (id));
CREATE TABLE stock.count (bin bigint REFERENCES stock.bin (id), n int);
CREATE TABLE stock.audit (at timestamptz, who bigint REFERENCES people.person (id));
CREATE TABLE sales.orders (id bigint PRIMARY KEY, buyer bigint REFERENCES people.person (id));
CREATE TABLE sales.line (order_id bigint REFERENCES sales.orders (id), item bigint REFERENCES stock.item (id), n int);
CREATE TABLE sales.refund (order_id bigint REFERENCES sales.orders (id), amount numeric);
CREATE TABLE sales.promo (code text PRIMARY KEY);
CREATE VIEW sales.order_items AS SELECT o.id, l.item FROM sales.orders o JOIN sales.line l ON l.order_id = o.id;
COMMENT ON TABLE sales.orders IS 'one row per order';
"#;

/// The workflow; with `shared` (state store URL, catalog URL), the run's
/// processes share both on PostgreSQL.
fn yaml(db: &TestDb, host_port: &str, shared: Option<(&str, &str)>) -> String {
    let connection = pg_connection(db, db.reader()).replace(&db.host_port(), host_port);
    let (store, sink) = match shared {
        Some((store, catalog)) => (
            format!("  stateStore: \"{store}\"\n"),
            format!("sink:\n  type: catalog\n  config:\n    url: \"{catalog}\"\n"),
        ),
        None => (String::new(), String::new()),
    };
    format!(
        "source:\n  type: postgres\n  serviceName: spread\n  serviceConnection:\n    config:\n{connection}\n{sink}weir:\n  shardSize: 2\n  instances: 2\n{store}workflowConfig:\n  distributedExecution:\n    leaseSeconds: 2\n    retryPolicy:\n      maxAttempts: 3\n      backoffSeconds: 1\n"
    )
}

/// `weir catalog export --kind all`, as it prints it.
fn catalog_of(dir: &Path, catalog: &str) -> String {
    let out = weir(dir, &["--catalog", catalog, "catalog", "export", "--format", "jsonl", "--kind", "all"], &[]);
    assert!(out.status.success(), "export {catalog}: {}", text(&out.stderr));
    text(&out.stdout)
}

/// The run's report as the catalog keeps it.
async fn run_report(catalog: &str, run: &str) -> Value {
    let mut conn = PgConnection::connect(catalog).await.unwrap();
    let text: String = sqlx::query_scalar("SELECT report FROM weir_catalog.run WHERE id = $1")
        .bind(run)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    serde_json::from_str(&text).unwrap()
}

async fn shard_status(store: &str, run: &str, shard: &str) -> Option<String> {
    let mut conn = PgConnection::connect(store).await.ok()?;
    let status = sqlx::query_scalar("SELECT status FROM weir_state.shard WHERE run_id = $1 AND shard_id = $2")
        .bind(run)
        .bind(shard)
        .fetch_optional(&mut conn)
        .await
        .ok()
        .flatten();
    let _ = conn.close().await;
    status
}

/// The rendered documents run as Argo would, under a made-up workflow
/// name: each pod a `weir` process (see [`weir_fixtures::argo::Cluster`]).
fn cluster(dir: &Path, rendered: &str, secret: HashMap<String, String>) -> Cluster {
    let docs: Vec<Value> = serde_yaml::Deserializer::from_str(rendered)
        .map(|d| serde_yaml::from_value::<Value>(serde_yaml::Value::deserialize(d).unwrap()).unwrap())
        .collect();
    let run = docs.iter().find(|d| d["kind"] == "Workflow").unwrap();
    let name = format!("{}x7k2p", run["metadata"]["generateName"].as_str().unwrap());
    let template = docs.iter().find(|d| d["kind"] == "WorkflowTemplate").unwrap();
    let env = template["spec"]["templates"][1]["container"]["env"].as_array().unwrap();
    let secret_name = env.iter().find_map(|e| e["valueFrom"]["secretKeyRef"]["name"].as_str()).unwrap();
    let launch: Launcher = Arc::new(|root: &Path, args: &[String], env: &[(String, String)]| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        weir_command(root, &args, &env)
    });
    let secrets = HashMap::from([(secret_name.to_string(), secret)]);
    Cluster::from_documents(dir, &name, &docs, secrets, launch)
}

/// The exit codes of a pod's attempts (-1 for a lost pod).
fn codes(attempts: &[Attempt]) -> Vec<i32> {
    attempts.iter().map(|a| a.exit.unwrap_or(-1)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rendered_run_in_pods_one_killed_mid_shard_ends_with_the_catalog_of_one_process() {
    let source = TestDb::create("spread_src").await;
    source.run(SCHEMA).await;
    let store = TestDb::create("spread_state").await;
    let catalog = TestDb::create("spread_catalog").await;
    let proxy = LatencyProxy::start(&source.host_port(), Duration::from_millis(20)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();

    let one = workflow(dir, &yaml(&source, &source.host_port(), None));
    let whole = weir(dir, &["--catalog", "one.db", "ingest", "-c", one.to_str().unwrap()], &[]);
    assert_eq!(whole.status.code(), Some(0), "{}", text(&whole.stderr));

    // A distributed stage refuses a store, or a catalog, one machine sees.
    let unshared =
        weir(dir, &["discover", "-c", one.to_str().unwrap(), "--run-id", "x", "--shards-out", "x.json"], &[]);
    assert_eq!(unshared.status.code(), Some(1));
    assert!(text(&unshared.stderr).contains("sink.config.url"), "{}", text(&unshared.stderr));
    let no_store = dir.join("no-store.yaml");
    let shared_catalog = yaml(&source, &source.host_port(), Some(("-", &catalog.url())));
    std::fs::write(&no_store, shared_catalog.replace("  stateStore: \"-\"\n", "")).unwrap();
    let unshared =
        weir(dir, &["discover", "-c", no_store.to_str().unwrap(), "--run-id", "x", "--shards-out", "x.json"], &[]);
    assert_eq!(unshared.status.code(), Some(1));
    assert!(text(&unshared.stderr).contains("weir.stateStore"), "{}", text(&unshared.stderr));

    let wf = dir.join("spread.yaml");
    std::fs::write(&wf, yaml(&source, &proxy.addr().to_string(), Some((&store.url(), &catalog.url())))).unwrap();
    let rendered =
        weir(dir, &["argo", "render", "-c", wf.to_str().unwrap(), "--image", "weir:test", "-o", "argo.yaml"], &[]);
    assert_eq!(rendered.status.code(), Some(0), "{}", text(&rendered.stderr));
    let secret = HashMap::from([
        ("WEIR_SOURCE_PASSWORD".to_string(), common::READER_PASSWORD.to_string()),
        ("WEIR_CATALOG_URL".to_string(), catalog.url()),
        ("WEIR_STATE_STORE".to_string(), store.url()),
    ]);
    let cluster = cluster(dir, &std::fs::read_to_string(dir.join("argo.yaml")).unwrap(), secret);
    let run = cluster.name.clone();

    // discover
    let tasks = cluster.tasks();
    assert_eq!(tasks[0]["name"], "discover");
    let discover = cluster.template("discover").clone();
    let pod = cluster.start(&discover, None).unwrap();
    let discover_root = pod.root.clone();
    assert_eq!(codes(&cluster.finish(&discover, None, Some(pod))), [0]);
    let outputs: BTreeMap<String, Vec<String>> = discover["outputs"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                serde_json::from_str(
                    &cluster.output(&discover_root, p["valueFrom"]["path"].as_str().unwrap()).unwrap(),
                )
                .unwrap(),
            )
        })
        .collect();
    assert_eq!(outputs["table"].len(), 7, "12 tables and a view in shards of 2: {outputs:?}");
    assert!(outputs["storedProcedure"].is_empty(), "a kind with no shard still has its list: {outputs:?}");
    let listed = serde_json::to_string(&outputs).unwrap();
    assert!(listed.len() < 1_000, "only short ids leave discover: {listed}");

    // The fan-out tasks in the DAG's order, each after the one before.
    let process = cluster.template("process").clone();
    let victim = outputs["table"][1].clone();
    let mut killed = false;
    let mut previous = "discover".to_string();
    for task in &tasks[1..tasks.len() - 1] {
        let depends = task["depends"].as_str().unwrap();
        assert!(depends.split(" || ").all(|d| d.split('.').next() == Some(previous.as_str())), "{depends}");
        previous = task["name"].as_str().unwrap().to_string();
        let param = task["withParam"].as_str().unwrap();
        let kind = param.trim_start_matches("{{tasks.discover.outputs.parameters.").trim_end_matches("}}");
        let shards = &outputs[kind];
        assert_eq!(task["arguments"]["parameters"][0]["value"], "{{item}}");
        let pods: Vec<(String, Pod)> =
            shards.iter().map(|s| (s.clone(), cluster.start(&process, Some(s)).unwrap())).collect();
        let mut waiting = Vec::new();
        for (shard, mut pod) in pods {
            if shard == victim {
                let deadline = Instant::now() + Duration::from_secs(60);
                while shard_status(&store.url(), &run, &victim).await.as_deref() != Some("running") {
                    assert!(Instant::now() < deadline, "shard {victim} was never taken");
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                pod.child.kill().unwrap();
                killed = true;
            }
            waiting.push((shard, pod));
        }
        for (shard, pod) in waiting {
            let codes = codes(&cluster.finish(&process, Some(&shard), Some(pod)));
            let expected: &[i32] = if shard == victim { &[137, 0] } else { &[0] };
            assert_eq!(codes, expected, "shard {shard}");
        }
    }
    assert!(killed);
    // A shard run once more after it is done does nothing.
    let again = cluster.start(&process, Some(&victim)).unwrap().child.wait_with_output().unwrap();
    assert_eq!(again.status.code(), Some(0));
    assert!(text(&again.stdout).contains("done by an earlier attempt"), "{}", text(&again.stdout));

    // finalize, with the report
    let finalize = cluster.template("finalize").clone();
    let last = tasks.last().unwrap();
    assert_eq!(last["name"], "finalize");
    assert!(last["depends"].as_str().unwrap().starts_with(&format!("{previous}.Succeeded")));
    assert_eq!(codes(&cluster.finish(&finalize, None, None)), [0]);

    let (spread, whole) = (catalog_of(dir, &catalog.url()), catalog_of(dir, "one.db"));
    assert_eq!(spread.lines().count(), 1 + 4 + 13, "the database, its schemas, the tables and the view");
    assert!(spread == whole, "the same export as one process, byte for byte:\n{spread}\n---\n{whole}");
    // The run's report is in the catalog, as a one-process run's is.
    let report = run_report(&catalog.url(), &run).await;
    for kind in report["kinds"].as_array().unwrap() {
        let n = |k: &str| kind[k].as_u64().unwrap();
        assert_eq!(n("found"), n("filtered") + n("written") + n("unchanged") + n("failed") + n("cancelled"), "{kind}");
    }
    // `weir catalog list` and `show` read the PostgreSQL catalog as they read a file.
    let list = |c: &str| text(&weir(dir, &["--catalog", c, "catalog", "list", "--kind", "table"], &[]).stdout);
    assert_eq!(list(&catalog.url()), list("one.db"));
    let orders = format!("spread.{}.sales.orders", source.name);
    let shown = weir(dir, &["--catalog", &catalog.url(), "catalog", "show", &orders], &[]);
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    let constraints = shown["document"]["tableConstraints"].to_string();
    assert!(constraints.contains("FOREIGN_KEY") && constraints.contains("person"), "{constraints}");
    let tables = report["kinds"].as_array().unwrap().iter().find(|k| k["kind"] == "table").unwrap();
    assert_eq!(tables["written"], 13, "12 tables and the view, each counted once: {tables}");
    assert!(report["relationsApplied"].as_u64().unwrap() >= 10, "{}", report["relationsApplied"]);
    let shards = report["shards"].as_array().unwrap();
    assert_eq!(shards.len(), outputs.values().map(Vec::len).sum::<usize>(), "every shard once");
    let victim_record = shards.iter().find(|s| s["id"] == victim.as_str()).unwrap();
    assert_eq!(victim_record["attempts"], 2, "{victim_record}");
    assert!(
        shards.iter().all(|s| s["process"].as_str().is_some_and(|p| p.starts_with(&format!("{run}-process-")))),
        "each shard names the pod that ran it: {shards:?}"
    );

    // The run history keeps it, as one run started by discover and ended by finalize.
    let record = common::run_record(dir, &store.url(), &run);
    assert_eq!(
        (&record["status"], &record["exitCode"], &record["distributed"]),
        (&"success".into(), &0.into(), &true.into()),
        "{record}"
    );
    assert!(record["endedMs"].as_i64() >= record["startedMs"].as_i64(), "{record}");
    let tables = record["summary"]["kinds"].as_array().unwrap().iter().find(|k| k["kind"] == "table").unwrap();
    assert_eq!(tables["written"], 13, "{record}");
    let processes = record["summary"]["processes"].as_array().unwrap();
    assert!(
        !processes.is_empty() && processes.iter().all(|p| p.as_str().unwrap().starts_with(&format!("{run}-process-"))),
        "{record}"
    );
    let listed = text(&weir(dir, &["runs", "list", "--state-store", &store.url()], &[]).stdout);
    assert!(listed.lines().any(|l| l.starts_with(run.as_str()) && l.contains("success")), "{listed}");

    let mut conn = PgConnection::connect(&store.url()).await.unwrap();
    for table in ["deferred", "shard", "run", "run_discovery", "written_parent", "table_columns"] {
        let left: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM weir_state.{table}")))
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(left, 0, "weir_state.{table} keeps nothing of a finalized run");
    }
    conn.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn shards_grow_so_a_run_needs_no_more_pods_than_max_pods() {
    let source = TestDb::create("spread_max").await;
    source.run(SCHEMA).await;
    let store = TestDb::create("spread_max_state").await;
    let catalog = TestDb::create("spread_max_catalog").await;
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let shards = |max_pods: u32| {
        let yaml = yaml(&source, &source.host_port(), Some((&store.url(), &catalog.url())))
            .replace("    leaseSeconds: 2\n", &format!("    leaseSeconds: 2\n    maxPods: {max_pods}\n"));
        let wf = workflow(dir, &yaml);
        let run = format!("max-{max_pods}");
        let out =
            weir(dir, &["discover", "-c", wf.to_str().unwrap(), "--run-id", &run, "--shards-out", "shards.json"], &[]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let ids: BTreeMap<String, Vec<String>> =
            serde_json::from_str(&std::fs::read_to_string(dir.join("shards.json")).unwrap()).unwrap();
        ids.values().map(Vec::len).sum::<usize>()
    };
    // Shards of 2 (weir.shardSize): 1 database, 2 schema and 7 table shards.
    assert_eq!(shards(2_000), 10);
    for max_pods in [8, 6, 5] {
        let n = shards(max_pods);
        assert!(n <= max_pods as usize && n >= 3, "{n} shards for maxPods {max_pods}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_one_process_run_killed_mid_way_and_resumed_ends_with_the_catalog_of_an_uninterrupted_one() {
    let source = TestDb::create("resume_src").await;
    source.run(SCHEMA).await;
    let store = TestDb::create("resume_state").await;
    // Slow enough (a table per shard, 40 ms a round trip, one instance)
    // that the run records shards done before it is killed.
    let proxy = LatencyProxy::start(&source.host_port(), Duration::from_millis(40)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let whole = workflow(dir, &yaml(&source, &source.host_port(), None));
    let out = weir(dir, &["--catalog", "whole.db", "ingest", "-c", whole.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let slow = yaml(&source, &proxy.addr().to_string(), None).replace(
        "  shardSize: 2\n  instances: 2\n",
        &format!("  shardSize: 1\n  instances: 1\n  stateStore: \"{}\"\n", store.url()),
    );
    let wf = dir.join("slow.yaml");
    std::fs::write(&wf, slow).unwrap();
    let wf = wf.to_str().unwrap();
    let mut first = weir_command(dir, &["--catalog", "resumed.db", "ingest", "-c", wf, "--run-id", "nightly-1"], &[])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let done = tables_done(&store.url(), "nightly-1").await;
        if done >= 1 {
            break;
        }
        assert!(Instant::now() < deadline, "no table shard was recorded done");
        assert!(first.try_wait().unwrap().is_none(), "the run ended before it could be killed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill().unwrap();
    assert_eq!(first.wait().unwrap().code(), None, "killed, not finished");
    let left = tables_left(&store.url(), "nightly-1").await;
    assert!(left >= 1, "the kill came before the last table shard");

    // The history says the run was cut short, and how to finish it.
    let record = common::run_record(dir, &store.url(), "nightly-1");
    assert_eq!(record["status"], "interrupted", "{record}");
    assert!(record["error"].as_str().unwrap().contains("--resume nightly-1"), "{record}");

    // The same run id again, not resumed: refused, with what to do.
    let again = weir(dir, &["--catalog", "resumed.db", "ingest", "-c", wf, "--run-id", "nightly-1"], &[]);
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again.stderr).contains("--resume nightly-1"), "{}", text(&again.stderr));

    let report_path = dir.join("resumed.json");
    let resumed = weir(
        dir,
        &[
            "--catalog",
            "resumed.db",
            "ingest",
            "-c",
            wf,
            "--resume",
            "nightly-1",
            "--report",
            report_path.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(resumed.status.code(), Some(0), "{}\n{}", text(&resumed.stdout), text(&resumed.stderr));
    assert!(catalog_of(dir, "resumed.db") == catalog_of(dir, "whole.db"), "the same export as an uninterrupted run");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    let note = report["warnings"].to_string();
    assert!(note.contains("resumed:"), "{note}");
    for kind in report["kinds"].as_array().unwrap() {
        let n = |k: &str| kind[k].as_u64().unwrap();
        assert_eq!(n("found"), n("filtered") + n("written") + n("unchanged") + n("failed") + n("cancelled"), "{kind}");
    }
    let tables = report["kinds"].as_array().unwrap().iter().find(|k| k["kind"] == "table").unwrap();
    assert_eq!((tables["found"].as_u64(), tables["written"].as_u64()), (Some(13), Some(13)), "{tables}");
    assert_eq!(report["shards"].as_array().unwrap().len(), 1 + 4 + 13, "every shard once, kept or done now");
    assert!(report["relationsApplied"].as_u64().unwrap() >= 10);
    let record = common::run_record(dir, &store.url(), "nightly-1");
    assert_eq!(
        (&record["status"], &record["exitCode"], &record["distributed"]),
        (&"success".into(), &0.into(), &false.into()),
        "{record}"
    );
    // A file sink's run cannot be resumed: its file is written in one go.
    let file_sink = std::fs::read_to_string(wf).unwrap().replacen(
        "weir:\n",
        "sink:\n  type: file\n  config:\n    path: out.jsonl\nweir:\n",
        1,
    );
    let file_wf = workflow(dir, &file_sink);
    let refused = weir(dir, &["ingest", "-c", file_wf.to_str().unwrap(), "--resume", "nightly-1"], &[]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused.stderr).contains("cannot be resumed"), "{}", text(&refused.stderr));
    // Nothing of the run is left to resume.
    let twice = weir(dir, &["--catalog", "resumed.db", "ingest", "-c", wf, "--resume", "nightly-1"], &[]);
    assert_eq!(twice.status.code(), Some(1));
    assert!(text(&twice.stderr).contains("not in the state store"), "{}", text(&twice.stderr));
}

async fn tables_done(store: &str, run: &str) -> i64 {
    count_shards(store, run, "status = 'done'").await
}

async fn tables_left(store: &str, run: &str) -> i64 {
    count_shards(store, run, "status <> 'done'").await
}

async fn count_shards(store: &str, run: &str, condition: &str) -> i64 {
    let Ok(mut conn) = PgConnection::connect(store).await else { return 0 };
    let query = format!("SELECT count(*) FROM weir_state.shard WHERE run_id = $1 AND kind = 'table' AND {condition}");
    let n = sqlx::query_scalar(sqlx::AssertSqlSafe(query)).bind(run).fetch_one(&mut conn).await.unwrap_or(0);
    let _ = conn.close().await;
    n
}

#[tokio::test(flavor = "multi_thread")]
async fn two_runs_on_one_state_store_do_not_see_each_others_shards() {
    let source = TestDb::create("twin_src").await;
    source.run(SCHEMA).await;
    let store = TestDb::create("twin_state").await;
    let catalogs = [TestDb::create("twin_cat_a").await, TestDb::create("twin_cat_b").await];
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let mut files = Vec::new();
    for (name, catalog) in ["a", "b"].iter().zip(&catalogs) {
        let wf = dir.join(format!("{name}.yaml"));
        std::fs::write(&wf, yaml(&source, &source.host_port(), Some((&store.url(), &catalog.url())))).unwrap();
        files.push(wf.to_str().unwrap().to_string());
    }
    let stage = |file: &str, args: &[&str]| {
        let mut argv = vec![args[0], "-c", file];
        argv.extend_from_slice(&args[1..]);
        let out = weir(dir, &argv, &[]);
        assert_eq!(out.status.code(), Some(0), "{argv:?}: {}", text(&out.stderr));
    };
    stage(&files[0], &["discover", "--run-id", "twin-a", "--shards-out", "a.json"]);
    stage(&files[1], &["discover", "--run-id", "twin-b", "--shards-out", "b.json"]);
    // Its pods do its shards: a one-process resume must not take them.
    let resumed = weir(dir, &["ingest", "-c", &files[1], "--resume", "twin-b"], &[]);
    assert_eq!(resumed.status.code(), Some(1));
    assert!(text(&resumed.stderr).contains("separate processes"), "{}", text(&resumed.stderr));
    let ids: BTreeMap<String, Vec<String>> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("a.json")).unwrap()).unwrap();
    let all: Vec<&String> = ["database", "databaseSchema", "table"].iter().flat_map(|k| &ids[*k]).collect();
    // Both plans have the same shard ids; doing run a's does nothing to b's.
    for shard in &all {
        stage(&files[0], &["process", "--run-id", "twin-a", "--shard", shard]);
    }
    assert_eq!(shard_status(&store.url(), "twin-a", "table-0000").await.as_deref(), Some("done"));
    assert_eq!(shard_status(&store.url(), "twin-b", "table-0000").await.as_deref(), Some("pending"));
    stage(&files[0], &["finalize", "--run-id", "twin-a"]);
    assert_eq!(shard_status(&store.url(), "twin-b", "table-0000").await.as_deref(), Some("pending"), "b outlives a");
    for shard in &all {
        stage(&files[1], &["process", "--run-id", "twin-b", "--shard", shard]);
    }
    stage(&files[1], &["finalize", "--run-id", "twin-b"]);
    assert!(catalog_of(dir, &catalogs[0].url()) == catalog_of(dir, &catalogs[1].url()), "each run whole, apart");
}
