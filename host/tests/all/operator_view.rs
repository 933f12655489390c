//! What an operator sees of a run from outside: progress lines in a pod's
//! log, the HTML report drawn by a real browser, `weir check` before a run.

use crate::common;

use common::{test_plugin, text, weir, workflow};
use serde_json::{Value, json};

/// A `tree` service of `tables` tables, each `process` call `sleep_ms` long,
/// one table per shard, on one instance: a run slow enough to watch.
fn slow_service(tables: usize, sleep_ms: u64) -> String {
    let table = |i: usize| json!(["db", "s", format!("t{i:03}")]);
    let source = json!({
        "treeDatabases": ["db"],
        "treeSchemas": [["db", "s"]],
        "treeTables": (0..tables).map(table).collect::<Vec<_>>(),
        "treeSleepMs": sleep_ms,
    });
    format!(
        "source:\n  type: tree\n  serviceName: watched\n  serviceConnection:\n    config:\n      type: Custom\n  \
         sourceConfig:\n    config: {source}\nweir:\n  plugin: {}\n  statePath: state.db\n  shardSize: 1\n  \
         instances: 1\n",
        test_plugin("tree").display()
    )
}

#[test]
fn a_run_without_a_terminal_logs_json_progress_lines_with_refs_done_of_total_and_rate() {
    let dir = tempfile::tempdir().unwrap();
    let wf = workflow(dir.path(), &slow_service(20, 100));
    let args = ["--catalog", "c.db", "--log-format", "json", "ingest", "-c", wf.to_str().unwrap()];
    let out = weir(dir.path(), &args, &[("WEIR_PROGRESS_SECS", "0.3")]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let lines: Vec<Value> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["target"] == "weir::progress")
        .collect();
    assert!(lines.len() >= 3, "a 2 s run logs a line every 0.3 s:\n{stderr}");
    let done: Vec<u64> = lines.iter().map(|l| l["done"].as_u64().unwrap()).collect();
    assert!(done.windows(2).all(|w| w[0] <= w[1]), "refs done only grow: {done:?}");
    for line in &lines {
        assert_eq!(line["total"], 22, "the database, the schema and 20 tables: {line}");
        assert!(line["rate_per_sec"].as_f64().is_some() && line["percent"].as_f64().is_some(), "{line}");
        assert_eq!(line["message"], "progress", "{line}");
    }
    assert!(lines.iter().any(|l| l["kind"] == "table" && l["done"].as_u64() < Some(22)), "{lines:?}");

    // Quiet means quiet.
    let args = ["--catalog", "c2.db", "-q", "--log-format", "json", "ingest", "-c", wf.to_str().unwrap()];
    let out = weir(dir.path(), &args, &[("WEIR_PROGRESS_SECS", "0.3")]);
    assert!(!text(&out.stderr).contains("weir::progress"), "{}", text(&out.stderr));
}
