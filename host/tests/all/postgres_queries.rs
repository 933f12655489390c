//! Set-based, always: the statements the PostgreSQL connector sends for a
//! batch of tables do not grow with the batch.

use crate::common;

use common::{TestDb, text, weir, workflow};
use serde_json::Value;

/// Ingests with `batch_size` and returns the report.
fn ingest(dir: &std::path::Path, db: &TestDb, batch_size: usize) -> Value {
    let yaml = format!(
        "source:\n  type: postgres\n  serviceName: q\n  serviceConnection:\n    config:\n      hostPort: \"{}\"\n      username: {}\n      database: {}\nweir:\n  shardStrategy: count\n  shardSize: {batch_size}\n",
        db.host_port(),
        db.user(),
        db.name
    );
    let wf = workflow(dir, &yaml);
    let report = dir.join(format!("report-{batch_size}.json"));
    let catalog = format!("c{batch_size}.db");
    let out = weir(
        dir,
        &["--catalog", &catalog, "ingest", "-c", wf.to_str().unwrap(), "--report", report.to_str().unwrap()],
        &[],
    );
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap()
}

fn tables(report: &Value) -> &Value {
    report["kinds"].as_array().unwrap().iter().find(|k| k["kind"] == "table").unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn queries_per_batch_do_not_grow_with_the_batch() {
    let db = TestDb::create("queries").await;
    // 1,000 tables with keys, foreign keys, comments and a few views, in one
    // round trip.
    let mut ddl = String::from("CREATE SCHEMA a; CREATE SCHEMA b;\n");
    for i in 0..1000u32 {
        let schema = if i.is_multiple_of(2) { "a" } else { "b" };
        ddl.push_str(&format!(
            "CREATE TABLE {schema}.t{i} (id int PRIMARY KEY, code text UNIQUE, amount numeric(10,2), tags text[]);\n"
        ));
        if i.is_multiple_of(3) {
            ddl.push_str(&format!("COMMENT ON TABLE {schema}.t{i} IS 'table {i}';\n"));
        }
        if i > 0 && i.is_multiple_of(2) {
            ddl.push_str(&format!("ALTER TABLE {schema}.t{i} ADD COLUMN parent int REFERENCES a.t0 (id);\n"));
        }
        if i.is_multiple_of(50) {
            ddl.push_str(&format!("CREATE VIEW {schema}.v{i} AS SELECT id, code FROM {schema}.t{i};\n"));
        }
    }
    db.run(&ddl).await;
    let dir = tempfile::tempdir().unwrap();

    let small = ingest(dir.path(), &db, 10);
    let large = ingest(dir.path(), &db, 1000);
    let per_batch = |r: &Value| {
        let t = tables(r);
        let (queries, batches) = (t["queries"].as_u64().unwrap(), t["batches"].as_u64().unwrap());
        (queries, batches)
    };
    let (small_queries, small_batches) = per_batch(&small);
    let (large_queries, large_batches) = per_batch(&large);
    assert_eq!(tables(&small)["written"], 1020);
    assert_eq!(tables(&large)["written"], 1020);
    assert_eq!(small_batches, 102, "1,020 tables in batches of 10");
    assert_eq!(large_batches, 2, "1,020 tables in batches of 1,000");
    // Discovery is one statement either way; the rest is per batch.
    let discover = 1;
    let small_each = (small_queries - discover) / small_batches;
    let large_each = (large_queries - discover) / large_batches;
    assert_eq!((small_queries - discover) % small_batches, 0, "every batch of 10 costs the same: {small_queries}");
    assert_eq!(small_each, large_each, "a batch of 10 and a batch of 1,000 send the same number of queries");
    assert!(small_each <= 8, "a handful of catalog queries per batch, not one per table: {small_each}");
}
