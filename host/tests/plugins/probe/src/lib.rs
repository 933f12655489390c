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
//! `vanish…` is answered with neither a table nor a failure, `sleepsql…`
//! runs a 1,000 s statement on `source`.
//! `sourceConfig.config.probeTables` (a list of names) replaces the
//! discovered tables `t1`..`t3`, as does `probeTableCount` (that many
//! generated names, emitted in pages of `probePageSize` if set); `probeSleepMs` makes every `process` call
//! sleep that long first.
//!
//! Modes that play a hostile plugin against the host's outputs and limits:
//! `statements` runs each of `probeStatements` (`stmt-<n>`); `keep-open`
//! runs `probeArg` on a connection kept from call to call; `query-call`
//! runs `probeArg` and fails the whole call with its failure; `leak-sql`
//! and `leak-http` get a text from a query or from what a server echoes of
//! a POST carrying `{{secret:password}}`, and smuggle it out everywhere a
//! plugin can (`smuggle`); `log-big-key` logs ten lines with a field name
//! of `probeArg` MiB; `log-forge` logs a newline and a terminal escape;
//! `lineage` sends edges between another service's tables (`probeArg` is
//! their SQL); `raw` sends raw entities of made-up kinds; `open-db` opens
//! `source/<probeArg>`.
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

/// The capabilities this build declares (its cargo features).
fn declared() -> Vec<Capability> {
    let mut declared = Vec::new();
    if cfg!(feature = "sql") {
        declared.push(Capability::Sql("source".into()));
        declared.push(Capability::Sql("source/*".into()));
    }
    if cfg!(feature = "http") {
        declared.push(Capability::Http("connection".into()));
    }
    declared
}

impl Guest for Probe {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "probe".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            source_types: vec!["probe".into()],
            entity_kinds: vec![EntityKind::Table],
            capabilities: declared(),
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
        let count = config.source_config.get("probeTableCount").and_then(Json::as_u64);
        let page = config.source_config.get("probePageSize").and_then(Json::as_u64);
        if let (Some(count), Some(page)) = (count, page) {
            // In pages: the plugin never holds more than one.
            let table = |i: u64| EntityRef {
                kind: EntityKind::Table,
                path: vec!["db".into(), "s".into(), format!("t{i:08}")],
                cost: 1,
                key: None,
            };
            for start in (0..count).step_by(page.max(1) as usize) {
                let refs: Vec<EntityRef> = (start..(start + page).min(count)).map(table).collect();
                weir_sdk::discovery::emit(&refs);
            }
            return Ok(Vec::new());
        }
        let names: Vec<String> = match (count, config.source_config.get("probeTables").and_then(Json::as_array)) {
            (Some(n), _) => (0..n).map(|i| format!("t{i:08}")).collect(),
            (None, Some(list)) => list.iter().filter_map(Json::as_str).map(String::from).collect(),
            (None, None) => ["t1", "t2", "t3"].map(String::from).to_vec(),
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
        // What a hostile plugin got hold of, to be smuggled out below.
        let mut leaked: Option<String> = None;
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
            "statements" => report.extend(run_statements(config)),
            "keep-open" => report.push(("keep-open".into(), keep_open(arg(config, "keep-open")?))),
            // The query's failure fails the whole call, with its kind: a
            // transient one is retried by the host.
            "query-call" => {
                sql::open("source").and_then(|conn| conn.query(arg(config, "query-call")?, &[]))?;
            }
            "leak-sql" => leaked = Some(first_value(arg(config, "leak-sql")?)),
            "leak-http" => leaked = Some(echoed(arg(config, "leak-http")?)),
            "log-big-key" => log_big_keys(arg(config, "log-big-key")?),
            "log-forge" => log::log(
                log::Level::Warn,
                "probe line\nERROR weir: forged line",
                &[("field", "value\nERROR weir: forged field \u{1b}[31mred")],
            ),
            "lineage" | "raw" => {}
            "open-db" => {
                let label = format!("source/{}", arg(config, "open-db")?);
                let outcome = match sql::open(&label) {
                    Ok(conn) => Failure::permanent(format!("opened {label} ({})", conn.engine())),
                    Err(f) => Failure::new(f.kind, format!("{label}: {}", failure_text(&f))),
                };
                report.push(("open-db".into(), outcome));
            }
            other => {
                return Err(Failure::config(format!(
                    "unknown probeMode `{other}`: expected ok, escape, http, loop, alloc, panic, \
                     panic-on, write, echo-config, query, query-call, statements, keep-open, leak-sql, leak-http, log-big-key, \
                     log-forge, lineage, raw, open-db, fetch or discover-panic"
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
        if let Some(text) = leaked {
            smuggle(&mut batch, &text);
        }
        match mode(config) {
            "lineage" => batch.deferred.extend(lineage_edges(arg(config, "lineage")?)),
            "raw" => batch.entities.extend(raw_entities()),
            _ => {}
        }
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
        } else if name.starts_with("sleepsql") {
            // Holds a session on a statement that outlasts any call.
            sql::open("source").and_then(|conn| conn.query("SELECT 1 AS one FROM pg_sleep(1000)", &[]))?;
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

/// Runs `statement` on a `source` connection this instance opened once and
/// keeps from call to call, as a plugin caching its connection would.
fn keep_open(statement: &str) -> Failure {
    use std::cell::RefCell;
    thread_local! {
        static KEPT: RefCell<Option<sql::Connection>> = const { RefCell::new(None) };
    }
    KEPT.with(|kept| {
        let mut kept = kept.borrow_mut();
        if kept.is_none() {
            match sql::open("source") {
                Ok(conn) => *kept = Some(conn),
                Err(f) => return Failure::new(f.kind, format!("open source: {}", failure_text(&f))),
            }
        }
        match kept.as_ref().map(|conn| conn.query(statement, &[])) {
            Some(Ok(rows)) => Failure::permanent(format!("{statement}: ok {} rows", rows.len())),
            Some(Err(f)) => Failure::new(f.kind, format!("{statement}: {}", failure_text(&f))),
            None => Failure::permanent("no connection"),
        }
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
    run_each(&STATEMENTS, "write")
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

/// Runs each of `probeStatements` on `source`, reported as `stmt-<n>`.
fn run_statements(config: &Config) -> Vec<(String, Failure)> {
    let statements: Vec<String> = config
        .source_config
        .get("probeStatements")
        .and_then(Json::as_array)
        .map(|list| list.iter().filter_map(Json::as_str).map(String::from).collect())
        .unwrap_or_default();
    let statements: Vec<&str> = statements.iter().map(String::as_str).collect();
    run_each(&statements, "stmt")
}

/// Runs each statement on one `source` connection and reports each
/// outcome as `<prefix>-<n>`, in order (`<prefix>-open` if `source` cannot
/// be opened): `<statement>: ok <n> rows`, or the failure with the
/// statement in front.
fn run_each(statements: &[&str], prefix: &str) -> Vec<(String, Failure)> {
    let conn = match sql::open("source") {
        Ok(conn) => conn,
        Err(f) => {
            let error = Failure::new(f.kind, format!("open source: {}", failure_text(&f)));
            return vec![(format!("{prefix}-open"), error)];
        }
    };
    statements
        .iter()
        .enumerate()
        .map(|(i, statement)| {
            let outcome = match conn.query(statement, &[]) {
                Ok(rows) => Failure::permanent(format!("{statement}: ok {} rows", rows.len())),
                Err(f) => Failure::new(f.kind, format!("{statement}: {}", failure_text(&f))),
            };
            (format!("{prefix}-{}", i + 1), outcome)
        })
        .collect()
}

/// The first column of the first row `statement` returns, as text.
fn first_value(statement: &str) -> String {
    let rows = sql::open("source").and_then(|conn| conn.query(statement, &[]));
    match rows {
        Ok(rows) => {
            rows.iter().next().and_then(|row| row.values().first().map(|v| to_json(v).to_string())).unwrap_or_default()
        }
        Err(f) => failure_text(&f),
    }
}

/// What a server answers when sent the connection's password (filled in
/// by the host) in a POST body: an echoing server sends it back.
fn echoed(url: &str) -> String {
    let sent =
        weir_sdk::http::post(url).header("content-type", "text/plain").body("password={{secret:password}}").send();
    match sent {
        Ok(response) => response.text(),
        Err(f) => failure_text(&f),
    }
}

/// Puts `text` everywhere that leaves the plugin: a failure reason, a log
/// line, a table's description, a column's description, a lineage edge's
/// SQL, a table name.
fn smuggle(batch: &mut Batch, text: &str) {
    log::warn(&format!("leaked: {text}"));
    batch.failures.push(EntityFailure {
        path: vec!["db".into(), "s".into(), "leak".into()],
        error: Failure::permanent(format!("leaked: {text}")),
    });
    for entity in &mut batch.entities {
        if let Entity::Table(table) = entity {
            table.description = Some(format!("leaked: {text}"));
            if let Some(column) = table.columns.first_mut() {
                column.description = Some(text.to_string());
            }
        }
    }
    let mut named = tables(vec![EntityRef {
        kind: EntityKind::Table,
        path: vec!["db".into(), "s".into(), format!("leak {text}")],
        cost: 1,
        key: None,
    }]);
    batch.entities.append(&mut named.entities);
    batch.deferred.push(Deferred::Lineage(LineageEdge {
        from_kind: EntityKind::Table,
        from: vec!["db".into(), "s".into(), "t1".into()],
        from_service: None,
        to_kind: EntityKind::Table,
        to: vec!["db".into(), "s".into(), "t2".into()],
        to_service: None,
        sql: Some(format!("SELECT '{text}'")),
    }));
}

/// Logs ten lines, each with a field whose name is `mib` MiB long.
fn log_big_keys(mib: &str) {
    let size = mib.parse::<usize>().unwrap_or(1) << 20;
    for i in 0..10 {
        let key = "k".repeat(size);
        log::log(log::Level::Warn, &format!("big key {i}"), &[(key.as_str(), "v")]);
    }
}

/// One edge between two entities of `other_svc` (never the plugin's to
/// write, unless it is that service) and one from `other_svc`'s table to
/// the plugin's own; `sql` is their SQL, to tell the runs' edges apart.
fn lineage_edges(sql: &str) -> Vec<Deferred> {
    let edge = |from_service: &str, to_service: Option<&str>, to: &str| {
        Deferred::Lineage(LineageEdge {
            from_kind: EntityKind::Table,
            from: vec!["db".into(), "s".into(), "a".into()],
            from_service: Some(from_service.into()),
            to_kind: EntityKind::Table,
            to: vec!["db".into(), "s".into(), to.into()],
            to_service: to_service.map(String::from),
            sql: Some(sql.into()),
        })
    };
    vec![edge("other_svc", Some("other_svc"), "b"), edge("other_svc", None, "t1")]
}

/// Raw entities: two of kinds no sink may write, one it can.
fn raw_entities() -> Vec<Entity> {
    ["../../x", "databaseService", "pipeline"]
        .into_iter()
        .enumerate()
        .map(|(i, kind)| {
            Entity::Raw(RawEntity {
                kind: kind.into(),
                name: format!("raw{i}"),
                document: json!({ "name": format!("raw{i}"), "service": "probe_svc" }).to_string(),
            })
        })
        .collect()
}
