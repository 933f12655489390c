//! `sink.type: file`: JSON Lines of the same Create* documents the catalog
//! holds, parents before children, then the deferred records; the file
//! appears only whole.

use crate::common;

use common::{TestDb, export_all, text, weir, workflow};
use serde_json::Value;
use std::collections::HashMap;

const SCHEMA: &str = r#"
CREATE SCHEMA sales;
CREATE SCHEMA hr;
CREATE TABLE sales.customer (id bigint PRIMARY KEY, email varchar(200) NOT NULL UNIQUE);
CREATE TABLE sales.orders (
    id          serial PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES sales.customer (id)
);
CREATE TABLE hr.employee (
    id      integer PRIMARY KEY,
    manager integer REFERENCES hr.employee (id),
    served  bigint REFERENCES sales.customer (id)
);
CREATE VIEW sales.big AS SELECT id FROM sales.customer WHERE id > 10;
"#;

fn yaml(db: &TestDb, sink: &str) -> String {
    format!(
        r#"
source:
  type: postgres
  serviceName: filesvc
  serviceConnection:
    config:
      type: Postgres
      hostPort: "{}"
      username: {}
      database: {}
{sink}
weir:
  instances: 2
  shardSize: 2
"#,
        db.host_port(),
        db.user(),
        db.name
    )
}

/// Where a line's kind belongs in the file; deferred records share a rank.
fn rank(kind: &str) -> usize {
    if kind == "foreignKey" || kind == "lineage" {
        return 5;
    }
    ["databaseService", "database", "databaseSchema", "table", "storedProcedure"]
        .iter()
        .position(|k| *k == kind)
        .unwrap_or_else(|| panic!("unexpected kind {kind}"))
}

/// Foreign keys come in phase 2: the catalog export merges them into the
/// table; the file keeps them in its own section.
fn without_foreign_keys(mut doc: Value) -> Value {
    if let Some(list) = doc.get_mut("tableConstraints").and_then(Value::as_array_mut) {
        list.retain(|c| c["constraintType"] != "FOREIGN_KEY");
        if list.is_empty() {
            doc.as_object_mut().unwrap().remove("tableConstraints");
        }
    }
    doc
}

#[tokio::test(flavor = "multi_thread")]
async fn the_file_holds_the_catalogs_documents_parents_first_then_deferred_records() {
    let db = TestDb::create("filesink").await;
    db.run(SCHEMA).await;
    let dir = tempfile::tempdir().unwrap();

    let file_sink = "sink:\n  type: file\n  config:\n    path: out/metadata.jsonl\n    bulk_sink_batch_size: 3";
    let wf = workflow(dir.path(), &yaml(&db, file_sink));
    let out = weir(dir.path(), &["ingest", "-c", wf.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("metadata.jsonl"), "the summary names the file: {}", text(&out.stdout));

    let path = dir.path().join("out/metadata.jsonl");
    let lines: Vec<Value> =
        std::fs::read_to_string(&path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let leftovers: Vec<String> = std::fs::read_dir(dir.path().join("out"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(leftovers, ["metadata.jsonl"], "no temporary file left behind");

    // Parents before children, deferred records last.
    let ranks: Vec<usize> = lines.iter().map(|l| rank(l["kind"].as_str().unwrap())).collect();
    assert!(
        ranks.windows(2).all(|w| w[0] <= w[1]),
        "out of order: {:?}",
        lines.iter().map(|l| &l["kind"]).collect::<Vec<_>>()
    );
    let count = |kind: &str| lines.iter().filter(|l| l["kind"] == kind).count();
    assert_eq!((count("databaseService"), count("database"), count("databaseSchema")), (1, 1, 3), "public, sales, hr");
    assert_eq!(count("table"), 4);
    assert_eq!(count("foreignKey"), 3);
    assert_eq!(count("lineage"), 1, "the view reads sales.customer");
    // The service as OpenMetadata takes it, `serviceType` one of its values.
    let service = &lines.iter().find(|l| l["kind"] == "databaseService").unwrap()["document"];
    assert_eq!(service["serviceType"], "Postgres", "{service}");
    let errors = weir_fixtures::openmetadata::schema_errors(
        &weir_fixtures::openmetadata::validator("api/services/createDatabaseService.json"),
        service,
    );
    assert!(errors.is_empty(), "{errors:?}: {service}");
    let fk =
        lines.iter().find(|l| l["kind"] == "foreignKey" && l["fqn"] == format!("filesvc.{}.sales.orders", db.name));
    let fk = fk.unwrap_or_else(|| panic!("no foreign key of orders: {lines:?}"));
    assert_eq!(fk["target"], format!("filesvc.{}.sales.customer", db.name));
    assert_eq!(fk["document"]["referredColumns"][0], format!("filesvc.{}.sales.customer.id", db.name));

    // The same documents as the catalog, from the same mapping.
    let catalog_sink = "sink:\n  type: catalog\n  config:\n    path: same.db";
    let wf = workflow(dir.path(), &yaml(&db, catalog_sink));
    let out = weir(dir.path(), &["ingest", "-c", wf.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let catalog: HashMap<String, Value> = export_all(dir.path(), "same.db")
        .into_iter()
        .map(|e| (e["fqn"].as_str().unwrap().to_string(), without_foreign_keys(e["document"].clone())))
        .collect();
    // Databases through procedures: what the catalog export holds.
    let entities: Vec<&Value> = lines.iter().filter(|l| (1..=4).contains(&rank(l["kind"].as_str().unwrap()))).collect();
    assert_eq!(entities.len(), catalog.len());
    for line in entities {
        let fqn = line["fqn"].as_str().unwrap();
        assert_eq!(Some(&line["document"]), catalog.get(fqn), "{fqn} differs between the file and the catalog");
    }
}

#[test]
fn the_file_sink_needs_a_path() {
    let dir = tempfile::tempdir().unwrap();
    let wf = workflow(
        dir.path(),
        "source:\n  type: sqlite\n  serviceName: s\n  serviceConnection:\n    config:\n      type: SQLite\n      databaseMode: x.db\nsink:\n  type: file\n",
    );
    let out = weir(dir.path(), &["ingest", "-c", wf.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("sink.config.path"), "{}", text(&out.stderr));
}
