//! Awkward schemas: identifiers with dots, spaces, quotes, unicode and
//! mixed case, reserved words, 1,600 columns, no columns, views over views,
//! a very long view definition, comments with newlines and quotes. FQNs
//! follow OpenMetadata's quoting; a name OpenMetadata cannot hold fails on
//! its own, with a reason, and the run goes on.

use crate::common;

use common::{TestDb, export_all, text, weir, workflow};
use serde_json::Value;
use sqlx::{Connection, PgConnection};

fn schema_sql() -> String {
    let wide: Vec<String> = (1..=1600).map(|i| format!("c{i} int")).collect();
    let long_select: Vec<String> =
        (1..=1000).map(|i| format!("CASE WHEN id > {i} THEN 'label number {i}' ELSE NULL END AS expr_{i}")).collect();
    format!(
        r#"
CREATE SCHEMA "sales.eu";
CREATE TABLE "sales.eu"."My.Table" (id int PRIMARY KEY, "Sales Data" text);
CREATE TABLE public."Sales Data" (id int);
CREATE TABLE public."CamelCase" (id int);
CREATE TABLE public.camelcase (id int);
CREATE TABLE public."select" ("from" int, "where" text, "order" boolean);
CREATE TABLE public."Größe_表" ("名前" text, "ÄÖÜ" int);
CREATE TABLE public."bad""name" (id int);
CREATE TABLE public.wide ({wide});
CREATE TABLE public.empty ();
CREATE TABLE public.base (id int, label text);
CREATE VIEW public.v1 AS SELECT id, label FROM public.base;
CREATE VIEW public.v2 AS SELECT id FROM public.v1 WHERE id > 0;
CREATE VIEW public.long_view AS SELECT {long} FROM public.base;
COMMENT ON TABLE public.base IS E'first line\nsecond "quoted" line, it''s fine';
COMMENT ON COLUMN public.base.label IS E'tab\there; back\\slash';
CREATE TABLE "sales.eu".orders (id int, my_id int REFERENCES "sales.eu"."My.Table" (id));
"#,
        wide = wide.join(", "),
        long = long_select.join(", ")
    )
}

fn find<'a>(entities: &'a [Value], fqn: &str) -> &'a Value {
    let names: Vec<&str> = entities.iter().filter_map(|e| e["fqn"].as_str()).collect();
    entities
        .iter()
        .find(|e| e["fqn"] == fqn)
        .map(|e| &e["document"])
        .unwrap_or_else(|| panic!("{fqn} not in {names:#?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn awkward_names_and_shapes_come_out_exact() {
    let db = TestDb::create("edge").await;
    db.run(&schema_sql()).await;
    let dir = tempfile::tempdir().unwrap();
    let wf = workflow(
        dir.path(),
        &format!(
            "source:\n  type: postgres\n  serviceName: edge\n  serviceConnection:\n    config:\n      hostPort: \"{}\"\n      username: {}\n      database: {}\n",
            db.host_port(),
            db.user(),
            db.name
        ),
    );
    let report = dir.path().join("report.json");
    let out = weir(
        dir.path(),
        &["--catalog", "c.db", "ingest", "-c", wf.to_str().unwrap(), "--report", report.to_str().unwrap()],
        &[],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "one entity fails, the rest are written:\n{stdout}\n{}", text(&out.stderr));
    let report: Value = serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    let failures = report["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "only the name with a double quote fails: {failures:#?}");
    let reason = failures[0]["reason"].as_str().unwrap();
    assert!(reason.contains("double quote") && reason.contains(r#"bad"name"#), "{reason}");

    let entities = export_all(dir.path(), "c.db");
    let p = format!("edge.{}", db.name);
    let my_table = find(&entities, &format!(r#"{p}."sales.eu"."My.Table""#));
    assert_eq!(my_table["name"], "My.Table");
    assert_eq!(my_table["databaseSchema"], format!(r#"{p}."sales.eu""#));
    find(&entities, &format!(r#"{p}."sales.eu""#));
    find(&entities, &format!("{p}.public.Sales Data"));
    find(&entities, &format!("{p}.public.CamelCase"));
    find(&entities, &format!("{p}.public.camelcase"));
    let reserved = find(&entities, &format!("{p}.public.select"));
    let names: Vec<&str> =
        reserved["columns"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["from", "where", "order"]);
    let unicode = find(&entities, &format!("{p}.public.Größe_表"));
    assert_eq!(unicode["columns"][0]["name"], "名前");

    let wide = find(&entities, &format!("{p}.public.wide"));
    let columns = wide["columns"].as_array().unwrap();
    assert_eq!(columns.len(), 1600);
    assert_eq!(columns[1599]["name"], "c1600");
    assert_eq!(columns[1599]["ordinalPosition"], 1600);
    assert_eq!(find(&entities, &format!("{p}.public.empty"))["columns"], serde_json::json!([]));

    let base = find(&entities, &format!("{p}.public.base"));
    assert_eq!(base["description"], "first line\nsecond \"quoted\" line, it's fine");
    assert_eq!(base["columns"][1]["description"], "tab\there; back\\slash");
    let v2 = find(&entities, &format!("{p}.public.v2"));
    assert_eq!(v2["tableType"], "View");
    assert!(v2["schemaDefinition"].as_str().unwrap().contains("v1"), "{v2}");

    // The full view text, not a prefix of it.
    let mut conn = PgConnection::connect(&db.url()).await.unwrap();
    let definition: String = sqlx::query_scalar("SELECT pg_get_viewdef('public.long_view'::regclass, true)")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let long_view = find(&entities, &format!("{p}.public.long_view"));
    let stored = long_view["schemaDefinition"].as_str().unwrap();
    assert!(definition.len() > 40_000, "the fixture is long: {}", definition.len());
    assert_eq!(stored.trim(), definition.trim());
    assert_eq!(long_view["columns"].as_array().unwrap().len(), 1000);

    // A foreign key into a dotted schema refers to the quoted FQN.
    let orders = find(&entities, &format!(r#"{p}."sales.eu".orders"#));
    let fk =
        orders["tableConstraints"].as_array().unwrap().iter().find(|c| c["constraintType"] == "FOREIGN_KEY").unwrap();
    assert_eq!(fk["referredColumns"], serde_json::json!([format!(r#"{p}."sales.eu"."My.Table".id"#)]));
}
