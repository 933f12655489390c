//! End to end on a real PostgreSQL: `weir ingest` of a database with
//! several schemas, keys (one composite), a view and comments; the catalog
//! must hold exactly what is there, and a second run must change nothing.

use crate::common;

use common::{TestDb, export_all, text, weir, workflow};
use serde_json::Value;

const SCHEMA: &str = r#"
CREATE SCHEMA sales;
CREATE SCHEMA hr;
COMMENT ON SCHEMA sales IS 'Orders and customers';

CREATE TABLE sales.customer (
    id         bigint PRIMARY KEY,
    email      varchar(200) NOT NULL UNIQUE,
    name       text,
    balance    numeric(12,2) DEFAULT 0 CHECK (balance >= 0)
);
COMMENT ON TABLE sales.customer IS 'People who buy';
COMMENT ON COLUMN sales.customer.email IS 'Login, unique';

CREATE TABLE sales.region (
    country  char(2) NOT NULL,
    code     integer NOT NULL,
    label    text,
    PRIMARY KEY (country, code)
);

CREATE TABLE sales.orders (
    id          serial PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES sales.customer (id),
    country     char(2) NOT NULL,
    region_code integer NOT NULL,
    placed_at   timestamptz NOT NULL DEFAULT now(),
    tags        text[],
    FOREIGN KEY (country, region_code) REFERENCES sales.region (country, code)
);

CREATE TABLE hr.employee (
    id      integer PRIMARY KEY,
    manager integer REFERENCES hr.employee (id),
    served  bigint REFERENCES sales.customer (id),
    active  boolean NOT NULL
);

CREATE VIEW sales.big_customers AS SELECT id, email FROM sales.customer WHERE balance > 1000;
"#;

fn workflow_yaml(db: &TestDb, catalog: &str) -> String {
    format!(
        r#"
source:
  type: postgres
  serviceName: pg_e2e
  serviceConnection:
    config:
      type: Postgres
      hostPort: "{host_port}"
      username: {user}
      authType:
        password: ${{env:WEIR_TEST_PASSWORD}}
      database: {db}
  sourceConfig:
    config:
      type: DatabaseMetadata
      schemaFilterPattern:
        includes: ["^sales$", "^hr$"]
sink:
  type: catalog
  config:
    path: {catalog}
"#,
        host_port = db.host_port(),
        user = db.user(),
        db = db.name
    )
}

fn table<'a>(entities: &'a [Value], fqn: &str) -> &'a Value {
    let found = entities.iter().find(|e| e["fqn"] == fqn);
    found.unwrap_or_else(|| panic!("{fqn} is not in the catalog")).get("document").unwrap()
}

/// (name, dataType, dataTypeDisplay, constraint) of every column, in order.
fn columns(doc: &Value) -> Vec<(String, String, String, String)> {
    doc["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            (s("name"), s("dataType"), s("dataTypeDisplay"), s("constraint"))
        })
        .collect()
}

fn col(name: &str, ty: &str, display: &str, constraint: &str) -> (String, String, String, String) {
    (name.into(), ty.into(), display.into(), constraint.into())
}

#[tokio::test(flavor = "multi_thread")]
async fn ingests_a_real_database_exactly_and_idempotently() {
    let db = TestDb::create("e2e").await;
    db.run(SCHEMA).await;
    // public holds a table the schema filter must leave out.
    db.run("CREATE TABLE public.ignored (x int)").await;
    let dir = tempfile::tempdir().unwrap();
    let wf = workflow(dir.path(), &workflow_yaml(&db, "catalog.db"));
    let wf = wf.to_str().unwrap();
    let env = [("WEIR_TEST_PASSWORD", "not-needed-with-trust")];

    let report_path = dir.path().join("report.json");
    let first = weir(dir.path(), &["ingest", "-c", wf, "--report", report_path.to_str().unwrap()], &env);
    assert!(first.status.success(), "ingest failed:\n{}\n{}", text(&first.stdout), text(&first.stderr));
    let catalog = dir.path().join("catalog.db");
    let catalog = catalog.to_str().unwrap();
    let entities = export_all(dir.path(), catalog);

    let service = "pg_e2e";
    let prefix = format!("{service}.{}", db.name);
    let mut tables: Vec<&str> =
        entities.iter().filter(|e| e["kind"] == "table").map(|e| e["fqn"].as_str().unwrap()).collect();
    tables.sort();
    let expected: Vec<String> =
        ["hr.employee", "sales.big_customers", "sales.customer", "sales.orders", "sales.region"]
            .iter()
            .map(|t| format!("{prefix}.{t}"))
            .collect();
    assert_eq!(tables, expected.iter().map(String::as_str).collect::<Vec<_>>());
    let schemas: Vec<&str> =
        entities.iter().filter(|e| e["kind"] == "databaseSchema").map(|e| e["fqn"].as_str().unwrap()).collect();
    assert_eq!(schemas.len(), 2, "only sales and hr pass the filter: {schemas:?}");
    let sales = entities.iter().find(|e| e["fqn"] == format!("{prefix}.sales")).unwrap();
    assert_eq!(sales["document"]["description"], "Orders and customers");

    // The schema filter is pushed into the catalog queries: public's table
    // is never even discovered.
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    let counts = report["kinds"].as_array().unwrap().iter().find(|k| k["kind"] == "table").unwrap();
    assert_eq!((counts["found"].as_u64(), counts["filtered"].as_u64()), (Some(5), Some(0)), "{counts}");

    // Defaults and checks, which OpenMetadata's request has no field for,
    // are kept beside it.
    let extra = common::show(dir.path(), catalog, &format!("{prefix}.sales.customer"))["extra"].clone();
    assert_eq!(extra["columns"][3]["default"], "0");
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&db.url()).await.unwrap();
    let check: String = sqlx::query_scalar(
        "SELECT pg_get_constraintdef(oid, true) FROM pg_constraint WHERE conrelid = 'sales.customer'::regclass AND contype = 'c'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(extra["checkConstraints"][0]["expression"], check.as_str());

    let customer = table(&entities, &format!("{prefix}.sales.customer"));
    assert_eq!(customer["description"], "People who buy");
    assert_eq!(customer["tableType"], "Regular");
    assert_eq!(
        columns(customer),
        vec![
            col("id", "BIGINT", "bigint", "PRIMARY_KEY"),
            col("email", "VARCHAR", "character varying(200)", "UNIQUE"),
            col("name", "TEXT", "text", "NULL"),
            col("balance", "NUMERIC", "numeric(12,2)", "NULL"),
        ]
    );
    assert_eq!(customer["columns"][1]["dataLength"], 200);
    assert_eq!(customer["columns"][1]["description"], "Login, unique");
    assert_eq!(customer["columns"][3]["precision"], 12);
    assert_eq!(customer["columns"][3]["scale"], 2);

    let region = table(&entities, &format!("{prefix}.sales.region"));
    let constraints = region["tableConstraints"].as_array().unwrap();
    assert!(
        constraints
            .iter()
            .any(|c| c["constraintType"] == "PRIMARY_KEY" && c["columns"] == serde_json::json!(["country", "code"])),
        "composite primary key missing: {constraints:?}"
    );

    let orders = table(&entities, &format!("{prefix}.sales.orders"));
    assert_eq!(
        columns(orders),
        vec![
            col("id", "INT", "integer", "PRIMARY_KEY"),
            col("customer_id", "BIGINT", "bigint", "NOT_NULL"),
            col("country", "CHAR", "character(2)", "NOT_NULL"),
            col("region_code", "INT", "integer", "NOT_NULL"),
            col("placed_at", "TIMESTAMPZ", "timestamp with time zone", "NOT_NULL"),
            col("tags", "ARRAY", "text[]", "NULL"),
        ]
    );
    assert_eq!(orders["columns"][5]["arrayDataType"], "TEXT");
    let fks: Vec<&Value> = orders["tableConstraints"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["constraintType"] == "FOREIGN_KEY")
        .collect();
    assert_eq!(fks.len(), 2, "orders has two foreign keys: {fks:?}");
    let composite = fks.iter().find(|c| c["columns"] == serde_json::json!(["country", "region_code"])).unwrap();
    assert_eq!(
        composite["referredColumns"],
        serde_json::json!([format!("{prefix}.sales.region.country"), format!("{prefix}.sales.region.code")])
    );

    let employee = table(&entities, &format!("{prefix}.hr.employee"));
    let referred: Vec<String> = employee["tableConstraints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["referredColumns"][0].as_str().unwrap().to_string())
        .collect();
    assert!(referred.contains(&format!("{prefix}.hr.employee.id")), "self reference: {referred:?}");
    assert!(referred.contains(&format!("{prefix}.sales.customer.id")), "cross-schema reference: {referred:?}");

    let view = table(&entities, &format!("{prefix}.sales.big_customers"));
    assert_eq!(view["tableType"], "View");
    let definition = view["schemaDefinition"].as_str().unwrap();
    assert!(definition.contains("balance > "), "view definition: {definition}");
    assert_eq!(columns(view).len(), 2);

    // A second run leaves the same catalog: nothing duplicated, nothing lost.
    let second = weir(dir.path(), &["ingest", "-c", wf], &env);
    assert!(second.status.success(), "second ingest failed: {}", text(&second.stderr));
    let again = export_all(dir.path(), catalog);
    assert_eq!(again, entities);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_or_host_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let wf = workflow(
        dir.path(),
        r#"
source:
  type: postgres
  serviceName: nowhere
  serviceConnection:
    config:
      hostPort: 127.0.0.1:1
      username: postgres
      authType:
        password: very-secret-pw
      database: postgres
"#,
    );
    let out = weir(dir.path(), &["ingest", "-c", wf.to_str().unwrap()], &[]);
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(75),
        "nobody answers: that may pass
{stderr}"
    );
    assert!(stderr.contains("cannot connect to PostgreSQL postgres@127.0.0.1:1/postgres"), "{stderr}");
    assert!(!stderr.contains("very-secret-pw"), "the password leaked: {stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
}
