//! The benchmark programs keep working: a small generated catalog has what
//! the generator says, `weir bench postgres` ingests all of it, and so does
//! every cell of its scaling matrix behind the latency proxy.

use crate::common;

use common::{TestDb, text, weir};
use serde_json::Value;

/// A generated catalog of 2 schemas × 20 tables (and 2 views) in `db`.
fn generate_small(dir: &std::path::Path, url: &str) {
    let generated =
        weir(dir, &["bench", "gen-postgres", "--url", url, "--schemas", "2", "--tables", "20", "--drop"], &[]);
    assert!(generated.status.success(), "{}\n{}", text(&generated.stdout), text(&generated.stderr));
    assert!(text(&generated.stdout).contains("2 schemas, 40 tables, 2 views"), "{}", text(&generated.stdout));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_small_generated_catalog_is_ingested_whole() {
    // TestDb gives a unique name and drops it at the end; the generator
    // recreates it with --drop.
    let db = TestDb::create("bench").await;
    let dir = tempfile::tempdir().unwrap();
    let url = db.url();
    generate_small(dir.path(), &url);

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

#[tokio::test(flavor = "multi_thread")]
async fn every_cell_of_the_scaling_matrix_ingests_the_whole_catalog_through_the_proxy() {
    let db = TestDb::create("bench_scaling").await;
    let dir = tempfile::tempdir().unwrap();
    let url = db.url();
    generate_small(dir.path(), &url);

    let work = dir.path().to_str().unwrap();
    let args = ["bench", "postgres", "--url", &url, "--scaling", "--rtt-ms", "0,5", "--instances-list", "1,2"];
    let out = weir(dir.path(), &[&args[..], &["--json", "--work-dir", work]].concat(), &[]);
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let result: Value =
        serde_json::from_str(&text(&out.stdout)).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)));
    let cells = result["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 4, "{result}");
    for cell in cells {
        assert_eq!(cell["tables"], 42, "40 tables and 2 views: {cell}");
        assert_eq!(cell["failed"], 0, "{cell}");
        assert!(cell["proxiedConnections"].as_u64().unwrap() > 0, "the run bypassed the proxy: {cell}");
    }
    let wall = |rtt: f64, instances: u64| {
        let cell = cells.iter().find(|c| c["rttMs"] == rtt && c["instances"] == instances).unwrap();
        cell["wallSecs"].as_f64().unwrap()
    };
    assert!(wall(5.0, 1) >= wall(0.0, 1), "5 ms round trips made the run faster: {result}");
    assert_eq!(result["targets"][0]["verdict"], "n/a", "{result}");
    // The temporary catalogs are gone.
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().filter(|e| e.path().is_dir()).collect();
    assert!(left.is_empty(), "{left:?}");
}
