//! What the PostgreSQL connector reads beyond tables: every database with
//! `ingestAllDatabases`, stored procedures and functions (overloads kept
//! apart), view lineage, and what a role cannot read skipped with a warning.

use crate::common;

use common::{TestDb, export_all, text, weir, workflow};
use serde_json::Value;

fn connection(db: &TestDb, extra: &str) -> String {
    format!(
        "source:\n  type: postgres\n  serviceName: cov\n  serviceConnection:\n    config:\n      hostPort: \"{}\"\n      username: {}\n      database: {}\n{extra}",
        db.host_port(),
        db.user(),
        db.name
    )
}

fn run(dir: &std::path::Path, yaml: &str) -> (Option<i32>, String, Value) {
    let wf = workflow(dir, yaml);
    let report = dir.join("report.json");
    let out = weir(
        dir,
        &["--catalog", "c.db", "ingest", "-c", wf.to_str().unwrap(), "--report", report.to_str().unwrap()],
        &[],
    );
    let report = std::fs::read_to_string(&report).map(|t| serde_json::from_str(&t).unwrap()).unwrap_or(Value::Null);
    (out.status.code(), format!("{}\n{}", text(&out.stdout), text(&out.stderr)), report)
}

/// Ingests `db` with the default workflow, expects success, and returns
/// the directory (catalog `c.db`) with every exported entity.
fn ingest_ok(db: &TestDb) -> (tempfile::TempDir, Vec<Value>) {
    let dir = tempfile::tempdir().unwrap();
    let (code, output, _) = run(dir.path(), &connection(db, ""));
    assert_eq!(code, Some(0), "{output}");
    let entities = export_all(dir.path(), "c.db");
    (dir, entities)
}

fn fqns(entities: &[Value], kind: &str) -> Vec<String> {
    entities.iter().filter(|e| e["kind"] == kind).map(|e| e["fqn"].as_str().unwrap().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_database_through_its_own_connection() {
    let first = TestDb::create("alldb_a").await;
    let second = TestDb::create("alldb_b").await;
    first.run("CREATE TABLE in_first (id int)").await;
    second.run("CREATE SCHEMA s2; CREATE TABLE s2.in_second (id int)").await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = connection(
        &first,
        "      ingestAllDatabases: true\n  sourceConfig:\n    config:\n      databaseFilterPattern:\n        includes: [\"^weir_alldb_\"]\n",
    );
    let (code, output, _) = run(dir.path(), &yaml);
    assert_eq!(code, Some(0), "{output}");
    let entities = export_all(dir.path(), "c.db");
    let databases = fqns(&entities, "database");
    assert_eq!(databases.len(), 2, "only the two filtered databases: {databases:?}");
    let tables = fqns(&entities, "table");
    assert!(tables.contains(&format!("cov.{}.public.in_first", first.name)), "{tables:?}");
    assert!(tables.contains(&format!("cov.{}.s2.in_second", second.name)), "{tables:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn procedures_with_overloads_and_view_lineage() {
    let db = TestDb::create("procs").await;
    db.run(
        "CREATE TABLE orders (id int, amount numeric);
         CREATE TABLE customers (id int, name text);
         CREATE VIEW big_orders AS SELECT o.id, c.name FROM orders o JOIN customers c ON c.id = o.id WHERE o.amount > 100;
         CREATE VIEW biggest AS SELECT id FROM big_orders;
         CREATE FUNCTION add(a int, b int) RETURNS int LANGUAGE sql AS 'SELECT a + b';
         CREATE FUNCTION add(a text, b text) RETURNS text LANGUAGE sql AS 'SELECT a || b';
         COMMENT ON FUNCTION add(int, int) IS 'Adds integers';
         CREATE PROCEDURE archive(days int) LANGUAGE plpgsql AS $$ BEGIN DELETE FROM orders WHERE id < days; END $$;",
    )
    .await;
    let (dir, entities) = ingest_ok(&db);
    let p = format!("cov.{}.public", db.name);
    let mut procedures = fqns(&entities, "storedProcedure");
    procedures.sort();
    assert_eq!(
        procedures,
        vec![
            format!("{p}.add(a integer, b integer)"),
            format!("{p}.add(a text, b text)"),
            format!("{p}.archive(IN days integer)")
        ]
        .into_iter()
        .collect::<Vec<_>>(),
        "overloads stay distinct"
    );
    let add = entities.iter().find(|e| e["fqn"] == format!("{p}.add(a integer, b integer)")).unwrap();
    assert_eq!(add["document"]["description"], "Adds integers");
    assert_eq!(add["document"]["storedProcedureCode"]["language"], "SQL", "OpenMetadata's language enum");
    assert!(add["document"]["storedProcedureCode"]["code"].as_str().unwrap().contains("a + b"));

    let show = |fqn: &str| common::show(dir.path(), "c.db", fqn);
    let lineage = show(&format!("{p}.big_orders"))["lineage"].clone();
    let edges: Vec<(String, String)> = lineage
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (e["fromEntity"]["fqn"].as_str().unwrap().to_string(), e["toEntity"]["fqn"].as_str().unwrap().to_string())
        })
        .collect();
    for source in ["orders", "customers"] {
        assert!(
            edges.contains(&(format!("{p}.{source}"), format!("{p}.big_orders"))),
            "{source} → big_orders: {edges:?}"
        );
    }
    assert!(edges.contains(&(format!("{p}.big_orders"), format!("{p}.biggest"))), "a view over a view: {edges:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn what_the_role_cannot_read_is_skipped_with_a_warning() {
    let db = TestDb::create("privs").await;
    let role = format!("weir_reader_{}", std::process::id());
    db.run(&format!(
        "CREATE ROLE {role} LOGIN;
         CREATE SCHEMA open_s; CREATE SCHEMA closed_s;
         CREATE TABLE open_s.visible (id int); CREATE TABLE open_s.hidden (id int); CREATE TABLE closed_s.secret (id int);
         GRANT USAGE ON SCHEMA open_s TO {role}; GRANT SELECT ON open_s.visible TO {role};
         REVOKE ALL ON SCHEMA closed_s FROM PUBLIC;"
    ))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = connection(&db, "").replace(&format!("username: {}", db.user()), &format!("username: {role}"));
    let (code, output, report) = run(dir.path(), &yaml);
    db.run(&format!("DROP OWNED BY {role}; DROP ROLE {role};")).await;
    assert_eq!(code, Some(0), "skipping is not a failure: {output}");
    let entities = export_all(dir.path(), "c.db");
    let tables = fqns(&entities, "table");
    assert!(tables.iter().any(|t| t.ends_with("open_s.visible")), "{tables:?}");
    assert!(!tables.iter().any(|t| t.ends_with("hidden") || t.ends_with("secret")), "{tables:?}");
    let warnings = report["warnings"].to_string();
    assert!(warnings.contains("closed_s"), "the skipped schema is named: {warnings}");
    assert!(warnings.contains("hidden"), "the skipped table is named: {warnings}");
}

#[tokio::test(flavor = "multi_thread")]
async fn owner_row_estimate_and_size_come_from_the_catalog() {
    let db = TestDb::create("sizes").await;
    db.run(
        "CREATE TABLE counted (id int PRIMARY KEY, label text);
         INSERT INTO counted SELECT g, repeat('x', 100) FROM generate_series(1, 5000) g;
         ANALYZE counted;
         CREATE TABLE never_analyzed (id int);",
    )
    .await;
    let (dir, _) = ingest_ok(&db);
    let show =
        |table: &str| common::show(dir.path(), "c.db", &format!("cov.{}.public.{table}", db.name))["extra"].clone();
    let counted = show("counted");
    assert_eq!(counted["rowCount"], 5000);
    assert_eq!(counted["owner"], db.owner());
    let size = counted["sizeBytes"].as_i64().unwrap();
    // 5,000 rows of ~130 bytes, plus the primary key index.
    assert!((500_000..5_000_000).contains(&size), "size {size}");
    let unknown = show("never_analyzed");
    assert!(
        unknown.get("rowCount").is_none() && unknown.get("sizeBytes").is_none(),
        "unknown stays unknown: {unknown}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn partitions_are_recorded_on_their_parent_and_identity_and_generated_columns_are_kept() {
    let db = TestDb::create("parts").await;
    db.run(
        "CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY, at date NOT NULL, region text,
                              total numeric, doubled numeric GENERATED ALWAYS AS (total * 2) STORED)
             PARTITION BY RANGE (at);
         CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')
             PARTITION BY LIST (region);
         CREATE TABLE events_2024_eu PARTITION OF events_2024 FOR VALUES IN ('eu');
         CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
         CREATE TABLE tickets (id int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY);",
    )
    .await;
    let (dir, entities) = ingest_ok(&db);
    let tables = fqns(&entities, "table");
    let p = format!("cov.{}.public", db.name);
    assert_eq!(tables, vec![format!("{p}.events"), format!("{p}.tickets")], "partitions are not tables");

    let show = |fqn: &str| common::show(dir.path(), "c.db", fqn);
    let events = show(&format!("{p}.events"));
    assert_eq!(events["document"]["tableType"], "Partitioned");
    assert_eq!(
        events["document"]["tablePartition"],
        serde_json::json!({"columns": [{"columnName": "at", "intervalType": "TIME-UNIT"}]})
    );
    let partitioning = &events["extra"]["partitioning"];
    assert_eq!(partitioning["strategy"], "range");
    assert_eq!(partitioning["key"], "RANGE (at)");
    let names: Vec<&str> =
        partitioning["partitions"].as_array().unwrap().iter().map(|q| q["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["events_2024", "events_2024_eu", "events_2025"], "sub-partitions too");
    let eu = partitioning["partitions"].as_array().unwrap().iter().find(|q| q["name"] == "events_2024_eu").unwrap();
    assert_eq!(eu["bound"], "FOR VALUES IN ('eu')");

    let facts = events["extra"]["columns"].as_array().unwrap();
    assert_eq!(facts[0]["identity"], "always");
    assert_eq!(facts[4]["generated"], "(total * (2)::numeric)");
    assert!(facts[4].get("default").is_none(), "a generation expression is not a default: {}", facts[4]);
    let tickets = show(&format!("{p}.tickets"));
    assert_eq!(tickets["extra"]["columns"][0]["identity"], "by default");
}

#[tokio::test(flavor = "multi_thread")]
async fn foreign_and_unlogged_tables_are_tables_too() {
    let db = TestDb::create("foreign").await;
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&db.url()).await.unwrap();
    let available: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'file_fdw')")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    if !available {
        eprintln!("skipped: the file_fdw extension is not installed on this server");
        return;
    }
    db.run(
        "CREATE EXTENSION file_fdw;
         CREATE SERVER files FOREIGN DATA WRAPPER file_fdw;
         CREATE FOREIGN TABLE imported (id int, name text) SERVER files OPTIONS (filename '/dev/null', format 'csv');
         CREATE UNLOGGED TABLE scratch (id int NOT NULL);",
    )
    .await;
    let (_dir, entities) = ingest_ok(&db);
    let p = format!("cov.{}.public", db.name);
    let doc = |name: &str| entities.iter().find(|e| e["fqn"] == format!("{p}.{name}")).map(|e| e["document"].clone());
    let imported = doc("imported").unwrap_or_else(|| panic!("no foreign table: {:?}", fqns(&entities, "table")));
    assert_eq!(imported["tableType"], "Foreign");
    assert_eq!(imported["columns"].as_array().unwrap().len(), 2);
    assert_eq!(doc("scratch").unwrap()["tableType"], "Regular");
}
