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

/// Debian's chromium, for tests that load a page in a real browser; `None`
/// (the test prints that it skipped) where it is not installed, unless
/// `WEIR_REQUIRE_CHROMIUM` is set (scripts/test sets it, having installed it).
fn chromium() -> Option<std::path::PathBuf> {
    let found = std::env::var_os("WEIR_CHROMIUM").map(std::path::PathBuf::from).or_else(|| {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .map(std::path::PathBuf::from)
            .into_iter()
            .find(|p| p.exists())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("WEIR_REQUIRE_CHROMIUM").is_none(),
            "WEIR_REQUIRE_CHROMIUM is set and no chromium was found"
        );
        println!("SKIPPED: no chromium (apt-get install chromium, or set WEIR_CHROMIUM)");
    }
    found
}

/// The page as the browser has it once its scripts ran.
fn rendered_dom(chromium: &std::path::Path, page: &std::path::Path) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--virtual-time-budget=5000"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "chromium: {}", text(&out.stderr));
    text(&out.stdout)
}

/// The value of `attr` in each element of the DOM text that starts with `open`.
fn attrs<'a>(dom: &'a str, open: &str, attr: &str) -> Vec<&'a str> {
    dom.match_indices(open)
        .filter_map(|(at, _)| {
            let tag = &dom[at..at + dom[at..].find('>').unwrap_or(0)];
            let start = tag.find(&format!(" {attr}=\""))? + attr.len() + 3;
            Some(&tag[start..start + tag[start..].find('"')?])
        })
        .collect()
}

#[test]
fn the_html_report_draws_every_shard_on_its_instance_the_counts_and_the_failures_in_a_real_browser() {
    let Some(chromium) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let tables: Vec<String> = (0..12).map(|i| format!("t{i:02}")).chain(["panic_a".into(), "panic_b".into()]).collect();
    let yaml = format!(
        "source:\n  type: probe\n  serviceName: drawn\n  serviceConnection:\n    config:\n      type: Custom\n  \
         sourceConfig:\n    config:\n      probeTables: {}\n      probeSleepMs: 40\nweir:\n  plugin: {}\n  \
         shardSize: 2\n  instances: 3\n  retry: {{attempts: 1, baseDelayMs: 1, maxDelayMs: 1}}\n",
        json!(tables),
        test_plugin("probe_bare").display()
    );
    let wf = workflow(dir.path(), &yaml);
    let (json_path, html_path) = (dir.path().join("run.json"), dir.path().join("run.html"));
    let args = [
        "--catalog",
        "c.db",
        "ingest",
        "-c",
        wf.to_str().unwrap(),
        "--report",
        json_path.to_str().unwrap(),
        "--report",
        html_path.to_str().unwrap(),
    ];
    let out = weir(dir.path(), &args, &[]);
    assert_eq!(out.status.code(), Some(2), "two tables panic: {}", text(&out.stderr));
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    let page = std::fs::read_to_string(&html_path).unwrap();
    assert!(!page.contains(" src=") && !page.contains(" href="), "self-contained: nothing to fetch");

    let dom = rendered_dom(&chromium, &html_path);
    assert!(dom.contains("data-drawn=\"true\""), "the page's script ran to its end:\n{dom}");
    // Every shard of the report, once, on the lane of the instance that ran it.
    let shards = report["shards"].as_array().unwrap();
    let mut drawn = attrs(&dom, "<rect class=\"shard\"", "data-shard");
    let mut expected: Vec<&str> = shards.iter().map(|s| s["id"].as_str().unwrap()).collect();
    drawn.sort_unstable();
    expected.sort_unstable();
    assert_eq!(drawn, expected, "a bar per shard");
    let lanes = attrs(&dom, "<rect class=\"shard\"", "data-lane");
    let mut instances: Vec<&str> =
        shards.iter().map(|s| s["instances"].as_array().unwrap().last().unwrap().as_str().unwrap()).collect();
    instances.sort_unstable();
    let mut lanes_sorted = lanes.clone();
    lanes_sorted.sort_unstable();
    assert_eq!(lanes_sorted, instances, "each bar on its shard's instance");
    let lane_count: usize = attrs(&dom, "<svg", "data-lanes")[0].parse().unwrap();
    instances.dedup();
    assert_eq!(lane_count, instances.len(), "one lane per instance");
    assert!(lane_count >= 2, "three instances shared the work: {instances:?}");
    // Bars stand where their shards ran: a later start is further right.
    let xs: Vec<f64> = attrs(&dom, "<rect class=\"shard\"", "x").iter().map(|x| x.parse().unwrap()).collect();
    let ids = attrs(&dom, "<rect class=\"shard\"", "data-shard");
    let start_of = |id: &str| shards.iter().find(|s| s["id"] == id).unwrap()["startedSecs"].as_f64().unwrap();
    for i in 0..ids.len() {
        for j in 0..ids.len() {
            if start_of(ids[i]) + 0.05 < start_of(ids[j]) {
                assert!(xs[i] < xs[j], "{} starts before {} and is drawn left of it", ids[i], ids[j]);
            }
        }
    }
    // The counts table says what the JSON report says.
    let tables_row = &dom[dom.find("data-kind=\"table\"").unwrap()..];
    let tables_row = &tables_row[..tables_row.find("</tr>").unwrap()];
    let kind = report["kinds"].as_array().unwrap().iter().find(|k| k["kind"] == "table").unwrap();
    for field in ["found", "written", "failed"] {
        let cell = format!("data-field=\"{field}\">{}</td>", kind[field]);
        assert!(tables_row.contains(&cell), "{field} = {} in {tables_row}", kind[field]);
    }
    // The failures, grouped by reason, and the run's state.
    let counts = attrs(&dom, "<div class=\"group\"", "data-count");
    assert_eq!(counts.iter().map(|c| c.parse::<usize>().unwrap()).sum::<usize>(), 2, "{dom}");
    assert!(dom.contains("panic_a") && dom.contains("panic_b"), "the failing entities are named");
    assert!(dom.contains("id=\"state\">partialSuccess<"), "the state badge");

    // And it draws something a person can look at.
    let shot = dir.path().join("run.png");
    let profile = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(&chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1280,1000"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", html_path.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(std::fs::metadata(&shot).unwrap().len() > 20_000, "a screenshot with something drawn in it");
}

/// `weir check` on a workflow: its exit status and its steps as JSON.
fn check(dir: &std::path::Path, yaml: &str, env: &[(&str, &str)]) -> (Option<i32>, Value, String) {
    let wf = workflow(dir, yaml);
    let out = weir(dir, &["--catalog", "check.db", "check", "-c", wf.to_str().unwrap(), "--json"], env);
    let steps = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code(), steps, text(&out.stderr))
}

fn step<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no step {name}: {report:#}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn weir_check_tests_a_postgresql_source_step_by_step_and_writes_nothing() {
    let db = common::TestDb::create("check_pg").await;
    db.run(
        "CREATE SCHEMA shop; CREATE TABLE shop.orders (id int PRIMARY KEY, total numeric);
         COMMENT ON TABLE shop.orders IS 'one row per order';
         CREATE VIEW shop.big_orders AS SELECT * FROM shop.orders WHERE total > 100;",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = |connection: &str| {
        format!(
            "source:\n  type: postgres\n  serviceName: checked\n  serviceConnection:\n    config:\n{connection}\n  \
             sourceConfig:\n    config:\n      type: DatabaseMetadata\nweir:\n  statePath: state.db\n"
        )
    };
    let (code, report, stderr) = check(dir.path(), &yaml(&common::pg_connection(&db, db.reader())), &[]);
    assert_eq!(code, Some(0), "every mandatory step passes: {report:#}\n{stderr}");
    for name in ["CheckAccess", "GetDatabases", "GetSchemas", "GetTables", "ReadTables", "GetViews", "GetComments"] {
        assert_eq!(step(&report, name)["outcome"], "passed", "{name}: {report:#}");
    }
    assert!(
        step(&report, "GetTables")["detail"].as_str().unwrap().starts_with("2 found"),
        "a table and a view: {report:#}"
    );
    assert_eq!(step(&report, "GetViews")["detail"], "1 view definitions readable", "{report:#}");
    assert_eq!(step(&report, "GetComments")["detail"], "1 tables and views have a comment", "{report:#}");
    // No pg_stat_statements here: an optional step fails, saying what is missing.
    let queries = step(&report, "GetQueries");
    assert_eq!((&queries["outcome"], &queries["mandatory"]), (&"failed".into(), &false.into()), "{queries}");
    assert!(queries["missing"].as_str().unwrap().contains("pg_stat_statements"), "{queries}");
    for name in ["OpenCatalog", "OpenStateStore"] {
        assert_eq!(step(&report, name)["outcome"], "passed", "{name}: {report:#}");
    }
    // Nothing was written: no entity in the catalog, no run in the history.
    let listed = weir(dir.path(), &["--catalog", "check.db", "catalog", "list"], &[]);
    assert_eq!(text(&listed.stdout), "", "{}", text(&listed.stderr));
    let runs = weir(dir.path(), &["runs", "list", "--state-store", dir.path().join("state.db").to_str().unwrap()], &[]);
    assert!(text(&runs.stdout).contains("no runs"), "{}", text(&runs.stdout));

    // A role that may not connect: CheckAccess fails with the server's reason
    // and the grant that fixes it; the steps after it are skipped.
    db.run(&format!("REVOKE CONNECT ON DATABASE \"{}\" FROM PUBLIC", db.name)).await;
    let (code, report, stderr) = check(dir.path(), &yaml(&common::pg_connection(&db, db.reader())), &[]);
    assert_eq!(code, Some(1), "{report:#}");
    let access = step(&report, "CheckAccess");
    assert!(access["detail"].as_str().unwrap().contains("permission denied for database"), "{access}");
    assert!(access["missing"].as_str().unwrap().starts_with("GRANT CONNECT ON DATABASE"), "{access}");
    assert_eq!(step(&report, "GetTables")["outcome"], "skipped", "{report:#}");
    let everything = format!("{report}{stderr}");
    assert!(!everything.contains(common::READER_PASSWORD), "the password never shows");

    // Nobody listening: the same step fails, with where it tried.
    let nobody = common::pg_connection(&db, db.reader()).replace(&db.host_port(), "127.0.0.1:1");
    let (code, report, _) = check(dir.path(), &yaml(&nobody), &[]);
    assert_eq!(code, Some(1));
    assert!(step(&report, "CheckAccess")["detail"].as_str().unwrap().contains("127.0.0.1:1"), "{report:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weir_check_reaches_openmetadata_and_tells_a_refused_token() {
    weir_fixtures::openmetadata::require_specs();
    let fixture = weir_fixtures::openmetadata::OpenMetadataFixture::start().await;
    fixture.add_ingestion_pipeline("checked.nightly");
    let db = common::TestDb::create("check_om").await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "source:\n  type: postgres\n  serviceName: checked\n  serviceConnection:\n    config:\n{}\n  sourceConfig:\n    \
         config:\n      type: DatabaseMetadata\nsink:\n  type: metadata-rest\n  config: {{}}\nworkflowConfig:\n  \
         ingestionPipelineFQN: checked.nightly\n  openMetadataServerConfig:\n    hostPort: \"{}\"\n    \
         authProvider: openmetadata\n    securityConfig:\n      jwtToken: \"${{env:OM_TOKEN}}\"\n\
         weir:\n  statePath: state.db\n  retry: {{attempts: 1, baseDelayMs: 1, maxDelayMs: 1}}\n",
        common::pg_connection(&db, db.reader()),
        fixture.base_url()
    );
    let (dir_path, good_yaml) = (dir.path().to_path_buf(), yaml.clone());
    let token = fixture.token();
    let (code, report, stderr) =
        tokio::task::spawn_blocking(move || check(&dir_path, &good_yaml, &[("OM_TOKEN", token.as_str())]))
            .await
            .unwrap();
    assert_eq!(code, Some(0), "{report:#}\n{stderr}");
    assert!(step(&report, "ReachServer")["detail"].as_str().unwrap().contains("OpenMetadata 1.13.0"), "{report:#}");
    assert_eq!(step(&report, "CheckToken")["outcome"], "passed");
    assert_eq!(step(&report, "GetIngestionPipeline")["outcome"], "passed", "{report:#}");

    let dir_path = dir.path().to_path_buf();
    let (code, report, stderr) =
        tokio::task::spawn_blocking(move || check(&dir_path, &yaml, &[("OM_TOKEN", "not-the-token-123")]))
            .await
            .unwrap();
    assert_eq!(code, Some(1), "{report:#}");
    let refused = serde_json::to_string(&report).unwrap();
    assert!(refused.contains("401") || refused.contains("refused"), "{report:#}");
    assert!(!refused.contains("not-the-token-123") && !stderr.contains("not-the-token-123"), "the token never shows");
    assert!(fixture.entities("services/databaseServices").is_empty(), "check writes nothing to OpenMetadata");
}
