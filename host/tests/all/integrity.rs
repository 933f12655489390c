//! What the summary says was written is what the store holds: each test
//! sends the host what a careless or hostile plugin would (names that
//! collide, refs listed twice, orphans, foreign keys that join nothing) or
//! runs it under hostile conditions, then counts the catalog's own rows.

use crate::common;

use common::{Ingested, TestDb, assert_store_agrees, ingest, pg_connection, probe_workflow, reason, test_plugin};
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

/// A workflow for the `tree` plugin; `source` is its `sourceConfig.config`
/// as JSON, which YAML reads as it is.
fn tree(source: Value) -> String {
    format!(
        "source:\n  type: tree\n  serviceName: tree_svc\n  serviceConnection:\n    config:\n      type: Custom\n  \
         sourceConfig:\n    config: {source}\nweir:\n  plugin: {}\n",
        test_plugin("tree").display()
    )
}

fn run(dir: &Path, yaml: &str) -> Ingested {
    ingest(dir, yaml, &[], &[])
}

fn kind<'a>(report: &'a Value, kind: &str) -> &'a Value {
    report["kinds"].as_array().unwrap().iter().find(|k| k["kind"] == kind).unwrap_or(&Value::Null)
}

fn warnings(report: &Value) -> Vec<String> {
    report["warnings"].as_array().unwrap().iter().filter_map(|w| w.as_str().map(String::from)).collect()
}

#[tokio::test]
async fn names_that_would_share_an_fqn_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let tables = json!([["db", "s", "q"], ["db", "s", "\"q\""], ["db", "s", "a.b"], ["db", "s", "\"a.b\""]]);
    let r =
        run(dir.path(), &tree(json!({"treeDatabases": ["db"], "treeSchemas": [["db", "s"]], "treeTables": tables})));
    assert_eq!(r.code, Some(2), "{}\n{}", r.stdout, r.stderr);
    assert_eq!(kind(&r.report, "table")["written"], 2, "{}", r.report);
    assert_eq!(kind(&r.report, "table")["failed"], 2);
    for name in ["\"q\"", "\"a.b\""] {
        let failed =
            r.report["failures"].as_array().unwrap().iter().find(|f| f["entity"].as_str().unwrap().ends_with(name));
        let reason = failed.unwrap_or_else(|| panic!("{name} not reported: {}", r.report))["reason"].as_str().unwrap();
        assert!(reason.contains("contains a double quote"), "{reason}");
    }
    assert_store_agrees(dir.path(), "catalog.db", &r.report).await;
}

#[tokio::test]
async fn a_ref_listed_twice_is_processed_and_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    let tables = json!([["db", "s", "t1"], ["db", "s", "t1"], ["db", "s", "t2"], ["db", "s", "T2"]]);
    let r =
        run(dir.path(), &tree(json!({"treeDatabases": ["db"], "treeSchemas": [["db", "s"]], "treeTables": tables})));
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    assert_eq!(kind(&r.report, "table")["found"], 3, "{}", r.report);
    assert_eq!(kind(&r.report, "table")["written"], 3);
    let merged: Vec<String> = warnings(&r.report).into_iter().filter(|w| w.contains("more than once")).collect();
    assert_eq!(merged.len(), 1, "{:?}", warnings(&r.report));
    assert!(merged[0].contains("1 table references more than once, merged: db.s.t1"), "{}", merged[0]);
    assert_store_agrees(dir.path(), "catalog.db", &r.report).await;
}

#[tokio::test]
async fn an_entity_whose_parent_the_run_did_not_write_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let source = json!({
        "treeDatabases": ["db"],
        "treeSchemas": [["db", "s"], ["ghost", "s2"]],
        "treeTables": [["db", "s", "t1"], ["db", "nope", "t2"]],
    });
    let r = run(dir.path(), &tree(source));
    assert_eq!(r.code, Some(2), "{}\n{}", r.stdout, r.stderr);
    let schema = reason(&r.report, "tree_svc.ghost.s2");
    assert!(schema.contains("its database `tree_svc.ghost` was not discovered or not written"), "{schema}");
    let table = reason(&r.report, "tree_svc.db.nope.t2");
    assert!(table.contains("its schema `tree_svc.db.nope` was not discovered or not written"), "{table}");
    assert_eq!(kind(&r.report, "table")["written"], 1);
    assert_store_agrees(dir.path(), "catalog.db", &r.report).await;
}

#[tokio::test]
async fn a_foreign_key_must_join_columns_of_tables_the_run_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let fk = |name: &str, table: &str, columns: Value, referred: &str, referred_columns: Value| {
        json!({"name": name, "table": ["db", "s", table], "columns": columns,
               "referredTable": ["db", "s", referred], "referredColumns": referred_columns})
    };
    let source = json!({
        "treeDatabases": ["db"],
        "treeSchemas": [["db", "s"]],
        "treeTables": [["db", "s", "orders"], ["db", "s", "customers"]],
        "treeColumns": ["id", "customer_id"],
        "treeForeignKeys": [
            fk("good", "orders", json!(["customer_id"]), "customers", json!(["id"])),
            fk("empty", "orders", json!([]), "customers", json!([])),
            fk("uneven", "orders", json!(["customer_id"]), "customers", json!(["id", "customer_id"])),
            fk("own_column", "orders", json!(["nope"]), "customers", json!(["id"])),
            fk("no_table", "ghost", json!(["id"]), "customers", json!(["id"])),
            fk("far_column", "orders", json!(["customer_id"]), "customers", json!(["nope"])),
            fk("far_table", "orders", json!(["customer_id"]), "zzz", json!(["id"])),
        ],
    });
    let r = run(dir.path(), &tree(source));
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.report["relationsApplied"], 1, "only the good one: {}", r.report["relationsUnresolved"]);
    let unresolved = r.report["relationsUnresolved"].as_array().unwrap();
    for (name, why) in [
        ("empty", "a foreign key with no columns"),
        ("uneven", "a foreign key of 1 columns refers to 2 columns"),
        ("own_column", "its table has no column nope"),
        ("no_table", "its table db.s.ghost is not one this batch wrote"),
        ("far_column", "refers to column nope of `tree_svc.db.s.customers`, which has none"),
        ("far_table", "refers to `tree_svc.db.s.zzz`, which this run did not write"),
    ] {
        let found =
            unresolved.iter().find(|u| u["reason"].as_str().unwrap().starts_with(&format!("foreign key {name}: ")));
        let found = found.unwrap_or_else(|| panic!("{name} not reported: {unresolved:?}"));
        assert!(found["reason"].as_str().unwrap().contains(why), "{found}");
    }
    assert_store_agrees(dir.path(), "catalog.db", &r.report).await;
}

#[tokio::test]
async fn a_raw_document_of_a_modelled_kind_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let source = json!({
        "treeDatabases": ["db"], "treeSchemas": [["db", "s"]], "treeTables": [["db", "s", "t1"]],
        "treeRaw": [{"kind": "table", "name": "sneaky", "document": {"name": "sneaky", "columns": "not a list"}}],
    });
    let r = run(dir.path(), &tree(source));
    let why = reason(&r.report, "tree_svc.sneaky");
    assert!(why.contains("raw entity kind `table` is not one a sink can write"), "{why}");
    assert_store_agrees(dir.path(), "catalog.db", &r.report).await;
}

#[test]
fn env_references_in_a_third_party_source_config_are_resolved() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = probe_workflow("echo-config", "      probeToken: \"${env:WEIR_TEST_TOKEN}\"", "", "      type: Custom");
    let r = ingest(dir.path(), &yaml, &[], &[("WEIR_TEST_TOKEN", "resolved-by-the-host")]);
    let seen = reason(&r.report, ".config");
    assert!(seen.contains("\"probeToken\":\"resolved-by-the-host\""), "{seen}");
    // A missing one is an error naming it, as anywhere in the file.
    let r = ingest(dir.path(), &yaml, &[], &[]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("WEIR_TEST_TOKEN") && r.stderr.contains("is not set"), "{}", r.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_third_party_plugin_cannot_open_a_database_the_filter_excludes() {
    let db = TestDb::create("dbfilter").await;
    let dir = tempfile::tempdir().unwrap();
    let connection = format!("{}\n      ingestAllDatabases: true", pg_connection(&db, &db.user()));
    let open = |name: &str| {
        let source =
            format!("      probeArg: \"{name}\"\n      databaseFilterPattern:\n        excludes: [\"^weir_dbfilter\"]");
        let r = ingest(dir.path(), &probe_workflow("open-db", &source, "", &connection), &[], &[]);
        reason(&r.report, ".open-db")
    };
    let excluded = open(&db.name);
    assert!(excluded.contains("excluded by databaseFilterPattern"), "{excluded}");
    let allowed = open("postgres");
    assert!(allowed.starts_with("opened source/postgres"), "{allowed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_million_refs_are_discovered_in_pages_or_at_once() {
    let dir = tempfile::tempdir().unwrap();
    // Keep five: what is measured is discovery, not writing.
    let filter = "      tableFilterPattern:\n        includes: [\"^t0000000[0-4]$\"]";
    for pages in ["", "      probePageSize: 10000\n"] {
        let source = format!("      probeTableCount: 1000000\n{pages}{filter}");
        let started = Instant::now();
        let (r, peak) = common::ingest_measured(dir.path(), &probe_workflow("ok", &source, "", "      type: Custom"));
        assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
        let tables = kind(&r.report, "table");
        assert_eq!(tables["found"], 1_000_000, "{tables}");
        assert_eq!(tables["filtered"], 999_995);
        let n = |k: &str| tables[k].as_u64().unwrap_or(0);
        assert_eq!(n("written") + n("unchanged"), 5, "{tables}");
        assert_store_agrees(dir.path(), "catalog.db", &r.report).await;
        println!(
            "1,000,000 refs ({}): {:.1} s, peak {peak:.0} MiB",
            if pages.is_empty() { "one list" } else { "pages of 10,000" },
            started.elapsed().as_secs_f64()
        );
    }
}

#[test]
fn a_workflow_file_that_never_ends_is_refused_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::weir(dir.path(), &["ingest", "-c", "/dev/zero"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = common::text(&out.stderr);
    assert!(stderr.contains("/dev/zero is larger than 16 MiB"), "{stderr}");
}

#[test]
fn a_plugin_whose_describe_never_returns_is_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let stuck = test_plugin("stuck");
    let started = Instant::now();
    let out = common::weir(dir.path(), &["plugin", "inspect", stuck.to_str().unwrap(), "--timeout", "2"], &[]);
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
    assert_eq!(out.status.code(), Some(1));
    let stderr = common::text(&out.stderr);
    assert!(stderr.contains("`describe` ran past its deadline of 2 s"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn statements_cut_off_by_call_deadlines_give_their_sessions_back() {
    let db = TestDb::create("starve").await;
    let names: Vec<String> =
        ["sleepsql1", "sleepsql2"].iter().map(|s| s.to_string()).chain((1..=10).map(|i| format!("t{i}"))).collect();
    // Every table reads from the database; the sleepers hold a session.
    let source = format!("      probeArg: \"SELECT 1 AS one\"\n      probeTables: [{}]", names.join(", "));
    let weir = "  instances: 2\n  batchSize: 1\n  shardSize: 1\n  limits:\n    callTimeoutSecs: 3\n    statementTimeoutSecs: 60";
    let yaml = probe_workflow("query-call", &source, weir, &pg_connection(&db, &db.user()));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let started = Instant::now();
    let r = tokio::task::spawn_blocking(move || ingest(&path, &yaml, &[], &[])).await.unwrap();
    let took = started.elapsed();
    assert_eq!(r.code, Some(2), "{}\n{}", r.stdout, r.stderr);
    let tables = kind(&r.report, "table");
    assert_eq!(tables["written"], 10, "every other table is written: {}", r.report["failures"]);
    assert_eq!(tables["failed"], 2);
    for f in r.report["failures"].as_array().unwrap() {
        assert_eq!(f["error"], "deadline", "{f}");
    }
    // Each sleeper costs two deadlines; the process does not wait out the
    // statements' 60 s either.
    assert!(took < Duration::from_secs(40), "took {took:?}");
    assert!(r.report["elapsedSecs"].as_f64().unwrap() <= took.as_secs_f64());
    assert_store_agrees(dir.path(), "catalog.db", &r.report).await;
}

#[tokio::test]
async fn an_entity_nobody_asked_for_is_not_written_and_is_reported_by_name() {
    let dir = tempfile::tempdir().unwrap();
    // `s.skip_me` is discovered and filtered out; the plugin sends it back
    // anyway, with a table in a schema that does not exist.
    let mut yaml = tree(json!({
        "treeDatabases": ["db"],
        "treeSchemas": [["db", "s"]],
        "treeTables": [["db", "s", "kept"], ["db", "s", "skip_me"]],
        "treeUnasked": [["db", "s", "skip_me"], ["db", "ghost", "t"]],
    }));
    yaml = yaml.replace(
        "sourceConfig:\n    config: {",
        "sourceConfig:\n    config: {\"tableFilterPattern\": {\"excludes\": [\"^skip_me$\"]}, ",
    );
    let r = run(dir.path(), &yaml);
    assert_eq!(r.code, Some(0), "what was asked for was written: {}\n{}", r.stdout, r.stderr);
    let tables = kind(&r.report, "table");
    let n = |k: &str| tables[k].as_u64().unwrap();
    assert_eq!((n("found"), n("filtered"), n("written")), (2, 1, 1), "{}", r.report);
    let unasked: Vec<&str> = r.report["unrequestedFailures"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["error"] == "unrequested")
        .map(|f| f["entity"].as_str().unwrap())
        .collect();
    assert_eq!(unasked, ["tree_svc.db.s.skip_me", "tree_svc.db.ghost.t"], "{}", r.report);
    let listed = common::weir(dir.path(), &["--catalog", "catalog.db", "catalog", "list", "--kind", "table"], &[]);
    let listed = common::text(&listed.stdout);
    assert!(listed.contains("kept") && !listed.contains("skip_me") && !listed.contains("ghost"), "{listed}");
    assert!(r.stdout.contains("skip_me"), "the summary names them: {}", r.stdout);
    assert_store_agrees(dir.path(), "catalog.db", &r.report).await;
}
