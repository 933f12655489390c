//! PostgreSQL sessions under stress from outside: a server that ends them
//! mid-run (a restart), a run that asks for more sessions than the server
//! can spare, and a statement still running when the plugin's call runs out
//! of time.

use crate::common;

use common::{Ingested, TestDb, admin_url, ingest, pg_connection, probe_workflow};
use serde_json::Value;
use sqlx::{Connection, PgConnection};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn written(report: &Value, kind: &str) -> u64 {
    report["kinds"]
        .as_array()
        .and_then(|kinds| kinds.iter().find(|k| k["kind"] == kind))
        .and_then(|k| k["written"].as_u64())
        .unwrap_or(0)
}

/// Runs weir on its own thread, so the test can act on the server while it
/// runs.
fn start(yaml: String) -> (tempfile::TempDir, tokio::task::JoinHandle<Ingested>) {
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().to_path_buf();
    (dir, tokio::task::spawn_blocking(move || ingest(&path, &yaml, &[], &[])))
}

/// weir's sessions on `db` that are running a statement starting with
/// `statement`.
async fn running(admin: &mut PgConnection, db: &TestDb, statement: &str) -> Vec<i32> {
    sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'weir' AND datname = $1 \
         AND state = 'active' AND starts_with(query, $2)",
    )
    .bind(&db.name)
    .bind(statement)
    .fetch_all(admin)
    .await
    .unwrap()
}

fn query_call(statement: &str, source: &str, weir: &str, db: &TestDb) -> String {
    let source = format!("      probeArg: \"{statement}\"\n{source}");
    probe_workflow("query-call", &source, weir, &pg_connection(db, &db.user()))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_ended_by_the_server_is_retried_and_nothing_is_lost() {
    let db = TestDb::create("terminated").await;
    const SLOW: &str = "SELECT 1 AS one FROM pg_sleep(3)";
    let (_dir, run) = start(query_call(SLOW, "", "  instances: 1", &db));
    let mut admin = PgConnection::connect(&admin_url()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    // What a restart or `pg_terminate_backend` does to a session:
    // `terminating connection due to administrator command`, 57P01.
    let terminated = loop {
        let pids = running(&mut admin, &db, SLOW).await;
        if let Some(pid) = pids.first() {
            let ended: bool =
                sqlx::query_scalar("SELECT pg_terminate_backend($1)").bind(pid).fetch_one(&mut admin).await.unwrap();
            break ended;
        }
        assert!(Instant::now() < deadline, "weir never ran the statement");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(terminated);
    let r = run.await.unwrap();
    assert_eq!(r.code, Some(0), "the call was retried, nothing failed: {}\n{}", r.stdout, r.stderr);
    assert_eq!(written(&r.report, "table"), 3, "{}", r.report);
    assert!(r.report["batches"]["retries"].as_u64().unwrap() >= 1, "{}", r.report["batches"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_stay_within_weirs_share_of_the_servers_free_slots() {
    let db = TestDb::create("share").await;
    let tables: Vec<String> = (0..40).map(|i| format!("\"t{i}\"")).collect();
    let source = format!("      probeTables: [{}]", tables.join(", "));
    let weir = "  instances: 40\n  batchSize: 1\n  shardSize: 1\n  sql:\n    connectionShare: 0.1";
    let (_dir, run) = start(query_call("SELECT 1 AS one FROM pg_sleep(0.3)", &source, weir, &db));
    let mut admin = PgConnection::connect(&admin_url()).await.unwrap();
    let mut most = 0;
    while !run.is_finished() {
        let open: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'weir' AND datname = $1",
        )
        .bind(&db.name)
        .fetch_one(&mut admin)
        .await
        .unwrap();
        most = most.max(open);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let r = run.await.unwrap();
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    assert_eq!(written(&r.report, "table"), 40, "instances waited their turn, none failed");
    let warning = r.report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .find(|w| w.contains("weir.sql.connectionShare"))
        .unwrap_or_else(|| panic!("no warning about the share: {}", r.report["warnings"]))
        .to_string();
    let budget: i64 = warning
        .split("weir holds at most ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{warning}"));
    assert!(budget < 40, "{warning}");
    assert!(most > 1, "sessions were used side by side: {most}");
    assert!(most <= budget, "{most} sessions at once, more than the {budget} allowed: {warning}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_statement_past_the_calls_deadline_is_cancelled_on_the_server() {
    let db = TestDb::create("cancelled").await;
    const SLOW: &str = "SELECT 1 AS one FROM pg_sleep(30)";
    let weir = "  limits:\n    callTimeoutSecs: 2\n    statementTimeoutSecs: 60";
    let started = Instant::now();
    let (_dir, run) = start(query_call(SLOW, "      probeTables: [t1]", weir, &db));
    let r = run.await.unwrap();
    let took = started.elapsed();
    assert_eq!(r.code, Some(2), "{}\n{}", r.stdout, r.stderr);
    let failed = &r.report["failures"][0];
    assert_eq!(failed["error"], "deadline", "{}", r.report["failures"]);
    // Two deadlines (a retry on a fresh instance), not 30 s of waiting for
    // the statement to end by itself.
    assert!(took < Duration::from_secs(20), "weir waited for the statement: {took:?}");
    let mut admin = PgConnection::connect(&admin_url()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let left = running(&mut admin, &db, SLOW).await;
    assert!(left.is_empty(), "the statement still runs on the server after weir exited: {left:?}");
}
