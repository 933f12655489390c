//! Sharding over sandboxed instances, seen from the outside: bad entities
//! are isolated and reported, everything else is written, transient
//! failures are retried, the accounting adds up, a run can be stopped
//! after too many failures, and instances really run at once.
//!
//! The probe plugin (tests/plugins/probe) misbehaves on refs by name:
//! `panic…`, `loop…`, `alloc…`, `transient…`, `flaky…`, `vanish…`.

use crate::common;

use common::{Ingested, export_all, ingest};
use serde_json::Value;
use std::path::Path;

/// A probe workflow discovering `tables`, with `weir` lines added to the
/// `weir:` section and `source` lines to the sourceConfig.
fn probe_yaml(tables: &[String], weir_extra: &str, source_extra: &str) -> String {
    let list: Vec<String> = tables.iter().map(|t| format!("\"{t}\"")).collect();
    format!(
        r#"
source:
  type: probe
  serviceName: shard_svc
  serviceConnection:
    config:
      type: Custom
  sourceConfig:
    config:
      probeTables: [{list}]
{source_extra}
weir:
  plugin: {plugin}
{weir_extra}
"#,
        list = list.join(", "),
        plugin = common::test_plugin("probe_bare").display()
    )
}

fn run(dir: &Path, yaml: &str, args: &[&str]) -> Ingested {
    ingest(dir, yaml, args, &[])
}

fn names(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|i| format!("{prefix}{i:02}")).collect()
}

fn table_counts(report: &Value) -> &Value {
    report["kinds"].as_array().unwrap().iter().find(|k| k["kind"] == "table").expect("a table row")
}

fn count(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("{key} in {v}"))
}

/// found = filtered + written + failed + cancelled, for every kind.
fn assert_accounted(report: &Value) {
    for k in report["kinds"].as_array().unwrap() {
        let parts = ["filtered", "written", "failed", "cancelled"].map(|key| count(k, key));
        assert_eq!(count(k, "found"), parts.iter().sum::<u64>(), "accounting of {k}");
    }
}

#[test]
fn faulting_entities_are_isolated_and_everything_else_is_written() {
    let mut tables = names("t", 40);
    tables.extend(["panic_x", "loop_y", "alloc_z", "transient_w", "flaky_v", "vanish_u"].map(String::from));
    let yaml = probe_yaml(
        &tables,
        "  instances: 4\n  shardSize: 8\n  retry:\n    baseDelayMs: 20\n  limits:\n    callTimeoutSecs: 1\n    memoryMib: 64",
        "",
    );
    let dir = tempfile::tempdir().unwrap();
    let r = run(dir.path(), &yaml, &[]);
    assert_eq!(r.code, Some(2), "{}\n{}", r.stdout, r.stderr);

    // Exactly the bad entities failed, each with its own reason.
    let failures = r.report["failures"].as_array().unwrap();
    let reason_of = |name: &str| -> (String, String) {
        let found: Vec<&Value> =
            failures.iter().filter(|f| f["entity"].as_str().unwrap().ends_with(&format!(".{name}"))).collect();
        assert_eq!(found.len(), 1, "{name}: {failures:?}");
        (found[0]["error"].as_str().unwrap().into(), found[0]["reason"].as_str().unwrap().into())
    };
    assert_eq!(failures.len(), 4, "{failures:#?}");
    let (error, reason) = reason_of("panic_x");
    assert_eq!(error, "trap");
    assert!(reason.contains("panicked on purpose on panic_x"), "{reason}");
    let (error, reason) = reason_of("loop_y");
    assert_eq!(error, "deadline");
    assert!(reason.contains("deadline of 1 s"), "{reason}");
    let (error, reason) = reason_of("alloc_z");
    assert_eq!(error, "memory");
    assert!(reason.contains("memory limit of 64 MiB"), "{reason}");
    // Answered with nothing: reported, not silently lost.
    let (error, reason) = reason_of("vanish_u");
    assert_eq!(error, "missing");
    assert!(reason.contains("neither an entity nor a failure"), "{reason}");
    for f in failures {
        assert!(f["shard"].as_str().unwrap().starts_with("table-"), "{f}");
    }

    // Every other entity, the two retried ones included, was written.
    let t = table_counts(&r.report);
    assert_eq!((count(t, "found"), count(t, "written"), count(t, "failed")), (46, 42, 4), "{t}");
    assert_accounted(&r.report);
    assert!(count(&r.report["batches"], "retries") >= 4, "transient_w and flaky_v twice each: {}", r.report["batches"]);
    assert!(
        count(&r.report["batches"], "faults") >= 6,
        "each bad entity faults at least twice: {}",
        r.report["batches"]
    );
    let exported: Vec<String> = export_all(dir.path(), "catalog.db")
        .iter()
        .filter(|d| d["kind"] == "table")
        .map(|d| d["fqn"].as_str().unwrap().rsplit('.').next().unwrap().to_string())
        .collect();
    assert_eq!(exported.len(), 42, "{exported:?}");
    for name in ["transient_w", "flaky_v", "t00", "t39"] {
        assert!(exported.iter().any(|e| e == name), "{name} missing from {exported:?}");
    }

    // The report holds the plan and what became of each shard.
    let plan = &r.report["plan"];
    assert_eq!(plan["strategy"], "cost");
    let planned: usize = plan["shards"].as_array().unwrap().iter().map(|s| s["refs"].as_array().unwrap().len()).sum();
    assert_eq!(planned, 46);
    let shards = r.report["shards"].as_array().unwrap();
    assert_eq!(shards.len(), plan["shards"].as_array().unwrap().len());
    let shard_sent: u64 = shards.iter().map(|s| count(s, "sent")).sum();
    assert_eq!(shard_sent, 42, "documents handed to the sink");
    for s in shards {
        assert!(!s["instances"].as_array().unwrap().is_empty(), "{s}");
        assert!(s["endedSecs"].as_f64().unwrap() >= s["startedSecs"].as_f64().unwrap(), "{s}");
    }
    let replaced = shards.iter().filter(|s| s["instances"].as_array().unwrap().len() > 1).count();
    assert!(replaced >= 1, "a faulting shard runs on more than one instance: {shards:?}");

    // The summary groups failures by reason and names the slowest shards.
    assert!(r.stdout.contains("failures by reason"), "{}", r.stdout);
    assert!(r.stdout.contains("slowest shards: table-"), "{}", r.stdout);
}

#[test]
fn a_run_stops_cleanly_after_max_failures() {
    // Path order is run order with one instance and one ref per shard:
    // five good tables, then the panics, then more good tables.
    let mut tables = names("a", 5);
    tables.extend(names("panic_", 20));
    tables.extend(names("z", 15));
    let yaml = probe_yaml(&tables, "  instances: 1\n  shardSize: 1", "");
    let dir = tempfile::tempdir().unwrap();
    let r = run(dir.path(), &yaml, &["--max-failures", "2"]);
    assert_eq!(r.code, Some(2), "{}\n{}", r.stdout, r.stderr);
    let t = table_counts(&r.report);
    assert_eq!(
        (count(t, "found"), count(t, "written"), count(t, "failed"), count(t, "cancelled")),
        (40, 5, 3, 32),
        "{t}"
    );
    assert_accounted(&r.report);
    assert!(r.report["stopped"].as_str().unwrap().contains("maxFailures (2)"), "{}", r.report["stopped"]);
    assert!(r.stdout.contains("stopped:"), "{}", r.stdout);
    // What was processed before the stop is in the catalog.
    let written = export_all(dir.path(), "catalog.db").iter().filter(|d| d["kind"] == "table").count();
    assert_eq!(written, 5);
}

#[test]
fn max_failures_from_the_workflow_is_honoured_too() {
    let mut tables = names("panic_", 4);
    tables.extend(names("z", 4));
    let yaml = probe_yaml(&tables, "  instances: 1\n  shardSize: 1\n  maxFailures: 0", "");
    let dir = tempfile::tempdir().unwrap();
    let r = run(dir.path(), &yaml, &[]);
    let t = table_counts(&r.report);
    assert_eq!((count(t, "failed"), count(t, "cancelled"), count(t, "written")), (1, 7, 0), "{t}");
    assert_accounted(&r.report);
}

#[test]
fn eight_instances_take_about_an_eighth_of_the_serial_time() {
    let tables = names("t", 32);
    let sleepy = "      probeSleepMs: 150";
    let dir = tempfile::tempdir().unwrap();
    let process_secs = |instances: u32| -> f64 {
        let yaml = probe_yaml(&tables, &format!("  instances: {instances}\n  shardSize: 1"), sleepy);
        let r = run(dir.path(), &yaml, &[]);
        assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
        let t = table_counts(&r.report);
        assert_eq!(count(t, "written") + count(t, "unchanged"), 32, "{t}");
        r.report["phases"]["processSecs"].as_f64().unwrap()
    };
    let serial = process_secs(1);
    let parallel = process_secs(8);
    let ratio = serial / parallel;
    println!("32 calls of 150 ms: 1 instance {serial:.2} s, 8 instances {parallel:.2} s, ratio {ratio:.1} (ideal 8)");
    assert!(serial >= 32.0 * 0.150, "serial run faster than its sleeps: {serial:.2} s");
    assert!(ratio >= 5.0, "8 instances were only {ratio:.1}× faster than 1");
}

#[test]
fn json_logs_carry_plugin_shard_and_entity() {
    let mut tables = names("t", 3);
    tables.push("panic_x".into());
    let yaml = probe_yaml(&tables, "  instances: 1", "");
    let dir = tempfile::tempdir().unwrap();
    let r = run(dir.path(), &yaml, &["--log-format", "json"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    let lines: Vec<Value> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let failure = lines
        .iter()
        .find(|l| l["entity"] == "shard_svc.db.s.panic_x")
        .unwrap_or_else(|| panic!("no log line names the entity: {}", r.stderr));
    assert_eq!(failure["plugin"], "probe", "{failure}");
    assert!(failure["shard"].as_str().unwrap().starts_with("table-"), "{failure}");
    assert_eq!(failure["level"], "WARN", "{failure}");
}
