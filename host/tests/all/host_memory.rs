//! The host's own memory stays within what the limits say, whatever a
//! plugin asks for: a huge query result is refused once it holds
//! `maxResultMib` of the host's memory, and huge log fields are cut before
//! they are kept. Peak memory is what the kernel counted for the weir
//! process (its peak RSS), compared with a run that does nothing, on the
//! same machine.

use crate::common;

use common::{TestDb, ingest_measured, pg_connection, probe_workflow, reason};
use serde_json::Value;

/// The peak of a run that does nothing but start, connect and write three
/// tables: what every bound below is counted from.
fn idle_peak(dir: &std::path::Path, connection: &str) -> f64 {
    let (r, peak) = ingest_measured(dir, &probe_workflow("ok", "", "  instances: 1", connection));
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    // The run measures itself too, for its report.
    let own = r.report["peakRssMib"].as_f64().unwrap_or_default();
    assert!(own > 0.0 && own <= peak + 1.0, "the report's peakRssMib {own} MiB, the kernel's {peak} MiB");
    peak
}

#[tokio::test(flavor = "multi_thread")]
async fn a_huge_result_is_refused_at_max_result_mib_of_host_memory() {
    let db = TestDb::create("huge_result").await;
    let dir = tempfile::tempdir().unwrap();
    let connection = pg_connection(&db, &db.user());
    let idle = idle_peak(dir.path(), &connection);
    // Five million rows of ten int8 columns: 400 MB on the wire, well under
    // maxRows, and several GB as the host holds them.
    let source = "      probeArg: \"SELECT g, g, g, g, g, g, g, g, g, g FROM generate_series(1::int8, 5000000) AS g\"";
    let weir = "  instances: 1\n  limits:\n    maxResultMib: 64";
    let (r, peak) = ingest_measured(dir.path(), &probe_workflow("query", source, weir, &connection));
    // The result held, plus what streaming it costs (the driver's buffers,
    // the allocator's slack): README, "What the host holds".
    let bound = idle + 64.0 + 48.0;
    assert!(peak < bound, "peak {peak} MiB, more than {bound} MiB (idle run: {idle})");
    let outcome = reason(&r.report, ".query");
    assert!(outcome.contains("more than 64 MiB of the host's memory (weir.limits.maxResultMib)"), "{outcome}");
}

#[tokio::test(flavor = "multi_thread")]
async fn huge_log_fields_are_cut_before_they_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let connection = "      type: Custom";
    let idle = idle_peak(dir.path(), connection);
    // Ten lines, each with a field name of 50 MiB.
    let source = "      probeArg: \"50\"";
    let weir = "  instances: 1\n  limits:\n    memoryMib: 256";
    let (r, peak) = ingest_measured(dir.path(), &probe_workflow("log-big-key", source, weir, connection));
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    // The plugin's own memory (its copies of the key) and the one call's
    // arguments the host reads out of it: at most twice memoryMib.
    let bound = idle + 2.0 * 256.0;
    assert!(peak < bound, "peak {peak} MiB, more than {bound} MiB (idle run: {idle})");
    let lines: Vec<&str> = r.stderr.lines().filter(|l| l.contains("big key")).collect();
    assert_eq!(lines.len(), 10, "every line is logged: {}", r.stderr.len());
    assert!(lines.iter().all(|l| l.len() < 1024), "a field name is cut to a few dozen bytes");
    let kept: Vec<&str> = r.report["warnings"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(kept.iter().all(|w| w.len() <= 2048), "the report keeps short lines");
}
