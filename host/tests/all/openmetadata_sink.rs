//! `sink.type: metadata-rest` end to end: a real PostgreSQL database (three
//! schemas, nine tables, foreign keys across tables and schemas, one of them
//! composite, a view for lineage; another with awkward names) ingested by the
//! `weir` binary into the OpenMetadata fixture server
//! (`weir_fixtures::openmetadata`), which checks every request against
//! OpenMetadata's schemas and records whatever a well-behaved client would
//! not do.
//!
//! Every assertion message carries the context: weir's exit status, stdout
//! and stderr, the fixture's violations and its request log.

use crate::common;

use common::{TestDb, text, weir, workflow};
use serde_json::Value;
use sqlx::{Connection, PgConnection};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Output;
use std::time::Duration;
use weir_fixtures::openmetadata::{BulkRoute, OpenMetadataFixture, RequestLog, quote_name, require_specs};

const SERVICE: &str = "om_sink";

const SCHEMA: &str = r#"
CREATE SCHEMA sales;
CREATE SCHEMA hr;
CREATE SCHEMA inventory;
COMMENT ON SCHEMA sales IS 'Orders and customers';

CREATE TABLE sales.customer (
    id      bigint PRIMARY KEY,
    email   varchar(200) NOT NULL UNIQUE,
    balance numeric(12,2) DEFAULT 0
);
COMMENT ON TABLE sales.customer IS 'People who buy';
COMMENT ON COLUMN sales.customer.email IS 'Login, unique';

CREATE TABLE sales.region (
    country char(2) NOT NULL,
    code    integer NOT NULL,
    label   text,
    PRIMARY KEY (country, code)
);

CREATE TABLE sales.orders (
    id          serial PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES sales.customer (id),
    country     char(2) NOT NULL,
    region_code integer NOT NULL,
    FOREIGN KEY (country, region_code) REFERENCES sales.region (country, code)
);

CREATE TABLE inventory.supplier (id integer PRIMARY KEY, name text NOT NULL);

CREATE TABLE inventory.product (
    id          integer PRIMARY KEY,
    supplier_id integer REFERENCES inventory.supplier (id),
    sku         text UNIQUE
);

CREATE TABLE inventory.stock (
    product_id integer NOT NULL REFERENCES inventory.product (id),
    warehouse  text NOT NULL,
    quantity   integer,
    PRIMARY KEY (product_id, warehouse)
);

CREATE TABLE sales.order_line (
    order_id   integer NOT NULL REFERENCES sales.orders (id),
    line_no    integer NOT NULL,
    product_id integer NOT NULL REFERENCES inventory.product (id),
    PRIMARY KEY (order_id, line_no)
);

CREATE TABLE hr.department (id integer PRIMARY KEY, name text);

CREATE TABLE hr.employee (
    id         integer PRIMARY KEY,
    manager    integer REFERENCES hr.employee (id),
    served     bigint REFERENCES sales.customer (id),
    department integer
);

CREATE VIEW sales.big_customers AS SELECT id, email FROM sales.customer WHERE balance > 1000;
"#;

/// Names OpenMetadata quotes (dots) and names a URL must escape (space, `?`,
/// `#`, `%`, `/`): in FQNs, foreign keys and lookups by name.
const ODD_SCHEMA: &str = r#"
CREATE SCHEMA "odd.schema";
CREATE TABLE "odd.schema"."dotted.table" (id integer PRIMARY KEY, "the.code" text UNIQUE);
CREATE TABLE "odd.schema"."with space" (
    id   integer PRIMARY KEY,
    ref  integer REFERENCES "odd.schema"."dotted.table" (id),
    code text REFERENCES "odd.schema"."dotted.table" ("the.code")
);
CREATE VIEW "odd.schema"."big?#%/view" AS SELECT id FROM "odd.schema"."dotted.table";
"#;

// ---------------------------------------------------------------------------
// What PostgreSQL has
// ---------------------------------------------------------------------------

/// A foreign key as OpenMetadata writes it: (columns, referredColumns FQNs).
type ForeignKey = (Vec<String>, Vec<String>);

/// One `pg_constraint` foreign key: schema, table, columns, and the same of
/// the referenced table.
type PgForeignKey = (String, String, Vec<String>, String, String, Vec<String>);

/// The FQNs the fixture must end up with, read from PostgreSQL itself.
struct Truth {
    prefix: String,
    database: String,
    schemas: BTreeSet<String>,
    tables: BTreeSet<String>,
    /// Owning table FQN → its foreign keys.
    foreign_keys: BTreeMap<String, BTreeSet<ForeignKey>>,
    /// (from, to) table FQNs of the views' lineage.
    lineage: BTreeSet<(String, String)>,
}

impl Truth {
    /// The FQN of `parts` below the database.
    fn fqn(&self, parts: &[&str]) -> String {
        let quoted: Vec<String> = parts.iter().map(|p| quote_name(p)).collect();
        format!("{}.{}", self.prefix, quoted.join("."))
    }

    fn table(&self, schema: &str, table: &str) -> String {
        self.fqn(&[schema, table])
    }

    /// Foreign keys that belong to or point at one of `tables`.
    fn keys_touching(&self, tables: &[String]) -> usize {
        let hit = |fqn: &str| tables.iter().any(|t| fqn == t || fqn.starts_with(&format!("{t}.")));
        self.foreign_keys
            .iter()
            .flat_map(|(owner, keys)| keys.iter().map(move |k| (owner, k)))
            .filter(|(owner, (_, referred))| hit(owner) || referred.iter().any(|r| hit(r)))
            .count()
    }
}

/// A lineage edge by (schema, table) of each end.
type Edge<'a> = ((&'a str, &'a str), (&'a str, &'a str));

/// What PostgreSQL holds in `schemas`, and the lineage its views make.
async fn truth(db: &TestDb, schemas: &[&str], lineage: &[Edge<'_>]) -> Truth {
    let prefix = format!("{SERVICE}.{}", db.name);
    let q = |parts: &[&str]| -> String {
        let quoted: Vec<String> = parts.iter().map(|p| quote_name(p)).collect();
        format!("{prefix}.{}", quoted.join("."))
    };
    let names: Vec<String> = schemas.iter().map(|s| s.to_string()).collect();
    let mut conn = PgConnection::connect(&db.url()).await.unwrap();
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT n.nspname::text, c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')",
    )
    .bind(&names)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let keys: Vec<PgForeignKey> = sqlx::query_as(
        "SELECT n.nspname::text, c.relname::text, \
           ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(num, i) \
                 JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.num ORDER BY u.i), \
           rn.nspname::text, rc.relname::text, \
           ARRAY(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY u(num, i) \
                 JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.num ORDER BY u.i) \
         FROM pg_constraint k \
         JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_class rc ON rc.oid = k.confrelid JOIN pg_namespace rn ON rn.oid = rc.relnamespace \
         WHERE k.contype = 'f' AND n.nspname = ANY($1)",
    )
    .bind(&names)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    let mut foreign_keys: BTreeMap<String, BTreeSet<ForeignKey>> = BTreeMap::new();
    for (schema, table, columns, ref_schema, ref_table, ref_columns) in keys {
        let referred = ref_columns.iter().map(|c| q(&[&ref_schema, &ref_table, c])).collect();
        foreign_keys.entry(q(&[&schema, &table])).or_default().insert((columns, referred));
    }
    Truth {
        database: prefix.clone(),
        schemas: schemas.iter().map(|s| q(&[s])).collect(),
        tables: tables.iter().map(|(s, t)| q(&[s, t])).collect(),
        foreign_keys,
        lineage: lineage.iter().map(|((fs, ft), (ts, tt))| (q(&[fs, ft]), q(&[ts, tt]))).collect(),
        prefix,
    }
}

/// A database for one test, what it holds, and the workflow's schema filter.
struct Source {
    db: TestDb,
    truth: Truth,
    /// `schemaFilterPattern.includes`, as a YAML flow list.
    includes: &'static str,
}

/// A database with [`SCHEMA`].
async fn shop(prefix: &str) -> Source {
    let db = TestDb::create(prefix).await;
    db.run(SCHEMA).await;
    let lineage = [(("sales", "customer"), ("sales", "big_customers"))];
    let truth = truth(&db, &["hr", "inventory", "sales"], &lineage).await;
    assert_eq!(truth.tables.len(), 10, "nine tables and a view: {:?}", truth.tables);
    assert_eq!(truth.foreign_keys.len(), 5, "five tables own foreign keys: {:?}", truth.foreign_keys);
    Source { db, truth, includes: r#"["^sales$", "^hr$", "^inventory$"]"# }
}

/// A database with [`ODD_SCHEMA`].
async fn odd_names(prefix: &str) -> Source {
    let db = TestDb::create(prefix).await;
    db.run(ODD_SCHEMA).await;
    let lineage = [(("odd.schema", "dotted.table"), ("odd.schema", "big?#%/view"))];
    let truth = truth(&db, &["odd.schema"], &lineage).await;
    assert_eq!(truth.tables.len(), 3, "two tables and a view: {:?}", truth.tables);
    Source { db, truth, includes: r#"["^odd\\.schema$"]"# }
}

// ---------------------------------------------------------------------------
// Running weir
// ---------------------------------------------------------------------------

/// `sink:` with `bulk_sink_batch_size` and `async_pipeline_workers`.
fn rest_sink(batch_size: usize, workers: usize) -> String {
    format!(
        "sink:\n  type: metadata-rest\n  config:\n    bulk_sink_batch_size: {batch_size}\n    \
         async_pipeline_workers: {workers}\n"
    )
}

fn workflow_yaml(source: &Source, fixture: &OpenMetadataFixture, sink: &str) -> String {
    format!(
        r#"
source:
  type: postgres
  serviceName: {SERVICE}
  serviceConnection:
    config:
      type: Postgres
      hostPort: "{host_port}"
      username: {user}
      database: {db}
  sourceConfig:
    config:
      type: DatabaseMetadata
      schemaFilterPattern:
        includes: {includes}
{sink}
workflowConfig:
  openMetadataServerConfig:
    hostPort: "{base_url}"
    authProvider: openmetadata
    securityConfig:
      jwtToken: "${{env:OM_TOKEN}}"
weir:
  instances: 2
  shardSize: 3
  retry:
    baseDelayMs: 20
"#,
        host_port = source.db.host_port(),
        user = source.db.user(),
        db = source.db.name,
        includes = source.includes,
        base_url = fixture.base_url(),
    )
}

struct Run {
    out: Output,
    /// The `--report` JSON, when weir wrote one.
    report: Option<Value>,
    report_text: Option<String>,
}

impl Run {
    fn code(&self) -> Option<i32> {
        self.out.status.code()
    }

    fn stdout(&self) -> String {
        text(&self.out.stdout)
    }

    fn stderr(&self) -> String {
        text(&self.out.stderr)
    }

    #[track_caller]
    fn report(&self, ctx: &str) -> &Value {
        self.report.as_ref().unwrap_or_else(|| panic!("weir wrote no report\n{ctx}"))
    }
}

/// `weir ingest` of the workflow into the fixture, with `OM_TOKEN=token` and
/// `--report <name>.json`.
async fn ingest(
    dir: &Path,
    source: &Source,
    fixture: &OpenMetadataFixture,
    sink: &str,
    token: &str,
    name: &str,
) -> Run {
    ingest_yaml(dir, &workflow_yaml(source, fixture, sink), token, name).await
}

/// `weir ingest` of `yaml`, as [`ingest`].
async fn ingest_yaml(dir: &Path, yaml: &str, token: &str, name: &str) -> Run {
    let wf = workflow(dir, yaml);
    let report_path = dir.join(format!("{name}.json"));
    let _ = std::fs::remove_file(&report_path);
    let (dir_owned, token) = (dir.to_path_buf(), token.to_string());
    let args: Vec<String> =
        ["ingest", "-c", wf.to_str().unwrap(), "--report", report_path.to_str().unwrap()].map(String::from).into();
    // The fixture serves from the runtime's workers; weir runs off them.
    let out = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        weir(&dir_owned, &args, &[("OM_TOKEN", token.as_str())])
    })
    .await
    .unwrap();
    let report_text = std::fs::read_to_string(&report_path).ok();
    let report = report_text.as_deref().map(|t| serde_json::from_str(t).expect("the report is JSON"));
    Run { out, report, report_text }
}

fn describe(r: &RequestLog) -> String {
    let query = if r.query.is_empty() { String::new() } else { format!("?{}", r.query) };
    format!("{:>7.3}s {} {}{} → {} ({} items)", r.at.as_secs_f64(), r.method, r.path, query, r.status, r.items)
}

/// Everything that helps read a failure.
fn context(run: &Run, fixture: &OpenMetadataFixture) -> String {
    let requests: Vec<String> = fixture.requests().iter().map(describe).collect();
    let skip = requests.len().saturating_sub(120);
    let violations = fixture.violations();
    format!(
        "--- weir exit status: {:?}\n--- stdout:\n{}\n--- stderr:\n{}\n--- fixture violations ({}):\n{}\n\
         --- fixture requests ({}, last 120):\n{}\n--- report failures: {}\n",
        run.code(),
        run.stdout(),
        run.stderr(),
        violations.len(),
        violations.join("\n"),
        requests.len(),
        requests[skip..].join("\n"),
        run.report.as_ref().map(|r| r["failures"].to_string()).unwrap_or_else(|| "(no report)".into()),
    )
}

#[track_caller]
fn assert_no_violations(fixture: &OpenMetadataFixture, ctx: &str) {
    let violations = fixture.violations();
    assert!(violations.is_empty(), "the fixture saw {} violation(s)\n{ctx}", violations.len());
}

// ---------------------------------------------------------------------------
// What the fixture holds
// ---------------------------------------------------------------------------

fn fqns(fixture: &OpenMetadataFixture, collection: &str) -> BTreeSet<String> {
    fixture.entities(collection).iter().map(|e| e["fullyQualifiedName"].as_str().unwrap().to_string()).collect()
}

fn stored_foreign_keys(table: &Value) -> BTreeSet<ForeignKey> {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array().into_iter().flatten().map(|s| s.as_str().unwrap_or_default().to_string()).collect()
    };
    table["tableConstraints"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["constraintType"] == "FOREIGN_KEY")
        .map(|c| (strings(&c["columns"]), strings(&c["referredColumns"])))
        .collect()
}

/// A Create* body without its FOREIGN_KEY constraints and its sourceHash:
/// what phase 1 and phase 2 of a table must have in common.
fn without_foreign_keys(body: &Value) -> Value {
    let mut body = body.clone();
    let map = body.as_object_mut().unwrap();
    map.remove("sourceHash");
    if let Some(list) = map.get_mut("tableConstraints").and_then(Value::as_array_mut) {
        list.retain(|c| c["constraintType"] != "FOREIGN_KEY");
        if list.is_empty() {
            map.remove("tableConstraints");
        }
    }
    body
}

/// The service, the database, the schemas, the tables except `missing`, the
/// foreign keys of every table (those that belong to or point at a table in
/// `missing` aside), and the lineage edges whose ends both arrived.
#[track_caller]
fn assert_arrived(fixture: &OpenMetadataFixture, truth: &Truth, missing: &[String], ctx: &str) {
    let services = fqns(fixture, "databaseService");
    assert_eq!(services, BTreeSet::from([SERVICE.to_string()]), "database services\n{ctx}");
    assert_eq!(fqns(fixture, "database"), BTreeSet::from([truth.database.clone()]), "databases\n{ctx}");
    assert_eq!(fqns(fixture, "databaseSchema"), truth.schemas, "schemas\n{ctx}");
    let expected: BTreeSet<String> = truth.tables.iter().filter(|t| !missing.contains(t)).cloned().collect();
    assert_eq!(fqns(fixture, "table"), expected, "tables (PostgreSQL has {:?})\n{ctx}", truth.tables);

    let refers_to_missing =
        |(_, referred): &ForeignKey| referred.iter().any(|r| missing.iter().any(|m| r.starts_with(&format!("{m}."))));
    for table in &expected {
        // Keys to a missing table cannot be there; the others must be.
        let want: BTreeSet<ForeignKey> =
            truth.foreign_keys.get(table).into_iter().flatten().filter(|k| !refers_to_missing(k)).cloned().collect();
        let stored = stored_foreign_keys(&fixture.get("table", table).unwrap());
        assert_eq!(stored, want, "foreign keys of {table}\n{ctx}");
    }

    let edges: BTreeSet<(String, String)> = fixture
        .lineage()
        .iter()
        .map(|e| {
            let fqn = |end: &str| e[end]["fullyQualifiedName"].as_str().unwrap_or_default().to_string();
            (fqn("fromEntity"), fqn("toEntity"))
        })
        .collect();
    let want: BTreeSet<(String, String)> =
        truth.lineage.iter().filter(|(f, t)| !missing.contains(f) && !missing.contains(t)).cloned().collect();
    assert_eq!(edges, want, "lineage edges\n{ctx}");
}

/// Every entity of the database written once; a table that owns foreign
/// keys patched once with them, as OpenMetadata's own ingestion does (a
/// second PUT would be skipped: its sourceHash is the stored one).
#[track_caller]
fn assert_written_once(fixture: &OpenMetadataFixture, truth: &Truth, ctx: &str) {
    for collection in ["database", "databaseSchema"] {
        let counts = fixture.write_counts(collection);
        assert!(counts.values().all(|n| *n == 1), "{collection} writes: {counts:?}\n{ctx}");
    }
    let counts = fixture.write_counts("table");
    let expected: BTreeMap<String, usize> = truth.tables.iter().map(|t| (t.clone(), 1)).collect();
    assert_eq!(counts, expected, "each table PUT once\n{ctx}");
    for table in &truth.tables {
        let patches = fixture.patches("table", table);
        let expected = usize::from(truth.foreign_keys.contains_key(table));
        assert_eq!(patches.len(), expected, "{table}: one JSON Patch for an owner of foreign keys: {patches:?}\n{ctx}");
    }
}

/// found = filtered + written + failed + cancelled, kind by kind.
#[track_caller]
fn assert_accounting(report: &Value, ctx: &str) {
    let kinds = report["kinds"].as_array().unwrap_or_else(|| panic!("no kinds[] in the report\n{ctx}"));
    assert!(!kinds.is_empty(), "kinds[] is empty\n{ctx}");
    for k in kinds {
        let n = |f: &str| k[f].as_u64().unwrap_or_else(|| panic!("kinds[].{f} missing in {k}\n{ctx}"));
        assert_eq!(
            n("found"),
            n("filtered") + n("written") + n("unchanged") + n("failed") + n("cancelled"),
            "accounting of {}: {k}\n{ctx}",
            k["kind"]
        );
    }
}

/// (found, written, failed) of one kind in the report.
fn counts(report: &Value, kind: &str) -> (u64, u64, u64) {
    let k = report["kinds"].as_array().into_iter().flatten().find(|k| k["kind"] == kind);
    let k = k.cloned().unwrap_or(Value::Null);
    let n = |f: &str| k[f].as_u64().unwrap_or(0);
    (n("found"), n("written"), n("failed"))
}

fn sink_retries(report: &Value) -> u64 {
    report["sinkRetries"].as_u64().unwrap_or(0)
}

/// The entities in the report's `failures[]`.
fn failed_entities(report: &Value, ctx: &str) -> BTreeSet<String> {
    let failures = report["failures"].as_array().unwrap_or_else(|| panic!("no failures[] in the report\n{ctx}"));
    failures.iter().map(|f| f["entity"].as_str().unwrap_or_default().to_string()).collect()
}

/// Every failure is the sink's, about a table, for the reason `reason`.
#[track_caller]
fn assert_sink_failures(report: &Value, reason: &str, ctx: &str) {
    for f in report["failures"].as_array().into_iter().flatten() {
        assert_eq!(f["error"], "sink", "a sink failure: {f}\n{ctx}");
        assert_eq!(f["kind"], "table", "{f}\n{ctx}");
        let text = f["reason"].as_str().unwrap_or_default();
        assert!(text.contains(reason), "the reason carries the server's `{reason}`: {f}\n{ctx}");
    }
}

fn relations_unresolved(report: &Value) -> Vec<Value> {
    report["relationsUnresolved"].as_array().cloned().unwrap_or_default()
}

fn requests_to<'a>(log: &'a [RequestLog], method: &str, path: &str) -> Vec<&'a RequestLog> {
    log.iter().filter(|r| r.method == method && r.path == path).collect()
}

fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query.split('&').filter_map(|p| p.split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v)
}

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_entity_arrives_once_with_foreign_keys_in_phase_two_and_lineage() {
    require_specs();
    let source = shop("omsink_e2e").await;
    let truth = &source.truth;
    let fixture = OpenMetadataFixture::start().await;
    let dir = tempfile::tempdir().unwrap();
    let run = ingest(dir.path(), &source, &fixture, &rest_sink(3, 2), &fixture.token(), "run").await;
    let ctx = context(&run, &fixture);
    assert_eq!(run.code(), Some(0), "the run must succeed\n{ctx}");
    assert_no_violations(&fixture, &ctx);
    assert_arrived(&fixture, truth, &[], &ctx);
    assert_written_once(&fixture, truth, &ctx);

    // Phase 1 has no foreign keys; phase 2 adds them and changes nothing else.
    for table in &truth.tables {
        let history = fixture.history("table", table);
        let first = history.first().unwrap_or_else(|| panic!("{table} never written\n{ctx}"));
        assert!(stored_foreign_keys(first).is_empty(), "{table}: phase 1 carried foreign keys: {first}\n{ctx}");
        if truth.foreign_keys.contains_key(table) {
            let last = history.last().unwrap();
            assert_eq!(
                without_foreign_keys(last),
                without_foreign_keys(first),
                "{table}: the phase-2 PUT must resend the whole table, foreign keys added\n{ctx}"
            );
        }
    }

    // Services one by one; everything else in bulk, batches of at most 3,
    // synchronous, without overriding.
    let log = fixture.requests();
    let services = requests_to(&log, "PUT", "/api/v1/services/databaseServices");
    assert!(!services.is_empty(), "the service is PUT on its collection\n{ctx}");
    for collection in ["databases", "databaseSchemas", "tables"] {
        let single = requests_to(&log, "PUT", &format!("/api/v1/{collection}"));
        assert!(single.is_empty(), "{collection} sent one by one although /bulk exists\n{ctx}");
        let bulk = requests_to(&log, "PUT", &format!("/api/v1/{collection}/bulk"));
        assert!(!bulk.is_empty(), "no /bulk request for {collection}\n{ctx}");
        for r in bulk {
            assert_eq!(query_param(&r.query, "async"), Some("false"), "{}\n{ctx}", describe(r));
            assert_eq!(query_param(&r.query, "overrideMetadata"), Some("false"), "{}\n{ctx}", describe(r));
            assert!((1..=3).contains(&r.items), "bulk_sink_batch_size is 3: {}\n{ctx}", describe(r));
        }
    }
    let table_items: usize = requests_to(&log, "PUT", "/api/v1/tables/bulk").iter().map(|r| r.items).sum();
    assert_eq!(table_items, truth.tables.len(), "each table once, in phase 1\n{ctx}");
    // Phase 2: the schemas of the owners listed once each (a page holds
    // them all), then one PATCH per owner of foreign keys.
    let lists = requests_to(&log, "GET", "/api/v1/tables");
    let owner_schemas: BTreeSet<String> =
        truth.foreign_keys.keys().map(|t| t.rsplit_once('.').map(|(s, _)| s.to_string()).unwrap_or_default()).collect();
    assert_eq!(lists.len(), owner_schemas.len(), "one listing per schema that owns keys\n{ctx}");
    let patches = log.iter().filter(|r| r.method == "PATCH" && r.path.starts_with("/api/v1/tables/")).count();
    assert_eq!(patches, truth.foreign_keys.len(), "one PATCH per owner\n{ctx}");

    let report = run.report(&ctx);
    assert_accounting(report, &ctx);
    assert_eq!(report["failures"].as_array().map(Vec::len), Some(0), "no failures\n{ctx}");
    assert_eq!(relations_unresolved(report).len(), 0, "every relation applied\n{ctx}");
    assert_eq!(counts(report, "database"), (1, 1, 0), "database counts\n{ctx}");
    assert_eq!(counts(report, "databaseSchema"), (3, 3, 0), "schema counts\n{ctx}");
    assert_eq!(counts(report, "table"), (10, 10, 0), "table counts\n{ctx}");

    let token = fixture.token();
    let leaked = run.stdout().contains(&token)
        || run.stderr().contains(&token)
        || run.report_text.as_deref().is_some_and(|t| t.contains(&token));
    assert!(!leaked, "the token appears in weir's output or report\n{ctx}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_with_retry_after_the_sink_waits_and_everything_arrives() {
    require_specs();
    let source = shop("omsink_429").await;
    let fixture = OpenMetadataFixture::start().await;
    fixture.throttle_next(1, 1, Some("/api/v1/databases/bulk"));
    fixture.throttle_next(2, 1, Some("/api/v1/tables/bulk"));
    fixture.throttle_next(1, 0, Some("/api/v1/tables/name/"));
    let dir = tempfile::tempdir().unwrap();
    let run = ingest(dir.path(), &source, &fixture, &rest_sink(50, 2), &fixture.token(), "run").await;
    let ctx = context(&run, &fixture);
    assert_eq!(run.code(), Some(0), "429s are retried, the run succeeds\n{ctx}");
    assert_no_violations(&fixture, &ctx);
    assert_arrived(&fixture, &source.truth, &[], &ctx);
    assert_written_once(&fixture, &source.truth, &ctx);

    let log = fixture.requests();
    let throttled = log.iter().filter(|r| r.status == 429).count();
    assert_eq!(throttled, 4, "every injected 429 was met\n{ctx}");
    // One database, so one batch: its retry waited for Retry-After: 1.
    let databases = requests_to(&log, "PUT", "/api/v1/databases/bulk");
    assert!(databases.len() >= 2 && databases[0].status == 429, "the database batch was retried\n{ctx}");
    let waited = databases[1].at.saturating_sub(databases[0].at + databases[0].elapsed);
    assert!(waited >= Duration::from_millis(950), "Retry-After: 1 not honoured: retried after {waited:?}\n{ctx}");

    let report = run.report(&ctx);
    assert_eq!(sink_retries(report), 4, "sinkRetries counts every retried request\n{ctx}");
    assert_accounting(report, &ctx);
    assert_eq!(counts(report, "table"), (10, 10, 0), "table counts\n{ctx}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_and_everything_arrives() {
    require_specs();
    let source = shop("omsink_5xx").await;
    let fixture = OpenMetadataFixture::start().await;
    fixture.fail_next(1, 502, Some("/api/v1/services/databaseServices"));
    fixture.fail_next(1, 500, Some("/api/v1/databaseSchemas/bulk"));
    fixture.fail_next(2, 503, Some("/api/v1/tables/bulk"));
    fixture.fail_next(1, 504, Some("/api/v1/tables/name/"));
    fixture.fail_next(1, 500, Some("/api/v1/lineage"));
    let dir = tempfile::tempdir().unwrap();
    let run = ingest(dir.path(), &source, &fixture, &rest_sink(50, 2), &fixture.token(), "run").await;
    let ctx = context(&run, &fixture);
    assert_eq!(run.code(), Some(0), "5xx answers are retried, the run succeeds\n{ctx}");
    assert_no_violations(&fixture, &ctx);
    assert_arrived(&fixture, &source.truth, &[], &ctx);
    assert_written_once(&fixture, &source.truth, &ctx);

    let failed_answers = fixture.requests().iter().filter(|r| r.status >= 500).count();
    assert_eq!(failed_answers, 6, "every injected 5xx was met\n{ctx}");
    let report = run.report(&ctx);
    assert_eq!(sink_retries(report), 6, "sinkRetries counts every retried request\n{ctx}");
    assert_accounting(report, &ctx);
    assert_eq!(report["failures"].as_array().map(Vec::len), Some(0), "no failures\n{ctx}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_request_that_keeps_failing_fails_its_entities_and_the_run_goes_on() {
    require_specs();
    let source = shop("omsink_5xxgone").await;
    let truth = &source.truth;
    let fixture = OpenMetadataFixture::start().await;
    // The first table batch: its first try and the three retries.
    fixture.fail_next(4, 503, Some("/api/v1/tables/bulk"));
    let dir = tempfile::tempdir().unwrap();
    let run = ingest(dir.path(), &source, &fixture, &rest_sink(50, 1), &fixture.token(), "run").await;
    let ctx = context(&run, &fixture);
    assert_eq!(run.code(), Some(75), "the batch's entities failed for a cause that may pass, the run went on\n{ctx}");
    let log = fixture.requests();
    let first = requests_to(&log, "PUT", "/api/v1/tables/bulk")[0].items;

    let report = run.report(&ctx);
    let failed = failed_entities(report, &ctx);
    assert_eq!(failed.len(), first, "the {first} tables of the failed batch, each once\n{ctx}");
    assert_sink_failures(report, "503", &ctx);
    for f in report["failures"].as_array().into_iter().flatten() {
        assert_eq!(f["mayPass"], true, "a 503 after the retries may pass: {f}\n{ctx}");
    }
    assert_accounting(report, &ctx);
    assert_eq!(counts(report, "table"), (10, 10 - first as u64, first as u64), "table counts\n{ctx}");
    let failed: Vec<String> = failed.into_iter().collect();
    assert_arrived(&fixture, truth, &failed, &ctx);
    assert_no_violations(&fixture, &ctx);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lineage_request_that_keeps_failing_is_unresolved_and_the_run_finishes() {
    require_specs();
    let source = shop("omsink_lineage").await;
    let fixture = OpenMetadataFixture::start().await;
    fixture.fail_next(4, 503, Some("/api/v1/lineage"));
    let dir = tempfile::tempdir().unwrap();
    let run = ingest(dir.path(), &source, &fixture, &rest_sink(50, 2), &fixture.token(), "run").await;
    let ctx = context(&run, &fixture);
    // Every entity was written: the run must end with its report, the edge
    // it could not send listed as unresolved, not abort.
    let report = run.report(&ctx);
    assert!(matches!(run.code(), Some(0) | Some(2)), "the run finishes (exit 0 or 2), it does not abort\n{ctx}");
    let unresolved = relations_unresolved(report);
    assert_eq!(unresolved.len(), 1, "the lineage edge is unresolved: {unresolved:?}\n{ctx}");
    assert!(unresolved[0]["reason"].as_str().unwrap_or_default().contains("503"), "{:?}\n{ctx}", unresolved[0]);
    assert_eq!(counts(report, "table"), (10, 10, 0), "table counts\n{ctx}");
    assert_accounting(report, &ctx);
    assert!(fixture.lineage().is_empty(), "no edge stored\n{ctx}");
    assert_no_violations(&fixture, &ctx);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_failing_inside_a_bulk_answer_are_reported_one_by_one_and_the_rest_arrives() {
    require_specs();
    let source = shop("omsink_items").await;
    let truth = &source.truth;
    let fixture = OpenMetadataFixture::start().await;
    fixture.fail_items(["orders"]);
    let dir = tempfile::tempdir().unwrap();
    let run = ingest(dir.path(), &source, &fixture, &rest_sink(50, 2), &fixture.token(), "run").await;
    let ctx = context(&run, &fixture);
    assert_eq!(run.code(), Some(2), "a failed entity makes exit status 2\n{ctx}");

    let orders = truth.table("sales", "orders");
    let report = run.report(&ctx);
    assert_eq!(failed_entities(report, &ctx), BTreeSet::from([orders.clone()]), "only orders failed\n{ctx}");
    assert_eq!(report["failures"].as_array().map(Vec::len), Some(1), "orders failed once\n{ctx}");
    assert_sink_failures(report, "Injected failure", &ctx);
    assert_eq!(report["failures"][0].get("mayPass"), None, "a refused item will be refused again\n{ctx}");
    assert_accounting(report, &ctx);
    assert_eq!(counts(report, "table"), (10, 9, 1), "table counts\n{ctx}");
    assert_eq!(counts(report, "databaseSchema"), (3, 3, 0), "schema counts\n{ctx}");
    let touching = truth.keys_touching(std::slice::from_ref(&orders));
    assert_eq!(relations_unresolved(report).len(), touching, "the keys of and to orders are unresolved\n{ctx}");

    // order_line keeps its key to product; the one to orders cannot be sent
    // (the fixture would record a violation).
    assert_arrived(&fixture, truth, std::slice::from_ref(&orders), &ctx);
    assert_no_violations(&fixture, &ctx);
}

async fn falls_back_to_single_puts(status: u16) {
    require_specs();
    let source = shop(&format!("omsink_nobulk{status}")).await;
    let truth = &source.truth;
    let fixture = OpenMetadataFixture::start().await;
    fixture.set_bulk_route(BulkRoute::Absent(status));
    let dir = tempfile::tempdir().unwrap();
    let run = ingest(dir.path(), &source, &fixture, &rest_sink(3, 2), &fixture.token(), "run").await;
    let ctx = context(&run, &fixture);
    assert_eq!(run.code(), Some(0), "without /bulk ({status}) the sink falls back, the run succeeds\n{ctx}");
    assert_no_violations(&fixture, &ctx);
    assert_arrived(&fixture, truth, &[], &ctx);
    assert_written_once(&fixture, truth, &ctx);

    let log = fixture.requests();
    let bulk: Vec<&RequestLog> = log.iter().filter(|r| r.path.ends_with("/bulk")).collect();
    assert!(!bulk.is_empty() && bulk.iter().all(|r| r.status == status), "/bulk tried, answered {status}\n{ctx}");
    assert!(bulk.len() <= 2, "the sink remembers that /bulk is missing: {} tries\n{ctx}", bulk.len());
    let single = |collection: &str| {
        requests_to(&log, "PUT", &format!("/api/v1/{collection}")).iter().filter(|r| r.status < 300).count()
    };
    assert_eq!(single("databases"), 1, "the database by a single PUT\n{ctx}");
    assert_eq!(single("databaseSchemas"), 3, "the schemas by single PUTs\n{ctx}");
    assert_eq!(single("tables"), truth.tables.len(), "tables by single PUTs\n{ctx}");

    let report = run.report(&ctx);
    assert_accounting(report, &ctx);
    assert_eq!(counts(report, "table"), (10, 10, 0), "table counts\n{ctx}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_bulk_route_404_the_sink_puts_entities_one_by_one() {
    falls_back_to_single_puts(404).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_bulk_route_405_the_sink_puts_entities_one_by_one() {
    falls_back_to_single_puts(405).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_bulk_a_put_that_keeps_failing_fails_only_what_the_server_does_not_have() {
    require_specs();
    let source = shop("omsink_single5xx").await;
    let truth = &source.truth;
    let fixture = OpenMetadataFixture::start().await;
    fixture.set_bulk_route(BulkRoute::Absent(404));
    // Three tables go in, then one PUT fails on its first try and its three
    // retries.
    fixture.fail_after(3, 4, 503, Some("/api/v1/tables"));
    let dir = tempfile::tempdir().unwrap();
    let run = ingest(dir.path(), &source, &fixture, &rest_sink(50, 1), &fixture.token(), "run").await;
    let ctx = context(&run, &fixture);
    assert_eq!(run.code(), Some(2), "a table failed, the run went on\n{ctx}");

    let report = run.report(&ctx);
    let failed = failed_entities(report, &ctx);
    let stored = fqns(&fixture, "table");
    let both: Vec<&String> = failed.intersection(&stored).collect();
    assert!(both.is_empty(), "reported failed, yet the server has them: {both:?}\n{ctx}");
    let all: BTreeSet<String> = failed.union(&stored).cloned().collect();
    assert_eq!(all, truth.tables, "every table is stored or failed\n{ctx}");
    assert_sink_failures(report, "503", &ctx);
    assert_accounting(report, &ctx);
    let (_, written, failed_count) = counts(report, "table");
    assert_eq!((written, failed_count), (stored.len() as u64, failed.len() as u64), "table counts\n{ctx}");
    assert_no_violations(&fixture, &ctx);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn awkward_names_are_quoted_and_escaped_everywhere() {
    require_specs();
    let source = odd_names("omsink_odd").await;
    let truth = &source.truth;
    let dir = tempfile::tempdir().unwrap();

    let fixture = OpenMetadataFixture::start().await;
    let run = ingest(dir.path(), &source, &fixture, &rest_sink(50, 2), &fixture.token(), "run").await;
    let ctx = context(&run, &fixture);
    assert_eq!(run.code(), Some(0), "the run must succeed\n{ctx}");
    assert_no_violations(&fixture, &ctx);
    assert_arrived(&fixture, truth, &[], &ctx);
    assert_written_once(&fixture, truth, &ctx);
    assert_eq!(relations_unresolved(run.report(&ctx)).len(), 0, "every relation applied\n{ctx}");

    // A failed item named by the server's (quoted) FQN is matched to its
    // entity.
    let fixture = OpenMetadataFixture::start().await;
    fixture.fail_items(["dotted.table"]);
    let run = ingest(dir.path(), &source, &fixture, &rest_sink(50, 2), &fixture.token(), "failing").await;
    let ctx = context(&run, &fixture);
    assert_eq!(run.code(), Some(2), "a failed entity makes exit status 2\n{ctx}");
    let dotted = truth.table("odd.schema", "dotted.table");
    let report = run.report(&ctx);
    assert_eq!(failed_entities(report, &ctx), BTreeSet::from([dotted.clone()]), "only dotted.table failed\n{ctx}");
    assert_sink_failures(report, "Injected failure", &ctx);
    assert_accounting(report, &ctx);
    let missing = std::slice::from_ref(&dotted);
    let unresolved = relations_unresolved(report).len();
    assert_eq!(unresolved, truth.keys_touching(missing) + 1, "both keys and the edge are unresolved\n{ctx}");
    assert_arrived(&fixture, truth, missing, &ctx);
    assert_no_violations(&fixture, &ctx);
}

/// collection → FQN → the sourceHash last sent, for every entity kind that
/// carries one.
fn source_hashes(fixture: &OpenMetadataFixture, ctx: &str) -> BTreeMap<String, String> {
    let mut hashes = BTreeMap::new();
    for collection in ["database", "databaseSchema", "table"] {
        for e in fixture.entities(collection) {
            let fqn = e["fullyQualifiedName"].as_str().unwrap();
            let sent = fixture.history(collection, fqn).pop().unwrap_or_default();
            let hash =
                sent["sourceHash"].as_str().unwrap_or_else(|| panic!("{fqn} was sent no sourceHash: {sent}\n{ctx}"));
            assert!((1..=32).contains(&hash.chars().count()), "{fqn}: sourceHash {hash:?} is not 1..=32 chars\n{ctx}");
            hashes.insert(format!("{collection} {fqn}"), hash.to_string());
        }
    }
    hashes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_with_nothing_changed_sends_the_same_source_hashes() {
    require_specs();
    let source = shop("omsink_hash").await;
    let truth = &source.truth;
    let fixture = OpenMetadataFixture::start().await;
    let dir = tempfile::tempdir().unwrap();
    let first = ingest(dir.path(), &source, &fixture, &rest_sink(50, 2), &fixture.token(), "first").await;
    let ctx = context(&first, &fixture);
    assert_eq!(first.code(), Some(0), "first run\n{ctx}");
    assert_no_violations(&fixture, &ctx);
    assert_arrived(&fixture, truth, &[], &ctx);
    let before = source_hashes(&fixture, &ctx);
    assert_eq!(before.len(), 1 + 3 + 10, "every database, schema and table has a sourceHash\n{ctx}");
    let distinct: BTreeSet<&String> = before.values().collect();
    assert_eq!(distinct.len(), before.len(), "different entities, different hashes: {before:#?}\n{ctx}");
    let versions = |fixture: &OpenMetadataFixture| -> BTreeMap<String, Value> {
        ["database", "databaseSchema", "table"]
            .iter()
            .flat_map(|c| fixture.entities(c))
            .map(|e| (e["fullyQualifiedName"].as_str().unwrap().to_string(), e["version"].clone()))
            .collect()
    };
    let versions_before = versions(&fixture);
    let requests_before = fixture.requests().len();

    let second = ingest(dir.path(), &source, &fixture, &rest_sink(50, 2), &fixture.token(), "second").await;
    let ctx = context(&second, &fixture);
    assert_eq!(second.code(), Some(0), "second run\n{ctx}");
    assert_no_violations(&fixture, &ctx);
    assert_arrived(&fixture, truth, &[], &ctx);
    let after = source_hashes(&fixture, &ctx);
    assert_eq!(after, before, "nothing changed, so neither did any sourceHash\n{ctx}");
    // Nothing changed, so no entity was sent: weir kept what it sent the
    // server; the foreign keys are there, so none is patched again.
    let log = fixture.requests();
    let later = &log[requests_before..];
    // (A lineage edge is a relation: PUT again, as it is idempotent.)
    let sent: Vec<&RequestLog> = later
        .iter()
        .filter(|r| r.method == "PUT" && !r.path.contains("/services/") && r.path != "/api/v1/lineage")
        .collect();
    assert!(sent.is_empty(), "entities sent again: {:?}\n{ctx}", sent.iter().map(|r| describe(r)).collect::<Vec<_>>());
    assert!(later.iter().all(|r| r.method != "PATCH"), "keys patched again\n{ctx}");
    assert_eq!(versions(&fixture), versions_before, "nothing changed on the server\n{ctx}");
    let report = second.report(&ctx);
    let unresolved = relations_unresolved(report);
    assert!(unresolved.is_empty(), "the keys of unchanged tables are the server's to check: {unresolved:?}\n{ctx}");
    for kind in report["kinds"].as_array().unwrap() {
        assert_eq!(kind["written"], 0, "{kind}\n{ctx}");
        assert_eq!(kind["unchanged"], kind["found"], "{kind}\n{ctx}");
    }
    assert_accounting(second.report(&ctx), &ctx);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_fails_the_run_clearly_and_never_shows_the_token() {
    require_specs();
    let source = shop("omsink_401").await;
    let fixture = OpenMetadataFixture::start().await;
    let wrong = "wrong-token-Qx7Lm2Vz9Kp4";
    assert_ne!(wrong, fixture.token());
    let dir = tempfile::tempdir().unwrap();
    let run = ingest(dir.path(), &source, &fixture, &rest_sink(50, 2), wrong, "run").await;
    let ctx = context(&run, &fixture);
    assert_eq!(run.code(), Some(1), "a 401 fails the run, and retrying will not help\n{ctx}");

    let output = format!("{}\n{}", run.stdout(), run.stderr());
    let mentions: Vec<&str> = output
        .lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("401") || l.contains("unauthorized") || l.contains("not authorized")
        })
        .collect();
    assert!(!mentions.is_empty(), "no line says 401 / unauthorized\n{ctx}");
    assert!(mentions.len() <= 3, "one clear error, not one per entity: {} lines\n{ctx}", mentions.len());

    for (what, haystack) in
        [("stdout", run.stdout()), ("stderr", run.stderr()), ("report", run.report_text.clone().unwrap_or_default())]
    {
        assert!(!haystack.contains(wrong), "the token appears in {what}\n{ctx}");
    }
    let unauthorized = fixture.requests().iter().filter(|r| r.status == 401).count();
    assert!(unauthorized >= 1, "the fixture saw the token\n{ctx}");
    assert!(unauthorized <= 4, "a 401 is not retried: {unauthorized} requests answered 401\n{ctx}");
    assert!(fixture.entities("table").is_empty(), "nothing is written with a wrong token\n{ctx}");
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_slow_server_the_writers_overlap_and_everything_arrives() {
    require_specs();
    let source = shop("omsink_slow").await;
    let fixture = OpenMetadataFixture::start().await;
    fixture.set_latency(Duration::from_millis(150));
    let dir = tempfile::tempdir().unwrap();
    // One table per request, four writers: table requests must overlap.
    let run = ingest(dir.path(), &source, &fixture, &rest_sink(1, 4), &fixture.token(), "run").await;
    let ctx = context(&run, &fixture);
    assert_eq!(run.code(), Some(0), "{ctx}");
    assert_no_violations(&fixture, &ctx);
    assert_arrived(&fixture, &source.truth, &[], &ctx);
    assert_accounting(run.report(&ctx), &ctx);

    let log = fixture.requests();
    let tables = requests_to(&log, "PUT", "/api/v1/tables/bulk");
    // In flight at the moment each request started: the peak is at one of
    // those moments.
    let most_at_once = tables
        .iter()
        .map(|r| tables.iter().filter(|o| o.at <= r.at && r.at < o.at + o.elapsed).count())
        .max()
        .unwrap_or(0);
    assert!(most_at_once >= 3, "at most {most_at_once} table requests were in flight at once with 4 writers\n{ctx}");
    assert!(most_at_once <= 4, "{most_at_once} table requests at once: more than the 4 writers allowed\n{ctx}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_gone_from_the_source_is_soft_deleted_once_after_a_clean_run_and_restored_when_back() {
    require_specs();
    let source = shop("omsink_gone").await;
    let truth = &source.truth;
    let fixture = OpenMetadataFixture::start().await;
    let dir = tempfile::tempdir().unwrap();
    let sink = rest_sink(50, 2);
    let department = truth.table("hr", "department");
    let deletes = |fixture: &OpenMetadataFixture| -> Vec<RequestLog> {
        fixture.requests().into_iter().filter(|r| r.method == "DELETE").collect()
    };
    let first = ingest(dir.path(), &source, &fixture, &sink, &fixture.token(), "first").await;
    let ctx = context(&first, &fixture);
    assert_eq!(first.code(), Some(0), "{ctx}");

    // A run with a failure marks nothing: the failed entity may be the one
    // not listed.
    source.db.run("DROP TABLE hr.department; ALTER TABLE inventory.stock ADD COLUMN note text").await;
    fixture.fail_items(["stock"]);
    let failed = ingest(dir.path(), &source, &fixture, &sink, &fixture.token(), "failed").await;
    let ctx = context(&failed, &fixture);
    assert_eq!(failed.code(), Some(2), "{ctx}");
    assert!(deletes(&fixture).is_empty(), "nothing is marked after a failure\n{ctx}");
    let warnings = failed.report(&ctx)["warnings"].to_string();
    assert!(warnings.contains("not marked deleted") && warnings.contains("failed"), "it says why: {warnings}\n{ctx}");
    fixture.clear_faults();

    let clean = ingest(dir.path(), &source, &fixture, &sink, &fixture.token(), "clean").await;
    let ctx = context(&clean, &fixture);
    assert_eq!(clean.code(), Some(0), "{ctx}");
    assert_no_violations(&fixture, &ctx);
    let sent = deletes(&fixture);
    assert_eq!(
        sent.len(),
        1,
        "one DELETE, for the one table gone: {:?}\n{ctx}",
        sent.iter().map(describe).collect::<Vec<_>>()
    );
    assert!(sent[0].path.ends_with(&format!("/tables/name/{department}")), "{}\n{ctx}", describe(&sent[0]));
    assert_eq!(query_param(&sent[0].query, "hardDelete"), Some("false"), "a soft delete\n{ctx}");
    assert_eq!(fixture.get("tables", &department).unwrap()["deleted"], true, "{ctx}");
    let report = clean.report(&ctx);
    assert_eq!(report["markedDeleted"][0]["fqn"], department.as_str(), "{ctx}");
    assert_eq!(counts(report, "table").1, 1, "only stock, which failed before, is sent again\n{ctx}");

    // Nothing more to mark on the next run; back in the source, it is sent
    // again and the server restores it.
    let quiet = ingest(dir.path(), &source, &fixture, &sink, &fixture.token(), "quiet").await;
    assert_eq!(quiet.code(), Some(0), "{}", context(&quiet, &fixture));
    assert_eq!(deletes(&fixture).len(), 1, "marked once");
    source.db.run("CREATE TABLE hr.department (id integer PRIMARY KEY, name text)").await;
    let back = ingest(dir.path(), &source, &fixture, &sink, &fixture.token(), "back").await;
    let ctx = context(&back, &fixture);
    assert_eq!(back.code(), Some(0), "{ctx}");
    assert_no_violations(&fixture, &ctx);
    assert_eq!(counts(back.report(&ctx), "table").1, 1, "the table that came back is sent\n{ctx}");
    assert_ne!(fixture.get("tables", &department).unwrap()["deleted"], true, "restored\n{ctx}");
}

/// With `ingestionPipelineFQN` and `pipelineRunId`, the run shows on its
/// ingestion pipeline in OpenMetadata as OpenMetadata's own ingestion does:
/// `running`, then the final state under the same run id, with a summary of
/// the source and sink steps; a pipeline the server does not have is a
/// warning, not a failed run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_reports_its_status_to_its_ingestion_pipeline_running_then_its_outcome() {
    require_specs();
    let source = shop("omsink_status").await;
    let fixture = OpenMetadataFixture::start().await;
    let pipeline = format!("{SERVICE}.weir_metadata");
    fixture.add_ingestion_pipeline(&pipeline);
    let dir = tempfile::tempdir().unwrap();
    let with_pipeline = |fqn: &str, run: &str| {
        workflow_yaml(&source, &fixture, &rest_sink(50, 2)).replacen(
            "workflowConfig:\n",
            &format!("workflowConfig:\n  ingestionPipelineFQN: \"{fqn}\"\n  pipelineRunId: {run}\n"),
            1,
        )
    };
    let first_run = "6f0d7b36-1c1e-4d5e-9a51-0c3b1a7d2e01";
    let run = ingest_yaml(dir.path(), &with_pipeline(&pipeline, first_run), &fixture.token(), "first").await;
    let ctx = context(&run, &fixture);
    assert_eq!(run.code(), Some(0), "{ctx}");
    let puts = fixture.ingestion_status_puts(&pipeline);
    let states: Vec<&str> = puts.iter().map(|p| p["pipelineState"].as_str().unwrap()).collect();
    assert_eq!(states, ["running", "success"], "{puts:?}");
    assert!(puts.iter().all(|p| p["runId"] == first_run), "one run id throughout: {puts:?}");
    let statuses = fixture.ingestion_statuses(&pipeline);
    assert_eq!(statuses.len(), 1, "the final status replaced the running one: {statuses:?}");
    let status = &statuses[0];
    assert!(status["endDate"].as_i64() >= status["startDate"].as_i64(), "{status}");
    let steps = status["status"].as_array().unwrap();
    let step = |name: &str| steps.iter().find(|s| s["name"] == name).unwrap_or_else(|| panic!("{name}: {status}"));
    let report = run.report(&ctx);
    let written: u64 = report["kinds"].as_array().unwrap().iter().map(|k| k["written"].as_u64().unwrap()).sum();
    assert_eq!(step("Postgres")["records"], written, "{status}");
    assert_eq!(step("Postgres")["errors"], 0, "{status}");
    assert_eq!(step("OpenMetadata")["records"], written, "{status}");
    assert_eq!(step("Postgres")["progress"]["table"]["processed"], 10, "{status}");
    // weir's run id is OpenMetadata's.
    assert_eq!(report["runId"], first_run);

    // A run with a failure: partialSuccess (one of 14 entities is under
    // OpenMetadata's 10% threshold), the failure named in the source step.
    fixture.fail_items(["orders"]);
    let second_run = "0b7e2c55-8f3a-4c2d-b6e9-5a1f0d9c3b77";
    // (Sent again in full: unchanged entities would not reach the failing item.)
    let full = with_pipeline(&pipeline, second_run).replacen(
        "type: DatabaseMetadata\n",
        "type: DatabaseMetadata\n      overrideMetadata: true\n",
        1,
    );
    let run = ingest_yaml(dir.path(), &full, &fixture.token(), "second").await;
    let ctx = context(&run, &fixture);
    assert_eq!(run.code(), Some(2), "{ctx}");
    let statuses = fixture.ingestion_statuses(&pipeline);
    assert_eq!(statuses.len(), 2, "one status per run: {statuses:?}");
    assert_eq!((&statuses[1]["runId"], &statuses[1]["pipelineState"]), (&second_run.into(), &"partialSuccess".into()));
    let source_step = &statuses[1]["status"][0];
    assert_eq!(source_step["errors"], 1, "{source_step}");
    assert!(source_step["failures"][0]["name"].as_str().unwrap().ends_with("orders"), "{source_step}");
    fixture.clear_faults();

    // A pipeline OpenMetadata does not have: the run is written all the
    // same, and the report says the status could not be sent.
    let run =
        ingest_yaml(dir.path(), &with_pipeline(&format!("{SERVICE}.nobody"), first_run), &fixture.token(), "third")
            .await;
    let ctx = context(&run, &fixture);
    assert_eq!(run.code(), Some(0), "{ctx}");
    let warnings = run.report(&ctx)["warnings"].to_string();
    assert!(warnings.contains("could not be reported") && warnings.contains("not found"), "{warnings}");
    assert_no_violations(&fixture, &ctx);
}
