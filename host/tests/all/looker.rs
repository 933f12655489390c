//! The Looker connector end to end: the `weir` binary runs the built-in
//! `looker` plugin against the Looker fixture server (`weir_fixtures::looker`,
//! shaped by Looker's API 4.0 OpenAPI spec), and writes into the embedded
//! catalog. No real Looker instance was involved: what is proven here is
//! the connector against the spec's shapes, not against Looker itself.
//!
//! The lineage test also ingests a real PostgreSQL database into the same
//! catalog, so that explores' `sql_table_name`s resolve to real tables.

use crate::common;

use common::{Ingested, TestDb, export_all, ingest, text, weir};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;
use weir_fixtures::looker::{CLIENT_SECRET, LookerFixture, LookerInstance, LookerSpec};

const SERVICE: &str = "looker_svc";

fn looker_yaml(fixture: &LookerFixture, source_config: &str, weir_extra: &str) -> String {
    format!(
        r#"{source}  sourceConfig:
    config:
      type: DashboardMetadata
{source_config}
weir:
  retry:
    baseDelayMs: 20
    maxDelayMs: 200
{weir_extra}
"#,
        source = fixture.source_yaml(SERVICE, "${env:LOOKER_SECRET}"),
    )
}

struct Run(Ingested);

impl std::ops::Deref for Run {
    type Target = Ingested;
    fn deref(&self) -> &Ingested {
        &self.0
    }
}

impl Run {
    fn context(&self) -> String {
        format!("exit {:?}\nstdout:\n{}\nstderr:\n{}", self.code, self.stdout, self.stderr)
    }

    fn kind(&self, kind: &str) -> &Value {
        self.report["kinds"]
            .as_array()
            .and_then(|ks| ks.iter().find(|k| k["kind"] == kind))
            .unwrap_or_else(|| panic!("no `{kind}` row in {}\n{}", self.report["kinds"], self.context()))
    }

    fn count(&self, kind: &str, key: &str) -> u64 {
        self.kind(kind)[key].as_u64().unwrap_or_else(|| panic!("{kind}.{key}"))
    }
}

/// Runs `weir ingest` on a blocking thread (the fixture answers on this
/// test's runtime meanwhile).
async fn run_ingest(dir: &Path, yaml: String) -> Run {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || Run(ingest(&dir, &yaml, &[], &[("LOOKER_SECRET", CLIENT_SECRET)])))
        .await
        .unwrap()
}

/// found = filtered + written + failed + cancelled, for every kind.
fn assert_accounted(run: &Run) {
    for k in run.report["kinds"].as_array().unwrap() {
        let part = |key: &str| k[key].as_u64().unwrap();
        let parts = part("filtered") + part("written") + part("failed") + part("cancelled");
        assert_eq!(part("found"), parts, "accounting of {k}\n{}", run.context());
    }
}

fn charts(instance: &LookerInstance) -> usize {
    instance.elements().count()
}

fn explores(instance: &LookerInstance) -> usize {
    instance.explores().count()
}

/// Lineage edges (from FQN, to FQN) in the catalog that touch one of
/// the data models: every Looker edge has a data model at one end.
fn catalog_lineage(dir: &Path, models: &[String]) -> BTreeSet<(String, String)> {
    let mut edges = BTreeSet::new();
    for fqn in models {
        let shown = common::show(dir, "catalog.db", fqn);
        for edge in shown["lineage"].as_array().map(Vec::as_slice).unwrap_or_default() {
            let end = |side: &str| edge[side]["fqn"].as_str().unwrap_or_default().to_string();
            edges.insert((end("fromEntity"), end("toEntity")));
        }
    }
    edges
}

fn quoted(name: &str) -> String {
    if name.contains('.') || name.contains('"') { format!("\"{}\"", name.replace('"', "\"\"")) } else { name.into() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_instance_lands_in_the_catalog_with_exact_counts_and_lineage() {
    // The tables explores read: a few of pagila's, in a real database
    // ingested into the same catalog first; the rest are missing on purpose.
    let db = TestDb::create("weir_looker").await;
    db.run(
        "CREATE TABLE film (film_id int PRIMARY KEY, title text); CREATE TABLE actor (actor_id int PRIMARY KEY); \
            CREATE TABLE film_actor (actor_id int, film_id int); CREATE TABLE customer (customer_id int PRIMARY KEY); \
            CREATE TABLE rental (rental_id int PRIMARY KEY); CREATE TABLE payment (payment_id int PRIMARY KEY);",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let pg_yaml = format!(
        r#"
source:
  type: postgres
  serviceName: pg_svc
  serviceConnection:
    config:
      type: Postgres
      hostPort: {host_port}
      username: {user}
      database: {database}
"#,
        host_port = db.host_port(),
        user = db.user(),
        database = db.name,
    );
    let pg = run_ingest(dir.path(), pg_yaml).await;
    assert_eq!(pg.code, Some(0), "{}", pg.context());

    let fixture = LookerFixture::start(LookerSpec::default()).await.unwrap();
    let source = format!("      lineageInformation:\n        dbServicePrefixes: [\"pg_svc.{}\"]", db.name);
    let run = run_ingest(dir.path(), looker_yaml(&fixture, &source, "")).await;
    let instance = fixture.instance().clone();
    fixture.assert_no_violations();
    assert_accounted(&run);

    // Exact counts: every dashboard, every element as a chart, every explore.
    assert_eq!(run.count("dashboard", "written"), instance.dashboards.len() as u64, "{}", run.context());
    assert_eq!(run.count("chart", "written"), charts(&instance) as u64, "{}", run.context());
    assert_eq!(run.count("dashboardDataModel", "written"), explores(&instance) as u64, "{}", run.context());
    assert_eq!(run.report["failures"].as_array().map(Vec::len), Some(0), "{}", run.report["failures"]);

    // Batched: one GET per dashboard and explore, one users call per batch,
    // never one per element or per owner.
    assert_eq!(fixture.calls("/dashboards/"), instance.dashboards.len());
    assert_eq!(fixture.calls("/lookml_models/"), explores(&instance));
    assert!(fixture.calls("/users") <= 2, "owners are read a batch at a time: {}", fixture.calls("/users"));
    assert!(fixture.logins() <= 4, "a token is kept, not fetched per call: {} logins", fixture.logins());

    // Documents as OpenMetadata's Create* requests.
    let docs = export_all(dir.path(), "catalog.db");
    let of_kind = |k: &str| docs.iter().filter(|d| d["kind"] == k).collect::<Vec<_>>();
    let dashboard = instance.dashboards.iter().find(|d| d.elements.len() > 1).expect("a dashboard with elements");
    let doc = of_kind("dashboard")
        .into_iter()
        .find(|d| d["document"]["name"] == dashboard.id.as_str())
        .expect("the dashboard's document");
    assert_eq!(doc["document"]["displayName"], dashboard.title.as_str(), "{doc}");
    assert_eq!(doc["document"]["project"], dashboard.folder.name.as_str(), "{doc}");
    let chart_fqns: Vec<String> = dashboard.elements.iter().map(|e| format!("{SERVICE}.{}", quoted(&e.id))).collect();
    assert_eq!(doc["document"]["charts"], serde_json::json!(chart_fqns), "{doc}");
    let owner = instance.user(&dashboard.user_id).expect("owner");
    let fqn = doc["fqn"].as_str().unwrap();
    let out = weir(dir.path(), &["--catalog", "catalog.db", "catalog", "show", fqn, "--kind", "dashboard"], &[]);
    let shown: Value = serde_json::from_str(&text(&out.stdout)).unwrap_or_else(|_| panic!("{}", text(&out.stderr)));
    assert_eq!(shown["extra"]["owner"], owner.email.as_str(), "{shown}");
    let explore = instance.explores().find(|e| !e.fields.is_empty()).expect("an explore with fields");
    let model_doc = of_kind("dashboardDataModel")
        .into_iter()
        .find(|d| d["document"]["name"] == format!("{}_{}", explore.model_name, explore.name))
        .expect("the explore's data model");
    assert_eq!(model_doc["document"]["dataModelType"], "LookMlExplore");
    let columns: Vec<&str> =
        model_doc["document"]["columns"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    let fields: Vec<&str> = explore.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(columns.len(), fields.len(), "one column per dimension and measure: {model_doc}");
    for f in &fields {
        assert!(columns.contains(f), "{f} missing in {columns:?}");
    }
    // Each field's SQL is kept beside the document.
    let model_fqn_of = model_doc["fqn"].as_str().unwrap();
    let shown = common::show(dir.path(), "catalog.db", model_fqn_of);
    for f in &explore.fields {
        let fact = shown["extra"]["columns"].as_array().unwrap().iter().find(|c| c["name"] == f.name.as_str());
        let sql = fact.and_then(|c| c["generated"].as_str());
        assert_eq!(sql, f.sql.as_deref(), "{} in {}", f.name, shown["extra"]);
    }

    // Lineage: explore → chart and explore → dashboard for every element
    // whose explore exists; table → explore for every sql_table_name the
    // database has. Everything else is reported, not fatal.
    let model_fqn = |m: &str, e: &str| format!("{SERVICE}.model.{}", quoted(&format!("{m}_{e}")));
    let model_fqns: Vec<String> = instance.explores().map(|e| model_fqn(&e.model_name, &e.name)).collect();
    let lineage = catalog_lineage(dir.path(), &model_fqns);
    let mut expected = BTreeSet::new();
    let mut dangling = 0;
    for d in &instance.dashboards {
        let mut used = BTreeSet::new();
        for e in &d.elements {
            if let Some((m, x)) = e.target() {
                if instance.explore(m, x).is_some() {
                    expected.insert((model_fqn(m, x), format!("{SERVICE}.{}", quoted(&e.id))));
                    used.insert((m, x));
                } else {
                    dangling += 1;
                }
            }
        }
        for (m, x) in used {
            expected.insert((model_fqn(m, x), format!("{SERVICE}.{}", quoted(&d.id))));
        }
    }
    let present: BTreeSet<&str> = ["film", "actor", "film_actor", "customer", "rental", "payment"].into();
    let mut missing_tables = 0;
    for e in instance.explores() {
        let mut names: Vec<&str> = e.sql_table_name.iter().map(String::as_str).collect();
        names.extend(e.joins.iter().filter_map(|j| j.sql_table_name.as_deref()));
        let tables: BTreeSet<String> =
            names.iter().map(|n| n.replace('"', "").rsplit('.').next().unwrap().to_string()).collect();
        for t in tables {
            if present.contains(t.as_str()) {
                expected.insert((format!("pg_svc.{}.public.{t}", db.name), model_fqn(&e.model_name, &e.name)));
            } else {
                missing_tables += 1;
            }
        }
    }
    let looker_lineage: BTreeSet<(String, String)> =
        lineage.into_iter().filter(|(_, to)| to.starts_with(&format!("{SERVICE}."))).collect();
    assert_eq!(looker_lineage, expected, "{}", run.context());
    assert!(dangling > 0 && missing_tables > 0, "the fixture should exercise unresolved edges");
    let unresolved = run.report["relationsUnresolved"].as_array().map(Vec::len).unwrap_or(0);
    assert!(unresolved >= 1, "dangling edges are reported: {}", run.report["relationsUnresolved"]);
    // The secret never shows.
    assert!(!run.stdout.contains(CLIENT_SECRET) && !run.stderr.contains(CLIENT_SECRET));
    assert!(!std::fs::read_to_string(dir.path().join("report.json")).unwrap().contains(CLIENT_SECRET));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_are_survived_and_reported() {
    let fixture = LookerFixture::start(LookerSpec::default()).await.unwrap();
    let instance = fixture.instance().clone();
    fixture.set_latency(Duration::from_millis(20));
    // Throttled, failing, truncated and expired: each once or a few times.
    fixture.throttle_next(2, 1, Some("/dashboards/"));
    fixture.fail_next(2, 502, Some("/lookml_models/"));
    fixture.malformed_next(1, Some("/dashboards/"));
    fixture.set_token_ttl(Duration::from_secs(1));
    let dir = tempfile::tempdir().unwrap();
    let run = run_ingest(dir.path(), looker_yaml(&fixture, "", "")).await;
    assert_accounted(&run);
    assert_eq!(run.count("dashboard", "written"), instance.dashboards.len() as u64, "{}", run.context());
    assert_eq!(run.count("chart", "written"), charts(&instance) as u64, "{}", run.context());
    assert_eq!(run.count("dashboardDataModel", "written"), explores(&instance) as u64, "{}", run.context());
    let statuses: Vec<u16> = fixture.requests().iter().map(|r| r.status).collect();
    assert!(statuses.contains(&429) && statuses.contains(&502), "faults were injected: {statuses:?}");
    // Reported: the 429s as the host's retries in the log, the truncated
    // answer and the 502s as retried entities in the shard records.
    assert!(run.stderr.contains("429"), "{}", run.context());
    let retries: u64 = run.report["shards"].as_array().unwrap().iter().map(|s| s["retries"].as_u64().unwrap()).sum();
    assert!(retries >= 1, "{}", run.report["shards"]);
    fixture.assert_no_violations();

    // A server that keeps failing: explores fail with the reason, the
    // dashboards are still written, and the run says so.
    let fixture = LookerFixture::start(LookerSpec::default()).await.unwrap();
    fixture.fail_next(10_000, 500, Some("/lookml_models/"));
    let dir = tempfile::tempdir().unwrap();
    let run = run_ingest(dir.path(), looker_yaml(&fixture, "", "")).await;
    assert_accounted(&run);
    assert_eq!(run.count("dashboardDataModel", "failed"), explores(&instance) as u64, "{}", run.context());
    assert_eq!(run.count("dashboard", "written"), instance.dashboards.len() as u64, "{}", run.context());
    let failure = &run.report["failures"][0];
    assert!(failure["reason"].as_str().unwrap_or("").contains("answered 500"), "{failure}");

    // Tokens that expire mid-run: one instance, small shards and slow
    // answers make the run outlive several tokens; the connector logs in
    // again on the 401 and nothing is lost.
    let fixture = LookerFixture::start(LookerSpec::default()).await.unwrap();
    fixture.set_token_ttl(Duration::from_millis(300));
    fixture.set_latency(Duration::from_millis(60));
    let dir = tempfile::tempdir().unwrap();
    let run = run_ingest(dir.path(), looker_yaml(&fixture, "", "  instances: 1\n  shardSize: 2")).await;
    assert_accounted(&run);
    assert_eq!(run.count("dashboard", "written"), instance.dashboards.len() as u64, "{}", run.context());
    assert_eq!(run.count("dashboardDataModel", "written"), explores(&instance) as u64, "{}", run.context());
    assert!(fixture.logins() >= 2, "expected fresh logins, saw {}", fixture.logins());
    assert!(fixture.requests().iter().any(|r| r.status == 401), "no token expired during the run");
    fixture.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_is_a_clear_error_that_never_shows_the_secret() {
    let fixture = LookerFixture::start(LookerSpec::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let yaml = looker_yaml(&fixture, "", "").replace("${env:LOOKER_SECRET}", "not-the-secret-9b1e");
    let run = run_ingest(dir.path(), yaml).await;
    assert_ne!(run.code, Some(0), "{}", run.context());
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(all.contains("clientId and clientSecret"), "{all}");
    assert!(!all.contains("not-the-secret-9b1e"), "{all}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_apply_to_titles_and_explore_names() {
    let fixture = LookerFixture::start(LookerSpec::default()).await.unwrap();
    let instance = fixture.instance().clone();
    let first = instance
        .dashboards
        .iter()
        .find(|d| d.title.chars().all(|c| c.is_ascii_alphanumeric() || c == ' '))
        .expect("a dashboard with a plain title");
    let kept = instance.explores().next().unwrap();
    let keep_explore = format!("{}_{}", kept.model_name, kept.name);
    let source = format!(
        "      dashboardFilterPattern:\n        includes: [\"{}\"]\n      dataModelFilterPattern:\n        includes: [\"^{}$\"]",
        first.title, keep_explore
    );
    let dir = tempfile::tempdir().unwrap();
    let run = run_ingest(dir.path(), looker_yaml(&fixture, &source, "")).await;
    assert_accounted(&run);
    let same_title =
        instance.dashboards.iter().filter(|d| d.title.to_lowercase().starts_with(&first.title.to_lowercase())).count();
    assert_eq!(run.count("dashboard", "written"), same_title as u64, "{}", run.context());
    let same_name = instance
        .explores()
        .filter(|e| format!("{}_{}", e.model_name, e.name).eq_ignore_ascii_case(&keep_explore))
        .count();
    assert_eq!(run.count("dashboardDataModel", "written"), same_name as u64, "{}", run.context());
}
