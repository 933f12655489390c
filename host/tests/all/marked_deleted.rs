//! Marking what disappeared, as a user running ingestion every night sees
//! it: a table and a procedure dropped from the source are marked deleted
//! (kept, listed by `weir catalog list --deleted`, left out of the export)
//! and the rest is unchanged and unsent; one re-created is restored. The
//! fail-safes: a schema the filters leave out today is not "deleted"; more
//! than `weir.markDeletedMaxFraction` of the scope gone marks nothing and
//! says why; `--dry-run` lists what would be marked and marks nothing. The
//! same through a distributed run (discover, process per shard, finalize as
//! separate processes on a shared state store and catalog). Real PostgreSQL.
//! Through the OpenMetadata fixture: `openmetadata_sink.rs`.

use crate::common;

use common::{Ingested, TestDb, assert_store_agrees, export_all, ingest, pg_connection, text, weir, workflow};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Two schemas; `shop` has eight tables and two routines, so that a table
/// and a routine dropped are a fifth of the scope, inside the default
/// fraction.
const SCHEMA: &str = r#"
CREATE SCHEMA shop; CREATE SCHEMA hr;
CREATE TABLE shop.customer (id bigint PRIMARY KEY, name text);
CREATE TABLE shop.orders (id bigint PRIMARY KEY, customer bigint REFERENCES shop.customer (id));
CREATE TABLE shop.item (id bigint PRIMARY KEY, label text);
CREATE TABLE shop.line (order_id bigint REFERENCES shop.orders (id), item bigint REFERENCES shop.item (id));
CREATE TABLE shop.promo (code text PRIMARY KEY);
CREATE TABLE shop.refund (order_id bigint, amount numeric);
CREATE TABLE shop.stock (item bigint, n int);
CREATE TABLE shop.legacy (id int);
CREATE FUNCTION shop.total(o bigint) RETURNS numeric LANGUAGE sql AS 'SELECT 1::numeric';
CREATE PROCEDURE shop.purge() LANGUAGE sql AS 'DELETE FROM shop.legacy';
CREATE TABLE hr.person (id bigint PRIMARY KEY);
CREATE TABLE hr.team (id bigint PRIMARY KEY);
"#;

fn yaml(db: &TestDb, service: &str, source: &str, weir: &str) -> String {
    format!(
        "source:\n  type: postgres\n  serviceName: {service}\n  serviceConnection:\n    config:\n{}\n  sourceConfig:\n    config:\n      type: DatabaseMetadata\n{source}weir:\n  instances: 2\n{weir}",
        pg_connection(db, db.reader())
    )
}

fn kind<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["kinds"].as_array().unwrap().iter().find(|k| k["kind"] == name).unwrap_or(&Value::Null)
}

fn n(report: &Value, name: &str, field: &str) -> u64 {
    kind(report, name)[field].as_u64().unwrap_or(0)
}

/// The report's `markedDeleted` as a set of FQNs.
fn marked(report: &Value) -> BTreeSet<String> {
    report["markedDeleted"].as_array().unwrap().iter().map(|m| m["fqn"].as_str().unwrap().to_string()).collect()
}

/// `weir catalog list [--deleted]`: the FQNs it prints.
fn listed(dir: &Path, catalog: &str, deleted: bool) -> BTreeSet<String> {
    let mut args = vec!["--catalog", catalog, "catalog", "list"];
    if deleted {
        args.push("--deleted");
    }
    let out = weir(dir, &args, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout).lines().filter_map(|l| l.split_whitespace().nth(1)).map(String::from).collect()
}

fn warnings(report: &Value) -> String {
    report["warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect::<Vec<_>>().join("\n")
}

#[track_caller]
fn ok(r: Ingested) -> Ingested {
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    r
}

#[tokio::test(flavor = "multi_thread")]
async fn what_disappeared_is_marked_deleted_inside_the_scope_and_restored_when_it_comes_back() {
    let db = TestDb::create("gone").await;
    db.run(SCHEMA).await;
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let service = "gone";
    let table = |t: &str| format!("{service}.{}.shop.{t}", db.name);
    let routine = |p: &str| format!("{service}.{}.shop.{p}", db.name);

    let first = ok(ingest(dir, &yaml(&db, service, "", ""), &[], &[]));
    assert_eq!(n(&first.report, "table", "written"), 10);
    assert_eq!(n(&first.report, "storedProcedure", "written"), 2);
    assert!(marked(&first.report).is_empty(), "a first run has nothing to compare with: {}", first.report);

    db.run("DROP TABLE shop.legacy; DROP PROCEDURE shop.purge();").await;

    // A dry run names both and marks nothing.
    let wf = workflow(dir, &yaml(&db, service, "", ""));
    let dry = weir(dir, &["--catalog", "catalog.db", "ingest", "-c", wf.to_str().unwrap(), "--dry-run"], &[]);
    let dry_out = text(&dry.stdout);
    assert!(dry.status.success(), "{dry_out}\n{}", text(&dry.stderr));
    assert!(dry_out.contains("would mark deleted, if the run has no failures: 2"), "{dry_out}");
    assert!(dry_out.contains(&table("legacy")) && dry_out.contains(&routine("purge()")), "{dry_out}");
    assert!(dry_out.contains("plan (") && dry_out.contains("table-0000"), "the plan's shards: {dry_out}");
    assert!(listed(dir, "catalog.db", true).is_empty(), "a dry run marks nothing");
    // What a run would send: the nine tables left are as the catalog has
    // them; one changed since is to be sent.
    let would = |out: &str, kind: &str| -> (u64, u64) {
        let line = out.lines().find(|l| l.trim_start().starts_with(kind) && l.contains(" send ")).unwrap_or_default();
        let n = |w: &str| line.split(w).nth(1).and_then(|r| r.split_whitespace().next()).and_then(|v| v.parse().ok());
        (n(" send ").unwrap_or(u64::MAX), n("unchanged ").unwrap_or(u64::MAX))
    };
    assert_eq!(would(&dry_out, "table "), (0, 9), "{dry_out}");
    db.run("COMMENT ON TABLE shop.orders IS 'changed since'").await;
    let dry = weir(dir, &["--catalog", "catalog.db", "ingest", "-c", wf.to_str().unwrap(), "--dry-run"], &[]);
    let dry_out = text(&dry.stdout);
    assert_eq!(would(&dry_out, "table "), (1, 8), "{dry_out}");
    let orders = common::show(dir, "catalog.db", &table("orders"));
    assert!(!orders.to_string().contains("changed since"), "a dry run sends nothing");
    db.run("COMMENT ON TABLE shop.orders IS NULL").await;

    let second = ok(ingest(dir, &yaml(&db, service, "", ""), &[], &[]));
    assert_eq!(marked(&second.report), BTreeSet::from([table("legacy"), routine("purge()")]), "{}", second.report);
    assert_eq!((n(&second.report, "table", "deleted"), n(&second.report, "storedProcedure", "deleted")), (1, 1));
    assert_eq!(n(&second.report, "table", "written"), 0, "the rest is unchanged and unsent: {}", second.report);
    assert_eq!(n(&second.report, "table", "unchanged"), 9);
    assert!(second.stdout.contains("deleted") && second.stdout.contains("marked deleted"), "{}", second.stdout);
    assert_eq!(listed(dir, "catalog.db", true), BTreeSet::from([table("legacy"), routine("purge()")]));
    let live = listed(dir, "catalog.db", false);
    assert!(!live.contains(&table("legacy")) && live.contains(&table("orders")), "{live:?}");
    let exported: BTreeSet<String> =
        export_all(dir, "catalog.db").iter().map(|e| e["fqn"].as_str().unwrap().to_string()).collect();
    assert!(!exported.contains(&table("legacy")), "the export holds what is there");
    assert_store_agrees(dir, "catalog.db", &second.report).await;

    // Running again marks nothing more: they were marked once.
    let third = ok(ingest(dir, &yaml(&db, service, "", ""), &[], &[]));
    assert!(marked(&third.report).is_empty(), "{}", third.report);

    // Today's filters leave `shop` out: nothing of it is "deleted".
    db.run("DROP TABLE shop.stock").await;
    let hr_only = "      schemaFilterPattern:\n        includes: [\"^hr$\"]\n";
    let filtered = ok(ingest(dir, &yaml(&db, service, hr_only, ""), &[], &[]));
    assert!(marked(&filtered.report).is_empty(), "outside the scope: {}", filtered.report);
    assert!(!listed(dir, "catalog.db", true).contains(&table("stock")));

    // Half of `shop` gone at once looks like a wrong grant, not a cleanup.
    db.run("DROP TABLE shop.refund; DROP TABLE shop.promo; DROP TABLE shop.line; DROP FUNCTION shop.total(bigint);")
        .await;
    let refused = ok(ingest(dir, &yaml(&db, service, "", ""), &[], &[]));
    assert!(marked(&refused.report).is_empty(), "{}", refused.report);
    assert!(warnings(&refused.report).contains("weir.markDeletedMaxFraction"), "{}", refused.report);
    assert!(refused.stdout.contains("weir.markDeletedMaxFraction"), "the summary says why: {}", refused.stdout);
    let raised = ok(ingest(dir, &yaml(&db, service, "", "  markDeletedMaxFraction: 1\n"), &[], &[]));
    assert_eq!(marked(&raised.report).len(), 5, "{}", raised.report);

    // Back in the source: restored, sent again.
    db.run("CREATE TABLE shop.legacy (id int)").await;
    let back = ok(ingest(dir, &yaml(&db, service, "", ""), &[], &[]));
    assert_eq!(n(&back.report, "table", "written"), 1, "{}", back.report);
    assert!(listed(dir, "catalog.db", false).contains(&table("legacy")));
    assert!(!listed(dir, "catalog.db", true).contains(&table("legacy")));
    let shown = common::show(dir, "catalog.db", &table("legacy"));
    assert_eq!(shown["deletedAt"], Value::Null, "{shown}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_distributed_run_marks_what_disappeared_once_in_its_finalize() {
    let source = TestDb::create("gone_spread").await;
    source.run(SCHEMA).await;
    let store = TestDb::create("gone_spread_state").await;
    let catalog = TestDb::create("gone_spread_catalog").await;
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let shared = format!(
        "  shardSize: 3\n  stateStore: \"{}\"\nsink:\n  type: catalog\n  config:\n    url: \"{}\"\n",
        store.url(),
        catalog.url()
    );
    let wf = workflow(dir, &yaml(&source, "spread", "", &shared));
    let wf = wf.to_str().unwrap();
    let run = |id: &str| -> Value {
        let out = weir(dir, &["discover", "-c", wf, "--run-id", id, "--shards-out", "shards.json"], &[]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let shards: BTreeMap<String, Vec<String>> =
            serde_json::from_str(&std::fs::read_to_string(dir.join("shards.json")).unwrap()).unwrap();
        for shard in shards.values().flatten() {
            let out = weir(dir, &["process", "-c", wf, "--run-id", id, "--shard", shard], &[]);
            assert_eq!(out.status.code(), Some(0), "{shard}: {}", text(&out.stderr));
        }
        let report = dir.join(format!("{id}.json"));
        let out = weir(dir, &["finalize", "-c", wf, "--run-id", id, "--report", report.to_str().unwrap()], &[]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap()
    };
    let first = run("first");
    assert!(marked(&first).is_empty());
    source.run("DROP TABLE shop.legacy; DROP PROCEDURE shop.purge();").await;
    let second = run("second");
    let db = &source.name;
    assert_eq!(
        marked(&second),
        BTreeSet::from([format!("spread.{db}.shop.legacy"), format!("spread.{db}.shop.purge()")]),
        "{second}"
    );
    assert_eq!(n(&second, "table", "written"), 0, "{second}");
    let deleted = listed(dir, &catalog.url(), true);
    assert_eq!(deleted.len(), 2, "{deleted:?}");
    // A finalize run again (argo retry) returns its report and marks nothing twice.
    let report = dir.join("again.json");
    let out = weir(dir, &["finalize", "-c", wf, "--run-id", "second", "--report", report.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let again: Value = serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    assert_eq!(marked(&again), marked(&second));
}
