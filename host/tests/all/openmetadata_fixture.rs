//! The OpenMetadata fixture server (`weir_fixtures::openmetadata`) behaves: it
//! answers like the real API, refuses what the real API refuses, records
//! every violation, and its fault injection works. Requests go through a
//! plain HTTP/1.1 client on a tokio socket, keep-alive.

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use weir_fixtures::openmetadata::{BulkRoute, OpenMetadataFixture, require_specs, schema_errors, validator};

// ---------------------------------------------------------------------------
// A tiny HTTP/1.1 client
// ---------------------------------------------------------------------------

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// One keep-alive connection to the fixture.
struct Client {
    stream: BufReader<TcpStream>,
    authorization: Option<String>,
}

impl Client {
    async fn connect(fixture: &OpenMetadataFixture) -> Client {
        let mut client = Client::anonymous(fixture).await;
        client.authorization = Some(format!("Bearer {}", fixture.token()));
        client
    }

    async fn anonymous(fixture: &OpenMetadataFixture) -> Client {
        let stream = TcpStream::connect(fixture.addr()).await.expect("connect to the fixture");
        Client { stream: BufReader::new(stream), authorization: None }
    }

    async fn put(&mut self, target: &str, body: &Value) -> Answer {
        let head = [("Content-Type", "application/json")];
        self.send("PUT", target, &head, body.to_string().as_bytes()).await
    }

    async fn get(&mut self, target: &str) -> Answer {
        self.send("GET", target, &[], b"").await
    }

    async fn send(&mut self, method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
        let mut head = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        if let Some(auth) = &self.authorization {
            head.push_str(&format!("Authorization: {auth}\r\n"));
        }
        let chunked = headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("transfer-encoding"));
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        if !chunked {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let stream = self.stream.get_mut();
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(body).await.unwrap();
        self.read_answer().await
    }

    async fn read_answer(&mut self) -> Answer {
        let mut line = String::new();
        self.stream.read_line(&mut line).await.unwrap();
        let status: u16 = line.split_whitespace().nth(1).expect("a status line").parse().unwrap();
        let mut headers = Vec::new();
        loop {
            line.clear();
            self.stream.read_line(&mut line).await.unwrap();
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let (k, v) = l.split_once(':').unwrap();
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
        let length: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .map(|(_, v)| v.parse().unwrap())
            .expect("every answer has Content-Length");
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body).await.unwrap();
        let body = if body.is_empty() { Value::Null } else { serde_json::from_slice(&body).unwrap() };
        Answer { status, headers, body }
    }
}

// ---------------------------------------------------------------------------
// Realistic Create* requests, shaped as `weir catalog export` writes them
// ---------------------------------------------------------------------------

const HASH: &str = "0f3c2a9d4b7e61c85a90d3e2f1b4c6a7";

fn database_service(name: &str) -> Value {
    json!({
        "name": name,
        "serviceType": "Postgres",
        "description": "The shop's PostgreSQL",
        "connection": { "config": {
            "type": "Postgres",
            "hostPort": "db.internal:5432",
            "username": "ingest",
            "authType": { "password": "secret" },
            "database": "shop"
        }}
    })
}

fn database(service: &str, name: &str) -> Value {
    json!({ "name": name, "service": service, "sourceHash": HASH })
}

fn schema(database: &str, name: &str) -> Value {
    json!({ "name": name, "database": database, "description": "standard public schema", "sourceHash": HASH })
}

fn table(schema: &str, name: &str) -> Value {
    json!({
        "name": name,
        "databaseSchema": schema,
        "tableType": "Regular",
        "columns": [
            { "name": "id", "dataType": "INT", "dataTypeDisplay": "integer", "constraint": "PRIMARY_KEY",
              "ordinalPosition": 1 },
            { "name": "customer_id", "dataType": "INT", "dataTypeDisplay": "integer", "constraint": "NOT_NULL",
              "ordinalPosition": 2 },
            { "name": "note", "dataType": "VARCHAR", "dataLength": 200,
              "dataTypeDisplay": "character varying(200)", "description": "Free text", "constraint": "NULL",
              "ordinalPosition": 3 },
            { "name": "placed_at", "dataType": "TIMESTAMPZ", "dataTypeDisplay": "timestamp with time zone",
              "constraint": "NOT_NULL", "ordinalPosition": 4 }
        ],
        "description": "One row per order",
        "sourceHash": HASH
    })
}

/// `table` with a FOREIGN_KEY constraint, as phase 2 sends it.
fn table_with_fk(schema: &str, name: &str, referred_table: &str) -> Value {
    let mut t = table(schema, name);
    t["tableConstraints"] = json!([{
        "constraintType": "FOREIGN_KEY",
        "columns": ["customer_id"],
        "referredColumns": [format!("{referred_table}.id")]
    }]);
    t
}

/// Starts a fixture holding `svc`, `svc.shop` and `svc.shop.public`.
async fn with_schema() -> (OpenMetadataFixture, Client) {
    let om = OpenMetadataFixture::start().await;
    let mut c = Client::connect(&om).await;
    assert_eq!(c.put("/api/v1/services/databaseServices", &database_service("svc")).await.status, 201);
    assert_eq!(c.put("/api/v1/databases", &database("svc", "shop")).await.status, 201);
    assert_eq!(c.put("/api/v1/databaseSchemas", &schema("svc.shop", "public")).await.status, 201);
    (om, c)
}

const BULK: &str = "/bulk?async=false&overrideMetadata=false";

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_then_updates_a_database_hierarchy() {
    require_specs();
    let (om, mut c) = with_schema().await;
    let created = c.put("/api/v1/tables", &table("svc.shop.public", "orders")).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["fullyQualifiedName"], "svc.shop.public.orders");
    assert_eq!(created.body["version"], 0.1);
    let id = created.body["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 36);
    assert!(created.body["href"].as_str().unwrap().ends_with(&format!("/api/v1/tables/{id}")));
    assert_eq!(created.header("content-type"), Some("application/json"));

    // The same request again: 200, nothing changed.
    let again = c.put("/api/v1/tables", &table("svc.shop.public", "orders")).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["version"], 0.1);
    assert_eq!(again.body["id"], id.as_str());

    // A changed request: 200 and a new version.
    let mut changed = table("svc.shop.public", "orders");
    changed["description"] = "Orders, one per checkout".into();
    let updated = c.put("/api/v1/tables", &changed).await;
    assert_eq!(updated.status, 200);
    assert_eq!(updated.body["version"], 0.2);
    assert_eq!(updated.body["id"], id.as_str());

    // A name with a dot is quoted in the FQN.
    let dotted = c.put("/api/v1/tables", &table("svc.shop.public", "orders.v2")).await;
    assert_eq!(dotted.body["fullyQualifiedName"], r#"svc.shop.public."orders.v2""#);
    let by_name = c.get("/api/v1/tables/name/svc.shop.public.%22orders.v2%22").await;
    assert_eq!(by_name.status, 200);
    assert_eq!(by_name.body["id"], dotted.body["id"]);

    assert_eq!(om.get("table", "svc.shop.public.orders").unwrap()["description"], "Orders, one per checkout");
    assert_eq!(om.entities("databaseService").len(), 1);
    assert_eq!(om.entities("databases")[0]["fullyQualifiedName"], "svc.shop");
    assert_eq!(om.write_counts("tables")["svc.shop.public.orders"], 3);
    // All of it went over one keep-alive connection, and was logged.
    let requests = om.requests();
    assert_eq!(requests.len(), 8);
    assert!(requests.iter().all(|r| r.method == "PUT" || r.method == "GET"));
    assert_eq!(requests[3].path, "/api/v1/tables");
    assert_eq!((requests[3].status, requests[3].items), (201, 1));
    om.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_violation_answers_400_and_is_recorded() {
    require_specs();
    let (om, mut c) = with_schema().await;
    let mut bad = table("svc.shop.public", "orders");
    bad["columns"][0]["dataType"] = "NOPE".into();
    let answer = c.put("/api/v1/tables", &bad).await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.body["code"], 400);
    assert!(answer.body["message"].as_str().unwrap().contains("NOPE"), "{}", answer.body);
    let violations = om.violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    let v = &violations[0];
    assert!(v.contains("PUT /api/v1/tables") && v.contains("NOPE") && v.contains("/columns/0/dataType"), "{v}");
    assert!(v.contains(r#""name":"orders""#), "the body is in the violation: {v}");
    assert!(om.entities("tables").is_empty());

    // An unknown field fails too (Create* requests allow no extra fields).
    let mut extra = table("svc.shop.public", "orders");
    extra["rowCount"] = 10.into();
    assert_eq!(c.put("/api/v1/tables", &extra).await.status, 400);
    // Services are checked down to their connection.
    let mut service = database_service("other");
    service["connection"]["config"]["hostPort"] = 5432.into();
    assert_eq!(c.put("/api/v1/services/databaseServices", &service).await.status, 400);
    assert_eq!(om.violations().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_parent_answers_404_and_is_recorded() {
    require_specs();
    let om = OpenMetadataFixture::start().await;
    let mut c = Client::connect(&om).await;
    let answer = c.put("/api/v1/databases", &database("svc", "shop")).await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.body["message"], "databaseService instance for svc not found");
    c.put("/api/v1/services/databaseServices", &database_service("svc")).await;
    c.put("/api/v1/databases", &database("svc", "shop")).await;
    let answer = c.put("/api/v1/tables", &table("svc.shop.public", "orders")).await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.body, json!({ "code": 404, "message": "databaseSchema instance for svc.shop.public not found" }));
    let violations = om.violations();
    assert_eq!(violations.len(), 2, "{violations:?}");
    assert!(violations[1].contains("svc.shop.public not found"));
    assert!(om.entities("tables").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_answers_a_bulk_operation_result_with_injected_item_failures() {
    require_specs();
    let (om, mut c) = with_schema().await;
    om.fail_items(["payments"]);
    let items = json!([
        table("svc.shop.public", "orders"),
        table("svc.shop.public", "payments"),
        table("svc.shop.public", "customers"),
    ]);
    let answer = c.put(&format!("/api/v1/tables{BULK}"), &items).await;
    assert_eq!(answer.status, 200);
    let result = &answer.body;
    let errors = schema_errors(&validator("type/bulkOperationResult.json"), result);
    assert!(errors.is_empty(), "not a BulkOperationResult: {errors:?}\n{result}");
    assert_eq!(result["status"], "partialSuccess");
    assert_eq!(result["numberOfRowsProcessed"], 3);
    assert_eq!(result["numberOfRowsPassed"], 2);
    assert_eq!(result["numberOfRowsFailed"], 1);
    assert_eq!(result["successRequest"][0], json!({ "request": "svc.shop.public.orders", "status": 201 }));
    assert_eq!(result["failedRequest"][0]["request"], "svc.shop.public.payments");
    assert!(result["failedRequest"][0]["message"].as_str().unwrap().contains("payments"));
    assert!(om.get("tables", "svc.shop.public.payments").is_none());
    assert_eq!(om.entities("tables").len(), 2);

    // A bad item fails alone, with its request, and is a violation.
    let mut bad = table("svc.shop.public", "refunds");
    bad["tableType"] = "Sideways".into();
    let answer = c.put(&format!("/api/v1/tables{BULK}"), &json!([bad, table("svc.shop.public", "orders")])).await;
    assert_eq!(answer.body["numberOfRowsPassed"], 1);
    assert_eq!(answer.body["failedRequest"][0]["request"]["name"], "refunds");
    assert_eq!(answer.body["failedRequest"][0]["status"], 400);
    assert_eq!(answer.body["successRequest"][0]["status"], 200);
    assert_eq!(om.violations().len(), 1);
    let log = om.requests();
    let bulk = log.iter().rfind(|r| r.path == "/api/v1/tables/bulk").unwrap();
    assert_eq!((bulk.query.as_str(), bulk.items), ("async=false&overrideMetadata=false", 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_answers_429_with_retry_after_then_succeeds() {
    require_specs();
    let (om, mut c) = with_schema().await;
    om.throttle_next(2, 3, Some("/api/v1/tables"));
    // Another path is not throttled.
    assert_eq!(c.put("/api/v1/databaseSchemas", &schema("svc.shop", "sales")).await.status, 201);
    for _ in 0..2 {
        let answer = c.put("/api/v1/tables", &table("svc.shop.public", "orders")).await;
        assert_eq!(answer.status, 429);
        assert_eq!(answer.header("retry-after"), Some("3"));
    }
    assert!(om.entities("tables").is_empty(), "a throttled request is not applied");
    assert_eq!(c.put("/api/v1/tables", &table("svc.shop.public", "orders")).await.status, 201);
    assert_eq!(om.write_counts("tables").values().copied().collect::<Vec<_>>(), [1]);
    om.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_can_be_injected() {
    require_specs();
    let (om, mut c) = with_schema().await;
    om.fail_next(1, 500, None);
    om.fail_next(1, 503, None);
    let first = c.put("/api/v1/tables", &table("svc.shop.public", "orders")).await;
    assert_eq!((first.status, first.body["code"].as_u64()), (500, Some(500)));
    assert_eq!(c.put("/api/v1/tables", &table("svc.shop.public", "orders")).await.status, 503);
    assert!(om.entities("tables").is_empty());
    assert_eq!(c.put("/api/v1/tables", &table("svc.shop.public", "orders")).await.status, 201);
    let statuses: Vec<u16> = om.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [201, 201, 201, 500, 503, 201]);
    om.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bulk_route_can_be_removed() {
    require_specs();
    let (om, mut c) = with_schema().await;
    let items = json!([table("svc.shop.public", "orders")]);
    om.set_bulk_route(BulkRoute::Absent(404));
    assert_eq!(c.put(&format!("/api/v1/tables{BULK}"), &items).await.status, 404);
    om.set_bulk_route(BulkRoute::Absent(405));
    assert_eq!(c.put(&format!("/api/v1/tables{BULK}"), &items).await.status, 405);
    assert!(om.entities("tables").is_empty());
    // The single PUT fallback still works.
    assert_eq!(c.put("/api/v1/tables", &table("svc.shop.public", "orders")).await.status, 201);
    om.set_bulk_route(BulkRoute::Present);
    assert_eq!(c.put(&format!("/api/v1/tables{BULK}"), &items).await.status, 200);
    om.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_is_added_to_every_request() {
    require_specs();
    let (om, mut c) = with_schema().await;
    om.set_latency(Duration::from_millis(300));
    let started = Instant::now();
    assert_eq!(c.put("/api/v1/tables", &table("svc.shop.public", "orders")).await.status, 201);
    assert!(started.elapsed() >= Duration::from_millis(300), "{:?}", started.elapsed());
    assert!(om.requests().last().unwrap().elapsed >= Duration::from_millis(300));
    om.clear_faults();
    let started = Instant::now();
    assert_eq!(c.put("/api/v1/tables", &table("svc.shop.public", "orders")).await.status, 200);
    assert!(started.elapsed() < Duration::from_millis(300), "{:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_wrong_bearer_token_answers_401() {
    require_specs();
    let om = OpenMetadataFixture::start_with_token("the-jwt").await;
    let mut anonymous = Client::anonymous(&om).await;
    let answer = anonymous.put("/api/v1/services/databaseServices", &database_service("svc")).await;
    assert_eq!((answer.status, answer.body["code"].as_u64()), (401, Some(401)));
    anonymous.authorization = Some("Bearer not-the-jwt".into());
    assert_eq!(anonymous.put("/api/v1/services/databaseServices", &database_service("svc")).await.status, 401);
    anonymous.authorization = Some("Basic the-jwt".into());
    assert_eq!(anonymous.put("/api/v1/services/databaseServices", &database_service("svc")).await.status, 401);
    assert!(om.entities("databaseService").is_empty());
    assert_eq!(om.violations().len(), 3);
    anonymous.authorization = Some("Bearer the-jwt".into());
    assert_eq!(anonymous.put("/api/v1/services/databaseServices", &database_service("svc")).await.status, 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_key_to_a_table_not_there_yet_is_a_violation() {
    require_specs();
    let (om, mut c) = with_schema().await;
    // Phase 1 sent too early: the referred table does not exist.
    let early = c.put("/api/v1/tables", &table_with_fk("svc.shop.public", "orders", "svc.shop.public.customers")).await;
    assert_eq!(early.status, 404);
    let violations = om.violations();
    assert_eq!(violations.len(), 1);
    assert!(violations[0].contains("references a table it does not have yet"), "{}", violations[0]);
    assert!(om.entities("tables").is_empty());

    // Phase 1 without keys, phase 2 with them: fine.
    let (om, mut c) = with_schema().await;
    assert_eq!(c.put("/api/v1/tables", &table("svc.shop.public", "orders")).await.status, 201);
    assert_eq!(c.put("/api/v1/tables", &table("svc.shop.public", "customers")).await.status, 201);
    let fk = table_with_fk("svc.shop.public", "orders", "svc.shop.public.customers");
    let answer = c.put("/api/v1/tables", &fk).await;
    assert_eq!((answer.status, answer.body["version"].as_f64()), (200, Some(0.2)));
    // A self-reference is fine too.
    let own = table_with_fk("svc.shop.public", "customers", "svc.shop.public.customers");
    assert_eq!(c.put("/api/v1/tables", &own).await.status, 200);
    om.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lineage_between_existing_tables_is_stored() {
    require_specs();
    let (om, mut c) = with_schema().await;
    let orders = c.put("/api/v1/tables", &table("svc.shop.public", "orders")).await.body;
    let summary = c.put("/api/v1/tables", &table("svc.shop.public", "order_summary")).await.body;
    let edge = |from: &Value, to: &Value| {
        json!({ "edge": {
            "fromEntity": { "id": from["id"], "type": "table" },
            "toEntity": { "id": to["id"], "type": "table", "fullyQualifiedName": to["fullyQualifiedName"] },
            "lineageDetails": { "sqlQuery": "INSERT INTO order_summary SELECT customer_id, count(*) FROM orders" }
        }})
    };
    let answer = c.put("/api/v1/lineage", &edge(&orders, &summary)).await;
    assert_eq!((answer.status, &answer.body), (200, &Value::Null));
    let lineage = om.lineage();
    assert_eq!(lineage.len(), 1);
    assert_eq!(lineage[0]["fromEntity"]["fullyQualifiedName"], "svc.shop.public.orders");
    assert_eq!(lineage[0]["toEntity"]["fullyQualifiedName"], "svc.shop.public.order_summary");
    om.assert_no_violations();

    // To a table the server does not have.
    let missing = json!({ "id": "7d1a3f36-9c51-4e4b-8a43-1c2b7c0d5e9f", "fullyQualifiedName": "svc.shop.public.gone" });
    let answer = c.put("/api/v1/lineage", &edge(&orders, &missing)).await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.body["message"], "table instance for 7d1a3f36-9c51-4e4b-8a43-1c2b7c0d5e9f not found");
    assert_eq!(om.violations().len(), 1);
    // An edge by FQN only is not an AddLineage: entity references need an id.
    let by_fqn = json!({ "edge": {
        "fromEntity": { "type": "table", "fqn": "svc.shop.public.orders" },
        "toEntity": { "type": "table", "fqn": "svc.shop.public.order_summary" }
    }});
    assert_eq!(c.put("/api/v1/lineage", &by_fqn).await.status, 400);
    assert_eq!(om.lineage().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_entities_need_their_service_and_charts() {
    require_specs();
    let om = OpenMetadataFixture::start().await;
    let mut c = Client::connect(&om).await;
    let service = json!({
        "name": "looker",
        "serviceType": "Looker",
        "connection": { "config": {
            "type": "Looker", "hostPort": "https://looker.example.com", "clientId": "id", "clientSecret": "secret"
        }}
    });
    assert_eq!(c.put("/api/v1/services/dashboardServices", &service).await.status, 201);
    let chart = json!({ "name": "sales_by_month", "service": "looker", "chartType": "Bar", "displayName": "Sales",
                        "sourceUrl": "https://looker.example.com/looks/7", "sourceHash": HASH });
    let model = json!({ "name": "orders_view", "service": "looker", "dataModelType": "LookMlView",
                        "columns": [{ "name": "id", "dataType": "INT" }], "sourceHash": HASH });
    let dashboard = json!({ "name": "sales", "service": "looker", "displayName": "Sales",
                            "charts": ["looker.sales_by_month"], "dataModels": ["looker.model.orders_view"],
                            "sourceHash": HASH });
    // The chart is not there yet.
    assert_eq!(c.put("/api/v1/dashboards", &dashboard).await.status, 404);
    assert_eq!(om.violations().len(), 1);
    assert_eq!(c.put(&format!("/api/v1/charts{BULK}"), &json!([chart])).await.body["numberOfRowsPassed"], 1);
    let model = c.put("/api/v1/dashboard/datamodels", &model).await;
    assert_eq!((model.status, model.body["fullyQualifiedName"].as_str()), (201, Some("looker.model.orders_view")));
    assert_eq!(c.put("/api/v1/dashboards", &dashboard).await.status, 201);
    assert_eq!(om.get("dashboard", "looker.sales").unwrap()["charts"][0], "looker.sales_by_month");
    assert_eq!(om.violations().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_bodies_and_unknown_routes_are_refused() {
    require_specs();
    let (om, mut c) = with_schema().await;
    assert_eq!(c.put("/api/v1/tablez", &table("svc.shop.public", "orders")).await.status, 404);
    assert_eq!(c.get("/api/v1/tables/bulk").await.status, 405);
    assert_eq!(c.get("/api/v1/tables/name/svc.shop.public.nothing").await.status, 404);
    assert_eq!(om.violations().len(), 2, "a lookup that finds nothing is no violation");
    let body = table("svc.shop.public", "orders").to_string();
    let chunked = format!("{:x}\r\n{body}\r\n0\r\n\r\n", body.len());
    let answer = c.send("PUT", "/api/v1/tables", &[("Transfer-Encoding", "chunked")], chunked.as_bytes()).await;
    assert_eq!(answer.status, 411);
    assert_eq!(answer.header("connection"), Some("close"));
    let violations = om.violations();
    assert!(violations[2].contains("chunked"), "{}", violations[2]);
    assert!(om.entities("tables").is_empty());
}
