//! Shared by the end-to-end tests: a real PostgreSQL database per test, the
//! `weir` binary, and the test-only probe plugin.

#![allow(dead_code)]

use sqlx::{Connection, PgConnection};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The server tests use: `WEIR_TEST_PG_URL`, default a local server with
/// trust auth for `postgres`.
pub fn admin_url() -> String {
    std::env::var("WEIR_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database created for one test and dropped when the test ends, with a
/// role of its own that weir connects as: a reader made as the README tells
/// operators to (`pg_read_all_data`), since weir refuses a superuser.
pub struct TestDb {
    pub name: String,
    reader: String,
}

/// The password of every test's reader role (the tests' server trusts
/// local connections, so it is not sent; it is there for one that does not).
pub const READER_PASSWORD: &str = "weir-test-reader";

impl TestDb {
    pub async fn create(prefix: &str) -> TestDb {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let name = format!("weir_{prefix}_{}_{nanos}", std::process::id());
        let reader = format!("weir_reader_{}_{nanos}", std::process::id());
        let mut admin = PgConnection::connect(&admin_url())
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {} (set WEIR_TEST_PG_URL): {e}", admin_url()));
        for setup in [
            format!("CREATE DATABASE \"{name}\""),
            format!("CREATE ROLE \"{reader}\" LOGIN PASSWORD '{READER_PASSWORD}'"),
            format!("GRANT pg_read_all_data TO \"{reader}\""),
        ] {
            sqlx::raw_sql(sqlx::AssertSqlSafe(setup)).execute(&mut admin).await.unwrap();
        }
        admin.close().await.unwrap();
        TestDb { name, reader }
    }

    pub fn url(&self) -> String {
        let admin = admin_url();
        let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap_or(admin);
        format!("{base}/{}", self.name)
    }

    /// Runs a SQL script in the database.
    pub async fn run(&self, sql: &str) {
        let mut conn = PgConnection::connect(&self.url()).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string())).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    }

    /// `host:port` of the server, for workflow files.
    /// The role weir connects as.
    pub fn reader(&self) -> &str {
        &self.reader
    }

    pub fn host_port(&self) -> String {
        let url = admin_url();
        let after_at = url.rsplit_once('@').map(|(_, r)| r).unwrap_or(&url);
        let host_port = after_at.trim_start_matches("postgres://").split('/').next().unwrap_or("127.0.0.1:5432");
        host_port.to_string()
    }

    /// The role weir connects as: the database's reader.
    pub fn user(&self) -> String {
        self.reader.clone()
    }

    /// The role that made the database and owns what the test creates in
    /// it (a superuser on the tests' server).
    pub fn owner(&self) -> String {
        let url = admin_url();
        let rest = url.trim_start_matches("postgres://").trim_start_matches("postgresql://");
        rest.split_once('@')
            .map(|(u, _)| u.split(':').next().unwrap_or("postgres").to_string())
            .unwrap_or("postgres".into())
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (name, reader) = (self.name.clone(), self.reader.clone());
        // Drop runs outside any runtime guarantee: use a thread of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                if let Ok(mut admin) = PgConnection::connect(&admin_url()).await {
                    let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(drop)).execute(&mut admin).await;
                    let drop = format!("DROP ROLE IF EXISTS \"{reader}\"");
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(drop)).execute(&mut admin).await;
                    let _ = admin.close().await;
                }
            });
        })
        .join();
    }
}

/// Runs the `weir` binary with a shared compile cache, and a state store of
/// the test's own under the target directory (not in `dir`, whose listing
/// some tests check, and not the user's).
pub fn weir(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    weir_command(dir, args, env).output().expect("run weir")
}

pub fn weir_command(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let own = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "shared".into());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_weir"));
    cmd.current_dir(dir)
        .args(args)
        .env("WEIR_CACHE_DIR", cache_dir())
        .env("WEIR_STATE_DIR", target_dir().join("test-state").join(own))
        .env_remove("RUST_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

pub fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

pub fn target_dir() -> PathBuf {
    // CARGO_BIN_EXE_weir is <target>/<profile>/weir.
    PathBuf::from(env!("CARGO_BIN_EXE_weir")).parent().and_then(Path::parent).unwrap().to_path_buf()
}

pub fn cache_dir() -> PathBuf {
    target_dir().join("test-compile-cache")
}

/// The test-only probe plugin, built once per test binary; this build
/// declares `sql:source` and `sql:source/*`.
pub fn probe_wasm() -> PathBuf {
    test_plugin("probe_sql")
}

/// The probe built to declare what `connection` (a
/// `serviceConnection.config` body) can grant, since weir refuses a plugin
/// that declares more: a database `type` gets the SQL probe, a `hostPort`
/// alone the one declaring `http:connection`, anything else the one
/// declaring nothing.
pub fn probe_for(connection: &str) -> PathBuf {
    let database = ["type: Postgres", "type: SQLite", "type: Mssql"].iter().any(|t| connection.contains(t));
    if database {
        probe_wasm()
    } else if connection.contains("hostPort:") {
        test_plugin("probe_http")
    } else {
        test_plugin("probe_bare")
    }
}

/// A test-only plugin of `host/tests/plugins` (`probe_sql`, `probe_http`,
/// `probe_bare`, `tree`, `stuck`); the first call builds them all.
pub fn test_plugin(name: &str) -> PathBuf {
    test_plugins().join(format!("weir_test_{name}.wasm"))
}

fn test_plugins() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/plugins/Cargo.toml");
            let target = target_dir().join("test-plugins");
            let built = target.join("wasm32-wasip2/release");
            let build = |args: &[&str]| {
                let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                    .args(["build", "--release", "--quiet", "--target", "wasm32-wasip2", "--manifest-path"])
                    .arg(&manifest)
                    .arg("--target-dir")
                    .arg(&target)
                    .args(args)
                    .env_remove("CARGO_ENCODED_RUSTFLAGS")
                    .env_remove("RUSTFLAGS")
                    .status()
                    .expect("run cargo for the test plugins");
                assert!(status.success(), "building the test plugins failed: {args:?}");
            };
            build(&[]);
            // Each build of the probe writes the same file: keep a copy of
            // each under its own name.
            let probe = |features: &[&str], variant: &str| {
                build(&[&["-p", "weir-test-probe", "--no-default-features"][..], features].concat());
                let copy = built.join(format!("weir_test_probe_{variant}.wasm"));
                std::fs::copy(built.join("weir_test_probe.wasm"), &copy).expect("keep a probe build");
            };
            probe(&["--features", "sql"], "sql");
            probe(&["--features", "http"], "http");
            probe(&[], "bare");
            built
        })
        .clone()
}

/// Writes `yaml` to `dir/workflow.yaml` and returns its path.
pub fn workflow(dir: &Path, yaml: &str) -> PathBuf {
    let path = dir.join("workflow.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

/// `weir catalog export --kind all` as (kind, fqn, document) triples.
pub fn export_all(dir: &Path, catalog: &str) -> Vec<serde_json::Value> {
    let out = weir(dir, &["--catalog", catalog, "catalog", "export", "--format", "jsonl", "--kind", "all"], &[]);
    assert!(out.status.success(), "export failed: {}", text(&out.stderr));
    text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// `weir catalog show FQN` as JSON.
pub fn show(dir: &Path, catalog: &str, fqn: &str) -> serde_json::Value {
    let out = weir(dir, &["--catalog", catalog, "catalog", "show", fqn], &[]);
    assert!(out.status.success(), "show {fqn}: {}", text(&out.stderr));
    serde_json::from_str(&text(&out.stdout)).unwrap()
}

/// What one `weir ingest` left: exit status, output, and its `--report`.
pub struct Ingested {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// `Null` when weir wrote no report.
    pub report: serde_json::Value,
}

/// [`ingest`], and the most memory the weir process held (its peak RSS, as
/// the kernel counted it), in MiB.
// The child is reaped by wait4, which std's wait cannot stand in for: it
// does not give the child's resource use.
#[allow(clippy::zombie_processes)]
pub fn ingest_measured(dir: &Path, yaml: &str) -> (Ingested, f64) {
    use std::io::Read;
    let wf = workflow(dir, yaml);
    let report_path = dir.join("report.json");
    let _ = std::fs::remove_file(&report_path);
    let argv =
        ["--catalog", "catalog.db", "ingest", "-c", wf.to_str().unwrap(), "--report", report_path.to_str().unwrap()];
    let mut child = weir_command(dir, &argv, &[])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run weir");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value; wait4 fills it in for
    // our own child, which nothing else waits for.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4 on weir");
    let code = if libc::WIFEXITED(status) { Some(libc::WEXITSTATUS(status)) } else { None };
    let report = std::fs::read_to_string(&report_path)
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or(serde_json::Value::Null);
    let ingested = Ingested { code, stdout: out.join().unwrap(), stderr: err.join().unwrap(), report };
    // ru_maxrss is in KiB on Linux.
    (ingested, usage.ru_maxrss as f64 / 1024.0)
}

/// A kind's count in a run's report (`found`, `written`, `unchanged`, ...).
pub fn count(report: &serde_json::Value, kind: &str, field: &str) -> u64 {
    let kinds = report["kinds"].as_array().cloned().unwrap_or_default();
    kinds.iter().find(|k| k["kind"] == kind).and_then(|k| k[field].as_u64()).unwrap_or(0)
}

/// The run, which must have exited 0 (else its output and report).
#[track_caller]
pub fn ok(run: Ingested) -> Ingested {
    assert_eq!(run.code, Some(0), "{}\n{}\n{}", run.stdout, run.stderr, run.report);
    run
}

/// `weir --catalog catalog.db ingest -c <dir>/workflow.yaml --report
/// <dir>/report.json [args]` with `env`.
pub fn ingest(dir: &Path, yaml: &str, args: &[&str], env: &[(&str, &str)]) -> Ingested {
    let wf = workflow(dir, yaml);
    let report_path = dir.join("report.json");
    let _ = std::fs::remove_file(&report_path);
    let mut argv = vec![
        "--catalog",
        "catalog.db",
        "ingest",
        "-c",
        wf.to_str().unwrap(),
        "--report",
        report_path.to_str().unwrap(),
    ];
    argv.extend_from_slice(args);
    let out = weir(dir, &argv, env);
    let report = std::fs::read_to_string(&report_path)
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or(serde_json::Value::Null);
    Ingested { code: out.status.code(), stdout: text(&out.stdout), stderr: text(&out.stderr), report }
}

/// A workflow that runs the probe plugin in `mode`. `connection` is the
/// body of `serviceConnection.config` and `source` more lines of
/// `sourceConfig.config` (both indented six spaces), `weir` the body of the
/// `weir:` section (indented two).
pub fn probe_workflow(mode: &str, source: &str, weir: &str, connection: &str) -> String {
    format!(
        r#"
source:
  type: probe
  serviceName: probe_svc
  serviceConnection:
    config:
{connection}
  sourceConfig:
    config:
      probeMode: {mode}
{source}
weir:
  plugin: {plugin}
{weir}
"#,
        plugin = probe_for(connection).display()
    )
}

/// `serviceConnection.config` for `db`'s PostgreSQL, as `user`.
pub fn pg_connection(db: &TestDb, user: &str) -> String {
    format!(
        "      type: Postgres\n      hostPort: \"{}\"\n      username: {user}\n      authType:\n        password: {READER_PASSWORD}\n      database: {}",
        db.host_port(),
        db.name
    )
}

/// The failures of a run's report whose entity ends with `suffix`: of
/// entities asked for, and of those the plugin returned unasked (the
/// probe reports what it saw that way).
pub fn failures<'a>(report: &'a serde_json::Value, suffix: &str) -> Vec<&'a serde_json::Value> {
    ["failures", "unrequestedFailures"]
        .iter()
        .filter_map(|list| report[*list].as_array())
        .flatten()
        .filter(|f| f["entity"].as_str().unwrap_or_default().ends_with(suffix))
        .collect()
}

/// The reason of the one failure whose entity ends with `suffix`.
pub fn reason(report: &serde_json::Value, suffix: &str) -> String {
    let found = failures(report, suffix);
    assert_eq!(found.len(), 1, "one failure named *{suffix} expected: {report}");
    found[0]["reason"].as_str().unwrap_or_default().to_string()
}

/// Rows of the catalog at `dir/catalog`: entities per kind, and relations.
pub async fn catalog_rows(dir: &Path, catalog: &str) -> (std::collections::BTreeMap<String, u64>, u64) {
    use sqlx::Row;
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(dir.join(catalog)).read_only(true);
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect_with(&options).await.unwrap();
    let kinds = sqlx::query("SELECT kind, count(*) AS n FROM entity WHERE deleted_at IS NULL GROUP BY kind")
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get::<String, _>("kind"), row.get::<i64, _>("n") as u64))
        .collect();
    let relations: i64 = sqlx::query_scalar("SELECT count(*) FROM relation").fetch_one(&mut conn).await.unwrap();
    (kinds, relations as u64)
}

/// What the report says of each kind holds against the catalog's own rows:
/// found = filtered + written + unchanged + failed + cancelled, and written
/// plus unchanged is what the catalog holds (a catalog only this workflow
/// wrote to); relations too.
pub async fn assert_store_agrees(dir: &Path, catalog: &str, report: &serde_json::Value) {
    let (rows, relations) = catalog_rows(dir, catalog).await;
    let mut reported = std::collections::BTreeMap::new();
    for k in report["kinds"].as_array().unwrap() {
        let n = |key: &str| k[key].as_u64().unwrap_or(0);
        let kind = k["kind"].as_str().unwrap().to_string();
        assert_eq!(
            n("found"),
            n("filtered") + n("written") + n("unchanged") + n("failed") + n("cancelled"),
            "{kind}: {k}"
        );
        if n("written") + n("unchanged") > 0 {
            reported.insert(kind, n("written") + n("unchanged"));
        }
    }
    rows.iter().filter(|(_, n)| **n > 0).for_each(|(kind, n)| {
        assert!(reported.contains_key(kind), "the catalog holds {n} {kind} the report does not count");
    });
    for (kind, written) in &reported {
        assert_eq!(
            rows.get(kind).copied().unwrap_or(0),
            *written,
            "{kind}: written per the report, rows in the catalog"
        );
    }
    assert_eq!(report["relationsApplied"].as_u64().unwrap_or(0), relations, "relations applied, rows in the catalog");
}

/// `weir runs show RUN --json` against a state store (a file or a URL).
pub fn run_record(dir: &Path, store: &str, run: &str) -> serde_json::Value {
    let out = weir(dir, &["runs", "show", run, "--state-store", store, "--json"], &[]);
    assert_eq!(out.status.code(), Some(0), "runs show {run}: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("runs show {run} --json: {e}"))
}
