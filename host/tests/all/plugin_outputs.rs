//! What a hostile plugin sends out of the sandbox is checked on the way
//! out: a secret it got hold of is redacted from every text that leaves the
//! host (stderr, the summary, the report, the catalog), its log lines cannot
//! forge others, it cannot write lineage between another service's
//! entities, and a raw entity must be of a kind a sink knows.

use crate::common;

use common::{Ingested, TestDb, ingest, pg_connection, probe_workflow, reason};
use serde_json::Value;
use std::path::Path;
use std::sync::{Arc, Mutex};
use weir_fixtures::http::{Request, Response, Server};

/// A password with the characters that JSON and forms escape.
const SECRET: &str = r#"pw-"quoted"/s3cret&x"#;

fn with_password(connection: &str) -> String {
    let quoted = Value::from(SECRET).to_string();
    connection.replace("        password: weir-test-reader", &format!("        password: {quoted}"))
}

/// Every place a run leaves text: its output, its report, the catalog file.
fn assert_nowhere(dir: &Path, r: &Ingested, what: &str) {
    for (place, text) in [("stdout", &r.stdout), ("stderr", &r.stderr), ("report", &r.report.to_string())] {
        assert!(!text.contains(SECRET), "{what}: the secret is in {place}:\n{text}");
        assert!(!text.contains("s3cret"), "{what}: part of the secret is in {place}:\n{text}");
    }
    for file in ["catalog.db", "catalog.db-wal"] {
        if let Ok(bytes) = std::fs::read(dir.join(file)) {
            let found = bytes.windows(6).any(|w| w == b"s3cret");
            assert!(!found, "{what}: the secret is in {file}");
        }
    }
}

/// What the plugin smuggled out arrives redacted.
fn assert_redacted(dir: &Path, r: &Ingested) {
    let leaked = reason(&r.report, ".leak");
    assert!(leaked.contains("***"), "{leaked}");
    let t1 = common::show(dir, "catalog.db", "probe_svc.db.s.t1");
    let description = t1["document"]["description"].as_str().unwrap_or_default();
    assert!(description.starts_with("leaked: ") && description.contains("***"), "{t1}");
}

/// Whether the run said it took a secret out of the plugin's documents.
fn warned_of_redaction(r: &Ingested) -> bool {
    r.report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .any(|w| w.contains("documents from the plugin held a secret of the workflow; it was replaced by ***"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_read_from_the_database_never_leaves_the_host() {
    let db = TestDb::create("leak_sql").await;
    let quoted = SECRET.replace('\'', "''");
    db.run(&format!("CREATE TABLE creds (v text); INSERT INTO creds VALUES ('{quoted}');")).await;
    let dir = tempfile::tempdir().unwrap();
    let connection = with_password(&pg_connection(&db, &db.user()));
    let yaml = probe_workflow("leak-sql", "      probeArg: \"SELECT v FROM creds\"", "", &connection);
    let r = ingest(dir.path(), &yaml, &[], &[]);
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    assert_nowhere(dir.path(), &r, "read from a table");
    assert_redacted(dir.path(), &r);
    assert!(warned_of_redaction(&r), "{}", r.report["warnings"]);
}

/// An HTTP server that answers every request with its body, in the body
/// and a header, as error pages quoting a login form do; it keeps the
/// bodies it was sent.
async fn echo_server() -> (Server, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let kept = seen.clone();
    let server = Server::start(move |request: Request| {
        let kept = kept.clone();
        async move {
            let body = String::from_utf8_lossy(&request.body).to_string();
            kept.lock().unwrap().push(body.clone());
            Response::text(200, body.clone()).with_header("x-echo", body)
        }
    })
    .await
    .unwrap();
    (server, seen)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_a_server_echoes_back_never_reaches_the_plugin_or_the_output() {
    let (server, seen) = echo_server().await;
    let url = server.base_url();
    let dir = tempfile::tempdir().unwrap();
    let connection = format!(
        "      type: Custom\n      hostPort: {url}\n      authType:\n        password: {}",
        Value::from(SECRET)
    );
    let yaml = probe_workflow("leak-http", &format!("      probeArg: \"{url}/login\""), "", &connection);
    let path = dir.path().to_path_buf();
    let r = tokio::task::spawn_blocking(move || ingest(&path, &yaml, &[], &[])).await.unwrap();
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    let sent = seen.lock().unwrap().clone();
    assert_eq!(sent, vec![format!("password={SECRET}")], "the host filled the secret in for its own origin");
    assert_nowhere(dir.path(), &r, "echoed by a server");
    assert_redacted(dir.path(), &r);
    // The plugin saw the answer with the secret already taken out, so its
    // documents had nothing to redact.
    assert!(reason(&r.report, ".leak").contains("leaked: password=***"), "{}", r.report["failures"]);
    assert!(!warned_of_redaction(&r), "{}", r.report["warnings"]);
}

#[test]
fn a_log_line_cannot_forge_another() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = probe_workflow("log-forge", "", "", "      type: Custom");
    let r = ingest(dir.path(), &yaml, &[], &[]);
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    let forged: Vec<&str> = r.stderr.lines().filter(|l| l.trim_start().starts_with("ERROR weir")).collect();
    assert!(forged.is_empty(), "forged lines: {forged:?}\n{}", r.stderr);
    let line = r.stderr.lines().find(|l| l.contains("probe line")).unwrap_or_else(|| panic!("{}", r.stderr));
    assert!(line.contains(r"probe line\nERROR weir: forged line"), "{line}");
    assert!(line.contains(r"value\nERROR weir: forged field "), "{line}");
    assert!(!r.stderr.contains('\u{1b}'), "a terminal escape got through: {:?}", r.stderr);

    // JSON logs: one object per line, the text intact inside it.
    let r = ingest(dir.path(), &yaml, &["--log-format", "json"], &[]);
    for line in r.stderr.lines().filter(|l| !l.is_empty()) {
        let parsed: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        if parsed["message"].as_str().unwrap_or_default().starts_with("probe line") {
            assert!(parsed["message"].as_str().unwrap().contains("\nERROR weir: forged line"), "{parsed}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn lineage_between_two_entities_of_another_service_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    // `other_svc` ingests its own tables a and b, with its edge a → b.
    let own = probe_workflow(
        "lineage",
        "      probeArg: \"from other_svc\"\n      probeTables: [a, b]",
        "",
        "      type: Custom",
    )
    .replace("serviceName: probe_svc", "serviceName: other_svc");
    let r = ingest(dir.path(), &own, &[], &[]);
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    // probe_svc, in the same catalog, sends the same edge with its own SQL.
    let hostile = probe_workflow("lineage", "      probeArg: \"hostile\"", "", "      type: Custom");
    let r = ingest(dir.path(), &hostile, &[], &[]);
    let refused: Vec<&Value> = r.report["relationsUnresolved"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["reason"].as_str().unwrap_or_default().contains("at least one end in the run's own service"))
        .collect();
    assert_eq!(refused.len(), 1, "{}", r.report["relationsUnresolved"]);
    assert_eq!(refused[0]["error"], "invalid");
    assert!(refused[0]["reason"].as_str().unwrap().contains("other_svc.db.s.a → other_svc.db.s.b"), "{}", refused[0]);
    // other_svc's edge is as other_svc wrote it.
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(dir.path().join("catalog.db")).read_only(true);
    let mut catalog = <sqlx::SqliteConnection as sqlx::Connection>::connect_with(&options).await.unwrap();
    let documents: Vec<String> =
        sqlx::query_scalar("SELECT document FROM relation WHERE from_fqn = 'other_svc.db.s.a' AND to_fqn = $1")
            .bind("other_svc.db.s.b")
            .fetch_all(&mut catalog)
            .await
            .unwrap();
    assert_eq!(documents.len(), 1, "{documents:?}");
    assert!(documents[0].contains("from other_svc") && !documents[0].contains("hostile"), "{documents:?}");
}

#[test]
fn a_raw_entity_must_be_of_a_kind_a_sink_knows() {
    let dir = tempfile::tempdir().unwrap();
    let r = ingest(dir.path(), &probe_workflow("raw", "", "", "      type: Custom"), &[], &[]);
    for (name, kind) in [("raw0", "../../x"), ("raw1", "databaseService")] {
        let why = reason(&r.report, &format!(".{name}"));
        assert!(why.contains(&format!("raw entity kind `{kind}` is not one a sink can write")), "{why}");
    }
    let kinds: Vec<String> = common::export_all(dir.path(), "catalog.db")
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(kinds.contains(&"pipeline".to_string()), "a pipeline is a kind a sink knows: {kinds:?}");
    assert!(!kinds.iter().any(|k| k == "../../x" || k == "databaseService"), "{kinds:?}");
}
