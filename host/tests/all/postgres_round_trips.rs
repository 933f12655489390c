//! What a plugin statement costs in round trips to PostgreSQL, counted by
//! the benchmark's proxy between weir and the server: two (a `BEGIN READ
//! ONLY` that carries the last statement's rollback, then the statement),
//! three with `weir.sql.eagerRollback`. And the transactions are still
//! rolled back: nothing a statement set is seen by the next, and no session
//! is left in a transaction once the run is over.

use crate::common;

use common::{Ingested, READER_PASSWORD, TestDb, ingest, probe_workflow};
use sqlx::{Connection, PgConnection};
use std::time::Duration;
use weir::bench::LatencyProxy;

/// Runs the probe's `statements` mode with `statements` through `proxy`,
/// and returns the run and the round trips its clients made.
async fn through(proxy: &LatencyProxy, db: &TestDb, statements: &[String], weir_extra: &str) -> (Ingested, u64) {
    let listed: Vec<String> =
        statements.iter().map(|s| format!("        - {}", serde_json::Value::from(s.as_str()))).collect();
    let source = format!("      probeStatements:\n{}", listed.join("\n"));
    let connection = format!(
        "      type: Postgres\n      hostPort: \"{}\"\n      username: {}\n      authType:\n        password: {READER_PASSWORD}\n      database: {}",
        proxy.addr(),
        db.reader(),
        db.name
    );
    let yaml = probe_workflow("statements", &source, &format!("  instances: 1\n{weir_extra}"), &connection);
    let before = proxy.requests();
    let run = tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        ingest(dir.path(), &yaml, &[], &[])
    })
    .await
    .unwrap();
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    (run, proxy.requests() - before)
}

/// Round trips per statement: the difference between a run of `few` and
/// one of `many` statements, so that connecting and discovering cancel out.
async fn per_statement(proxy: &LatencyProxy, db: &TestDb, weir_extra: &str) -> f64 {
    let statements = |n: usize| vec!["SELECT 1".to_string(); n];
    let (few, many) = (10, 60);
    let (_, a) = through(proxy, db, &statements(few), weir_extra).await;
    let (_, b) = through(proxy, db, &statements(many), weir_extra).await;
    (b as f64 - a as f64) / (many - few) as f64
}

#[tokio::test(flavor = "multi_thread")]
async fn a_statement_costs_two_round_trips_and_its_transaction_is_still_rolled_back() {
    let db = TestDb::create("round_trips").await;
    let proxy = LatencyProxy::start(&db.host_port(), Duration::ZERO).await.unwrap();

    let lazy = per_statement(&proxy, &db, "").await;
    assert!((1.9..=2.1).contains(&lazy), "{lazy:.2} round trips per statement, expected 2");
    let eager = per_statement(&proxy, &db, "  sql:\n    eagerRollback: true\n").await;
    assert!((2.9..=3.1).contains(&eager), "{eager:.2} round trips per statement with eagerRollback, expected 3");

    // Still read-only, each statement in a transaction of its own.
    let statements = ["SELECT 1 WHERE current_setting('transaction_read_only') = 'on'".to_string()];
    let (run, _) = through(&proxy, &db, &statements, "").await;
    let outcome = common::reason(&run.report, ".stmt-1");
    assert!(outcome.ends_with("ok 1 rows"), "statements run read-only: {outcome}");
}

/// A plugin that keeps its connection from one call to the next leaves no
/// transaction open on the server in between: the host rolls it back when
/// the call ends, not when the next statement comes.
#[tokio::test(flavor = "multi_thread")]
async fn a_connection_kept_between_calls_is_not_left_inside_a_transaction() {
    let db = TestDb::create("kept_open").await;
    let connection = common::pg_connection(&db, db.reader());
    let source = "      probeArg: SELECT 1\n      probeSleepMs: 1200";
    let yaml = probe_workflow("keep-open", source, "  instances: 1\n  batchSize: 1", &connection);
    let (dir, run) = {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        (dir, tokio::task::spawn_blocking(move || ingest(&path, &yaml, &[], &[])))
    };
    // Three calls, each sleeping 1.2 s before its statement: the session
    // the first two kept is idle during the next call's sleep.
    let mut admin = PgConnection::connect(&db.url()).await.unwrap();
    let (mut samples, mut in_transaction) = (0, 0);
    while !run.is_finished() {
        let states: Vec<String> = sqlx::query_scalar(
            "SELECT state FROM pg_stat_activity WHERE datname = $1 AND usename = $2 AND state IS NOT NULL",
        )
        .bind(&db.name)
        .bind(db.reader())
        .fetch_all(&mut admin)
        .await
        .unwrap();
        samples += 1;
        in_transaction += states.iter().filter(|s| s.starts_with("idle in transaction")).count();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let run = run.await.unwrap();
    drop(dir);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    let outcomes = common::failures(&run.report, ".keep-open");
    assert_eq!(outcomes.len(), 3, "one statement per call: {}", run.report);
    assert!(samples > 40, "the run was watched: {samples} samples");
    // A statement and its call's end are microseconds apart: one sample
    // may fall between them, a transaction left open would fill dozens.
    assert!(in_transaction <= 2, "{in_transaction} of {samples} samples saw weir's session idle in a transaction");
    admin.close().await.unwrap();
}
