//! Layer 4: a real SQL Server, when one is given.
//!
//! Set `MSSQL_TEST_CONNECTION_STRING` to an ADO.NET-style string of a login
//! that may create a database, e.g.
//! `Server=tcp:127.0.0.1,1433;User Id=sa;Password=...;TrustServerCertificate=true`.
//! Run it with
//! `cargo test --release -p weir --test mssql_real -- --ignored`.
//! The suite then compiles every production query on that server
//! (`sys.dm_exec_describe_first_result_set`), builds a database of known
//! objects, runs the whole connector through `weir ingest` and checks what
//! it wrote, and drops the database. The tests are `#[ignore]`d, so the
//! usual test run lists them as ignored, with the reason, never as passed;
//! run with `--ignored` and no variable, each prints that it was skipped
//! and why. No SQL Server can run on the machines this project is
//! built on, so CI always skips this suite.

use crate::common;

use common::{export_all, ingest};
use serde_json::Value;
use std::collections::BTreeMap;
use tiberius::{AuthMethod, Client, Config, EncryptionLevel};
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

const VARIABLE: &str = "MSSQL_TEST_CONNECTION_STRING";

/// The parts of the connection string the tests use.
struct Server {
    host: String,
    port: u16,
    user: String,
    password: String,
    encrypt: bool,
    trust: bool,
}

fn server(test: &str) -> Option<Server> {
    let Ok(text) = std::env::var(VARIABLE) else {
        eprintln!("SKIPPED {test}: {VARIABLE} is not set, so there is no SQL Server to test against");
        return None;
    };
    let fields: BTreeMap<String, String> = text
        .split(';')
        .filter_map(|part| part.split_once('='))
        .map(|(k, v)| (k.trim().to_ascii_lowercase().replace(' ', ""), v.trim().to_string()))
        .collect();
    let address = fields.get("server").or_else(|| fields.get("datasource")).cloned().unwrap_or_default();
    let address = address.trim_start_matches("tcp:");
    let (host, port) = match address.split_once(',') {
        Some((h, p)) => (h.to_string(), p.parse().unwrap_or_else(|_| panic!("{VARIABLE}: bad port `{p}`"))),
        None => (address.to_string(), 1433),
    };
    let flag = |key: &str| fields.get(key).is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "yes"));
    Some(Server {
        host,
        port,
        user: fields.get("userid").or_else(|| fields.get("uid")).cloned().unwrap_or_default(),
        password: fields.get("password").or_else(|| fields.get("pwd")).cloned().unwrap_or_default(),
        encrypt: flag("encrypt"),
        trust: flag("trustservercertificate"),
    })
}

async fn admin(server: &Server, database: &str) -> Client<Compat<TcpStream>> {
    let mut config = Config::new();
    config.host(&server.host);
    config.port(server.port);
    config.database(database);
    config.authentication(AuthMethod::sql_server(&server.user, &server.password));
    config.encryption(if server.encrypt { EncryptionLevel::Required } else { EncryptionLevel::Off });
    // Off sends only the login through TLS, unchecked, as weir's default does.
    if server.trust || !server.encrypt {
        config.trust_cert();
    }
    let tcp = TcpStream::connect((server.host.as_str(), server.port)).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    Client::connect(config, tcp.compat_write()).await.unwrap_or_else(|e| panic!("admin connection: {e}"))
}

async fn run(client: &mut Client<Compat<TcpStream>>, batch: &str) {
    let drained = match client.simple_query(batch).await {
        Ok(stream) => stream.into_results().await.map(|_| ()),
        Err(e) => Err(e),
    };
    drained.unwrap_or_else(|e| panic!("{batch}\n{e}"));
}

fn production_queries() -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/mssql/src/sql");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no production queries in {}", dir.display());
    files
}

#[tokio::test]
#[ignore = "needs a real SQL Server: set MSSQL_TEST_CONNECTION_STRING and pass --ignored"]
async fn every_production_query_compiles_on_the_server() {
    let Some(server) = server("every_production_query_compiles_on_the_server") else { return };
    let mut client = admin(&server, "master").await;
    let mut failures = Vec::new();
    for (file, sql) in production_queries() {
        // Parameters declared as nvarchar(max): the server converts them
        // where a query compares them with numbers.
        let count = (1..=9).filter(|i| sql.contains(&format!("@P{i}"))).count();
        let declared: Vec<String> = (1..=count).map(|i| format!("@P{i} nvarchar(max)")).collect();
        let declared = declared.join(", ");
        let result = client
            .query(
                "SELECT d.name, d.error_message FROM sys.dm_exec_describe_first_result_set(@P1, @P2, 0) AS d",
                &[&sql.as_str(), &declared.as_str()],
            )
            .await;
        match result {
            Ok(stream) => {
                let rows = stream.into_first_result().await.unwrap();
                let errors: Vec<String> = rows.iter().filter_map(|r| r.get::<&str, _>(1).map(str::to_string)).collect();
                if rows.is_empty() || !errors.is_empty() {
                    failures.push(format!("{file}: {errors:?}"));
                }
            }
            Err(e) => failures.push(format!("{file}: {e}")),
        }
    }
    assert!(failures.is_empty(), "queries the server does not compile:\n{}", failures.join("\n"));
}

const OBJECTS: &[&str] = &[
    "CREATE SCHEMA sales",
    "CREATE TABLE sales.customers (
        id int IDENTITY(1,1) NOT NULL CONSTRAINT pk_customers PRIMARY KEY,
        email nvarchar(200) NOT NULL CONSTRAINT uq_customers_email UNIQUE,
        tier tinyint NOT NULL CONSTRAINT df_customers_tier DEFAULT (1),
        balance money NULL,
        note nvarchar(max) NULL,
        created datetime2 NOT NULL,
        version rowversion)",
    "CREATE TABLE sales.orders (
        region char(2) NOT NULL,
        order_no int NOT NULL,
        customer_id int NOT NULL CONSTRAINT fk_orders_customer REFERENCES sales.customers (id),
        amount decimal(18,4) NOT NULL CONSTRAINT ck_orders_amount CHECK (amount >= 0),
        doubled AS (amount * 2),
        CONSTRAINT pk_orders PRIMARY KEY (region, order_no))",
    "CREATE TABLE sales.order_lines (
        region char(2) NOT NULL, order_no int NOT NULL, line int NOT NULL,
        CONSTRAINT pk_order_lines PRIMARY KEY (region, order_no, line),
        CONSTRAINT fk_lines_orders FOREIGN KEY (region, order_no) REFERENCES sales.orders (region, order_no))",
    "CREATE VIEW sales.big_orders AS SELECT o.region, o.order_no FROM sales.orders AS o WHERE o.amount > 100",
    "CREATE VIEW sales.order_counts WITH SCHEMABINDING AS
        SELECT o.region, COUNT_BIG(*) AS orders FROM sales.orders AS o GROUP BY o.region",
    "CREATE UNIQUE CLUSTERED INDEX ix_order_counts ON sales.order_counts (region)",
    "CREATE PROCEDURE sales.top_customers @n int AS SELECT TOP (@n) c.id FROM sales.customers AS c ORDER BY c.id",
    "CREATE SYNONYM sales.clients FOR sales.customers",
    "EXEC sys.sp_addextendedproperty @name = N'MS_Description', @value = N'People who buy',
        @level0type = N'SCHEMA', @level0name = N'sales', @level1type = N'TABLE', @level1name = N'customers'",
    "EXEC sys.sp_addextendedproperty @name = N'MS_Description', @value = N'Where receipts go',
        @level0type = N'SCHEMA', @level0name = N'sales', @level1type = N'TABLE', @level1name = N'customers',
        @level2type = N'COLUMN', @level2name = N'email'",
    "INSERT INTO sales.customers (email, created) VALUES (N'a@example.com', SYSDATETIME()), (N'b@example.com', SYSDATETIME())",
];

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a real SQL Server: set MSSQL_TEST_CONNECTION_STRING and pass --ignored"]
async fn the_connector_ingests_a_known_database() {
    let Some(server) = server("the_connector_ingests_a_known_database") else { return };
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let database = format!("weir_it_{}_{nanos}", std::process::id());
    let mut master = admin(&server, "master").await;
    run(&mut master, &format!("CREATE DATABASE [{database}]")).await;
    let mut db = admin(&server, &database).await;
    for batch in OBJECTS {
        run(&mut db, batch).await;
    }
    drop(db);

    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "source:\n  type: mssql\n  serviceName: sqlsrv\n  serviceConnection:\n    config:\n      type: Mssql\n      hostPort: \"{}:{}\"\n      username: \"{}\"\n      password: ${{env:MSSQL_PASSWORD}}\n      database: {database}\n      encrypt: {}\n      trustServerCertificate: {}\n  sourceConfig:\n    config:\n      type: DatabaseMetadata\n",
        server.host, server.port, server.user, server.encrypt, server.trust
    );
    let run_result = ingest(dir.path(), &yaml, &[], &[("MSSQL_PASSWORD", server.password.as_str())]);
    let entities = if run_result.code == Some(0) { Some(export_all(dir.path(), "catalog.db")) } else { None };
    run(&mut master, &format!("ALTER DATABASE [{database}] SET SINGLE_USER WITH ROLLBACK IMMEDIATE")).await;
    run(&mut master, &format!("DROP DATABASE [{database}]")).await;

    let Some(entities) = entities else {
        panic!("ingest failed:\n{}\n{}", run_result.stdout, run_result.stderr);
    };
    assert!(!run_result.stderr.contains(&server.password) && !run_result.stdout.contains(&server.password));
    let prefix = format!("sqlsrv.{database}.sales");
    let table = |name: &str| -> &Value {
        let fqn = format!("{prefix}.{name}");
        &entities.iter().find(|e| e["kind"] == "table" && e["fqn"] == fqn).unwrap_or_else(|| panic!("no table {fqn}"))["document"]
    };
    let mut tables: Vec<&str> = entities
        .iter()
        .filter(|e| e["kind"] == "table")
        .filter_map(|e| e["fqn"].as_str())
        .filter_map(|f| f.strip_prefix(&format!("{prefix}.")))
        .collect();
    tables.sort();
    assert_eq!(tables, ["big_orders", "clients", "customers", "order_counts", "order_lines", "orders"]);
    assert_eq!(table("order_counts")["tableType"], "MaterializedView");
    assert_eq!(table("big_orders")["tableType"], "View");
    let customers = table("customers");
    assert_eq!(customers["description"], "People who buy");
    let columns: Vec<(&str, &str)> = customers["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["dataType"].as_str().unwrap()))
        .collect();
    assert_eq!(
        columns,
        [
            ("id", "INT"),
            ("email", "VARCHAR"),
            ("tier", "TINYINT"),
            ("balance", "NUMBER"),
            ("note", "VARCHAR"),
            ("created", "DATETIME"),
            ("version", "BINARY")
        ]
    );
    assert_eq!(customers["columns"][1]["dataLength"], 200, "nvarchar(200) is 200 characters, not 400 bytes");
    assert_eq!(customers["columns"][1]["description"], "Where receipts go");
    let orders = table("orders");
    let constraints = orders["tableConstraints"].as_array().unwrap();
    assert!(
        constraints
            .iter()
            .any(|c| c["constraintType"] == "PRIMARY_KEY" && c["columns"] == serde_json::json!(["region", "order_no"])),
        "{constraints:?}"
    );
    let lines = table("order_lines");
    let fk = lines["tableConstraints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["constraintType"] == "FOREIGN_KEY")
        .unwrap_or_else(|| panic!("no foreign key on order_lines: {lines}"));
    assert_eq!(fk["columns"], serde_json::json!(["region", "order_no"]));
    let procedures: Vec<&str> =
        entities.iter().filter(|e| e["kind"] == "storedProcedure").filter_map(|e| e["fqn"].as_str()).collect();
    assert_eq!(procedures, [format!("{prefix}.top_customers").as_str()]);
}
