//! The sandbox holds against a hostile plugin: escapes are denied and
//! reported, runaway loops and allocations are stopped, panics are
//! reported with their message, writes are refused, secrets stay out — and
//! the host finishes the run every time.

use crate::common;

use common::{Ingested, TestDb, failures, ingest, probe_wasm, text};
use serde_json::Value;
use std::path::Path;

/// A workflow for the probe in `mode`; `extra` goes into the `weir:`
/// section, `connection` replaces the connection config.
fn probe_yaml(mode: &str, arg: &str, extra: &str, connection: &str) -> String {
    common::probe_workflow(mode, &format!("      probeArg: \"{arg}\""), extra, connection)
}

const NO_CONNECTION: &str = "      type: Custom";

fn run(dir: &Path, yaml: &str) -> Ingested {
    ingest(dir, yaml, &[], &[])
}

fn written_tables(report: &Value) -> u64 {
    report["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == "table")
        .map(|k| k["written"].as_u64().unwrap())
        .unwrap_or(0)
}

#[test]
fn escapes_are_denied_and_reported_and_the_run_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(dir.path(), &probe_yaml("escape", "", "", NO_CONNECTION));
    // What the probe saw comes back as failures of entities nobody asked
    // for: reported, not counted, so the run itself succeeds.
    assert_eq!(r.code, Some(0), "the run finishes: {}\n{}", r.stdout, r.stderr);
    assert_eq!(r.report["failures"], serde_json::json!([]), "every requested entity was written");
    for what in ["file", "env", "socket", "sql"] {
        let found = failures(&r.report, &format!("escape-{what}"));
        assert!(!found.is_empty(), "no report for the {what} attempt: {}", r.report);
        for f in found {
            let reason = f["reason"].as_str().unwrap();
            assert!(reason.starts_with(&format!("{what}: ")), "{reason}");
            assert!(!reason.contains("ESCAPED"), "the {what} escape succeeded: {reason}");
        }
    }
    let sql = failures(&r.report, "escape-sql")[0]["reason"].as_str().unwrap();
    assert!(sql.contains("`other` is not granted"), "{sql}");
    assert_eq!(written_tables(&r.report), 3, "the tables were still written");
    let warnings: Vec<&str> = r.report["warnings"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(
        warnings.iter().any(|w| w.starts_with("probe: file: denied")),
        "the plugin's warnings reach the report: {warnings:?}"
    );
    assert!(r.stdout.contains("warning: probe: socket: denied"), "and the summary: {}", r.stdout);
}

#[test]
fn http_is_denied_not_trapped() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(dir.path(), &probe_yaml("http", "", "", NO_CONNECTION));
    let found = failures(&r.report, "escape-http");
    assert_eq!(found.len(), 1, "{}", r.report);
    let reason = found[0]["reason"].as_str().unwrap();
    assert!(reason.contains("denied"), "{reason}");
    assert!(!reason.contains("ESCAPED"), "{reason}");
    assert_eq!(written_tables(&r.report), 3);
}

#[test]
fn an_endless_loop_is_stopped_at_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let r = run(dir.path(), &probe_yaml("loop", "", "  limits:\n    callTimeoutSecs: 2", NO_CONNECTION));
    assert_eq!(r.code, Some(2), "{}\n{}", r.stdout, r.stderr);
    assert!(started.elapsed().as_secs() < 30, "the loop was not stopped in time");
    let failed = failures(&r.report, ".t1");
    assert_eq!(failed.len(), 1, "{}", r.report);
    assert_eq!(failed[0]["error"], "deadline");
    assert!(failed[0]["reason"].as_str().unwrap().contains("deadline of 2 s"), "{}", failed[0]);
    // Every call loops: the shard is retried once, then halved until each
    // table has faulted on its own: [t1 t2 t3] twice, [t1], [t2 t3], [t2], [t3].
    assert_eq!(r.report["batches"]["faults"], 6);
    assert_eq!(r.report["failures"].as_array().unwrap().len(), 3);
}

#[test]
fn allocation_past_the_cap_traps_only_that_instance() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(dir.path(), &probe_yaml("alloc", "", "  limits:\n    memoryMib: 64", NO_CONNECTION));
    assert_eq!(r.code, Some(2), "{}\n{}", r.stdout, r.stderr);
    let failed = failures(&r.report, ".t1");
    assert_eq!(failed.len(), 1, "{}", r.report);
    assert_eq!(failed[0]["error"], "memory");
    assert!(failed[0]["reason"].as_str().unwrap().contains("memory limit of 64 MiB"), "{}", failed[0]);
}

#[test]
fn a_panic_is_reported_with_its_message() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(dir.path(), &probe_yaml("panic", "", "", NO_CONNECTION));
    assert_eq!(r.code, Some(2));
    let failed = failures(&r.report, ".t2");
    assert_eq!(failed.len(), 1, "{}", r.report);
    assert_eq!(failed[0]["error"], "trap");
    let reason = failed[0]["reason"].as_str().unwrap();
    assert!(reason.starts_with("plugin panicked: probe: process panicked on purpose (at "), "{reason}");
    assert!(!reason.contains("RUST_BACKTRACE") && !reason.contains("wasm backtrace"), "message only: {reason}");
    assert!(!r.stderr.contains("RUST_BACKTRACE") && !r.stderr.contains("wasm backtrace"), "{}", r.stderr);
    // Every table panics: said once for each, not once per bisection step.
    assert_eq!(r.stderr.matches("probe: process panicked on purpose").count(), 3, "{}", r.stderr);
    assert!(r.stdout.contains("probe: process panicked on purpose"), "the summary shows it: {}", r.stdout);
}

#[test]
fn one_bad_batch_does_not_take_the_others_down() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(dir.path(), &probe_yaml("panic-on", "t2", "  batchSize: 1\n  instances: 1", NO_CONNECTION));
    assert_eq!(r.code, Some(2));
    assert_eq!(written_tables(&r.report), 2, "t1 and t3 written after t2's instance died: {}", r.report);
    assert_eq!(failures(&r.report, ".t2").len(), 1);
    // Retried once on a fresh instance before it is reported.
    assert_eq!(r.report["batches"]["faults"], 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_are_refused_and_the_database_is_unchanged() {
    let db = TestDb::create("readonly").await;
    db.run("CREATE TABLE victim (id int); INSERT INTO victim VALUES (1), (2), (3);").await;
    let connection = format!(
        "      type: Postgres\n      hostPort: \"{}\"\n      username: {}\n      database: {}",
        db.host_port(),
        db.user(),
        db.name
    );
    let dir = tempfile::tempdir().unwrap();
    let r = run(dir.path(), &probe_yaml("write", "", "", &connection));
    let attempts = failures(&r.report, "");
    let writes: Vec<&str> = attempts
        .iter()
        .filter(|f| f["entity"].as_str().unwrap().contains("write-"))
        .map(|f| f["reason"].as_str().unwrap())
        .collect();
    assert!(writes.len() >= 5, "every statement is reported: {}", r.report);
    for statement in [
        "CREATE TABLE probe_created ",
        "DELETE FROM victim",
        "CREATE TABLE probe_created2",
        "CREATE TABLE probe_created3",
    ] {
        let outcome =
            writes.iter().find(|w| w.starts_with(statement)).unwrap_or_else(|| panic!("{statement}: {writes:?}"));
        assert!(outcome.contains("denied"), "{statement} was not refused: {outcome}");
    }
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&db.url()).await.unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM victim").fetch_one(&mut conn).await.unwrap();
    assert_eq!(rows, 3, "DELETE got through");
    let created: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_class WHERE relname LIKE 'probe_created%'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(created, 0, "CREATE TABLE got through");
}

#[test]
fn the_plugin_never_sees_the_password_and_no_output_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "pw-7f3a9c-very-secret";
    let connection = format!(
        "      type: Custom\n      hostPort: db.example:5432\n      username: reader\n      authType:\n        password: {secret}"
    );
    let r = run(dir.path(), &probe_yaml("echo-config", "", "", &connection));
    let echoed = failures(&r.report, ".config");
    assert_eq!(echoed.len(), 1, "{}", r.report);
    let seen = echoed[0]["reason"].as_str().unwrap();
    assert!(seen.contains("reader"), "the plugin sees the non-secret settings: {seen}");
    assert!(!seen.contains(secret), "the plugin saw the password: {seen}");
    assert!(!seen.contains("authType"), "{seen}");
    for output in [&r.stdout, &r.stderr, &r.report.to_string()] {
        assert!(!output.contains(secret), "the password leaked: {output}");
    }
}

#[test]
fn a_second_load_uses_the_compile_cache() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let inspect = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_weir"))
            .args(["plugin", "inspect", probe_wasm().to_str().unwrap()])
            .env("WEIR_CACHE_DIR", &cache)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let first = inspect();
    assert!(first.contains("compiled:      now"), "{first}");
    assert!(first.contains("plugin:        probe"), "{first}");
    assert!(first.contains("contract:      weir:connector@0.2.2"), "{first}");
    assert!(first.contains("capabilities:  sql:source"), "{first}");
    let second = inspect();
    assert!(second.contains("compiled:      from cache"), "{second}");
}

fn postgres_connection(db: &TestDb) -> String {
    format!(
        "      type: Postgres\n      hostPort: \"{}\"\n      username: {}\n      database: {}",
        db.host_port(),
        db.user(),
        db.name
    )
}

/// The reason reported for the probe's `query` entry.
fn query_outcome(r: &Ingested) -> String {
    let found = failures(&r.report, ".query");
    assert_eq!(found.len(), 1, "{}\n{}", r.report, r.stderr);
    found[0]["reason"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn results_past_the_row_cap_are_an_error_not_a_truncation() {
    let db = TestDb::create("rowcap").await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = probe_yaml(
        "query",
        "SELECT generate_series(1, 1000) AS n",
        "  limits:\n    maxRows: 100",
        &postgres_connection(&db),
    );
    let outcome = query_outcome(&run(dir.path(), &yaml));
    assert!(outcome.contains("more than 100 rows") && outcome.contains("maxRows"), "{outcome}");

    let under = probe_yaml(
        "query",
        "SELECT generate_series(1, 100) AS n",
        "  limits:\n    maxRows: 100",
        &postgres_connection(&db),
    );
    let outcome = query_outcome(&run(dir.path(), &under));
    assert!(outcome.contains("\"rows\""), "100 rows fit: {outcome}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_statement_hits_the_statement_timeout() {
    let db = TestDb::create("stmt_timeout").await;
    let dir = tempfile::tempdir().unwrap();
    let yaml =
        probe_yaml("query", "SELECT pg_sleep(30)", "  limits:\n    statementTimeoutSecs: 1", &postgres_connection(&db));
    let started = std::time::Instant::now();
    let outcome = query_outcome(&run(dir.path(), &yaml));
    assert!(outcome.contains("statement timeout"), "{outcome}");
    assert!(outcome.starts_with("SELECT pg_sleep(30): transient"), "a timeout is transient: {outcome}");
    assert!(started.elapsed().as_secs() < 20, "the statement was not cancelled");
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_sources_are_read_only_and_cannot_attach_other_files() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("source.db");
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&file).create_if_missing(true);
    let mut conn = sqlx::SqliteConnection::connect_with(&options).await.unwrap();
    sqlx::raw_sql("CREATE TABLE victim (id INTEGER); INSERT INTO victim VALUES (1), (2), (3);")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let connection = format!("      type: SQLite\n      databaseMode: {}", file.display());

    let r = run(dir.path(), &probe_yaml("write", "", "", &connection));
    let writes: Vec<String> = failures(&r.report, "")
        .iter()
        .filter(|f| f["entity"].as_str().unwrap().contains("write-"))
        .map(|f| f["reason"].as_str().unwrap().to_string())
        .collect();
    for statement in ["CREATE TABLE probe_created ", "DELETE FROM victim"] {
        let outcome =
            writes.iter().find(|w| w.starts_with(statement)).unwrap_or_else(|| panic!("{statement}: {writes:?}"));
        assert!(outcome.contains("denied"), "{statement} was not refused: {outcome}");
    }

    // Another file the host can read: ATTACH must not reach it.
    let other = dir.path().join("other.db");
    let other_options = sqlx::sqlite::SqliteConnectOptions::new().filename(&other).create_if_missing(true);
    let mut conn = sqlx::SqliteConnection::connect_with(&other_options).await.unwrap();
    sqlx::raw_sql("CREATE TABLE secret (v TEXT); INSERT INTO secret VALUES ('top-secret-row');")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let attach = format!("ATTACH DATABASE '{}' AS other; SELECT v FROM other.secret", other.display());
    let outcome = query_outcome(&run(dir.path(), &probe_yaml("query", &attach, "", &connection)));
    assert!(!outcome.contains("top-secret-row"), "ATTACH reached another file: {outcome}");
    assert!(outcome.contains("too many attached databases"), "refused by the attach limit: {outcome}");

    let mut conn = sqlx::SqliteConnection::connect_with(&options).await.unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM victim").fetch_one(&mut conn).await.unwrap();
    assert_eq!(rows, 3, "DELETE got through");
    let tables: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE name LIKE 'probe_created%'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(tables, 0, "CREATE TABLE got through");
}

/// A one-shot HTTP server on 127.0.0.1 answering every request with `body`.
async fn http_server(body: &'static str) -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await;
            let answer =
                format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread")]
async fn http_reaches_a_granted_origin_and_nothing_else() {
    let addr = http_server("hello from the host side").await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://{addr}/data");
    let granted = format!("  http:\n    allow: [\"http://{addr}\"]");
    // The probe declares http:connection, so its connection names an API;
    // a port where nothing listens.
    let connection = "      type: Custom\n      hostPort: http://127.0.0.3:9";
    let run_probe = |yaml: String| {
        let dir = dir.path().to_path_buf();
        tokio::task::spawn_blocking(move || run(&dir, &yaml))
    };
    let r = run_probe(probe_yaml("fetch", &url, &granted, connection)).await.unwrap();
    let found = failures(&r.report, "fetch");
    assert_eq!(found.len(), 1, "{}", r.report);
    assert_eq!(found[0]["reason"], "status 200: hello from the host side", "{}", found[0]);

    // Not granted: the same URL is denied, as is any other origin.
    let r = run_probe(probe_yaml("fetch", &url, "", connection)).await.unwrap();
    let reason = failures(&r.report, "fetch")[0]["reason"].as_str().unwrap().to_string();
    assert!(reason.starts_with("denied"), "{reason}");
    let other = format!("http://127.0.0.2:{}/data", addr.port());
    let r = run_probe(probe_yaml("fetch", &other, &granted, connection)).await.unwrap();
    let reason = failures(&r.report, "fetch")[0]["reason"].as_str().unwrap().to_string();
    assert!(reason.starts_with("denied"), "another origin must be denied: {reason}");
}

/// A connector whose connection names an API (`hostPort`) reaches that
/// origin and nothing else, with nothing in `weir.http.allow`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_host_port_is_the_only_origin_a_plugin_reaches() {
    use weir_fixtures::looker::{LookerFixture, LookerSpec};
    let fixture = LookerFixture::start(LookerSpec::default()).await.unwrap();
    let connection = format!("      type: Custom\n      hostPort: {}", fixture.base_url());
    let dir = tempfile::tempdir().unwrap();
    let fetch = |url: String| {
        let (dir, yaml) = (dir.path().to_path_buf(), probe_yaml("fetch", &url, "", &connection));
        tokio::task::spawn_blocking(move || {
            let r = run(&dir, &yaml);
            failures(&r.report, "fetch")[0]["reason"].as_str().unwrap_or_default().to_string()
        })
    };
    let reached = fetch(format!("{}/api/4.0/dashboards?fields=id", fixture.base_url())).await.unwrap();
    assert!(reached.starts_with("status 401"), "the fixture answers (no token sent): {reached}");
    let port = fixture.base_url().rsplit(':').next().unwrap().to_string();
    for other in [format!("http://127.0.0.2:{port}/api/4.0/dashboards"), "http://127.0.0.1:9/".to_string()] {
        let reason = fetch(other.clone()).await.unwrap();
        assert!(reason.starts_with("denied"), "{other} must be denied: {reason}");
    }
    assert_eq!(fixture.requests().len(), 1, "only the granted request reached the fixture");
}
