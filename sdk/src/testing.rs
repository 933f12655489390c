//! Running a connector's `discover` and `process` in a plain `cargo test`,
//! without the host.
//!
//! Outside `wasm32` the SDK's [`sql`](crate::sql), [`http`](crate::http),
//! [`log`](crate::log) and [`discovery`](crate::discovery) calls are
//! answered by the [`TestHost`] the test is running the connector in: SQL
//! statements from rows the test gives ([`FakeDatabase`]), HTTP requests
//! from answers it recorded ([`Answer`]). Everything the connector asked is
//! kept for the test to check. Called outside a `TestHost`, they fail with
//! `denied` rather than aborting.
//!
//! ```
//! use weir_sdk::testing::{Answer, FakeDatabase, TestHost};
//! use weir_sdk::sql::Value;
//!
//! let host = TestHost::new("acme")
//!     .connection("hostPort", "https://api.example.com")
//!     .database("source", FakeDatabase::new("postgres").answer(
//!         "FROM information_schema.tables",
//!         &["table_name"],
//!         vec![vec![Value::from("orders")]],
//!     ))
//!     .http(Answer::get("https://api.example.com/tables").json(&serde_json::json!([])));
//! // let refs = host.discover(&mut MyConnector::new(), EntityKind::Table)?;
//! // assert_eq!(host.queries().len(), 1, "one query for every table");
//! # let _ = host;
//! ```
//!
//! For a run through the real host, against a real database, use
//! `weir plugin test PLUGIN -c workflow.yaml`.

use crate::bindings::weir::connector::http::{Request as HostRequest, Response as HostResponse};
use crate::bindings::weir::connector::sql::{ColumnInfo, RowSet, SqlValue};
use crate::log::Level;
use crate::{Batch, Config, Connector, EntityKind, EntityRef, Failure, Result};
use serde_json::{Map, Value as Json};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// A database a test stands up: each statement is answered by the first
/// answer whose text it contains (runs of whitespace compared as one
/// space); one with no answer fails, naming it.
#[derive(Clone)]
pub struct FakeDatabase {
    engine: String,
    answers: Vec<(String, Result<RowSet>)>,
}

impl FakeDatabase {
    /// A database of `engine` (`postgres`, `sqlite`, `mssql`), as
    /// `Connection::engine` reports it.
    pub fn new(engine: &str) -> FakeDatabase {
        FakeDatabase { engine: engine.to_string(), answers: Vec::new() }
    }

    /// Answers a statement containing `statement` with `rows` under
    /// `columns` (each of type `text` as far as the connector can tell).
    pub fn answer(mut self, statement: &str, columns: &[&str], rows: Vec<Vec<SqlValue>>) -> FakeDatabase {
        let columns = columns.iter().map(|c| ColumnInfo { name: c.to_string(), type_name: "text".into() }).collect();
        self.answers.push((spaced(statement), Ok(RowSet { columns, rows })));
        self
    }

    /// Fails a statement containing `statement` with `failure`, as a
    /// server refusing it would.
    pub fn fail(mut self, statement: &str, failure: Failure) -> FakeDatabase {
        self.answers.push((spaced(statement), Err(failure)));
        self
    }
}

/// `text` with each run of whitespace made one space.
fn spaced(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A recorded HTTP answer to requests of one method whose URL starts with
/// a prefix.
#[derive(Clone)]
pub struct Answer {
    method: String,
    url: String,
    response: Result<HostResponse>,
    /// How many more requests it answers; `None`: every one.
    left: Option<usize>,
}

impl Answer {
    /// Answers `method` requests whose URL starts with `url`: `200` and an
    /// empty body until said otherwise.
    pub fn new(method: &str, url: &str) -> Answer {
        let response = HostResponse { status: 200, headers: Vec::new(), body: Vec::new() };
        Answer { method: method.to_ascii_uppercase(), url: url.to_string(), response: Ok(response), left: None }
    }

    /// Answers `GET` requests whose URL starts with `url`.
    pub fn get(url: &str) -> Answer {
        Answer::new("GET", url)
    }

    /// Answers `POST` requests whose URL starts with `url`.
    pub fn post(url: &str) -> Answer {
        Answer::new("POST", url)
    }

    /// The status of the answer.
    pub fn status(mut self, status: u16) -> Answer {
        if let Ok(response) = &mut self.response {
            response.status = status;
        }
        self
    }

    /// A header of the answer.
    pub fn header(mut self, name: &str, value: &str) -> Answer {
        if let Ok(response) = &mut self.response {
            response.headers.push((name.to_string(), value.to_string()));
        }
        self
    }

    /// A JSON body, with its content type.
    pub fn json(self, body: &Json) -> Answer {
        self.header("content-type", "application/json").body(body.to_string())
    }

    /// A raw body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Answer {
        if let Ok(response) = &mut self.response {
            response.body = body.into();
        }
        self
    }

    /// Answers only the first `n` matching requests; later ones go to the
    /// next matching answer (a token refused once, then accepted).
    pub fn times(mut self, n: usize) -> Answer {
        self.left = Some(n);
        self
    }

    /// No answer but `failure`, as an unreachable server or an origin the
    /// workflow does not grant gives.
    pub fn fail(mut self, failure: Failure) -> Answer {
        self.response = Err(failure);
        self
    }
}

/// One statement a connector ran.
#[derive(Debug, Clone)]
pub struct Query {
    /// The label the connection was opened under (`source`).
    pub label: String,
    /// The statement as sent.
    pub statement: String,
    /// Its parameters.
    pub params: Vec<SqlValue>,
}

/// One request a connector sent, as it sent it: a secret is still its
/// `{{secret:NAME}}` placeholder, which only the real host fills in.
#[derive(Debug, Clone)]
pub struct Sent {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The URL.
    pub url: String,
    /// The headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body, if any.
    pub body: Option<Vec<u8>>,
}

impl Sent {
    /// The first header of that name, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    databases: BTreeMap<String, FakeDatabase>,
    answers: Vec<Answer>,
    queries: Vec<Query>,
    sent: Vec<Sent>,
    logs: Vec<(Level, String)>,
    emitted: Vec<EntityRef>,
}

thread_local! {
    static ACTIVE: RefCell<Option<Rc<RefCell<State>>>> = const { RefCell::new(None) };
}

/// The host a test runs a connector in: the config it is given, the
/// databases and HTTP answers it sees, and a record of what it asked.
pub struct TestHost {
    state: Rc<RefCell<State>>,
    source_type: String,
    service_name: String,
    connection: Map<String, Json>,
    source_config: Json,
    last_runs: std::collections::BTreeMap<String, i64>,
}

impl TestHost {
    /// A host running the connector for `source_type`, with an empty
    /// connection and `sourceConfig.config`.
    pub fn new(source_type: &str) -> TestHost {
        TestHost {
            state: Rc::default(),
            source_type: source_type.to_string(),
            service_name: format!("{source_type}_test"),
            connection: Map::new(),
            source_config: Json::Object(Map::new()),
            last_runs: Default::default(),
        }
    }

    /// The `serviceName` the connector is given.
    pub fn service_name(mut self, name: &str) -> TestHost {
        self.service_name = name.to_string();
        self
    }

    /// A key of the connection the connector sees (`hostPort`, its own
    /// non-secret keys; the host never hands it a secret, so neither
    /// should a test).
    pub fn connection(mut self, key: &str, value: impl Into<Json>) -> TestHost {
        self.connection.insert(key.to_string(), value.into());
        self
    }

    /// `sourceConfig.config`, as the workflow would give it.
    pub fn source_config(mut self, config: Json) -> TestHost {
        self.source_config = config;
        self
    }

    /// What the host's state store would say of `pipeline`: every run up
    /// to `millis` is in the sink already ([`Config::last_runs`]).
    pub fn last_run(mut self, pipeline: &str, millis: i64) -> TestHost {
        self.last_runs.insert(pipeline.to_string(), millis);
        self
    }

    /// The database `sql::open(label)` opens.
    pub fn database(self, label: &str, database: FakeDatabase) -> TestHost {
        self.state.borrow_mut().databases.insert(label.to_string(), database);
        self
    }

    /// An HTTP answer; the first whose method and URL prefix match a
    /// request answers it.
    pub fn http(self, answer: Answer) -> TestHost {
        self.state.borrow_mut().answers.push(answer);
        self
    }

    /// The config every call is given.
    pub fn config(&self) -> Config {
        Config {
            service_name: self.service_name.clone(),
            service_type: self.source_type.clone(),
            connection: Json::Object(self.connection.clone()),
            source_config: self.source_config.clone(),
            last_runs: self.last_runs.clone(),
        }
    }

    /// Runs `discover`; the references it emitted in pages come first, as
    /// the host puts them together.
    pub fn discover<C: Connector>(&self, connector: &mut C, kind: EntityKind) -> Result<Vec<EntityRef>> {
        let config = self.config();
        let returned = self.within(|| connector.discover(&config, kind))?;
        let mut refs = std::mem::take(&mut self.state.borrow_mut().emitted);
        refs.extend(returned);
        Ok(refs)
    }

    /// Runs `process` on `refs`.
    pub fn process<C: Connector>(&self, connector: &mut C, refs: Vec<EntityRef>) -> Result<Batch> {
        let config = self.config();
        self.within(|| connector.process(&config, refs))
    }

    /// Every statement run so far, in order.
    pub fn queries(&self) -> Vec<Query> {
        self.state.borrow().queries.clone()
    }

    /// Every request sent so far, in order.
    pub fn sent(&self) -> Vec<Sent> {
        self.state.borrow().sent.clone()
    }

    /// Every line logged so far, with its level.
    pub fn logs(&self) -> Vec<(Level, String)> {
        self.state.borrow().logs.clone()
    }

    fn within<R>(&self, call: impl FnOnce() -> R) -> R {
        let previous = ACTIVE.with(|active| active.replace(Some(self.state.clone())));
        let result = call();
        ACTIVE.with(|active| *active.borrow_mut() = previous);
        result
    }
}

fn with_state<R>(what: &str, call: impl FnOnce(&mut State) -> Result<R>) -> Result<R> {
    let state = ACTIVE.with(|active| active.borrow().clone());
    match state {
        Some(state) => call(&mut state.borrow_mut()),
        None => Err(Failure::denied(format!(
            "{what} outside the sandbox: in a native test, run the connector through weir_sdk::testing::TestHost"
        ))),
    }
}

/// A connection of the running [`TestHost`]'s database.
pub(crate) struct FakeConnection {
    label: String,
    engine: String,
}

pub(crate) fn open(label: &str) -> Result<FakeConnection> {
    with_state("sql::open", |state| match state.databases.get(label) {
        Some(db) => Ok(FakeConnection { label: label.to_string(), engine: db.engine.clone() }),
        None => {
            Err(Failure::denied(format!("the test host has no database `{label}`: add it with TestHost::database")))
        }
    })
}

impl FakeConnection {
    pub(crate) fn query(&self, statement: &str, params: &[SqlValue]) -> Result<RowSet> {
        with_state("sql query", |state| {
            state.queries.push(Query {
                label: self.label.clone(),
                statement: statement.to_string(),
                params: params.to_vec(),
            });
            let answers = state.databases.get(&self.label).map(|db| db.answers.as_slice()).unwrap_or_default();
            let spaced_statement = spaced(statement);
            match answers.iter().find(|(text, _)| spaced_statement.contains(text.as_str())) {
                Some((_, answer)) => answer.clone(),
                None => Err(Failure::permanent(format!(
                    "the test database `{}` has no answer for: {statement}",
                    self.label
                ))),
            }
        })
    }

    pub(crate) fn engine(&self) -> String {
        self.engine.clone()
    }
}

pub(crate) fn send(request: &HostRequest) -> Result<HostResponse> {
    with_state("http send", |state| {
        state.sent.push(Sent {
            method: request.method.clone(),
            url: request.url.clone(),
            headers: request.headers.clone(),
            body: request.body.clone(),
        });
        let method = request.method.to_ascii_uppercase();
        let matching = state
            .answers
            .iter_mut()
            .find(|a| a.method == method && request.url.starts_with(&a.url) && a.left != Some(0));
        match matching {
            Some(answer) => {
                if let Some(left) = &mut answer.left {
                    *left -= 1;
                }
                answer.response.clone()
            }
            None => Err(Failure::denied(format!(
                "the test host has no answer for {method} {}: add one with TestHost::http",
                request.url
            ))),
        }
    })
}

pub(crate) fn log(level: Level, message: &str, fields: &[(String, String)]) {
    let _ = with_state("log", |state| {
        let fields: String = fields.iter().map(|(k, v)| format!(" {k}={v}")).collect();
        state.logs.push((level, format!("{message}{fields}")));
        Ok(())
    });
}

pub(crate) fn emit(refs: &[EntityRef]) {
    let _ = with_state("discovery::emit", |state| {
        state.emitted.extend_from_slice(refs);
        Ok(())
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Database, Entity, http, sql};

    struct Demo;

    impl Connector for Demo {
        fn new() -> Self {
            Demo
        }
        fn describe() -> crate::PluginInfo {
            unreachable!("not asked in these tests")
        }
        fn discover(&mut self, _: &Config, kind: EntityKind) -> Result<Vec<EntityRef>> {
            let conn = sql::open("source")?;
            let rows = conn.query("SELECT datname FROM pg_database WHERE datname <> $1", &["template0".into()])?;
            let mut refs = Vec::new();
            for row in rows.iter() {
                refs.push(EntityRef { kind, path: vec![row.get("datname")?], cost: 1, key: None });
            }
            crate::discovery::emit(&refs[..1]);
            crate::log::info("listed");
            Ok(refs.split_off(1))
        }
        fn process(&mut self, config: &Config, refs: Vec<EntityRef>) -> Result<Batch> {
            let base = config.connection_str("hostPort").unwrap_or_default();
            let answer = http::get(format!("{base}/about")).bearer(&http::secret("token")).send()?;
            let about: Json = answer.json()?;
            let description = about["description"].as_str().map(String::from);
            let entities = refs
                .into_iter()
                .map(|r| Entity::Database(Database { name: r.path[0].clone(), description: description.clone() }))
                .collect();
            Ok(Batch { entities, ..Batch::default() })
        }
    }

    #[test]
    fn a_connector_runs_against_the_fakes_and_what_it_asked_is_kept() {
        let host = TestHost::new("demo")
            .connection("hostPort", "https://api.example.com")
            .database(
                "source",
                FakeDatabase::new("postgres").answer(
                    "FROM pg_database",
                    &["datname"],
                    vec![vec!["sales".into()], vec!["hr".into()]],
                ),
            )
            .http(Answer::get("https://api.example.com/about").json(&serde_json::json!({"description": "d"})));
        let mut demo = Demo::new();
        let refs = host.discover(&mut demo, EntityKind::Database).unwrap_or_else(|f| panic!("{}", f.message));
        let names: Vec<&str> = refs.iter().map(|r| r.path[0].as_str()).collect();
        assert_eq!(names, ["sales", "hr"], "emitted pages first");
        assert!(matches!(host.queries()[0].params.as_slice(), [SqlValue::Text(t)] if t == "template0"));
        assert!(matches!(host.logs().as_slice(), [(Level::Info, line)] if line == "listed"));
        let batch = host.process(&mut demo, refs).unwrap_or_else(|f| panic!("{}", f.message));
        assert_eq!(batch.entities.len(), 2);
        let sent = host.sent();
        assert_eq!(sent.len(), 1, "one request for the batch");
        assert_eq!(sent[0].header("authorization"), Some("Bearer {{secret:token}}"));
    }

    #[test]
    fn what_the_test_host_does_not_know_fails_and_names_it() {
        let host = TestHost::new("demo").database("source", FakeDatabase::new("sqlite"));
        let failure = host.discover(&mut Demo, EntityKind::Database).map(|_| ()).unwrap_err();
        assert!(failure.message.contains("has no answer for: SELECT datname"), "{}", failure.message);
        let failure = TestHost::new("demo").discover(&mut Demo, EntityKind::Database).map(|_| ()).unwrap_err();
        assert!(failure.message.contains("no database `source`"), "{}", failure.message);
        let outside = sql::open("source").map(|_| ()).unwrap_err();
        assert!(outside.message.contains("weir_sdk::testing::TestHost"), "{}", outside.message);
        let failure = TestHost::new("demo").process(&mut Demo, Vec::new()).map(|_| ()).unwrap_err();
        assert!(failure.message.contains("no answer for GET /about"), "{}", failure.message);
    }
}
