//! README command one, as a new user runs it: `weir quickstart` builds the
//! demo database, ingests it, and the catalog commands read it back.

use crate::common;

use common::{export_all, text, weir};

#[test]
fn quickstart_ingests_the_demo_and_the_catalog_reads_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let out = weir(dir.path(), &["quickstart"], &[]);
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let summary = text(&out.stdout);
    let table_row: Vec<&str> =
        summary.lines().find(|l| l.trim_start().starts_with("table ")).unwrap().split_whitespace().collect();
    assert_eq!(table_row, ["table", "10", "0", "10", "0"], "found, filtered, written, failed:\n{summary}");
    assert!(dir.path().join("weir.db").exists(), "the catalog is ./weir.db by default");

    let list = text(&weir(dir.path(), &["catalog", "list", "--kind", "table"], &[]).stdout);
    assert_eq!(list.lines().count(), 10, "{list}");
    assert!(list.contains("demo.shop.main.orders  (6 columns)"), "{list}");

    let view = common::show(dir.path(), "weir.db", "demo.shop.main.order_totals");
    assert_eq!(view["document"]["tableType"], "View");
    assert!(view["document"]["schemaDefinition"].as_str().unwrap().starts_with("CREATE VIEW"));

    // Every exported line is a CreateTable request for a table of the demo.
    let export = weir(dir.path(), &["catalog", "export", "--format", "jsonl"], &[]);
    let lines: Vec<serde_json::Value> =
        text(&export.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 10);
    for doc in &lines {
        assert_eq!(doc["databaseSchema"], "demo.shop.main");
        assert!(doc["columns"].as_array().is_some_and(|c| !c.is_empty()), "{doc}");
        assert!(doc["sourceHash"].as_str().is_some_and(|h| h.len() == 32), "{doc}");
    }
    let orders = lines.iter().find(|d| d["name"] == "orders").unwrap();
    let fk_targets: Vec<&str> = orders["tableConstraints"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["constraintType"] == "FOREIGN_KEY")
        .map(|c| c["referredColumns"][0].as_str().unwrap())
        .collect();
    assert_eq!(fk_targets.len(), 2, "{orders}");
    assert!(fk_targets.contains(&"demo.shop.main.customers.id"), "{fk_targets:?}");

    // Running it again changes nothing.
    let before = export_all(dir.path(), "weir.db");
    assert!(weir(dir.path(), &["quickstart"], &[]).status.success());
    assert_eq!(export_all(dir.path(), "weir.db"), before);
}

#[test]
fn json_logs_are_one_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = weir(dir.path(), &["--log-format", "json", "-v", "quickstart", "--demo-db", "d.db"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let logs = text(&out.stderr);
    let lines: Vec<&str> = logs.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "-v logs something");
    for line in lines {
        let event: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(event["level"].is_string(), "{line}");
    }
    assert!(logs.contains("\"plugin loaded\"") || logs.contains("plugin loaded"), "{logs}");
}

#[test]
fn catalog_commands_on_a_missing_catalog_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let out = weir(dir.path(), &["catalog", "list"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("weir.db") && err.contains("weir quickstart"), "{err}");
    assert!(!dir.path().join("weir.db").exists(), "reading must not create a catalog");
}
