//! Layer 3, end to end: the built-in `mssql` plugin, run by the `weir`
//! binary, through the host's tiberius driver and real TDS, against the
//! in-process TDS fixture (`weir_fixtures::tds`), into the embedded catalog.
//!
//! The fixture replays recorded answers: each of the connector's production
//! statements (the very text of `plugins/mssql/src/sql/*.sql`) is answered
//! with the rows a SQL Server would return for the small estate below. Those
//! rows were written by hand from Microsoft's documentation of the `sys.*`
//! views, not recorded from a real server: this proves the plugin, host,
//! driver and wire together, not the SQL (see `mssql_catalog_sql.rs` and
//! `mssql_real.rs` for that). A statement the fixture has no answer for fails
//! with SQL Server error 208, as a wrong query would.

use crate::common;

use common::{export_all, ingest};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use weir_fixtures::tds::{Answer, Cell, Options, Request, ResultSet, SqlType, TdsFixture};

const USER: &str = "catalog_reader";
const PASSWORD: &str = "Tr1cky-Pa55-word";

/// One production statement, by file name.
macro_rules! sql {
    ($file:literal) => {
        include_str!(concat!("../../../plugins/mssql/src/sql/", $file, ".sql"))
    };
}

fn t(s: &str) -> Cell {
    Cell::Text(s.to_string())
}
fn i(n: i64) -> Cell {
    Cell::Int(n)
}
fn b(v: bool) -> Cell {
    Cell::Bit(v)
}
fn n() -> Cell {
    Cell::Null
}
fn o(s: Option<&str>) -> Cell {
    s.map_or(Cell::Null, t)
}

/// Result columns: `T` text, `I` int, `B` bit, `L` bigint.
fn set(spec: &str, names: &str, rows: Vec<Vec<Cell>>) -> ResultSet {
    let columns = names
        .split_whitespace()
        .zip(spec.chars())
        .map(|(name, kind)| {
            let kind = match kind {
                'T' => SqlType::NVarChar,
                'I' => SqlType::Int,
                'L' => SqlType::BigInt,
                _ => SqlType::Bit,
            };
            (name.to_string(), kind)
        })
        .collect();
    ResultSet { columns, rows }
}

/// A column row of `columns.sql`.
#[allow(clippy::too_many_arguments)]
fn column(
    table: &str,
    id: i64,
    name: &str,
    type_name: &str,
    max_length: i64,
    precision: i64,
    scale: i64,
    nullable: bool,
) -> Vec<Cell> {
    let schema = if table == "jobs" { "ops" } else { "sales" };
    vec![
        t(schema),
        t(table),
        i(id),
        t(name),
        t(type_name),
        b(false),
        n(),
        i(max_length),
        i(precision),
        i(scale),
        b(nullable),
        n(),
        b(false),
        n(),
        n(),
        n(),
    ]
}

fn customers_columns(table: &str) -> Vec<Vec<Cell>> {
    let mut id = column(table, 1, "id", "int", 4, 10, 0, false);
    id[12] = b(true);
    let mut email = column(table, 2, "email", "nvarchar", 400, 0, 0, false);
    email[15] = t("Where receipts go");
    let mut phone = column(table, 3, "phone", "Phone", 40, 0, 0, true);
    phone[5] = b(true);
    phone[6] = t("nvarchar");
    let mut tier = column(table, 4, "tier", "tinyint", 1, 3, 0, false);
    tier[11] = t("((1))");
    vec![
        id,
        email,
        phone,
        tier,
        column(table, 5, "balance", "money", 8, 19, 4, true),
        column(table, 6, "note", "nvarchar", -1, 0, 0, true),
        column(table, 7, "created", "datetime2", 8, 27, 7, false),
        column(table, 8, "version", "timestamp", 8, 0, 0, false),
    ]
}

/// The estate: database `Sales` (the connected one) and `Ops`, and three
/// more the connector must leave out (a system database, an offline one,
/// one the login cannot open).
fn answers() -> BTreeMap<(&'static str, &'static str), ResultSet> {
    let mut a = BTreeMap::new();
    let mut both = |sql: &'static str, sales: ResultSet, ops: ResultSet| {
        a.insert(("Sales", sql), sales);
        a.insert(("Ops", sql), ops);
    };
    both(
        sql!("discover_database"),
        set("T", "database_name", vec![vec![t("Sales")]]),
        set("T", "database_name", vec![vec![t("Ops")]]),
    );
    let databases = set(
        "TBBBTB",
        "database_name is_connected is_system is_snapshot state has_access",
        vec![
            vec![t("master"), b(false), b(true), b(false), t("ONLINE"), b(true)],
            vec![t("Sales"), b(true), b(false), b(false), t("ONLINE"), b(true)],
            vec![t("Ops"), b(false), b(false), b(false), t("ONLINE"), b(true)],
            vec![t("Archive"), b(false), b(false), b(false), t("OFFLINE"), b(true)],
            vec![t("Locked"), b(false), b(false), b(false), t("ONLINE"), b(false)],
        ],
    );
    both(sql!("discover_databases"), databases.clone(), databases);
    both(
        sql!("discover_schemas"),
        set("T", "schema_name", vec![vec![t("dbo")], vec![t("sales")]]),
        set("T", "schema_name", vec![vec![t("ops")]]),
    );
    let discovered = "schema_name table_name object_type column_count base_type";
    both(
        sql!("discover_tables"),
        set(
            "TTTIT",
            discovered,
            vec![
                vec![t("sales"), t("big_orders"), t("V"), i(2), n()],
                vec![t("sales"), t("clients"), t("SN"), i(8), t("U")],
                vec![t("sales"), t("customers"), t("U"), i(8), n()],
                vec![t("sales"), t("order_counts"), t("V"), i(2), n()],
                vec![t("sales"), t("order_lines"), t("U"), i(3), n()],
                vec![t("sales"), t("orders"), t("U"), i(5), n()],
            ],
        ),
        set("TTTIT", discovered, vec![vec![t("ops"), t("jobs"), t("U"), i(2), n()]]),
    );
    both(
        sql!("discover_procedures"),
        set(
            "TT",
            "schema_name procedure_name",
            vec![vec![t("sales"), t("secret_proc")], vec![t("sales"), t("top_customers")]],
        ),
        set("TT", "schema_name procedure_name", vec![]),
    );
    both(
        sql!("database"),
        set("TT", "database_name description", vec![vec![t("Sales"), t("Sales ledger")]]),
        set("TT", "database_name description", vec![vec![t("Ops"), n()]]),
    );
    both(
        sql!("schemas"),
        set("TT", "schema_name description", vec![vec![t("dbo"), n()], vec![t("sales"), t("Orders and customers")]]),
        set("TT", "schema_name description", vec![vec![t("ops"), n()]]),
    );
    let tables = "schema_name table_name object_type is_indexed_view description definition is_encrypted owner_name \
                  column_count row_count size_bytes base_object_name base_server base_database base_schema base_name \
                  resolved_schema resolved_name resolved_type";
    let table = |schema: &str,
                 name: &str,
                 kind: &str,
                 indexed: bool,
                 description: Option<&str>,
                 definition: Option<&str>,
                 columns: i64,
                 rows: Option<i64>| {
        vec![
            t(schema),
            t(name),
            t(kind),
            b(indexed),
            o(description),
            o(definition),
            b(false),
            t("dbo"),
            i(columns),
            rows.map_or(n(), i),
            rows.map_or(n(), |r| i(8192 * (1 + r / 100))),
            n(),
            n(),
            n(),
            n(),
            n(),
            n(),
            n(),
            n(),
        ]
    };
    let mut clients = table("sales", "clients", "SN", false, None, None, 8, None);
    for (at, value) in
        [(11, "[sales].[customers]"), (14, "sales"), (15, "customers"), (16, "sales"), (17, "customers"), (18, "U")]
    {
        clients[at] = t(value);
    }
    both(
        sql!("tables"),
        set(
            "TTTBTTBTILLTTTTTTTT",
            tables,
            vec![
                table("sales", "customers", "U", false, Some("People who buy"), None, 8, Some(2)),
                table("sales", "orders", "U", false, None, None, 5, Some(0)),
                table("sales", "order_lines", "U", false, None, None, 3, Some(0)),
                table(
                    "sales",
                    "big_orders",
                    "V",
                    false,
                    None,
                    Some(
                        "CREATE VIEW sales.big_orders AS SELECT o.region, o.order_no FROM sales.orders AS o WHERE o.amount > 100",
                    ),
                    2,
                    None,
                ),
                table(
                    "sales",
                    "order_counts",
                    "V",
                    true,
                    None,
                    Some(
                        "CREATE VIEW sales.order_counts WITH SCHEMABINDING AS SELECT o.region, COUNT_BIG(*) AS orders FROM sales.orders AS o GROUP BY o.region",
                    ),
                    2,
                    Some(1),
                ),
                clients,
            ],
        ),
        set("TTTBTTBTILLTTTTTTTT", tables, vec![table("ops", "jobs", "U", false, None, None, 2, Some(40))]),
    );
    let columns_spec = "TTITTBTIIIBTBTTT";
    let columns = "schema_name table_name column_id column_name type_name is_user_defined base_type_name max_length \
                   numeric_precision numeric_scale is_nullable default_definition is_identity computed_definition \
                   generated_always description";
    let mut sales_columns = customers_columns("customers");
    sales_columns.extend(customers_columns("clients"));
    let mut doubled = column("orders", 5, "doubled", "decimal", 13, 38, 4, true);
    doubled[13] = t("([amount]*(2))");
    sales_columns.extend([
        column("orders", 1, "region", "char", 2, 0, 0, false),
        column("orders", 2, "order_no", "int", 4, 10, 0, false),
        column("orders", 3, "customer_id", "int", 4, 10, 0, false),
        column("orders", 4, "amount", "decimal", 9, 18, 4, false),
        doubled,
        column("order_lines", 1, "region", "char", 2, 0, 0, false),
        column("order_lines", 2, "order_no", "int", 4, 10, 0, false),
        column("order_lines", 3, "line", "int", 4, 10, 0, false),
        column("big_orders", 1, "region", "char", 2, 0, 0, false),
        column("big_orders", 2, "order_no", "int", 4, 10, 0, false),
        column("order_counts", 1, "region", "char", 2, 0, 0, false),
        column("order_counts", 2, "orders", "bigint", 8, 19, 0, true),
    ]);
    both(
        sql!("columns"),
        set(columns_spec, columns, sales_columns),
        set(
            columns_spec,
            columns,
            vec![
                column("jobs", 1, "id", "bigint", 8, 19, 0, false),
                column("jobs", 2, "name", "varchar", 50, 0, 0, true),
            ],
        ),
    );
    let keys = "schema_name table_name constraint_name constraint_type key_ordinal column_name";
    let key = |table: &str, name: &str, kind: &str, ordinal: i64, column: &str| {
        let schema = if table == "jobs" { "ops" } else { "sales" };
        vec![t(schema), t(table), t(name), t(kind), i(ordinal), t(column)]
    };
    both(
        sql!("keys"),
        set(
            "TTTTIT",
            keys,
            vec![
                key("customers", "pk_customers", "PK", 1, "id"),
                key("customers", "uq_customers_email", "UQ", 1, "email"),
                // Composite keys arrive in no particular order; key_ordinal orders them.
                key("orders", "pk_orders", "PK", 2, "order_no"),
                key("orders", "pk_orders", "PK", 1, "region"),
                key("order_lines", "pk_order_lines", "PK", 3, "line"),
                key("order_lines", "pk_order_lines", "PK", 1, "region"),
                key("order_lines", "pk_order_lines", "PK", 2, "order_no"),
            ],
        ),
        set("TTTTIT", keys, vec![key("jobs", "pk_jobs", "PK", 1, "id")]),
    );
    let fks =
        "schema_name table_name constraint_name key_ordinal column_name referred_schema referred_table referred_column";
    let fk = |table: &str, name: &str, ordinal: i64, column: &str, referred: &str, referred_column: &str| {
        vec![t("sales"), t(table), t(name), i(ordinal), t(column), t("sales"), t(referred), t(referred_column)]
    };
    both(
        sql!("foreign_keys"),
        set(
            "TTTITTTT",
            fks,
            vec![
                fk("orders", "fk_orders_customer", 1, "customer_id", "customers", "id"),
                fk("order_lines", "fk_lines_orders", 2, "order_no", "orders", "order_no"),
                fk("order_lines", "fk_lines_orders", 1, "region", "orders", "region"),
            ],
        ),
        set("TTTITTTT", fks, vec![]),
    );
    let checks = "schema_name table_name constraint_name definition";
    both(
        sql!("checks"),
        set("TTTT", checks, vec![vec![t("sales"), t("orders"), t("ck_orders_amount"), t("([amount]>=(0))")]]),
        set("TTTT", checks, vec![]),
    );
    let sources = "schema_name table_name source_database source_schema source_name";
    both(
        sql!("view_sources"),
        set(
            "TTTTT",
            sources,
            vec![
                vec![t("sales"), t("big_orders"), n(), t("sales"), t("orders")],
                vec![t("sales"), t("order_counts"), n(), t("sales"), t("orders")],
            ],
        ),
        set("TTTTT", sources, vec![]),
    );
    let procedures = "schema_name procedure_name object_type definition is_encrypted assembly_name assembly_class \
                      assembly_method description";
    both(
        sql!("procedures"),
        set(
            "TTTTBTTTT",
            procedures,
            vec![
                vec![
                    t("sales"),
                    t("top_customers"),
                    t("P"),
                    t("CREATE PROCEDURE sales.top_customers @n int AS SELECT TOP (@n) c.id FROM sales.customers AS c"),
                    b(false),
                    n(),
                    n(),
                    n(),
                    t("Best customers first"),
                ],
                vec![t("sales"), t("secret_proc"), t("P"), n(), b(true), n(), n(), n(), n()],
            ],
        ),
        set("TTTTBTTTT", procedures, vec![]),
    );
    a
}

async fn estate() -> TdsFixture {
    let answers = answers();
    let handler = move |req: &Request| match answers.get(&(req.database.as_str(), req.sql.as_str())) {
        Some(rows) => Answer::Rows(rows.clone()),
        None => Answer::Error {
            number: 208,
            class: 16,
            message: format!(
                "the fixture has no answer for this statement in {}: {}",
                req.database,
                first_line(&req.sql)
            ),
        },
    };
    let options = Options { credentials: Some((USER.into(), PASSWORD.into())) };
    TdsFixture::start(options, Arc::new(handler)).await.unwrap()
}

fn first_line(sql: &str) -> &str {
    sql.lines().find(|l| !l.trim_start().starts_with("--")).unwrap_or(sql)
}

fn workflow(fixture: &TdsFixture, connection_extra: &str, weir_extra: &str) -> String {
    format!(
        "source:\n  type: mssql\n  serviceName: sqlsrv\n  serviceConnection:\n    config:\n      type: Mssql\n      hostPort: \"{}\"\n      username: {USER}\n      password: ${{env:MSSQL_PASSWORD}}\n      database: Sales\n      connectionOptions:\n        Encrypt: DANGER_PLAINTEXT\n{connection_extra}  sourceConfig:\n    config:\n      type: DatabaseMetadata\nweir:\n  instances: 2\n{weir_extra}",
        fixture.host_port()
    )
}

fn kind<'a>(report: &'a Value, kind: &str) -> &'a Value {
    report["kinds"].as_array().and_then(|ks| ks.iter().find(|k| k["kind"] == kind)).unwrap_or(&Value::Null)
}

fn document<'a>(entities: &'a [Value], kind: &str, fqn: &str) -> &'a Value {
    &entities
        .iter()
        .find(|e| e["kind"] == kind && e["fqn"] == fqn)
        .unwrap_or_else(|| panic!("no {kind} {fqn} among {:?}", entities.iter().map(|e| &e["fqn"]).collect::<Vec<_>>()))
        ["document"]
}

#[tokio::test(flavor = "multi_thread")]
async fn an_estate_of_two_databases_lands_in_the_catalog_exactly() {
    let fixture = estate().await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = workflow(&fixture, "      ingestAllDatabases: true\n", "");
    let run = ingest(dir.path(), &yaml, &[], &[("MSSQL_PASSWORD", PASSWORD)]);
    let context = format!("exit {:?}\nstdout:\n{}\nstderr:\n{}", run.code, run.stdout, run.stderr);
    assert_eq!(run.code, Some(0), "{context}");
    assert!(!run.stdout.contains(PASSWORD) && !run.stderr.contains(PASSWORD), "{context}");
    assert!(!run.report.to_string().contains(PASSWORD));

    let entities = export_all(dir.path(), "catalog.db");
    assert!(!entities.iter().any(|e| e.to_string().contains(PASSWORD)));
    let fqns = |k: &str| -> Vec<&str> {
        let mut v: Vec<&str> = entities.iter().filter(|e| e["kind"] == k).filter_map(|e| e["fqn"].as_str()).collect();
        v.sort();
        v
    };
    assert_eq!(fqns("database"), ["sqlsrv.Ops", "sqlsrv.Sales"], "no master, offline or closed database");
    assert_eq!(fqns("databaseSchema"), ["sqlsrv.Ops.ops", "sqlsrv.Sales.dbo", "sqlsrv.Sales.sales"]);
    assert_eq!(
        fqns("table"),
        [
            "sqlsrv.Ops.ops.jobs",
            "sqlsrv.Sales.sales.big_orders",
            "sqlsrv.Sales.sales.clients",
            "sqlsrv.Sales.sales.customers",
            "sqlsrv.Sales.sales.order_counts",
            "sqlsrv.Sales.sales.order_lines",
            "sqlsrv.Sales.sales.orders",
        ]
    );
    assert_eq!(fqns("storedProcedure"), ["sqlsrv.Sales.sales.secret_proc", "sqlsrv.Sales.sales.top_customers"]);
    let warnings = run.report["warnings"].to_string();
    assert!(warnings.contains("Archive") && warnings.contains("OFFLINE"), "{warnings}");
    assert!(warnings.contains("Locked"), "{warnings}");

    assert_eq!(document(&entities, "database", "sqlsrv.Sales")["description"], "Sales ledger");
    assert_eq!(document(&entities, "databaseSchema", "sqlsrv.Sales.sales")["description"], "Orders and customers");

    let customers = document(&entities, "table", "sqlsrv.Sales.sales.customers");
    assert_eq!(customers["description"], "People who buy");
    assert_eq!(customers["tableType"], "Regular");
    let columns: Vec<(&str, &str, &str)> = customers["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (c["name"].as_str().unwrap(), c["dataType"].as_str().unwrap(), c["dataTypeDisplay"].as_str().unwrap_or(""))
        })
        .collect();
    assert_eq!(
        columns,
        [
            ("id", "INT", "int"),
            ("email", "VARCHAR", "nvarchar(200)"),
            ("phone", "VARCHAR", "Phone"),
            ("tier", "TINYINT", "tinyint"),
            ("balance", "MONEY", "money"),
            ("note", "VARCHAR", "nvarchar(max)"),
            ("created", "DATETIME", "datetime2(7)"),
            ("version", "BINARY", "rowversion"),
        ]
    );
    assert_eq!(customers["columns"][1]["dataLength"], 200, "nvarchar lengths are halved bytes");
    assert_eq!(customers["columns"][1]["description"], "Where receipts go");
    assert_eq!(customers["columns"][2]["dataLength"], 20, "an alias type's length is its base type's");
    assert_eq!(customers["columns"][4]["precision"], 19);
    assert_eq!(customers["columns"][4]["scale"], 4);
    // Single-column keys sit on their column, as OpenMetadata has them.
    assert_eq!(customers["columns"][0]["constraint"], "PRIMARY_KEY");
    assert_eq!(customers["columns"][1]["constraint"], "UNIQUE");

    let orders = document(&entities, "table", "sqlsrv.Sales.sales.orders");
    let constraints = orders["tableConstraints"].as_array().cloned().unwrap_or_default();
    assert!(
        constraints
            .iter()
            .any(|c| c["constraintType"] == "PRIMARY_KEY" && c["columns"] == json!(["region", "order_no"])),
        "composite key in key_ordinal order: {constraints:?}"
    );
    let fk =
        constraints.iter().find(|c| c["constraintType"] == "FOREIGN_KEY").unwrap_or_else(|| panic!("{constraints:?}"));
    assert_eq!(fk["referredColumns"], json!(["sqlsrv.Sales.sales.customers.id"]));
    assert_eq!(orders["columns"][3]["dataType"], "DECIMAL");
    assert_eq!(
        (orders["columns"][3]["precision"].clone(), orders["columns"][3]["scale"].clone()),
        (json!(18), json!(4))
    );

    let lines = document(&entities, "table", "sqlsrv.Sales.sales.order_lines");
    let fk = lines["tableConstraints"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["constraintType"] == "FOREIGN_KEY"))
        .unwrap_or_else(|| panic!("{lines}"));
    assert_eq!(fk["columns"], json!(["region", "order_no"]));
    assert_eq!(
        fk["referredColumns"],
        json!(["sqlsrv.Sales.sales.orders.region", "sqlsrv.Sales.sales.orders.order_no"])
    );

    assert_eq!(document(&entities, "table", "sqlsrv.Sales.sales.order_counts")["tableType"], "MaterializedView");
    let big = document(&entities, "table", "sqlsrv.Sales.sales.big_orders");
    assert_eq!(big["tableType"], "View");
    assert!(big["schemaDefinition"].as_str().unwrap_or("").contains("WHERE o.amount > 100"), "{big}");
    let clients = document(&entities, "table", "sqlsrv.Sales.sales.clients");
    assert!(clients["description"].as_str().unwrap_or("").contains("customers"), "{clients}");
    assert_eq!(clients["columns"].as_array().map(Vec::len), Some(8), "a synonym carries its base's columns");

    let secret = document(&entities, "storedProcedure", "sqlsrv.Sales.sales.secret_proc");
    assert!(secret.to_string().to_lowercase().contains("encrypt"), "{secret}");
    let top = document(&entities, "storedProcedure", "sqlsrv.Sales.sales.top_customers");
    assert_eq!(top["description"], "Best customers first");

    let jobs = document(&entities, "table", "sqlsrv.Ops.ops.jobs");
    assert_eq!(jobs["columns"][1]["dataLength"], 50, "varchar lengths are bytes as they are");

    // Every session asked for read-only intent, in the database it reads.
    let logins = fixture.logins();
    assert!(logins.iter().all(|l| l.read_only_intent && l.accepted && l.user == USER), "{logins:?}");
    let databases: std::collections::BTreeSet<&str> = logins.iter().map(|l| l.database.as_str()).collect();
    assert_eq!(databases, ["Ops", "Sales"].into_iter().collect());
}

/// Ingests `Sales` alone with `shard_size` and returns the report and the
/// statements the fixture saw.
async fn tables_with(shard_size: usize) -> (Value, Vec<Request>) {
    let fixture = estate().await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = workflow(&fixture, "", &format!("  shardStrategy: count\n  shardSize: {shard_size}\n"));
    let run = ingest(dir.path(), &yaml, &[], &[("MSSQL_PASSWORD", PASSWORD)]);
    assert_eq!(run.code, Some(0), "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    (run.report, fixture.requests())
}

#[tokio::test(flavor = "multi_thread")]
async fn queries_per_batch_do_not_grow_with_the_batch() {
    let (one, one_requests) = tables_with(1).await;
    let (all, all_requests) = tables_with(100).await;
    let per_batch = |report: &Value| {
        let tables = kind(report, "table");
        assert_eq!(tables["written"], 6, "{tables}");
        let (queries, batches) = (tables["queries"].as_u64().unwrap(), tables["batches"].as_u64().unwrap());
        // Discovery is one statement; the rest is per batch.
        assert_eq!((queries - 1) % batches, 0, "every batch costs the same: {tables}");
        ((queries - 1) / batches, batches)
    };
    let (one_each, one_batches) = per_batch(&one);
    let (all_each, all_batches) = per_batch(&all);
    assert_eq!((one_batches, all_batches), (6, 1));
    assert_eq!(one_each, all_each, "a batch of 1 and a batch of 6 send the same number of statements");
    assert!(all_each <= 6, "one statement per aspect, not per table: {all_each}");
    // Each aspect's statement went out once per batch.
    let count = |requests: &[Request], sql: &str| requests.iter().filter(|r| r.sql == sql).count();
    for aspect in [sql!("tables"), sql!("columns"), sql!("keys"), sql!("foreign_keys"), sql!("checks")] {
        assert_eq!(count(&all_requests, aspect), 1, "{}", first_line(aspect));
        assert_eq!(count(&one_requests, aspect), 6, "{}", first_line(aspect));
    }
    assert!(all_requests.iter().all(|r| r.rpc), "every statement went out through sp_executesql");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_stops_the_run_up_front_and_is_never_printed() {
    let fixture = estate().await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = workflow(&fixture, "", "");
    let run = ingest(dir.path(), &yaml, &[], &[("MSSQL_PASSWORD", "Not-The-Pa55")]);
    assert_ne!(run.code, Some(0));
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(all.contains("Login failed") || all.contains("18456"), "{all}");
    assert!(!all.contains("Not-The-Pa55"), "{all}");
    assert!(fixture.requests().is_empty(), "nothing ran after a failed login");
}
