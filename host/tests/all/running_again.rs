//! Running again, as every catalog user does: what did not change is not
//! sent (counted unchanged), a changed table is sent alone, `--full` and
//! `overrideMetadata: true` send everything, and a catalog made afresh gets
//! everything (it answers from its own rows). Real PostgreSQL.

use crate::common;

use common::{Ingested, TestDb, assert_store_agrees, export_all, ingest, pg_connection};
use serde_json::Value;

const SCHEMA: &str = r#"
CREATE SCHEMA shop;
CREATE TABLE shop.customer (id bigint PRIMARY KEY, name text);
CREATE TABLE shop.orders (id bigint PRIMARY KEY, customer bigint REFERENCES shop.customer (id));
CREATE TABLE shop.item (id bigint PRIMARY KEY, label text);
"#;

fn yaml(db: &TestDb, extra: &str) -> String {
    format!(
        "source:\n  type: postgres\n  serviceName: again\n  serviceConnection:\n    config:\n{}\n  sourceConfig:\n    config:\n      type: DatabaseMetadata\n{extra}",
        pg_connection(db, db.reader())
    )
}

fn counts(r: &Ingested, kind: &str) -> (u64, u64, u64) {
    let k = r.report["kinds"].as_array().unwrap().iter().find(|k| k["kind"] == kind).cloned().unwrap_or(Value::Null);
    let n = |f: &str| k[f].as_u64().unwrap_or(0);
    (n("found"), n("written"), n("unchanged"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_run_sends_only_what_changed() {
    let db = TestDb::create("again").await;
    db.run(SCHEMA).await;
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let run = |extra: &str, args: &[&str]| {
        let r = ingest(dir, &yaml(&db, extra), args, &[]);
        assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
        r
    };

    let first = run("", &[]);
    assert_eq!(counts(&first, "table"), (3, 3, 0));
    let exported = export_all(dir, "catalog.db");

    let second = run("", &[]);
    for kind in ["database", "databaseSchema", "table"] {
        let (found, written, unchanged) = counts(&second, kind);
        assert_eq!((written, unchanged), (0, found), "{kind}: nothing changed, nothing sent: {}", second.report);
    }
    assert!(second.stdout.contains("unchanged"), "the summary says so: {}", second.stdout);
    assert_eq!(export_all(dir, "catalog.db"), exported, "the catalog is as it was, foreign keys included");
    assert_store_agrees(dir, "catalog.db", &second.report).await;

    db.run("ALTER TABLE shop.item ADD COLUMN price numeric").await;
    let third = run("", &[]);
    assert_eq!(counts(&third, "table"), (3, 1, 2), "exactly the changed table is sent");
    let item = export_all(dir, "catalog.db")
        .into_iter()
        .find(|e| e["fqn"].as_str().is_some_and(|f| f.ends_with(".shop.item")))
        .unwrap();
    assert!(item["document"]["columns"].to_string().contains("price"), "{item}");

    // A foreign key dropped from a table whose columns did not change: the
    // table is not sent, and its key is gone from the catalog all the same.
    db.run("ALTER TABLE shop.orders DROP CONSTRAINT orders_customer_fkey").await;
    let dropped = run("", &[]);
    assert_eq!(counts(&dropped, "table"), (3, 0, 3), "{}", dropped.report);
    let keys =
        export_all(dir, "catalog.db").iter().map(|e| e["document"]["tableConstraints"].to_string()).collect::<String>();
    assert!(!keys.contains("FOREIGN_KEY"), "the dropped key is gone: {keys}");
    db.run("ALTER TABLE shop.orders ADD FOREIGN KEY (customer) REFERENCES shop.customer (id)").await;
    let back = run("", &[]);
    assert_eq!(counts(&back, "table"), (3, 0, 3));
    let keys =
        export_all(dir, "catalog.db").iter().map(|e| e["document"]["tableConstraints"].to_string()).collect::<String>();
    assert!(keys.contains("FOREIGN_KEY"), "a key added to an unchanged table arrives: {keys}");

    assert_eq!(counts(&run("", &["--full"]), "table"), (3, 3, 0), "--full sends everything");
    let override_metadata = "      overrideMetadata: true\n";
    assert_eq!(counts(&run(override_metadata, &[]), "table"), (3, 3, 0), "so does overrideMetadata");

    // A catalog made afresh has nothing: it gets everything.
    std::fs::remove_file(dir.join("catalog.db")).unwrap();
    let fresh = ingest(dir, &yaml(&db, ""), &[], &[]);
    assert_eq!(fresh.code, Some(0), "{}", fresh.stderr);
    assert_eq!(counts(&fresh, "table"), (3, 3, 0), "{}", fresh.report);

    // The file sink writes its file whole every run: all of it, each time.
    let file = "sink:\n  type: file\n  config:\n    path: out.jsonl\n";
    for _ in 0..2 {
        let r = ingest(dir, &format!("{}{file}", yaml(&db, "")), &[], &[]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        assert_eq!(counts(&r, "table"), (3, 3, 0), "{}", r.report);
        let text = std::fs::read_to_string(dir.join("out.jsonl")).unwrap();
        assert_eq!(text.lines().filter(|l| l.contains("\"kind\":\"table\"")).count(), 3, "{text}");
        assert!(r.report["relationsUnresolved"].as_array().unwrap().is_empty(), "{}", r.report);
    }
}
