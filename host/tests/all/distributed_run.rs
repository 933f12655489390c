//! A distributed run seen from outside, each stage a separate `weir`
//! process as Argo's pods run them: `weir discover`, then every shard with
//! `weir process` (a kind's shards at once, kinds parents first, one shard
//! SIGKILLed mid-way and run again), then `weir finalize`. Real PostgreSQL
//! for the source (behind a latency proxy, so a shard takes long enough to
//! be killed in the middle), the state store and the catalog. The catalog
//! it leaves equals a one-process `weir ingest` of the same database.

use crate::common;

use common::{TestDb, pg_connection, text, weir, weir_command, workflow};
use sqlx::{Connection, PgConnection};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};
use weir::bench::latency::LatencyProxy;

/// Three schemas of four tables, foreign keys within and across schemas,
/// a view over two of them (lineage), comments.
const SCHEMA: &str = r#"
CREATE SCHEMA sales; CREATE SCHEMA stock; CREATE SCHEMA people;
CREATE TABLE people.person (id bigint PRIMARY KEY, name text);
CREATE TABLE people.team (id bigint PRIMARY KEY, lead bigint REFERENCES people.person (id));
CREATE TABLE people.badge (person bigint REFERENCES people.person (id), code text);
CREATE TABLE people.note (id int);
CREATE TABLE stock.item (id bigint PRIMARY KEY, label text);
CREATE TABLE stock.bin (id bigint PRIMARY KEY, item bigint REFERENCES stock.item (id));
CREATE TABLE stock.count (bin bigint REFERENCES stock.bin (id), n int);
CREATE TABLE stock.audit (at timestamptz, who bigint REFERENCES people.person (id));
CREATE TABLE sales.orders (id bigint PRIMARY KEY, buyer bigint REFERENCES people.person (id));
CREATE TABLE sales.line (order_id bigint REFERENCES sales.orders (id), item bigint REFERENCES stock.item (id), n int);
CREATE TABLE sales.refund (order_id bigint REFERENCES sales.orders (id), amount numeric);
CREATE TABLE sales.promo (code text PRIMARY KEY);
CREATE VIEW sales.order_items AS SELECT o.id, l.item FROM sales.orders o JOIN sales.line l ON l.order_id = o.id;
COMMENT ON TABLE sales.orders IS 'one row per order';
"#;

/// Parents first, as the DAG runs them.
const KIND_ORDER: [&str; 4] = ["database", "databaseSchema", "table", "storedProcedure"];

/// The workflow; with `shared` (state store URL, catalog URL), the run's
/// processes share both on PostgreSQL.
fn yaml(db: &TestDb, host_port: &str, shared: Option<(&str, &str)>) -> String {
    let connection = pg_connection(db, db.reader()).replace(&db.host_port(), host_port);
    let (store, sink) = match shared {
        Some((store, catalog)) => (
            format!("  stateStore: \"{store}\"\n"),
            format!("sink:\n  type: catalog\n  config:\n    url: \"{catalog}\"\n"),
        ),
        None => (String::new(), String::new()),
    };
    format!(
        "source:\n  type: postgres\n  serviceName: spread\n  serviceConnection:\n    config:\n{connection}\n{sink}weir:\n  shardSize: 2\n  instances: 2\n{store}"
    )
}

/// `weir catalog export --kind all`, as it prints it.
fn catalog_of(dir: &Path, catalog: &str) -> String {
    let out = weir(dir, &["--catalog", catalog, "catalog", "export", "--format", "jsonl", "--kind", "all"], &[]);
    assert!(out.status.success(), "export {catalog}: {}", text(&out.stderr));
    text(&out.stdout)
}

async fn shard_status(store: &str, run: &str, shard: &str) -> Option<String> {
    let mut conn = PgConnection::connect(store).await.ok()?;
    let status = sqlx::query_scalar("SELECT status FROM weir_state.shard WHERE run_id = $1 AND shard_id = $2")
        .bind(run)
        .bind(shard)
        .fetch_optional(&mut conn)
        .await
        .ok()
        .flatten();
    let _ = conn.close().await;
    status
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_split_into_processes_one_killed_mid_shard_ends_with_the_catalog_of_one_process() {
    let source = TestDb::create("spread_src").await;
    source.run(SCHEMA).await;
    let store = TestDb::create("spread_state").await;
    let catalog = TestDb::create("spread_catalog").await;
    let proxy = LatencyProxy::start(&source.host_port(), Duration::from_millis(20)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();

    let one = workflow(dir, &yaml(&source, &source.host_port(), None));
    let whole = weir(dir, &["--catalog", "one.db", "ingest", "-c", one.to_str().unwrap()], &[]);
    assert_eq!(whole.status.code(), Some(0), "{}", text(&whole.stderr));

    // A distributed stage refuses a store, or a catalog, one machine sees.
    let unshared =
        weir(dir, &["discover", "-c", one.to_str().unwrap(), "--run-id", "x", "--shards-out", "x.json"], &[]);
    assert_eq!(unshared.status.code(), Some(1));
    assert!(text(&unshared.stderr).contains("sink.config.url"), "{}", text(&unshared.stderr));
    let no_store = dir.join("no-store.yaml");
    let shared_catalog = yaml(&source, &source.host_port(), Some(("-", &catalog.url())));
    std::fs::write(&no_store, shared_catalog.replace("  stateStore: \"-\"\n", "")).unwrap();
    let unshared =
        weir(dir, &["discover", "-c", no_store.to_str().unwrap(), "--run-id", "x", "--shards-out", "x.json"], &[]);
    assert_eq!(unshared.status.code(), Some(1));
    assert!(text(&unshared.stderr).contains("weir.stateStore"), "{}", text(&unshared.stderr));

    let wf = dir.join("spread.yaml");
    std::fs::write(&wf, yaml(&source, &proxy.addr().to_string(), Some((&store.url(), &catalog.url())))).unwrap();
    let wf = wf.to_str().unwrap();
    let run = "spread-1";
    let discovered = weir(dir, &["discover", "-c", wf, "--run-id", run, "--shards-out", "out/shards.json"], &[]);
    assert_eq!(discovered.status.code(), Some(0), "{}", text(&discovered.stderr));
    let ids: BTreeMap<String, Vec<String>> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/shards.json")).unwrap()).unwrap();
    assert_eq!(ids["table"].len(), 7, "12 tables and a view in shards of 2: {ids:?}");
    for (kind, shards) in &ids {
        let beside: Vec<String> =
            serde_json::from_str(&std::fs::read_to_string(dir.join(format!("out/shards.{kind}.json"))).unwrap())
                .unwrap();
        assert_eq!(&beside, shards, "the per-kind list an Argo withParam reads");
        assert!(shards.iter().all(|id| id.len() <= 24), "only short ids leave discover: {shards:?}");
    }

    let process = |shard: &str| {
        weir_command(dir, &["process", "-c", wf, "--run-id", run, "--shard", shard, "--lease-secs", "2"], &[])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run weir process")
    };
    let victim = ids["table"][1].clone();
    let mut killed = false;
    for kind in KIND_ORDER.iter().filter(|k| ids.contains_key(**k)) {
        let mut children: Vec<(String, std::process::Child)> =
            ids[*kind].iter().map(|shard| (shard.clone(), process(shard))).collect();
        if *kind == "table" {
            let (_, child) = children.iter_mut().find(|(id, _)| *id == victim).unwrap();
            let deadline = Instant::now() + Duration::from_secs(60);
            while shard_status(&store.url(), run, &victim).await.as_deref() != Some("running") {
                assert!(Instant::now() < deadline, "shard {victim} was never taken");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            child.kill().unwrap();
            let status = child.wait().unwrap();
            assert_eq!(status.code(), None, "killed by a signal while it worked, not finished first");
            assert_eq!(shard_status(&store.url(), run, &victim).await.as_deref(), Some("running"));
            killed = true;
        }
        for (shard, child) in children {
            let out = child.wait_with_output().unwrap();
            if shard == victim {
                continue;
            }
            assert_eq!(out.status.code(), Some(0), "process {shard}: {}", text(&out.stderr));
        }
        if *kind == "table" {
            // Retried: it waits out the dead process's lease, takes the
            // shard again and does it over.
            let again = process(&victim).wait_with_output().unwrap();
            assert_eq!(again.status.code(), Some(0), "retry of {victim}: {}", text(&again.stderr));
            let once_more = process(&victim).wait_with_output().unwrap();
            assert_eq!(once_more.status.code(), Some(0));
            assert!(text(&once_more.stdout).contains("done by an earlier attempt"), "{}", text(&once_more.stdout));
        }
    }
    assert!(killed);

    let report_path = dir.join("report.json");
    let finalized = weir(dir, &["finalize", "-c", wf, "--run-id", run, "--report", report_path.to_str().unwrap()], &[]);
    assert_eq!(finalized.status.code(), Some(0), "{}\n{}", text(&finalized.stdout), text(&finalized.stderr));
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();

    let (spread, whole) = (catalog_of(dir, &catalog.url()), catalog_of(dir, "one.db"));
    assert_eq!(spread.lines().count(), 1 + 4 + 13, "the database, its schemas, the tables and the view");
    assert!(spread == whole, "the same export as one process, byte for byte:\n{spread}\n---\n{whole}");
    assert_eq!(report["catalog"], catalog.url(), "the catalog the run wrote, named as PostgreSQL's");
    for kind in report["kinds"].as_array().unwrap() {
        let n = |k: &str| kind[k].as_u64().unwrap();
        assert_eq!(n("found"), n("filtered") + n("written") + n("failed") + n("cancelled"), "{kind}");
    }
    // `weir catalog list` and `show` read the PostgreSQL catalog as they read a file.
    let list = |c: &str| text(&weir(dir, &["--catalog", c, "catalog", "list", "--kind", "table"], &[]).stdout);
    assert_eq!(list(&catalog.url()), list("one.db"));
    let orders = format!("spread.{}.sales.orders", source.name);
    let shown = weir(dir, &["--catalog", &catalog.url(), "catalog", "show", &orders], &[]);
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    let constraints = shown["document"]["tableConstraints"].to_string();
    assert!(constraints.contains("FOREIGN_KEY") && constraints.contains("person"), "{constraints}");
    let tables = report["kinds"].as_array().unwrap().iter().find(|k| k["kind"] == "table").unwrap();
    assert_eq!(tables["written"], 13, "12 tables and the view, each counted once: {tables}");
    assert!(report["relationsApplied"].as_u64().unwrap() >= 10, "{}", report["relationsApplied"]);
    let shards = report["shards"].as_array().unwrap();
    assert_eq!(shards.len(), ids.values().map(Vec::len).sum::<usize>(), "every shard once");
    let victim_record = shards.iter().find(|s| s["id"] == victim.as_str()).unwrap();
    assert_eq!(victim_record["attempts"], 2, "{victim_record}");
    assert!(shards.iter().all(|s| s["process"].is_string()), "each shard names its process");

    let mut conn = PgConnection::connect(&store.url()).await.unwrap();
    for table in ["deferred", "shard", "run", "run_discovery", "written_parent", "table_columns"] {
        let left: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM weir_state.{table}")))
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(left, 0, "weir_state.{table} keeps nothing of a finalized run");
    }
    conn.close().await.unwrap();
}
