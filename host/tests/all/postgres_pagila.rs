//! The public pagila sample, ingested and compared with what pg_catalog
//! says: every table, view and materialized view; every column in order
//! with its format_type text and nullability; every primary and foreign
//! key. Zero differences.

use crate::common;

use common::{TestDb, export_all, text, weir, workflow};
use serde_json::Value;
use sqlx::{Connection, PgConnection, Row};
use std::collections::BTreeSet;
use std::path::Path;

/// The pagila schema from the shared folder; a missing file fails the test,
/// which would otherwise prove nothing.
fn pagila_schema() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/pagila/pagila-schema.sql");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "pagila's schema is not readable at {} ({e}): the test needs the shared folder beside the project",
            path.display()
        )
    })
}

/// A relation as both sides describe it.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
struct Relation {
    schema: String,
    name: String,
    table_type: String,
    /// (name, format_type, not null) in ordinal order.
    columns: Vec<(String, String, bool)>,
    primary_key: Vec<String>,
}

/// (schema, table, columns, referred schema, referred table, referred columns)
type ForeignKey = (String, String, Vec<String>, String, String, Vec<String>);

async fn from_pg_catalog(db: &TestDb) -> (BTreeSet<Relation>, BTreeSet<ForeignKey>) {
    let mut conn = PgConnection::connect(&db.url()).await.unwrap();
    let relations = sqlx::query(
        "SELECT c.oid::int8 AS oid, n.nspname::text AS schema, c.relname::text AS name, c.relkind::text AS kind
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r','p','v','m','f') AND NOT c.relispartition
           AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut out = BTreeSet::new();
    for r in &relations {
        let oid: i64 = r.get("oid");
        let columns = sqlx::query(
            "SELECT attname::text AS name, format_type(atttypid, atttypmod) AS ty, attnotnull AS nn
             FROM pg_attribute WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        )
        .bind(oid)
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .iter()
        .map(|c| (c.get::<String, _>("name"), c.get::<String, _>("ty"), c.get::<bool, _>("nn")))
        .collect();
        let primary_key: Vec<String> = sqlx::query_scalar(
            "SELECT a.attname::text FROM pg_constraint k
             CROSS JOIN LATERAL unnest(k.conkey) WITH ORDINALITY u(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum
             WHERE k.conrelid = $1::oid AND k.contype = 'p' ORDER BY u.ord",
        )
        .bind(oid)
        .fetch_all(&mut conn)
        .await
        .unwrap();
        let kind: String = r.get("kind");
        let table_type = match kind.as_str() {
            "r" => "Regular",
            "p" => "Partitioned",
            "v" => "View",
            "m" => "MaterializedView",
            _ => "Foreign",
        };
        out.insert(Relation {
            schema: r.get("schema"),
            name: r.get("name"),
            table_type: table_type.into(),
            columns,
            primary_key,
        });
    }
    let keys = sqlx::query(
        "SELECT n.nspname::text AS s, c.relname::text AS t, rn.nspname::text AS rs, rc.relname::text AS rt,
                (SELECT array_agg(a.attname::text ORDER BY u.ord) FROM unnest(k.conkey) WITH ORDINALITY u(n, ord)
                   JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n) AS cols,
                (SELECT array_agg(a.attname::text ORDER BY u.ord) FROM unnest(k.confkey) WITH ORDINALITY u(n, ord)
                   JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n) AS rcols
         FROM pg_constraint k
         JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_class rc ON rc.oid = k.confrelid JOIN pg_namespace rn ON rn.oid = rc.relnamespace
         WHERE k.contype = 'f' AND NOT c.relispartition AND k.conparentid = 0",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap()
    .iter()
    .map(|k| (k.get("s"), k.get("t"), k.get("cols"), k.get("rs"), k.get("rt"), k.get("rcols")))
    .collect();
    conn.close().await.unwrap();
    (out, keys)
}

fn from_catalog(entities: &[Value], prefix: &str) -> (BTreeSet<Relation>, BTreeSet<ForeignKey>) {
    let mut relations = BTreeSet::new();
    let mut keys = BTreeSet::new();
    for e in entities.iter().filter(|e| e["kind"] == "table") {
        let fqn = e["fqn"].as_str().unwrap();
        let doc = &e["document"];
        let facts = e_extra(e);
        let parts = weir::model::fqn::split(fqn.strip_prefix(prefix).unwrap().trim_start_matches('.'));
        let (schema, name) = (parts[0].clone(), parts[1].clone());
        let columns: Vec<(String, String, bool)> = doc["columns"]
            .as_array()
            .unwrap()
            .iter()
            .zip(facts["columns"].as_array().unwrap())
            .map(|(c, f)| {
                assert_eq!(c["name"], f["name"]);
                let not_null = !f["nullable"].as_bool().unwrap();
                (c["name"].as_str().unwrap().into(), c["dataTypeDisplay"].as_str().unwrap().into(), not_null)
            })
            .collect();
        let constraints = doc["tableConstraints"].as_array().cloned().unwrap_or_default();
        let mut primary_key: Vec<String> = doc["columns"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["constraint"] == "PRIMARY_KEY")
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect();
        for c in &constraints {
            let names = || c["columns"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
            match c["constraintType"].as_str().unwrap() {
                "PRIMARY_KEY" => primary_key = names(),
                "FOREIGN_KEY" => {
                    let referred: Vec<Vec<String>> = c["referredColumns"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| {
                            weir::model::fqn::split(
                                r.as_str().unwrap().strip_prefix(prefix).unwrap().trim_start_matches('.'),
                            )
                        })
                        .collect();
                    let (rs, rt) = (referred[0][0].clone(), referred[0][1].clone());
                    let rcols = referred.iter().map(|p| p[2].clone()).collect();
                    keys.insert((schema.clone(), name.clone(), names(), rs, rt, rcols));
                }
                _ => {}
            }
        }
        let table_type = doc["tableType"].as_str().unwrap().to_string();
        relations.insert(Relation { schema, name, table_type, columns, primary_key });
    }
    (relations, keys)
}

fn e_extra(e: &Value) -> Value {
    e.get("extra").cloned().unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread")]
async fn pagila_matches_pg_catalog_exactly() {
    let schema = pagila_schema();
    let db = TestDb::create("pagila").await;
    db.run(&schema).await;
    let dir = tempfile::tempdir().unwrap();
    let wf = workflow(
        dir.path(),
        &format!(
            "source:\n  type: postgres\n  serviceName: pagila\n  serviceConnection:\n    config:\n      hostPort: \"{}\"\n      username: {}\n      database: {}\n",
            db.host_port(),
            db.user(),
            db.name
        ),
    );
    let out = weir(dir.path(), &["--catalog", "c.db", "ingest", "-c", wf.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));

    // `catalog export --kind all` has no `extra`; `show` has. Read both.
    let mut entities = export_all(dir.path(), "c.db");
    for e in entities.iter_mut().filter(|e| e["kind"] == "table") {
        e["extra"] = common::show(dir.path(), "c.db", e["fqn"].as_str().unwrap())["extra"].clone();
    }
    let prefix = format!("pagila.{}", db.name);
    let (expected_relations, expected_keys) = from_pg_catalog(&db).await;
    let (relations, keys) = from_catalog(&entities, &prefix);

    let names = |set: &BTreeSet<Relation>| set.iter().map(|r| format!("{}.{}", r.schema, r.name)).collect::<Vec<_>>();
    assert_eq!(names(&relations), names(&expected_relations), "the same tables, views and materialized views");
    for (got, want) in relations.iter().zip(&expected_relations) {
        assert_eq!(got, want, "{}.{} differs from pg_catalog", want.schema, want.name);
    }
    assert_eq!(keys, expected_keys, "foreign keys differ from pg_catalog");
    assert!(expected_relations.len() >= 20 && expected_keys.len() >= 10, "pagila loaded: {}", expected_relations.len());
}
