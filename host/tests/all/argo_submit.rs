//! `weir ingest` with `distributedExecution.enabled: true`, seen from
//! outside: it submits the run to an Argo Server (the fixture, built from
//! Argo's swagger.json, which validates every body and runs the workflow's
//! pods as `weir` processes), watches it to its end, and ends as a
//! one-process run does: the same summary, the same catalog, byte for
//! byte. A run that loses a pod ends 75 and is finished by `--resume`,
//! which has Argo retry it. Real PostgreSQL for the source, the state
//! store and the catalog.

use crate::common;
use crate::distributed_run::SCHEMA;

use common::{READER_PASSWORD, TestDb, pg_connection, text, weir, weir_command, workflow};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use weir_fixtures::argo::{ArgoServerFixture, Launcher};

const TOKEN: &str = "v2:argo-fixture-token-8841";
const NAMESPACE: &str = "ingest";
const SECRET: &str = "weir-creds";

struct Setup {
    source: TestDb,
    store: TestDb,
    catalog: TestDb,
    argo: ArgoServerFixture,
    dir: tempfile::TempDir,
}

impl Setup {
    async fn new(name: &str) -> Setup {
        let source = TestDb::create(&format!("{name}_src")).await;
        source.run(SCHEMA).await;
        let store = TestDb::create(&format!("{name}_state")).await;
        let catalog = TestDb::create(&format!("{name}_catalog")).await;
        let dir = tempfile::tempdir().unwrap();
        // A pod is a `weir` process, as the test binary runs it.
        let launch: Launcher = Arc::new(|root: &Path, args: &[String], env: &[(String, String)]| {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            weir_command(root, &args, &env)
        });
        let argo = ArgoServerFixture::start(&dir.path().join("cluster"), TOKEN, launch).await;
        argo.put_secret(
            SECRET,
            HashMap::from([
                ("WEIR_SOURCE_PASSWORD".to_string(), READER_PASSWORD.to_string()),
                ("WEIR_CATALOG_URL".to_string(), catalog.url()),
                ("WEIR_STATE_STORE".to_string(), store.url()),
            ]),
        );
        Setup { source, store, catalog, argo, dir }
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The workflow, submitted to the fixture; `attempts` runs of a pod.
    fn workflow(&self, attempts: u32, extra: &str) -> std::path::PathBuf {
        let connection = pg_connection(&self.source, self.source.reader());
        let yaml = format!(
            "source:\n  type: postgres\n  serviceName: spread\n  serviceConnection:\n    config:\n{connection}\nsink:\n  type: catalog\n  config:\n    url: \"{}\"\nweir:\n  shardSize: 2\n  instances: 2\n  stateStore: \"{}\"\nworkflowConfig:\n  distributedExecution:\n    enabled: true\n    argoServer: {}\n    tokenEnv: ARGO_TEST_TOKEN\n    namespace: {NAMESPACE}\n    image: registry.example/weir:test\n    secretName: {SECRET}\n    parallelism: 3\n    leaseSeconds: 2\n    retryPolicy:\n      maxAttempts: {attempts}\n      backoffSeconds: 1\n{extra}",
            self.catalog.url(),
            self.store.url(),
            self.argo.base_url()
        );
        workflow(self.dir(), &yaml)
    }

    /// A one-process run of the same database, exported.
    fn one_process_export(&self) -> String {
        let connection = pg_connection(&self.source, self.source.reader());
        let yaml = format!(
            "source:\n  type: postgres\n  serviceName: spread\n  serviceConnection:\n    config:\n{connection}\nweir:\n  shardSize: 2\n  instances: 2\n"
        );
        let one = self.dir().join("one.yaml");
        std::fs::write(&one, yaml).unwrap();
        let out = weir(self.dir(), &["--catalog", "one.db", "ingest", "-c", one.to_str().unwrap()], &[]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        export(self.dir(), "one.db")
    }
}

fn export(dir: &Path, catalog: &str) -> String {
    let out = weir(dir, &["--catalog", catalog, "catalog", "export", "--format", "jsonl", "--kind", "all"], &[]);
    assert!(out.status.success(), "export {catalog}: {}", text(&out.stderr));
    text(&out.stdout)
}

fn ingest(dir: &Path, args: &[&str], token: &str) -> std::process::Output {
    weir(dir, &[&["ingest"], args].concat(), &[("ARGO_TEST_TOKEN", token)])
}

#[tokio::test(flavor = "multi_thread")]
async fn a_submitted_run_is_watched_to_its_end_and_leaves_the_catalog_and_summary_of_one_process() {
    let setup = Setup::new("argo_submit").await;
    let dir = setup.dir();
    let whole = setup.one_process_export();
    let wf = setup.workflow(3, "");
    let out = ingest(dir, &["-c", wf.to_str().unwrap(), "--run-id", "spread-a1", "--report", "run.json"], TOKEN);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("workflow spread-a1 Succeeded"), "{stdout}");
    assert!(stdout.contains("pods"), "the summary names the pods the shards ran on: {stdout}");
    assert!(setup.argo.refused().is_empty(), "every body as Argo's API takes it: {:?}", setup.argo.refused());

    assert!(export(dir, &setup.catalog.url()) == whole, "the catalog of a one-process run, byte for byte");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap();
    let tables = report["kinds"].as_array().unwrap().iter().find(|k| k["kind"] == "table").unwrap();
    assert_eq!(tables["written"], 13, "{tables}");
    for kind in report["kinds"].as_array().unwrap() {
        let n = |k: &str| kind[k].as_u64().unwrap();
        assert_eq!(n("found"), n("filtered") + n("written") + n("unchanged") + n("failed") + n("cancelled"), "{kind}");
    }
    assert!(
        report["shards"].as_array().unwrap().iter().all(|s| s["process"].as_str().unwrap().starts_with("spread-a1-")),
        "each shard names its pod: {}",
        report["shards"]
    );

    // What went over the wire: one creation, then status reads, each with
    // the token and with no secret of the workflow.
    let seen = setup.argo.seen();
    let creations: Vec<_> = seen.iter().filter(|s| s.method == "POST").collect();
    assert_eq!(creations.len(), 1, "{seen:?}");
    assert_eq!(creations[0].target, format!("/api/v1/workflows/{NAMESPACE}"));
    let body = String::from_utf8_lossy(&creations[0].body);
    for secret in [READER_PASSWORD, &setup.catalog.url(), &setup.store.url()] {
        assert!(!body.contains(secret), "the submitted workflow holds a secret: {secret}");
    }
    assert!(body.contains("${env:WEIR_SOURCE_PASSWORD}") && body.contains(SECRET), "{body}");
    assert!(seen.iter().all(|s| s.authorization.as_deref() == Some(&format!("Bearer {TOKEN}"))));
    let reads: Vec<_> = seen.iter().filter(|s| s.method == "GET").collect();
    assert!(reads.iter().all(|r| r.target.contains("fields=")), "a status read asks only for what it shows");
    assert_eq!(reads.iter().filter(|r| r.target.contains("status.nodes")).count(), 1, "the pods once, at the end");
    let created = setup.argo.workflow(NAMESPACE, "spread-a1").expect("the workflow is named by the run id");
    assert!(created["spec"].get("volumes").is_none(), "no ConfigMap to create: the file is a raw artifact");
    let _ = (&setup.store, &setup.source);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_that_lost_a_pod_ends_75_and_is_finished_by_resume_through_argo_retry() {
    let setup = Setup::new("argo_resume").await;
    let dir = setup.dir();
    let whole = setup.one_process_export();
    // One run of a pod only: the lost pod is not retried within the run.
    let wf = setup.workflow(1, "");
    setup.argo.lose_first_pod_of("table-0001");
    let out = ingest(dir, &["-c", wf.to_str().unwrap(), "--run-id", "spread-b1"], TOKEN);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "{}\n{stderr}", text(&out.stdout));
    assert!(stderr.contains("table(table-0001)") && stderr.contains("Error    pod deleted"), "{stderr}");
    assert!(stderr.contains("--resume spread-b1"), "says how to finish it: {stderr}");

    let out = ingest(dir, &["-c", wf.to_str().unwrap(), "--resume", "spread-b1"], TOKEN);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("workflow spread-b1 Succeeded"), "{stdout}");
    let seen = setup.argo.seen();
    assert_eq!(seen.iter().filter(|s| s.method == "PUT" && s.target.ends_with("/spread-b1/retry")).count(), 1);
    assert!(export(dir, &setup.catalog.url()) == whole, "the catalog of a one-process run, byte for byte");
    let cluster = setup.argo.cluster(NAMESPACE, "spread-b1").unwrap();
    let discovers = cluster.attempts().iter().filter(|a| a.pod.starts_with("spread-b1-discover-")).count();
    assert_eq!(discovers, 1, "the retry keeps what succeeded: no second discovery");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_submission_that_cannot_work_says_what_to_fix_and_shows_no_secret() {
    let setup = Setup::new("argo_refused").await;
    let dir = setup.dir();
    let wf = setup.workflow(2, "");
    let wf = wf.to_str().unwrap();

    let wrong = ingest(dir, &["-c", wf], "v2:not-the-token-5521");
    let stderr = text(&wrong.stderr);
    assert_eq!(wrong.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("refused the token read from $ARGO_TEST_TOKEN") && stderr.contains("token not valid"),
        "{stderr}"
    );
    assert!(!stderr.contains("not-the-token-5521"), "the token is not shown: {stderr}");

    let unset = weir(dir, &["ingest", "-c", wf], &[]);
    let stderr = text(&unset.stderr);
    assert_eq!(unset.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("distributedExecution.tokenEnv") && stderr.contains("$ARGO_TEST_TOKEN"), "{stderr}");

    let bad_name = ingest(dir, &["-c", wf, "--run-id", "Spread_Run"], TOKEN);
    let stderr = text(&bad_name.stderr);
    assert_eq!(bad_name.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--run-id") && stderr.contains("Spread_Run"), "{stderr}");

    let text_of = std::fs::read_to_string(wf).unwrap();
    let no_server = dir.join("no-server.yaml");
    let without: String = text_of.lines().filter(|l| !l.contains("argoServer")).map(|l| format!("{l}\n")).collect();
    std::fs::write(&no_server, without).unwrap();
    let out = ingest(dir, &["-c", no_server.to_str().unwrap()], TOKEN);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("workflowConfig.distributedExecution.argoServer"), "{stderr}");

    let taken = ingest(dir, &["-c", wf, "--run-id", "spread-c1"], TOKEN);
    assert_eq!(taken.status.code(), Some(0), "{}", text(&taken.stderr));
    let again = ingest(dir, &["-c", wf, "--run-id", "spread-c1"], TOKEN);
    let stderr = text(&again.stderr);
    assert_eq!(again.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("409") && stderr.contains("already exists"), "{stderr}");
    assert!(setup.argo.refused().is_empty(), "{:?}", setup.argo.refused());
}
