//! `probe`: a test-only connector that misbehaves on request, so the host's
//! integration tests can prove the sandbox holds. Never shipped.
//!
//! `sourceConfig.config.probeMode` picks the behaviour (absent means `ok`);
//! `sourceConfig.config.probeArg` is its argument where one is needed.
//! Everything the probe observes comes back as entity failures under
//! `["db", "s", <what>]`, because those travel through the normal result
//! path: a test reads them without any side channel into the plugin.
//!
//! Escape attempts report `Denied` with `<what>: denied: <detail>` when the
//! sandbox held, and `Permanent` with `<what>: ESCAPED <detail>` when it did
//! not, so a test only has to assert that no message contains `ESCAPED`.
//!
//! Some behaviour is driven by the refs themselves, in every mode, so one
//! run can mix good and bad entities: a table named `panic…` panics,
//! `loop…` spins until the deadline, `alloc…` eats memory past the cap,
//! `transient…` fails transiently the first two times an instance sees it,
//! `flaky…` makes the whole call fail transiently the first two times,
//! `vanish…` is answered with neither a table nor a failure.
//! `sourceConfig.config.probeTables` (a list of names) replaces the
//! discovered tables `t1`..`t3`; `probeSleepMs` makes every `process` call
//! sleep that long first.
//!
//! The probe implements the generated `Guest` trait itself rather than going
//! through `export_connector!`: that way `process` sees the config string
//! exactly as the host sent it, which is what `echo-config` must return.

use std::hint::black_box;
use weir_sdk::bindings::Guest;
use weir_sdk::bindings::weir::connector::http;
use weir_sdk::serde_json::{Value as Json, json};
use weir_sdk::sql::{self, Value as SqlValue};
use weir_sdk::*;

struct Probe;

impl Guest for Probe {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "probe".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            source_types: vec!["probe".into()],
            entity_kinds: vec![EntityKind::Table],
            capabilities: vec![Capability::Sql("source".into()), Capability::Http("http://127.0.0.1".into())],
            config_schema: "{}".into(),
        }
    }

    fn discover(config: String, _kind: EntityKind) -> Result<Vec<EntityRef>> {
        let config = Config::parse(&config)?;
        // Discovery does not validate the mode: only `process` misbehaves,
        // except for this one mode that tests a trap outside `process`.
        if mode(&config) == "discover-panic" {
            panic!("probe: discover panicked on purpose");
        }
        let names: Vec<String> = match config.source_config.get("probeTables").and_then(Json::as_array) {
            Some(list) => list.iter().filter_map(Json::as_str).map(String::from).collect(),
            None => ["t1", "t2", "t3"].map(String::from).to_vec(),
        };
        Ok(names
            .into_iter()
            .map(|t| EntityRef { kind: EntityKind::Table, path: vec!["db".into(), "s".into(), t], cost: 1, key: None })
            .collect())
    }

    fn process(raw: String, refs: Vec<EntityRef>) -> Result<Batch> {
        let config = &Config::parse(&raw)?;
        if let Some(ms) = config.source_config.get("probeSleepMs").and_then(Json::as_u64) {
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
        let transient = act_on_names(&refs)?;
        let mut report = Vec::new();
        match mode(config) {
            "ok" | "discover-panic" => {}
            "escape" => {
                report.push(escape_file());
                report.push(escape_env());
                report.push(escape_socket());
                report.push(escape_sql());
            }
            "http" => report.push(escape_http()),
            "fetch" => report.push(("fetch".into(), fetch(arg(config, "fetch")?))),
            "loop" => spin(),
            "alloc" => exhaust_memory(),
            "panic" => panic!("probe: process panicked on purpose"),
            "panic-on" => {
                let target = arg(config, "panic-on")?;
                if refs.iter().any(|r| r.path.last().is_some_and(|n| n == target)) {
                    panic!("probe: process panicked on purpose on {target}");
                }
            }
            "write" => report.extend(try_writes()),
            "echo-config" => report.push(("config".into(), Failure::permanent(raw))),
            "query" => report.push(("query".into(), run_query(arg(config, "query")?))),
            other => {
                return Err(Failure::config(format!(
                    "unknown probeMode `{other}`: expected ok, escape, http, loop, alloc, panic, \
                     panic-on, write, echo-config, query, fetch or discover-panic"
                )));
            }
        }
        let vanishes = |r: &EntityRef| r.path.last().is_some_and(|n| n.starts_with("vanish"));
        let mut batch = tables(refs.into_iter().filter(|r| !transient.contains(&r.path) && !vanishes(r)).collect());
        batch.failures.extend(transient.into_iter().map(|path| EntityFailure {
            error: Failure::transient(format!("probe: {} is not ready yet", path.join("."))),
            path,
        }));
        batch.failures.extend(
            report.into_iter().map(|(what, error)| EntityFailure { path: vec!["db".into(), "s".into(), what], error }),
        );
        Ok(batch)
    }
}

// `export_connector!` would hide the raw config string; this is the export
// it expands to, minus the parsing.
weir_sdk::bindings::__export_connector_world!(Probe with_types_in weir_sdk::bindings);

/// Does what the refs' names ask for; returns the paths to report as
/// transient failures this time.
fn act_on_names(refs: &[EntityRef]) -> Result<Vec<Vec<String>>> {
    let mut transient = Vec::new();
    for r in refs {
        let name = r.path.last().map(String::as_str).unwrap_or_default();
        if name.starts_with("panic") {
            panic!("probe: process panicked on purpose on {name}");
        } else if name.starts_with("loop") {
            spin();
        } else if name.starts_with("alloc") {
            exhaust_memory();
        } else if name.starts_with("transient") && first_times(name) {
            transient.push(r.path.clone());
        } else if name.starts_with("flaky") && first_times(name) {
            return Err(Failure::transient(format!("probe: the call failed transiently because of {name}")));
        }
    }
    Ok(transient)
}

/// Whether this instance has seen `name` fewer than three times (counting
/// this one).
fn first_times(name: &str) -> bool {
    use std::cell::RefCell;
    use std::collections::HashMap;
    thread_local! {
        static SEEN: RefCell<HashMap<String, u32>> = RefCell::new(HashMap::new());
    }
    SEEN.with(|seen| {
        let mut seen = seen.borrow_mut();
        let count = seen.entry(name.to_string()).or_default();
        *count += 1;
        *count <= 2
    })
}

fn mode(config: &Config) -> &str {
    config.source_config.get("probeMode").and_then(Json::as_str).unwrap_or("ok")
}

fn arg<'a>(config: &'a Config, mode: &str) -> Result<&'a str> {
    config
        .source_config
        .get("probeArg")
        .and_then(Json::as_str)
        .ok_or_else(|| Failure::config(format!("probeMode `{mode}` needs a probeArg string")))
}

/// One minimal table per `[db, s, name]` ref: what every mode returns, so a
/// test can tell that the run went on around whatever the probe did.
fn tables(refs: Vec<EntityRef>) -> Batch {
    let mut batch = Batch::default();
    for r in refs {
        let [database, schema, name] = match <[String; 3]>::try_from(r.path) {
            Ok(path) => path,
            Err(path) => {
                let error = Failure::permanent("probe: ref is not [db, schema, table]");
                batch.failures.push(EntityFailure { path, error });
                continue;
            }
        };
        batch.entities.push(Entity::Table(Table {
            database,
            schema,
            name,
            table_type: TableType::Regular,
            description: None,
            columns: vec![Column {
                name: "id".into(),
                data_type: "INT".into(),
                data_type_display: None,
                array_data_type: None,
                data_length: None,
                precision: None,
                scale: None,
                nullable: false,
                default_value: None,
                identity: None,
                generated: None,
                description: None,
                ordinal_position: 1,
            }],
            constraints: Vec::new(),
            checks: Vec::new(),
            view_definition: None,
            partitioning: None,
            owner: None,
            row_count: None,
            size_bytes: None,
        }));
    }
    batch
}

/// The outcome of one escape attempt, logged as well as returned so the
/// log capability is exercised from inside a hostile call too.
fn outcome(what: &str, escaped: bool, detail: String) -> (String, Failure) {
    let error = if escaped {
        Failure::permanent(format!("{what}: ESCAPED {detail}"))
    } else {
        Failure::denied(format!("{what}: denied: {detail}"))
    };
    log::warn(&error.message);
    (format!("escape-{what}"), error)
}

fn escape_file() -> (String, Failure) {
    match std::fs::read_to_string("/etc/passwd") {
        Ok(text) => outcome("file", true, format!("read {} bytes", text.len())),
        Err(e) => outcome("file", false, e.to_string()),
    }
}

fn escape_env() -> (String, Failure) {
    // Names only: a leaked value could be a secret, and this text is logged.
    let home = std::env::var("HOME");
    let count = std::env::vars().count();
    match home {
        Ok(_) => outcome("env", true, format!("HOME is set, {count} variables visible")),
        Err(_) if count > 0 => outcome("env", true, format!("{count} variables visible")),
        Err(e) => outcome("env", false, format!("HOME: {e}; 0 variables visible")),
    }
}

fn escape_socket() -> (String, Failure) {
    match std::net::TcpStream::connect("127.0.0.1:5432") {
        Ok(_) => outcome("socket", true, "connected to 127.0.0.1:5432".into()),
        Err(e) => outcome("socket", false, e.to_string()),
    }
}

fn escape_sql() -> (String, Failure) {
    // `other` is never granted: only the labels in `describe` can be.
    match sql::open("other") {
        Ok(conn) => outcome("sql", true, format!("opened `other` ({})", conn.engine())),
        Err(f) => outcome("sql", false, failure_text(&f)),
    }
}

fn escape_http() -> (String, Failure) {
    // The SDK does not wrap `http` yet, so call the raw import.
    let request =
        http::Request { method: "GET".into(), url: "http://example.com/".into(), headers: Vec::new(), body: None };
    match http::send(&request) {
        Ok(r) => outcome("http", true, format!("status {}, {} bytes", r.status, r.body.len())),
        Err(f) => outcome("http", false, failure_text(&f)),
    }
}

/// GETs `url` through the SDK's HTTP client; the answer comes back as
/// `status <n>: <body>`, a refusal as `<kind> <message>`.
fn fetch(url: &str) -> Failure {
    match weir_sdk::http::get(url).send() {
        Ok(r) => Failure::permanent(format!("status {}: {}", r.status(), r.text())),
        Err(f) => Failure::new(f.kind, failure_text(&f)),
    }
}

/// Runs forever; only the host's deadline (epoch interruption) can stop it.
/// `black_box` keeps the optimizer from reasoning about the loop at all.
fn spin() -> ! {
    loop {
        black_box(());
    }
}

/// Grows memory 16 MiB at a time until the host's memory cap makes an
/// allocation fail, which aborts (a trap). The bytes are non-zero and the
/// hoard passes through `black_box`, so no allocation can be elided.
fn exhaust_memory() -> ! {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        hoard.push(black_box(vec![0xA5; 16 << 20]));
        black_box(&hoard);
    }
}

/// Sessions are read-only: every write, even after trying to lift the
/// read-only transaction or to end it, must fail. Reported as `write-<n>`
/// in statement order, `write-open` if `source` itself cannot be opened.
fn try_writes() -> Vec<(String, Failure)> {
    const STATEMENTS: [&str; 6] = [
        "CREATE TABLE probe_created (id int)",
        "DELETE FROM victim",
        "SET TRANSACTION READ WRITE",
        "CREATE TABLE probe_created2 (id int)",
        "COMMIT",
        "CREATE TABLE probe_created3 (id int)",
    ];
    let conn = match sql::open("source") {
        Ok(conn) => conn,
        Err(f) => {
            let error = Failure::new(f.kind, format!("open source: {}", failure_text(&f)));
            return vec![("write-open".into(), error)];
        }
    };
    STATEMENTS
        .iter()
        .enumerate()
        .map(|(i, statement)| {
            let error = match conn.query(statement, &[]) {
                Ok(_) => Failure::permanent(format!("{statement}: ok")),
                Err(f) => Failure::new(f.kind, format!("{statement}: {}", failure_text(&f))),
            };
            (format!("write-{}", i + 1), error)
        })
        .collect()
}

/// Runs `statement` on `source`; the rows come back as
/// `{"columns":[{"name","type"}...],"rows":[[...]...]}`, a failure as the
/// failure itself with the statement's text in front.
fn run_query(statement: &str) -> Failure {
    let rows = sql::open("source").and_then(|conn| conn.query(statement, &[]));
    match rows {
        Ok(rows) => {
            let columns: Vec<Json> =
                rows.columns().iter().map(|c| json!({"name": c.name, "type": c.type_name})).collect();
            let rows: Vec<Json> = rows.iter().map(|row| row.values().iter().map(to_json).collect()).collect();
            Failure::permanent(json!({"columns": columns, "rows": rows}).to_string())
        }
        Err(f) => Failure::new(f.kind, format!("{statement}: {}", failure_text(&f))),
    }
}

fn to_json(value: &SqlValue) -> Json {
    match value {
        SqlValue::Null => Json::Null,
        SqlValue::Boolean(b) => Json::from(*b),
        SqlValue::Int(i) => Json::from(*i),
        SqlValue::Float(f) => Json::from(*f),
        SqlValue::Text(s) => Json::from(s.as_str()),
        SqlValue::Bytes(b) => Json::from(b.iter().map(|x| format!("{x:02x}")).collect::<String>()),
    }
}

/// `<kind> <message>`, the kind spelled as in the WIT.
fn failure_text(f: &Failure) -> String {
    let kind = match f.kind {
        ErrorKind::Transient => "transient",
        ErrorKind::Permanent => "permanent",
        ErrorKind::Config => "config",
        ErrorKind::Denied => "denied",
    };
    format!("{kind} {}", f.message)
}
