//! The run state store on PostgreSQL (`weir.stateStore`), seen from
//! outside: a run keeps its deferred foreign keys there between phase 1 and
//! phase 2, the catalog ends up with them, and the store is left with no
//! record of the run. A store nobody answers for may pass (exit 75) and its
//! password never shows.

use crate::common;

use common::{TestDb, export_all, pg_connection, text, weir, workflow};
use sqlx::{Connection, PgConnection};

const SCHEMA: &str = r#"
CREATE SCHEMA shop;
CREATE TABLE shop.customer (id bigint PRIMARY KEY, name text);
CREATE TABLE shop.orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES shop.customer (id));
CREATE TABLE shop.line (order_id bigint REFERENCES shop.orders (id), n int, PRIMARY KEY (order_id, n));
"#;

fn yaml(db: &TestDb, state_store: &str) -> String {
    format!(
        "source:\n  type: postgres\n  serviceName: pgstate\n  serviceConnection:\n    config:\n{}\nweir:\n  stateStore: \"{state_store}\"\n",
        pg_connection(db, db.reader())
    )
}

fn foreign_keys(entities: &[serde_json::Value]) -> Vec<(String, String)> {
    let mut keys = Vec::new();
    for e in entities.iter().filter(|e| e["kind"] == "table") {
        for c in e["document"]["tableConstraints"].as_array().into_iter().flatten() {
            if c["constraintType"] == "FOREIGN_KEY" {
                keys.push((e["fqn"].as_str().unwrap_or_default().to_string(), c["referredColumns"].to_string()));
            }
        }
    }
    keys.sort();
    keys
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_keeps_its_deferred_keys_in_postgres_and_leaves_no_record_behind() {
    let source = TestDb::create("state_src").await;
    source.run(SCHEMA).await;
    let store = TestDb::create("state_store").await;
    let dir = tempfile::tempdir().unwrap();
    let wf = workflow(dir.path(), &yaml(&source, &store.url()));
    let out = weir(dir.path(), &["--catalog", "catalog.db", "ingest", "-c", wf.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", text(&out.stdout), text(&out.stderr));

    let keys = foreign_keys(&export_all(dir.path(), "catalog.db"));
    let fqn = |t: &str| format!("pgstate.{}.shop.{t}", source.name);
    let tables: Vec<&str> = keys.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(tables, [fqn("line"), fqn("orders")], "both foreign keys applied in phase 2: {keys:?}");

    let mut conn = PgConnection::connect(&store.url()).await.unwrap();
    let version: i64 =
        sqlx::query_scalar("SELECT max(version) FROM weir_state.schema_version").fetch_one(&mut conn).await.unwrap();
    assert_eq!(version, 8, "the schema was created in weir_state");
    for table in ["deferred", "document", "table_columns", "run", "shard", "written_parent", "run_discovery"] {
        let left: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM weir_state.{table}")))
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(left, 0, "weir_state.{table} keeps nothing of a finished run");
    }
    conn.close().await.unwrap();

    // Again, on the store that now exists: the same catalog.
    let again = weir(dir.path(), &["--catalog", "catalog.db", "ingest", "-c", wf.to_str().unwrap()], &[]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert_eq!(foreign_keys(&export_all(dir.path(), "catalog.db")), keys);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_state_store_nobody_answers_for_may_pass_and_its_password_never_shows() {
    let source = TestDb::create("state_gone").await;
    source.run(SCHEMA).await;
    let dir = tempfile::tempdir().unwrap();
    let wf = workflow(dir.path(), &yaml(&source, "postgres://weir:Hidden-Pw-4411@127.0.0.1:1/state"));
    let out = weir(dir.path(), &["--catalog", "catalog.db", "ingest", "-c", wf.to_str().unwrap()], &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "{stderr}");
    assert!(stderr.contains("state store postgres://weir@127.0.0.1:1/state"), "names the store: {stderr}");
    assert!(!stderr.contains("Hidden-Pw-4411"), "the password leaked: {stderr}");
}
