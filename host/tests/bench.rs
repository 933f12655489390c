//! The benchmark programs keep working: a small generated catalog has what
//! the generator says, and `weir bench postgres` ingests all of it.

mod common;

use common::{TestDb, text, weir};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn a_small_generated_catalog_is_ingested_whole() {
    // TestDb gives a unique name and drops it at the end; the generator
    // recreates it with --drop.
    let db = TestDb::create("bench").await;
    let dir = tempfile::tempdir().unwrap();
    let url = db.url();
    let generated =
        weir(dir.path(), &["bench", "gen-postgres", "--url", &url, "--schemas", "2", "--tables", "20", "--drop"], &[]);
    assert!(generated.status.success(), "{}\n{}", text(&generated.stdout), text(&generated.stderr));
    assert!(text(&generated.stdout).contains("2 schemas, 40 tables, 2 views"), "{}", text(&generated.stdout));

    let work = dir.path().to_str().unwrap();
    let out = weir(dir.path(), &["bench", "postgres", "--url", &url, "--json", "--work-dir", work], &[]);
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let result: Value =
        serde_json::from_str(&text(&out.stdout)).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)));
    let run = &result["runs"][0];
    assert_eq!(run["tables"], 42, "40 tables and 2 views: {run}");
    assert_eq!(run["failed"], 0, "{run}");
    assert_eq!(run["relationsUnresolved"], 0, "{run}");
    assert!(run["queries"].as_u64().unwrap() > 0);
}
