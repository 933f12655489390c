//! Runs that meet in one catalog and one state store: two at once, one
//! killed half-way. Whatever happens, each run's relations are all there or
//! the previous ones are, never a part, and nothing a dead run left behind
//! stays in the state store.

use crate::common;

use common::{assert_store_agrees, catalog_rows, ingest, test_plugin, workflow};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

/// A `tree` service of `tables` tables in one schema, each table with a
/// foreign key to the one before it.
fn service(name: &str, tables: usize, extra: Value, weir: &str) -> String {
    let table = |i: usize| json!(["db", "s", format!("t{i:05}")]);
    let fks: Vec<Value> = (1..tables)
        .map(|i| {
            json!({"name": format!("fk{i}"), "table": table(i), "columns": ["parent_id"],
                   "referredTable": table(i - 1), "referredColumns": ["id"]})
        })
        .collect();
    let mut source = json!({
        "treeDatabases": ["db"],
        "treeSchemas": [["db", "s"]],
        "treeTables": (0..tables).map(table).collect::<Vec<_>>(),
        "treeColumns": ["id", "parent_id"],
        "treeForeignKeys": fks,
    });
    if let (Value::Object(source), Value::Object(extra)) = (&mut source, extra) {
        source.extend(extra);
    }
    format!(
        "source:\n  type: tree\n  serviceName: {name}\n  serviceConnection:\n    config:\n      type: Custom\n  \
         sourceConfig:\n    config: {source}\nweir:\n  plugin: {}\n  statePath: state.db\n  shardSize: 100\n{weir}",
        test_plugin("tree").display()
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_at_once_into_one_catalog_all_complete() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (service("svc_a", 300, json!({}), ""), service("svc_b", 300, json!({}), ""));
    for trial in 0..10 {
        // Five trials of two services, then five of one service twice.
        let second = if trial < 5 { b.clone() } else { a.clone() };
        let runs: Vec<_> = [("a", a.clone()), ("b", second)]
            .into_iter()
            .map(|(name, yaml)| {
                let own = dir.path().join(name);
                std::fs::create_dir_all(&own).unwrap();
                // One catalog for both, each its own report.
                let catalog = dir.path().join("catalog.db").display().to_string();
                tokio::task::spawn_blocking(move || {
                    let wf = workflow(&own, &yaml);
                    let report = own.join("report.json");
                    let args = [
                        "--catalog",
                        &catalog,
                        "ingest",
                        "-c",
                        wf.to_str().unwrap(),
                        "--report",
                        report.to_str().unwrap(),
                    ];
                    let out = common::weir(&own, &args, &[]);
                    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap_or_default())
                        .unwrap_or(Value::Null);
                    (out, report)
                })
            })
            .collect();
        for run in runs {
            let (out, report) = run.await.unwrap();
            assert_eq!(out.status.code(), Some(0), "trial {trial}: {}", common::text(&out.stderr));
            assert_eq!(report["relationsApplied"], 299, "trial {trial}: {}", report["relationsUnresolved"]);
        }
        let (rows, relations) = catalog_rows(dir.path(), "catalog.db").await;
        assert_eq!(relations, 598, "trial {trial}: both services' relations are in the catalog");
        assert_eq!(rows.get("table"), Some(&600), "trial {trial}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rewrite_killed_half_way_leaves_the_last_runs_relations_whole_and_no_records_behind() {
    let dir = tempfile::tempdir().unwrap();
    let complete = service("svc", 3000, json!({}), "");
    let r = ingest(dir.path(), &complete, &[], &[]);
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    assert_store_agrees(dir.path(), "catalog.db", &r.report).await;
    assert_eq!(r.report["relationsApplied"], 2999);

    // The same run, slowed down, killed while it rewrites the tables: some
    // of them rewritten, its first records already in the state store.
    // One instance, 30 shards of 100 ms: records reach the state store
    // every 1,000 tables, the last switch would come after 3 s.
    let slow = service("svc", 3000, json!({"treeSleepMs": 100}), "  instances: 1\n");
    let wf = workflow(dir.path(), &slow);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_weir"))
        .current_dir(dir.path())
        .args(["--catalog", "catalog.db", "ingest", "-c", wf.to_str().unwrap()])
        .env("WEIR_CACHE_DIR", common::cache_dir())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed as soon as its first records are in the state store, two
    // seconds of work before its end.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while state_records(dir.path()).await.unwrap_or(0) == 0 {
        assert!(std::time::Instant::now() < deadline, "the run never deferred a record");
        assert!(child.try_wait().unwrap().is_none(), "the run ended before it could be killed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let (_, relations) = catalog_rows(dir.path(), "catalog.db").await;
    assert_eq!(relations, 2999, "the killed run left the previous relations whole");
    let left = state_records(dir.path()).await.unwrap();
    assert!(left > 0, "the killed run had records in the state store (else this test proves nothing)");

    // The next complete run of the service clears them, and says so.
    let r = ingest(dir.path(), &complete, &[], &[]);
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    let purged: Vec<&str> = r.report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .filter(|w| w.contains("which ended before its phase 2; they were removed"))
        .collect();
    assert_eq!(purged.len(), 1, "{}", r.report["warnings"]);
    assert!(purged[0].contains(&format!("held {left} deferred records")), "{}", purged[0]);
    assert_eq!(state_records(dir.path()).await.unwrap(), 0);
    assert_store_agrees(dir.path(), "catalog.db", &r.report).await;
}

/// Deferred records in the state store of `dir`, of any run; `None` while
/// there is no store to read.
async fn state_records(dir: &Path) -> Option<i64> {
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(dir.join("state.db")).read_only(true);
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect_with(&options).await.ok()?;
    sqlx::query_scalar("SELECT count(*) FROM deferred").fetch_one(&mut conn).await.ok()
}
