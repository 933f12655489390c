//! Every document the catalog exports must be a valid OpenMetadata Create*
//! request: checked against OpenMetadata's own JSON Schemas in
//! `../shared/specs/openmetadata/`.

use crate::common;

use common::{TestDb, export_all, text, weir, workflow};
use serde_json::Value;
use weir_fixtures::openmetadata::{require_specs, validator};

/// Checks every exported entity against the schema of its kind.
fn assert_valid(entities: &[Value]) {
    let validators = [
        ("database", validator("api/data/createDatabase.json")),
        ("databaseSchema", validator("api/data/createDatabaseSchema.json")),
        ("table", validator("api/data/createTable.json")),
        ("storedProcedure", validator("api/data/createStoredProcedure.json")),
    ];
    // The validator must be able to say no: an unknown dataType fails.
    let bad =
        serde_json::json!({"name": "t", "databaseSchema": "s.d.x", "columns": [{"name": "c", "dataType": "NOPE"}]});
    assert!(!validators[2].1.is_valid(&bad), "the CreateTable schema accepted an unknown dataType");
    let mut checked = 0;
    for entity in entities {
        let kind = entity["kind"].as_str().unwrap();
        let Some((_, v)) = validators.iter().find(|(k, _)| *k == kind) else { continue };
        let errors: Vec<String> =
            v.iter_errors(&entity["document"]).map(|e| format!("{} at {}", e, e.instance_path)).collect();
        assert!(errors.is_empty(), "{} is not a valid {kind} request: {errors:?}", entity["fqn"]);
        checked += 1;
    }
    assert!(checked > 0, "nothing was checked");
}

#[test]
fn demo_documents_are_valid_openmetadata_requests() {
    require_specs();
    let dir = tempfile::tempdir().unwrap();
    assert!(weir(dir.path(), &["quickstart"], &[]).status.success());
    assert_valid(&export_all(dir.path(), "weir.db"));
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_documents_are_valid_openmetadata_requests() {
    require_specs();
    let db = TestDb::create("om_docs").await;
    db.run(
        "CREATE TYPE mood AS ENUM ('sad', 'ok');
         CREATE DOMAIN short_text AS varchar(20);
         CREATE TABLE every_type (
             a smallint, b integer PRIMARY KEY, c bigint, d real, e double precision, f numeric(10,3),
             g numeric, h varchar(50), i varchar, j char(3), k text, l boolean, m date, n time,
             o timestamp, p timestamptz, q interval, r bytea, s json, t jsonb, u uuid, v inet,
             w int[], x text[][], y mood, z short_text, aa int4range, bb xml, cc money, dd bit(4)
         );
         COMMENT ON TABLE every_type IS 'Has ''quotes'' and
         a newline';
         CREATE MATERIALIZED VIEW mv AS SELECT b, k FROM every_type;
         CREATE TABLE parted (id int, at date) PARTITION BY RANGE (at);
         CREATE TABLE parted_2024 PARTITION OF parted FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
         CREATE FUNCTION twice(x int) RETURNS int LANGUAGE sql AS 'SELECT 2 * x';
         CREATE FUNCTION twice(x mood) RETURNS text LANGUAGE plpgsql AS $$ BEGIN RETURN x::text || x::text; END $$;",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let wf = workflow(
        dir.path(),
        &format!(
            "source:\n  type: postgres\n  serviceName: om\n  serviceConnection:\n    config:\n      hostPort: \"{}\"\n      username: {}\n      database: {}\n",
            db.host_port(),
            db.user(),
            db.name
        ),
    );
    let out = weir(dir.path(), &["--catalog", "c.db", "ingest", "-c", wf.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let entities = export_all(dir.path(), "c.db");
    assert!(entities.iter().any(|e| e["document"]["tableType"] == "MaterializedView"));
    assert_eq!(entities.iter().filter(|e| e["kind"] == "storedProcedure").count(), 2, "both overloads");
    assert!(entities.iter().any(|e| e["document"]["tablePartition"].is_object()), "a partitioned table is checked");
    assert_valid(&entities);
}
