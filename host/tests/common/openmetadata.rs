//! An OpenMetadata server for the tests: a small HTTP/1.1 server on
//! 127.0.0.1 that checks every request body against OpenMetadata's JSON
//! Schemas (`../shared/specs/openmetadata/`), keeps entities by FQN and
//! answers like the real API. Tests can slow it down, throttle it, make it
//! fail, and inspect what it received.
//!
//! # REST paths, and where they were checked
//!
//! Against the resource classes of `open-metadata/OpenMetadata`
//! (`openmetadata-service/src/main/java/org/openmetadata/service/resources/`):
//! - `@Path("/v1/services/databaseServices")` (DatabaseServiceResource),
//!   `@Path("/v1/services/dashboardServices")` (DashboardServiceResource),
//!   `@Path("/v1/databases")`, `@Path("/v1/databaseSchemas")`,
//!   `@Path("/v1/tables")`, `@Path("/v1/storedProcedures")`,
//!   `@Path("/v1/dashboards")`, `@Path("/v1/charts")`,
//!   `@Path("/v1/dashboard/datamodels")` (DashboardDataModelResource),
//!   `@Path("/v1/lineage")`. Each entity resource answers `PUT` on its
//!   collection (`createOrUpdate`) and `GET .../name/{fqn}`.
//! - `@PUT @Path("/bulk")` with `@QueryParam("async")` (default false) and an
//!   `overrideMetadata` query parameter, body `List<Create*>`, answer 200 with
//!   a `BulkOperationResult` (202 when async). Seen on several resources
//!   (pipelines, metrics, search indexes, spreadsheets) and the shared
//!   `EntityResource.processBulkRequest`: a request that fails validation is
//!   reported in `failedRequest` as `{request: <the Create request>, message,
//!   status: 400}`; a failure while writing (`EntityRepository.
//!   handleBulkOperationError`) as `{request: <the FQN>, status, message}`. The
//!   overall status is `partialSuccess` when some failed, `failure` when all
//!   did. This fixture does the same.
//! - `LineageResource.addLineage`: `PUT /v1/lineage` with an `AddLineage`,
//!   answers 200 with no body, 404 when an end is not found.
//! - Error bodies are Dropwizard's `{"code": N, "message": "..."}`; a missing
//!   entity reads `<entityType> instance for <fqn> not found`.
//!
//! The docs at docs.open-metadata.org (api-reference/data-assets/tables) list
//! the same `PUT /v1/tables` create-or-update. Services get no `/bulk` route
//! here (the sink sends them one by one).
//!
//! # What it serves, below `/api/v1/`
//!
//! - `PUT <collection>`: one Create* request, checked against its schema;
//!   the parent named by `service`/`database`/`databaseSchema` (an FQN) must
//!   exist; 201 and the entity on create, 200 on update (version + 0.1 only
//!   when the request changed). A table's FOREIGN_KEY `referredColumns` must
//!   name a table the fixture has; a dashboard's `charts`/`dataModels` must
//!   exist.
//! - `PUT <collection>/bulk?async=false&overrideMetadata=false`: a JSON array
//!   of the same; 200 and a `BulkOperationResult`. `async=true` is answered
//!   as OpenMetadata does (202, no per-item results) and is a violation.
//! - `PUT lineage`: an `AddLineage`; both ends by `id` and `type` (the
//!   schema's entity reference requires `id`), 200 with no body.
//! - `GET <collection>/name/<fqn>` and `GET system/version`.
//!
//! Everything a client should not do is recorded as a violation (see
//! [`OpenMetadataFixture::violations`]); injected faults are not.
//!
//! # HTTP
//!
//! Served by [`weir::fixture::http`]: HTTP/1.1 with keep-alive (HTTP/1.0
//! closes unless asked to keep alive), `Expect: 100-continue`, request bodies
//! by `Content-Length` only: a request with `Transfer-Encoding` (chunked) is
//! refused with 411 Length Required (in OpenMetadata's error body), the
//! connection is closed and the refusal is recorded as a violation. Every
//! answer carries `Content-Length`. Each connection runs on its own task.

use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};
use weir::fixture::http::{Handler, Request, Response, Server, percent_decode};

// ---------------------------------------------------------------------------
// Schemas
// ---------------------------------------------------------------------------

/// The URI every schema file is registered under: this prefix plus its path.
pub const SCHEMA_BASE: &str = "https://open-metadata.org/schema/";

/// `../shared/specs/openmetadata` beside the project.
pub fn specs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/specs/openmetadata")
}

/// Whether the schemas are there; says the test is skipped when not.
pub fn specs_present() -> bool {
    if specs_dir().join("api/data/createTable.json").exists() {
        return true;
    }
    eprintln!("skipped: OpenMetadata schemas not found at {} (../shared beside the project)", specs_dir().display());
    false
}

/// Reads one schema file and gives it the `$id` of its path. Some files
/// carry an `$id` that does not match where they are (SOURCE.md lists 28);
/// OpenMetadata resolves `$ref`s by file path, so this does too.
fn load_schema(dir: &Path, relative: &str) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
    let mut schema: Value = serde_json::from_str(&std::fs::read_to_string(dir.join(relative))?)?;
    if let Value::Object(map) = &mut schema {
        map.insert("$id".into(), format!("{SCHEMA_BASE}{relative}").into());
    }
    Ok(schema)
}

/// Resolves `$ref`s to the schema files on disk instead of the network.
struct LocalSpecs(PathBuf);

impl jsonschema::Retrieve for LocalSpecs {
    fn retrieve(&self, uri: &jsonschema::Uri<String>) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let path =
            uri.as_str().strip_prefix(SCHEMA_BASE).ok_or_else(|| format!("not an OpenMetadata schema: {uri}"))?;
        let path = path.split('#').next().unwrap_or(path);
        load_schema(&self.0, path)
    }
}

/// Compiles the validator of one schema file (a path relative to the specs
/// folder, e.g. `api/data/createTable.json`).
pub fn validator(file: &str) -> jsonschema::Validator {
    let schema = load_schema(&specs_dir(), file).unwrap_or_else(|e| panic!("schema {file}: {e}"));
    jsonschema::options()
        .with_retriever(LocalSpecs(specs_dir()))
        .build(&schema)
        .unwrap_or_else(|e| panic!("schema {file} does not compile: {e}"))
}

/// The validator of `file`, compiled once per test process (compiling one
/// that reaches every service connection takes a while).
pub fn shared_validator(file: &str) -> Arc<jsonschema::Validator> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<jsonschema::Validator>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(v) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(file) {
        return v.clone();
    }
    // Compiled outside the lock; a race compiles twice, harmlessly.
    let compiled = Arc::new(validator(file));
    cache.lock().unwrap_or_else(|e| e.into_inner()).entry(file.to_string()).or_insert(compiled).clone()
}

/// Every schema error of `value`, as `message at /instance/path`.
pub fn schema_errors(validator: &jsonschema::Validator, value: &Value) -> Vec<String> {
    validator.iter_errors(value).map(|e| format!("{} at {}", e, e.instance_path)).collect()
}

// ---------------------------------------------------------------------------
// Collections
// ---------------------------------------------------------------------------

/// One REST collection the fixture serves.
struct Collection {
    /// Path below `/api/v1/`.
    path: &'static str,
    /// OpenMetadata's entity type name (as in entity references).
    entity_type: &'static str,
    /// The Create* request schema.
    schema: &'static str,
    /// The request field that holds the parent's FQN, and the parent's
    /// collection.
    parent: Option<(&'static str, &'static str)>,
    /// A fixed FQN part between parent and name (`model` for data models:
    /// `<service>.model.<name>`).
    infix: Option<&'static str>,
    /// Whether `PUT <path>/bulk` exists.
    bulk: bool,
}

const COLLECTIONS: &[Collection] = &[
    Collection {
        path: "services/databaseServices",
        entity_type: "databaseService",
        schema: "api/services/createDatabaseService.json",
        parent: None,
        infix: None,
        bulk: false,
    },
    Collection {
        path: "services/dashboardServices",
        entity_type: "dashboardService",
        schema: "api/services/createDashboardService.json",
        parent: None,
        infix: None,
        bulk: false,
    },
    Collection {
        path: "databases",
        entity_type: "database",
        schema: "api/data/createDatabase.json",
        parent: Some(("service", "services/databaseServices")),
        infix: None,
        bulk: true,
    },
    Collection {
        path: "databaseSchemas",
        entity_type: "databaseSchema",
        schema: "api/data/createDatabaseSchema.json",
        parent: Some(("database", "databases")),
        infix: None,
        bulk: true,
    },
    Collection {
        path: "tables",
        entity_type: "table",
        schema: "api/data/createTable.json",
        parent: Some(("databaseSchema", "databaseSchemas")),
        infix: None,
        bulk: true,
    },
    Collection {
        path: "storedProcedures",
        entity_type: "storedProcedure",
        schema: "api/data/createStoredProcedure.json",
        parent: Some(("databaseSchema", "databaseSchemas")),
        infix: None,
        bulk: true,
    },
    Collection {
        path: "dashboards",
        entity_type: "dashboard",
        schema: "api/data/createDashboard.json",
        parent: Some(("service", "services/dashboardServices")),
        infix: None,
        bulk: true,
    },
    Collection {
        path: "charts",
        entity_type: "chart",
        schema: "api/data/createChart.json",
        parent: Some(("service", "services/dashboardServices")),
        infix: None,
        bulk: true,
    },
    Collection {
        path: "dashboard/datamodels",
        entity_type: "dashboardDataModel",
        schema: "api/data/createDashboardDataModel.json",
        parent: Some(("service", "services/dashboardServices")),
        infix: Some("model"),
        bulk: true,
    },
];

const LINEAGE_SCHEMA: &str = "api/lineage/addLineage.json";

/// A collection by its path (`tables`, `services/databaseServices`) or its
/// entity type (`table`, `databaseService`).
fn collection(key: &str) -> Option<&'static Collection> {
    COLLECTIONS.iter().find(|c| c.path == key || c.entity_type == key)
}

fn collection_or_panic(key: &str) -> &'static Collection {
    collection(key).unwrap_or_else(|| panic!("the fixture has no collection `{key}`"))
}

// ---------------------------------------------------------------------------
// FQNs
// ---------------------------------------------------------------------------

/// Quotes one name part as OpenMetadata does: a part with a dot is wrapped in
/// double quotes; a quoted part that needs no quotes loses them.
pub fn quote_name(name: &str) -> String {
    let inner = name.strip_prefix('"').and_then(|n| n.strip_suffix('"')).filter(|n| !n.is_empty());
    let bare = inner.unwrap_or(name);
    if bare.contains('.') { format!("\"{bare}\"") } else { bare.to_string() }
}

/// Splits an FQN into its unquoted parts: the one grammar, shared with weir.
pub use weir::fqn::split as split_fqn;

fn join_fqn<S: AsRef<str>>(parts: &[S]) -> String {
    parts.iter().map(|p| quote_name(p.as_ref())).collect::<Vec<_>>().join(".")
}

/// The same FQN with every part quoted the canonical way.
fn normalize_fqn(fqn: &str) -> String {
    join_fqn(&split_fqn(fqn))
}

// ---------------------------------------------------------------------------
// Public handle
// ---------------------------------------------------------------------------

/// The token `start()` expects in `Authorization: Bearer <token>`.
pub const DEFAULT_TOKEN: &str = "weir-test-jwt";

/// One request as the fixture saw it.
#[derive(Debug, Clone)]
pub struct RequestLog {
    pub method: String,
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    pub status: u16,
    /// When the request had been read, counted from the fixture's start.
    pub at: Duration,
    /// From the request being read to the answer being ready (injected
    /// latency included).
    pub elapsed: Duration,
    /// Create requests in the body: the array's length for `/bulk`, 1 for a
    /// single object, 0 for none.
    pub items: usize,
}

/// What `PUT <collection>/bulk` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BulkRoute {
    /// The route exists (OpenMetadata 1.9 and later).
    #[default]
    Present,
    /// No such route: every `/bulk` request answers this status (404 or 405,
    /// as older servers do).
    Absent(u16),
}

/// The running fixture. Clones share one server; it stops accepting when the
/// last clone is dropped.
#[derive(Clone)]
pub struct OpenMetadataFixture {
    inner: Arc<Inner>,
}

struct Inner {
    state: Arc<State>,
    /// Stops serving when dropped.
    server: Server,
}

impl OpenMetadataFixture {
    /// Starts a fixture on 127.0.0.1 (a free port) expecting [`DEFAULT_TOKEN`].
    pub async fn start() -> Self {
        Self::start_with_token(DEFAULT_TOKEN).await
    }

    /// Starts a fixture that expects `Authorization: Bearer <token>`.
    pub async fn start_with_token(token: &str) -> Self {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        let mut state = None;
        let server = Server::start_with(|addr| {
            let shared = Arc::new(State {
                token: token.to_string(),
                base_url: format!("http://{addr}/api"),
                started: Instant::now(),
                seed: (nanos as u64) ^ ((addr.port() as u64) << 48) ^ std::process::id() as u64,
                data: Mutex::new(Data::default()),
            });
            state = Some(Arc::clone(&shared));
            Service(shared)
        })
        .await
        .expect("start the OpenMetadata fixture");
        let state = state.expect("the server made its handler");
        OpenMetadataFixture { inner: Arc::new(Inner { state, server }) }
    }

    pub fn addr(&self) -> SocketAddr {
        self.inner.server.addr()
    }

    /// `http://127.0.0.1:<port>/api`, as `openMetadataServerConfig.hostPort`.
    pub fn base_url(&self) -> String {
        self.inner.state.base_url.clone()
    }

    pub fn token(&self) -> String {
        self.inner.state.token.clone()
    }

    fn data(&self) -> MutexGuard<'_, Data> {
        self.inner.state.lock()
    }

    // --- fault injection -------------------------------------------------

    /// Adds `latency` before every answer (zero turns it off).
    pub fn set_latency(&self, latency: Duration) {
        self.data().faults.latency = latency;
    }

    /// The next `n` requests (whose path starts with `path_prefix`, when
    /// given) answer 429 with `Retry-After: <retry_after_secs>`.
    pub fn throttle_next(&self, n: usize, retry_after_secs: u64, path_prefix: Option<&str>) {
        self.data().faults.injections.push(Injection {
            skip: 0,
            remaining: n,
            status: 429,
            retry_after: Some(retry_after_secs),
            prefix: path_prefix.map(str::to_string),
        });
    }

    /// The next `n` requests (matching `path_prefix`, when given) answer
    /// `status` (500, 503, ...) without being applied.
    pub fn fail_next(&self, n: usize, status: u16, path_prefix: Option<&str>) {
        self.fail_after(0, n, status, path_prefix);
    }

    /// Like [`fail_next`](Self::fail_next), once `skip` matching requests
    /// have gone by (answered normally or by another injection).
    pub fn fail_after(&self, skip: usize, n: usize, status: u16, path_prefix: Option<&str>) {
        self.data().faults.injections.push(Injection {
            skip,
            remaining: n,
            status,
            retry_after: None,
            prefix: path_prefix.map(str::to_string),
        });
    }

    /// Inside `/bulk` answers, the items whose `name` is one of `names` fail
    /// (reported in `failedRequest`, not stored) until cleared.
    pub fn fail_items<I, S>(&self, names: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.data().faults.failing_items.extend(names.into_iter().map(Into::into));
    }

    /// Whether `/bulk` exists, or answers 404/405 as on older servers.
    pub fn set_bulk_route(&self, route: BulkRoute) {
        self.data().faults.bulk = route;
    }

    /// Removes every injected fault (latency, throttles, failures, failing
    /// items) and restores `/bulk`.
    pub fn clear_faults(&self) {
        self.data().faults = Faults::default();
    }

    // --- inspection -----------------------------------------------------

    /// The stored entities of a collection (`tables` or `table`,
    /// `services/databaseServices` or `databaseService`, ...), by FQN order.
    pub fn entities(&self, collection: &str) -> Vec<Value> {
        let c = collection_or_panic(collection);
        self.data().entities.get(c.path).map(|m| m.values().map(|s| s.entity.clone()).collect()).unwrap_or_default()
    }

    /// One stored entity by FQN.
    pub fn get(&self, collection: &str, fqn: &str) -> Option<Value> {
        let c = collection_or_panic(collection);
        self.data().entities.get(c.path).and_then(|m| m.get(&normalize_fqn(fqn))).map(|s| s.entity.clone())
    }

    /// How many accepted writes (creates plus updates) each FQN of a
    /// collection received: "every entity exactly once" is every count 1.
    pub fn write_counts(&self, collection: &str) -> BTreeMap<String, usize> {
        let c = collection_or_panic(collection);
        self.data()
            .entities
            .get(c.path)
            .map(|m| m.iter().map(|(fqn, s)| (fqn.clone(), s.writes)).collect())
            .unwrap_or_default()
    }

    /// Every accepted Create* request for one FQN, oldest first (single PUTs
    /// and `/bulk` items alike): what each write sent, e.g. a table's phase-1
    /// body before its foreign keys came.
    pub fn history(&self, collection: &str, fqn: &str) -> Vec<Value> {
        let c = collection_or_panic(collection);
        self.data()
            .entities
            .get(c.path)
            .and_then(|m| m.get(&normalize_fqn(fqn)))
            .map(|s| s.history.clone())
            .unwrap_or_default()
    }

    /// Stored lineage edges: `fromEntity`/`toEntity` as references with `id`,
    /// `type` and `fullyQualifiedName`, plus `description`/`lineageDetails`
    /// when sent.
    pub fn lineage(&self) -> Vec<Value> {
        self.data().lineage.values().cloned().collect()
    }

    /// Every request answered so far, in order.
    pub fn requests(&self) -> Vec<RequestLog> {
        self.data().requests.clone()
    }

    /// Everything a well-behaved client should not have done: schema
    /// violations (with the errors, the path and the body), missing parents,
    /// references to tables not there yet, bad tokens, unknown routes, ...
    pub fn violations(&self) -> Vec<String> {
        self.data().violations.clone()
    }

    /// Panics with every violation when there is any.
    #[track_caller]
    pub fn assert_no_violations(&self) {
        let violations = self.violations();
        assert!(
            violations.is_empty(),
            "the OpenMetadata fixture saw {} violation(s):\n{}",
            violations.len(),
            violations.join("\n")
        );
    }
}

// ---------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------

struct Stored {
    request: Value,
    entity: Value,
    version_tenths: u32,
    writes: usize,
    /// Every accepted request for this FQN, oldest first.
    history: Vec<Value>,
}

struct Injection {
    /// Matching requests let through before this one starts answering.
    skip: usize,
    remaining: usize,
    status: u16,
    retry_after: Option<u64>,
    prefix: Option<String>,
}

#[derive(Default)]
struct Faults {
    latency: Duration,
    injections: Vec<Injection>,
    failing_items: HashSet<String>,
    bulk: BulkRoute,
}

impl Faults {
    /// The injected answer for this request, if one is due.
    fn take_injection(&mut self, path: &str) -> Option<Response> {
        let mut due = None;
        for (i, injection) in self.injections.iter_mut().enumerate() {
            if injection.remaining == 0 || !injection.prefix.as_deref().is_none_or(|p| path.starts_with(p)) {
                continue;
            }
            if injection.skip > 0 {
                injection.skip -= 1;
            } else if due.is_none() {
                due = Some(i);
            }
        }
        let i = due?;
        let injection = &mut self.injections[i];
        injection.remaining -= 1;
        let (status, retry_after) = (injection.status, injection.retry_after);
        if injection.remaining == 0 {
            self.injections.remove(i);
        }
        let message = if status == 429 { "Too many requests" } else { "Injected failure" };
        let mut response = error_response(status, message);
        if let Some(secs) = retry_after {
            response.headers.push(("Retry-After".into(), secs.to_string()));
        }
        Some(response)
    }
}

#[derive(Default)]
struct Data {
    /// Collection path → FQN → entity.
    entities: HashMap<&'static str, BTreeMap<String, Stored>>,
    /// Entity id → (collection path, FQN).
    by_id: HashMap<String, (&'static str, String)>,
    /// (from id, to id) → edge.
    lineage: BTreeMap<(String, String), Value>,
    requests: Vec<RequestLog>,
    violations: Vec<String>,
    faults: Faults,
    next_id: u64,
}

/// Why a request (or one bulk item) was not applied.
struct Failure {
    status: u16,
    message: String,
}

impl Failure {
    fn new(status: u16, message: impl Into<String>) -> Self {
        Failure { status, message: message.into() }
    }
}

fn not_found(entity_type: &str, key: &str) -> Failure {
    Failure::new(404, format!("{entity_type} instance for {key} not found"))
}

impl Data {
    fn exists(&self, c: &Collection, fqn: &str) -> bool {
        self.entities.get(c.path).is_some_and(|m| m.contains_key(fqn))
    }

    fn stored(&self, c: &Collection, fqn: &str) -> Option<&Stored> {
        self.entities.get(c.path).and_then(|m| m.get(fqn))
    }

    /// The FQN the request names; its parent must exist.
    fn fqn_of(&self, c: &Collection, body: &Value) -> Result<String, Failure> {
        let name = body["name"].as_str().ok_or_else(|| Failure::new(400, "name must not be null"))?;
        let name = quote_name(name);
        let Some((field, parent_path)) = c.parent else { return Ok(name) };
        let parent = body[field].as_str().ok_or_else(|| Failure::new(400, format!("{field} must not be null")))?;
        let parent = normalize_fqn(parent);
        let parent_collection = collection_or_panic(parent_path);
        if !self.exists(parent_collection, &parent) {
            return Err(not_found(parent_collection.entity_type, &parent));
        }
        Ok(match c.infix {
            Some(infix) => format!("{parent}.{infix}.{name}"),
            None => format!("{parent}.{name}"),
        })
    }

    /// References to other entities must point at entities that exist.
    fn check_references(&self, c: &Collection, fqn: &str, body: &Value) -> Result<(), Failure> {
        match c.entity_type {
            "table" => self.check_constraints(fqn, body),
            "dashboard" => {
                for (field, target) in [("charts", "charts"), ("dataModels", "dashboard/datamodels")] {
                    let target = collection_or_panic(target);
                    for r in body[field].as_array().into_iter().flatten() {
                        let r = normalize_fqn(r.as_str().unwrap_or_default());
                        if !self.exists(target, &r) {
                            return Err(not_found(target.entity_type, &r));
                        }
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn check_constraints(&self, fqn: &str, body: &Value) -> Result<(), Failure> {
        let own: HashSet<&str> = column_names(body).collect();
        let tables = collection_or_panic("tables");
        for constraint in body["tableConstraints"].as_array().into_iter().flatten() {
            for column in constraint["columns"].as_array().into_iter().flatten() {
                let column = column.as_str().unwrap_or_default();
                if !own.contains(column) {
                    return Err(Failure::new(400, format!("Invalid column name `{column}` in a table constraint")));
                }
            }
            if constraint["constraintType"] != "FOREIGN_KEY" {
                continue;
            }
            for referred in constraint["referredColumns"].as_array().into_iter().flatten() {
                let parts = split_fqn(referred.as_str().unwrap_or_default());
                if parts.len() < 2 {
                    return Err(Failure::new(400, format!("referred column {referred} is not a column FQN")));
                }
                let table = join_fqn(&parts[..parts.len() - 1]);
                let column = &parts[parts.len() - 1];
                let has_column = if table == fqn {
                    own.contains(column.as_str())
                } else {
                    let Some(stored) = self.stored(tables, &table) else {
                        return Err(Failure::new(
                            404,
                            format!(
                                "table instance for {table} not found: the foreign key references a table it does \
                                 not have yet"
                            ),
                        ));
                    };
                    column_names(&stored.request).any(|c| c == column)
                };
                if !has_column {
                    return Err(Failure::new(400, format!("referred column {referred} does not exist")));
                }
            }
        }
        Ok(())
    }

    fn new_id(&mut self, seed: u64) -> String {
        self.next_id += 1;
        let a = splitmix(seed ^ self.next_id);
        let b = splitmix(a ^ self.next_id.rotate_left(32));
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | (b >> 48) & 0x3fff,
            b & 0xffff_ffff_ffff
        )
    }

    /// Creates or updates one entity: (201 or 200, the entity).
    fn apply(&mut self, state: &State, c: &'static Collection, body: &Value) -> Result<(u16, Value), Failure> {
        let fqn = self.fqn_of(c, body)?;
        self.check_references(c, &fqn, body)?;
        if let Some(stored) = self.entities.get_mut(c.path).and_then(|m| m.get_mut(&fqn)) {
            stored.writes += 1;
            stored.history.push(body.clone());
            if stored.request != *body {
                stored.version_tenths += 1;
                let id = stored.entity["id"].as_str().unwrap_or_default().to_string();
                stored.entity = entity_json(state, c, body, &id, &fqn, stored.version_tenths);
                stored.request = body.clone();
            }
            return Ok((200, stored.entity.clone()));
        }
        let id = self.new_id(state.seed);
        let entity = entity_json(state, c, body, &id, &fqn, 1);
        self.by_id.insert(id, (c.path, fqn.clone()));
        let stored = Stored {
            request: body.clone(),
            entity: entity.clone(),
            version_tenths: 1,
            writes: 1,
            history: vec![body.clone()],
        };
        self.entities.entry(c.path).or_default().insert(fqn, stored);
        Ok((201, entity))
    }

    /// One end of a lineage edge, as a full reference.
    fn resolve_reference(&self, r: &Value) -> Result<Value, Failure> {
        let id = r["id"].as_str().unwrap_or_default();
        let entity_type = r["type"].as_str().unwrap_or_default();
        let Some((path, fqn)) = self.by_id.get(id) else { return Err(not_found(entity_type, id)) };
        if collection_or_panic(path).entity_type != entity_type {
            return Err(not_found(entity_type, id));
        }
        if let Some(given) = r["fullyQualifiedName"].as_str()
            && normalize_fqn(given) != *fqn
        {
            return Err(Failure::new(400, format!("entity {id} is {fqn}, not {given}")));
        }
        Ok(json!({ "id": id, "type": entity_type, "fullyQualifiedName": fqn }))
    }
}

fn column_names(body: &Value) -> impl Iterator<Item = &str> {
    body["columns"].as_array().into_iter().flatten().filter_map(|c| c["name"].as_str())
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The stored entity: the request plus what the server adds.
fn entity_json(state: &State, c: &Collection, body: &Value, id: &str, fqn: &str, version_tenths: u32) -> Value {
    let mut entity = body.as_object().cloned().unwrap_or_default();
    entity.insert("id".into(), id.into());
    entity.insert("fullyQualifiedName".into(), fqn.into());
    entity.insert("version".into(), (version_tenths as f64 / 10.0).into());
    entity.insert("href".into(), format!("{}/v1/{}/{id}", state.base_url, c.path).into());
    Value::Object(entity)
}

struct State {
    token: String,
    base_url: String,
    started: Instant,
    seed: u64,
    data: Mutex<Data>,
}

/// Which handler a path goes to.
enum Route {
    Single(&'static Collection),
    Bulk(&'static Collection),
    ByName(&'static Collection, String),
    Lineage,
    Version,
}

fn route(path: &str) -> Option<Route> {
    let rest = path.strip_prefix("/api/v1/")?;
    match rest {
        "lineage" => return Some(Route::Lineage),
        "system/version" => return Some(Route::Version),
        _ => {}
    }
    for c in COLLECTIONS {
        let Some(after) = rest.strip_prefix(c.path) else { continue };
        if after.is_empty() {
            return Some(Route::Single(c));
        }
        if after == "/bulk" && c.bulk {
            return Some(Route::Bulk(c));
        }
        if let Some(fqn) = after.strip_prefix("/name/") {
            return Some(Route::ByName(c, percent_decode(fqn)));
        }
    }
    None
}

impl State {
    fn lock(&self) -> MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn violation(&self, req: &Request, message: &str, body: Option<&Value>) {
        let mut text = format!("{} {}: {message}", req.method, req.target());
        if let Some(body) = body {
            text.push_str(&format!("\n  body: {body}"));
        }
        self.lock().violations.push(text);
    }

    /// Records the failure as a violation and answers it.
    fn refuse(&self, req: &Request, failure: Failure, body: Option<&Value>) -> Response {
        self.violation(req, &format!("{} {}", failure.status, failure.message), body);
        error_response(failure.status, &failure.message)
    }

    async fn handle(&self, req: Request) -> Response {
        let received = Instant::now();
        let latency = self.lock().faults.latency;
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let response = self.dispatch(&req);
        let log = RequestLog {
            method: req.method.clone(),
            path: req.path.clone(),
            query: req.raw_query.clone(),
            status: response.status,
            at: received.duration_since(self.started),
            elapsed: received.elapsed(),
            items: count_items(&req.body),
        };
        self.lock().requests.push(log);
        response
    }

    fn dispatch(&self, req: &Request) -> Response {
        if let Some(injected) = self.lock().faults.take_injection(&req.path) {
            return injected;
        }
        match req.header("authorization") {
            None => return self.refuse(req, Failure::new(401, "Not Authorized! Token not present"), None),
            Some(value) => {
                let token = value.split_once(' ').filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"));
                if token.map(|(_, t)| t.trim()) != Some(self.token.as_str()) {
                    return self.refuse(req, Failure::new(401, "Not Authorized! Invalid token"), None);
                }
            }
        }
        let is_bulk_path = req.path.ends_with("/bulk");
        let bulk_route = self.lock().faults.bulk;
        if let (true, BulkRoute::Absent(status)) = (is_bulk_path, bulk_route) {
            let reason = if status == 405 { "HTTP 405 Method Not Allowed" } else { "HTTP 404 Not Found" };
            return error_response(status, reason);
        }
        let Some(route) = route(&req.path) else {
            return self.refuse(req, Failure::new(404, "HTTP 404 Not Found (no such route in the fixture)"), None);
        };
        let method_ok = match route {
            Route::Single(_) | Route::Bulk(_) | Route::Lineage => req.method == "PUT",
            Route::ByName(..) | Route::Version => req.method == "GET",
        };
        if !method_ok {
            return self.refuse(req, Failure::new(405, "HTTP 405 Method Not Allowed"), None);
        }
        match route {
            Route::Single(c) => self.put_one(req, c),
            Route::Bulk(c) => self.put_bulk(req, c),
            Route::ByName(c, fqn) => match self.lock().stored(c, &normalize_fqn(&fqn)) {
                Some(stored) => Response::json(200, &stored.entity),
                None => error_response(404, &not_found(c.entity_type, &fqn).message),
            },
            Route::Lineage => self.put_lineage(req),
            Route::Version => Response::json(200, &json!({ "version": "1.13.0", "revision": "fixture" })),
        }
    }

    fn parse_body(&self, req: &Request) -> Result<Value, Response> {
        serde_json::from_slice(&req.body).map_err(|e| {
            let text = String::from_utf8_lossy(&req.body).into_owned();
            self.violation(req, &format!("400 body is not JSON ({e})"), Some(&Value::String(text)));
            error_response(400, &format!("Unable to process JSON: {e}"))
        })
    }

    fn check_schema(&self, file: &str, body: &Value) -> Result<(), Failure> {
        let errors = schema_errors(&shared_validator(file), body);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Failure::new(400, format!("schema violation ({file}): {}", errors.join("; "))))
        }
    }

    fn put_one(&self, req: &Request, c: &'static Collection) -> Response {
        let body = match self.parse_body(req) {
            Ok(body) => body,
            Err(response) => return response,
        };
        if let Err(failure) = self.check_schema(c.schema, &body) {
            return self.refuse(req, failure, Some(&body));
        }
        let applied = self.lock().apply(self, c, &body);
        match applied {
            Ok((status, entity)) => Response::json(status, &entity),
            Err(failure) => self.refuse(req, failure, Some(&body)),
        }
    }

    fn put_bulk(&self, req: &Request, c: &'static Collection) -> Response {
        let body = match self.parse_body(req) {
            Ok(body) => body,
            Err(response) => return response,
        };
        let Value::Array(items) = &body else {
            return self.refuse(req, Failure::new(400, "a bulk body must be a JSON array"), Some(&body));
        };
        let is_async = req.query_value("async") == Some("true");
        // Validation first (no lock held), as OpenMetadata's phase 1.
        let checks: Vec<Result<(), Failure>> = items.iter().map(|item| self.check_schema(c.schema, item)).collect();
        let mut success = Vec::new();
        let mut failed = Vec::new();
        for (item, check) in items.iter().zip(checks) {
            if let Err(failure) = check {
                self.violation(req, &format!("item {}", failure.message), Some(item));
                failed.push(json!({ "request": item, "message": failure.message, "status": 400 }));
                continue;
            }
            let name = item["name"].as_str().unwrap_or_default();
            let mut data = self.lock();
            if data.faults.failing_items.contains(name) {
                let fqn = data.fqn_of(c, item).unwrap_or_else(|_| name.to_string());
                failed.push(json!({ "request": fqn, "message": format!("Injected failure for {fqn}"), "status": 500 }));
                continue;
            }
            match data.apply(self, c, item) {
                Ok((status, entity)) => {
                    success.push(json!({ "request": entity["fullyQualifiedName"], "status": status }));
                }
                Err(failure) => {
                    drop(data);
                    self.violation(req, &format!("item {} {}", failure.status, failure.message), Some(item));
                    failed.push(json!({ "request": item, "message": failure.message, "status": 400 }));
                }
            }
        }
        let status = match (success.is_empty(), failed.is_empty()) {
            (_, true) => "success",
            (true, false) => "failure",
            (false, false) => "partialSuccess",
        };
        let mut result = Map::new();
        result.insert("status".into(), status.into());
        result.insert("numberOfRowsProcessed".into(), items.len().into());
        result.insert("numberOfRowsPassed".into(), success.len().into());
        result.insert("numberOfRowsFailed".into(), failed.len().into());
        if is_async {
            // What OpenMetadata answers before the work is done: nothing about
            // the items. A sink that needs per-item results must not ask.
            self.violation(req, "async=true: the answer says nothing about the items", None);
            result.insert("numberOfRowsPassed".into(), 0.into());
            return Response::json(202, &Value::Object(result));
        }
        result.insert("successRequest".into(), success.into());
        result.insert("failedRequest".into(), failed.into());
        Response::json(200, &Value::Object(result))
    }

    fn put_lineage(&self, req: &Request) -> Response {
        let body = match self.parse_body(req) {
            Ok(body) => body,
            Err(response) => return response,
        };
        if let Err(failure) = self.check_schema(LINEAGE_SCHEMA, &body) {
            return self.refuse(req, failure, Some(&body));
        }
        let edge = &body["edge"];
        let mut data = self.lock();
        let ends = data
            .resolve_reference(&edge["fromEntity"])
            .and_then(|from| Ok((from, data.resolve_reference(&edge["toEntity"])?)));
        let (from, to) = match ends {
            Ok(ends) => ends,
            Err(failure) => {
                drop(data);
                return self.refuse(req, failure, Some(&body));
            }
        };
        let key =
            (from["id"].as_str().unwrap_or_default().to_string(), to["id"].as_str().unwrap_or_default().to_string());
        let mut stored = Map::new();
        stored.insert("fromEntity".into(), from);
        stored.insert("toEntity".into(), to);
        for field in ["description", "lineageDetails"] {
            if let Some(v) = edge.get(field) {
                stored.insert(field.into(), v.clone());
            }
        }
        data.lineage.insert(key, Value::Object(stored));
        Response::new(200)
    }
}

fn count_items(body: &[u8]) -> usize {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(items)) => items.len(),
        Ok(Value::Object(_)) => 1,
        _ => 0,
    }
}

/// OpenMetadata's error body: `{"code": N, "message": "..."}`.
fn error_response(status: u16, message: &str) -> Response {
    Response::json(status, &json!({ "code": status, "message": message }))
}

// ---------------------------------------------------------------------------
// HTTP, served by `weir::fixture::http`
// ---------------------------------------------------------------------------

/// The fixture's state as the server's handler.
struct Service(Arc<State>);

impl Handler for Service {
    async fn handle(&self, request: Request) -> Response {
        self.0.handle(request).await
    }

    /// A refused request is a violation and, when its head could be read,
    /// appears in the request log.
    fn refused(&self, request: Option<&Request>, status: u16, reason: &str) {
        let state = &self.0;
        let Some(request) = request else {
            state.lock().violations.push(format!("malformed request: {status} {reason}"));
            return;
        };
        state.violation(request, &format!("{status} {reason}"), None);
        let log = RequestLog {
            method: request.method.clone(),
            path: request.path.clone(),
            query: request.raw_query.clone(),
            status,
            at: state.started.elapsed(),
            elapsed: Duration::ZERO,
            items: 0,
        };
        state.lock().requests.push(log);
    }

    fn refusal(&self, status: u16, reason: &str) -> Response {
        error_response(status, reason)
    }
}
