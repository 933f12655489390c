//! A real Airflow for benchmarks and tests ([`AirflowServer`]: its API
//! server and DAG processor on 127.0.0.1, from a venv `scripts/airflow-venv`
//! makes), and `weir bench airflow`: the Airflow connector against a
//! generated DAGs folder (1,000 DAGs of 10 tasks by default) behind the
//! latency proxy, once with the default settings and once serially (one
//! instance, one request in flight: a connector that calls the API one DAG
//! after another), side by side in one process.

use super::BenchError;
use super::latency::LatencyProxy;
use super::measure::TempDir;
use crate::config::Workflow;
use crate::plan::{IngestOptions, ingest};
use serde::Serialize;
use serde_json::{Value, json};
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The one user of the servers this module starts.
pub const USER: &str = "weir";
/// DAGs per generated file: Airflow parses a file in one process, with a
/// timeout, so a thousand go into several.
const DAGS_PER_FILE: usize = 100;

/// Which Airflow a venv holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generation {
    /// Airflow 3: `airflow api-server` and `airflow dag-processor`,
    /// `/api/v2`, the simple auth manager's JWT.
    Three,
    /// Airflow 2: `airflow webserver` over DAGs parsed once by `airflow
    /// dags reserialize`, `/api/v1` with basic auth.
    Two,
}

/// One Airflow: home (SQLite database, logs) and DAGs folder under `root`,
/// its servers, each in a process group of its own, so that dropping it
/// stops them and what they started.
pub struct AirflowServer {
    root: PathBuf,
    venv: PathBuf,
    generation: Generation,
    port: u16,
    servers: Vec<Child>,
    password: String,
    token: String,
    http: reqwest::Client,
}

fn failed(what: impl std::fmt::Display) -> BenchError {
    BenchError::Airflow(what.to_string())
}

impl AirflowServer {
    /// Migrates a fresh database under `root/home`, serves `root/dags`
    /// (write the DAG files first) and logs in as [`USER`] with `password`.
    pub async fn start(venv: &Path, root: &Path, password: &str) -> Result<AirflowServer, BenchError> {
        AirflowServer::start_generation(venv, root, password, Generation::Three).await
    }

    /// The same for an Airflow of `generation`.
    pub async fn start_generation(
        venv: &Path,
        root: &Path,
        password: &str,
        generation: Generation,
    ) -> Result<AirflowServer, BenchError> {
        for dir in ["home", "dags"] {
            std::fs::create_dir_all(root.join(dir)).map_err(|e| failed(format!("{}: {e}", root.display())))?;
        }
        let passwords = json!({ USER: password }).to_string();
        std::fs::write(root.join("home/passwords.json"), passwords).map_err(|e| failed(format!("passwords: {e}")))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| failed(format!("a free port: {e}")))?
            .port();
        let mut server = AirflowServer {
            root: root.to_path_buf(),
            venv: venv.to_path_buf(),
            generation,
            port,
            servers: Vec::new(),
            password: password.to_string(),
            token: String::new(),
            http: reqwest::Client::new(),
        };
        server.cli(&["db", "migrate"])?;
        let port = port.to_string();
        let servers = match generation {
            Generation::Three => vec![
                ("api-server", vec!["api-server", "--host", "127.0.0.1", "--port", port.as_str()]),
                ("dag-processor", vec!["dag-processor"]),
            ],
            Generation::Two => {
                let user = ["users", "create", "-u", USER, "-p", password, "-r", "Admin"];
                server.cli(&[&user[..], &["-f", "Weir", "-l", "Test", "-e", "weir@example.com"]].concat())?;
                server.cli(&["dags", "reserialize"])?;
                vec![("webserver", vec!["webserver", "--hostname", "127.0.0.1", "--port", port.as_str()])]
            }
        };
        for (name, args) in servers {
            let log = std::fs::File::create(root.join(format!("{name}.log")))
                .and_then(|f| Ok((f.try_clone()?, f)))
                .map_err(|e| failed(format!("{name} log: {e}")))?;
            let child = server
                .command(&args)
                .stdout(log.0)
                .stderr(log.1)
                .process_group(0)
                .spawn()
                .map_err(|e| failed(format!("start airflow {name}: {e}")))?;
            server.servers.push(child);
        }
        let (ready, log) = match generation {
            Generation::Three => ("/api/v2/version", "api-server"),
            Generation::Two => ("/health", "webserver"),
        };
        let deadline = Instant::now() + Duration::from_secs(180);
        while !server.http.get(server.url(ready)).send().await.is_ok_and(|r| r.status().is_success()) {
            if Instant::now() > deadline {
                return Err(failed(format!("the API server did not answer:\n{}", server.log(log))));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        if generation == Generation::Two {
            return Ok(server);
        }
        let login = server
            .http
            .post(server.url("/auth/token"))
            .header("content-type", "application/json")
            .body(json!({"username": USER, "password": password}).to_string())
            .send()
            .await
            .map_err(|e| failed(format!("login: {e}")))?;
        let body: Value = serde_json::from_str(&login.text().await.map_err(|e| failed(format!("login: {e}")))?)
            .map_err(|e| failed(format!("login answer: {e}")))?;
        server.token = body["access_token"].as_str().ok_or_else(|| failed(format!("no token in {body}")))?.to_string();
        Ok(server)
    }

    /// `http://127.0.0.1:PORT` and `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn dags_dir(&self) -> PathBuf {
        self.root.join("dags")
    }

    fn command(&self, args: &[&str]) -> Command {
        let home = self.root.join("home");
        let mut cmd = Command::new(self.venv.join("bin/airflow"));
        cmd.args(args)
            .env("AIRFLOW_HOME", &home)
            .env("AIRFLOW__CORE__DAGS_FOLDER", self.dags_dir())
            .env("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
            .env("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", format!("sqlite:///{}", home.join("airflow.db").display()))
            // Airflow 2's API: basic auth against its users; one worker.
            .env("AIRFLOW__API__AUTH_BACKENDS", "airflow.api.auth.backend.basic_auth")
            .env("AIRFLOW__WEBSERVER__WORKERS", "1")
            .env("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", format!("{USER}:admin"))
            .env("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", home.join("passwords.json"))
            .env("AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION", "False")
            .env("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", self.url("/execution/"))
            .env("AIRFLOW__CORE__DAG_FILE_PROCESSOR_TIMEOUT", "600")
            // Notice new and removed files within seconds, not minutes; a
            // file seen is not parsed again (that would load the database
            // the API server reads while it is measured).
            .env("AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL", "3")
            .env("AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL", "3600")
            .env("AIRFLOW__DAG_PROCESSOR__STALE_DAG_THRESHOLD", "3")
            .env("PATH", format!("{}:/usr/bin:/bin", self.venv.join("bin").display()))
            .stdin(Stdio::null());
        cmd
    }

    /// Runs the CLI to its end; an exit status other than 0 is an error
    /// with what it printed.
    pub fn cli(&self, args: &[&str]) -> Result<String, BenchError> {
        let out = self.command(args).output().map_err(|e| failed(format!("airflow {args:?}: {e}")))?;
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        if !out.status.success() {
            return Err(failed(format!("airflow {args:?} failed:\n{text}")));
        }
        Ok(text)
    }

    /// One run of `dag` on `date`, done in this process as `airflow dags
    /// test` does (no scheduler needed). A DAG whose task fails ends in a
    /// failed run, not an error here.
    pub fn run_dag(&self, dag: &str, date: &str) -> Result<(), BenchError> {
        let out =
            self.command(&["dags", "test", dag, date]).output().map_err(|e| failed(format!("dags test {dag}: {e}")))?;
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        if !text.contains(dag) {
            return Err(failed(format!("airflow dags test {dag} did not run it:\n{text}")));
        }
        Ok(())
    }

    /// `GET /api/v2{path}` (`/api/v1` on Airflow 2) as JSON.
    pub async fn get(&self, path: &str) -> Result<Value, BenchError> {
        let request = match self.generation {
            Generation::Three => self.http.get(self.url(&format!("/api/v2{path}"))).bearer_auth(&self.token),
            Generation::Two => {
                self.http.get(self.url(&format!("/api/v1{path}"))).basic_auth(USER, Some(&self.password))
            }
        };
        let answer = request.send().await.map_err(|e| failed(format!("GET {path}: {e}")))?;
        let status = answer.status();
        let text = answer.text().await.map_err(|e| failed(format!("GET {path}: {e}")))?;
        if !status.is_success() {
            return Err(failed(format!("GET {path}: {status} {text}")));
        }
        serde_json::from_str(&text).map_err(|e| failed(format!("GET {path}: {e}")))
    }

    /// Every DAG id the API lists, in order.
    pub async fn dag_ids(&self) -> Result<Vec<String>, BenchError> {
        let mut ids = Vec::new();
        loop {
            let page = self.get(&format!("/dags?limit=100&offset={}", ids.len())).await?;
            let dags = page["dags"].as_array().cloned().unwrap_or_default();
            ids.extend(dags.iter().filter_map(|d| d["dag_id"].as_str().map(str::to_string)));
            let total = page["total_entries"].as_u64().unwrap_or(0) as usize;
            if dags.is_empty() || ids.len() >= total {
                return Ok(ids);
            }
        }
    }

    /// Waits until the DAGs the API lists satisfy `done` (parsing takes a
    /// while; so does noticing a file is gone).
    pub async fn wait_for_dags(&self, what: &str, done: impl Fn(&[String]) -> bool) -> Result<(), BenchError> {
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            let ids = self.dag_ids().await?;
            if done(&ids) {
                return Ok(());
            }
            if Instant::now() > deadline {
                let shown = if ids.len() > 10 { format!("{} DAGs", ids.len()) } else { format!("{ids:?}") };
                return Err(failed(format!("Airflow lists {shown}, not {what}:\n{}", self.log("dag-processor"))));
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// The last lines a server wrote.
    pub fn log(&self, name: &str) -> String {
        let text = std::fs::read_to_string(self.root.join(format!("{name}.log"))).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for AirflowServer {
    fn drop(&mut self) {
        let group = |child: &Child| libc::pid_t::try_from(child.id()).unwrap_or(0);
        for child in &self.servers {
            // SAFETY: signals the process group this server started.
            unsafe { libc::kill(-group(child), libc::SIGTERM) };
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        for child in &mut self.servers {
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            // SAFETY: as above; what did not stop in time is killed.
            unsafe { libc::kill(-group(child), libc::SIGKILL) };
            let _ = child.wait();
        }
    }
}

/// What the issue asks of the default settings.
pub const TARGET_SECS: f64 = 5.0;

#[derive(Debug, Clone)]
pub struct AirflowBenchOptions {
    pub venv: PathBuf,
    pub dags: usize,
    pub tasks: usize,
    pub latency: Duration,
    pub serial: bool,
    pub cache_dir: Option<PathBuf>,
    pub work_dir: PathBuf,
    pub verbose: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AirflowRun {
    pub label: String,
    pub instances: u32,
    pub max_in_flight: usize,
    pub wall_secs: f64,
    /// Round trips through the proxy: requests, give or take one split.
    pub round_trips: u64,
    pub pipelines: usize,
    pub tasks: usize,
    pub failed: usize,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AirflowBenchResult {
    pub airflow_version: String,
    pub dags: usize,
    pub tasks_per_dag: usize,
    pub latency_ms: u64,
    /// How long Airflow took to parse the DAGs (not weir's time).
    pub parse_secs: f64,
    /// Airflow's own pace: a DAG's tasks asked one request at a time,
    /// straight to the server (no proxy), in milliseconds each. What a run
    /// of that many requests costs the server, whatever the client does.
    pub server_ms_per_request: f64,
    pub weir: AirflowRun,
    pub serial: Option<AirflowRun>,
}

pub async fn bench_airflow(options: &AirflowBenchOptions) -> Result<AirflowBenchResult, BenchError> {
    let dir = TempDir::new(&options.work_dir, "airflow")?;
    let root = dir.path().join("airflow");
    std::fs::create_dir_all(root.join("dags")).map_err(|e| failed(format!("{}: {e}", root.display())))?;
    write_dags(&root.join("dags"), options.dags, options.tasks)?;
    let password = format!("bench-{:x}", fastrand::u64(..));
    if options.verbose {
        eprintln!("bench: starting Airflow from {} …", options.venv.display());
    }
    let server = AirflowServer::start(&options.venv, &root, &password).await?;
    let parsing = Instant::now();
    if options.verbose {
        eprintln!("bench: Airflow parses {} DAGs of {} tasks …", options.dags, options.tasks);
    }
    server.wait_for_dags(&format!("{} DAGs", options.dags), |ids| ids.len() == options.dags).await?;
    let parse_secs = parsing.elapsed().as_secs_f64();
    let version = server.get("/version").await?["version"].as_str().unwrap_or("?").to_string();
    let server_ms_per_request = server_pace(&server, options.dags).await?;
    let runs = [("weir (defaults)", ""), ("serial", "  instances: 1\n  http:\n    maxInFlight: 1\n")];
    let mut measured = Vec::new();
    for (label, weir) in runs.into_iter().take(if options.serial { 2 } else { 1 }) {
        measured.push(run(options, &server, &password, &dir, label, weir).await?);
    }
    let mut measured = measured.into_iter();
    let weir = measured.next().ok_or_else(|| failed("no run"))?;
    Ok(AirflowBenchResult {
        airflow_version: version,
        dags: options.dags,
        tasks_per_dag: options.tasks,
        latency_ms: u64::try_from(options.latency.as_millis()).unwrap_or(u64::MAX),
        parse_secs,
        server_ms_per_request,
        weir,
        serial: measured.next(),
    })
}

/// Milliseconds per `GET /dags/{id}/tasks`, one after another, straight to
/// the server.
async fn server_pace(server: &AirflowServer, dags: usize) -> Result<f64, BenchError> {
    const ASKED: usize = 50;
    let started = Instant::now();
    for i in 0..ASKED {
        server.get(&format!("/dags/bench_{:05}/tasks", i % dags)).await?;
    }
    Ok(started.elapsed().as_secs_f64() * 1000.0 / ASKED as f64)
}

/// Files of [`DAGS_PER_FILE`] DAGs, each a chain of `tasks` tasks.
fn write_dags(dir: &Path, dags: usize, tasks: usize) -> Result<(), BenchError> {
    let files = dags.div_ceil(DAGS_PER_FILE);
    for file in 0..files {
        let (first, last) = (file * DAGS_PER_FILE, ((file + 1) * DAGS_PER_FILE).min(dags));
        let text = format!(
            "from datetime import datetime\n\
             from airflow.sdk import DAG\n\
             from airflow.providers.standard.operators.empty import EmptyOperator\n\n\
             for i in range({first}, {last}):\n\
             \x20   with DAG(f\"bench_{{i:05d}}\", schedule=\"@daily\", start_date=datetime(2026, 1, 1), catchup=False,\n\
             \x20            tags=[\"bench\"], default_args={{\"owner\": \"bench\"}}) as dag:\n\
             \x20       previous = None\n\
             \x20       for t in range({tasks}):\n\
             \x20           task = EmptyOperator(task_id=f\"task_{{t:03d}}\")\n\
             \x20           if previous is not None:\n\
             \x20               previous >> task\n\
             \x20           previous = task\n\
             \x20   globals()[dag.dag_id] = dag\n"
        );
        let path = dir.join(format!("bench_{file:03}.py"));
        std::fs::write(&path, text).map_err(|e| failed(format!("{}: {e}", path.display())))?;
    }
    Ok(())
}

async fn run(
    options: &AirflowBenchOptions,
    server: &AirflowServer,
    password: &str,
    dir: &TempDir,
    label: &str,
    weir: &str,
) -> Result<AirflowRun, BenchError> {
    let proxy = LatencyProxy::start(&format!("127.0.0.1:{}", server.port()), options.latency).await?;
    let catalog = dir.path().join(format!("{}.db", label.replace(|c: char| !c.is_ascii_alphanumeric(), "_")));
    let yaml = format!(
        "source:\n  type: airflow\n  serviceName: airflow_bench\n  serviceConnection:\n    config:\n      \
         type: Airflow\n      hostPort: http://{addr}\n      connection:\n        type: RestAPI\n        \
         authConfig:\n          username: {USER}\n          password: {password}\n  sourceConfig:\n    config:\n      \
         type: PipelineMetadata\nsink:\n  type: catalog\n  config:\n    path: {catalog}\nweir:\n  statePath: {state}\n{weir}",
        addr = proxy.addr(),
        catalog = catalog.display(),
        state = catalog.with_extension("state.db").display(),
    );
    let workflow = Workflow::parse(&yaml, &format!("bench workflow ({label})"))?;
    if options.verbose {
        eprintln!("bench: ingesting Airflow ({label}) through {} ms of latency …", options.latency.as_millis());
    }
    let ingest_options = IngestOptions {
        run_id: None,
        full: false,
        catalog: None,
        progress: crate::plan::ProgressView::Hidden,
        cache_dir: options.cache_dir.clone(),
        base_dir: None,
        max_failures: None,
    };
    let started = Instant::now();
    let report = ingest(&workflow, &ingest_options)
        .await
        .map_err(|source| BenchError::Ingest { label: label.to_string(), source })?;
    let wall_secs = started.elapsed().as_secs_f64();
    let written = |kind: &str| report.kinds.iter().find(|k| k.kind == kind).map(|k| k.written).unwrap_or_default();
    let pipelines = written("pipeline");
    Ok(AirflowRun {
        label: label.to_string(),
        instances: report.instances,
        max_in_flight: workflow.weir.http.max_in_flight,
        wall_secs,
        round_trips: proxy.requests(),
        pipelines,
        tasks: pipelines * options.tasks,
        failed: report.failed(),
    })
}

impl AirflowBenchResult {
    pub fn print(&self, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(
            out,
            "Airflow {}: {} DAGs of {} tasks (parsed by Airflow in {:.0} s), {} ms added per round trip",
            self.airflow_version, self.dags, self.tasks_per_dag, self.parse_secs, self.latency_ms
        )?;
        writeln!(
            out,
            "  {:<16} {:>9} {:>9} {:>8} {:>12} {:>10} {:>8}",
            "run", "instances", "in flight", "wall s", "round trips", "pipelines", "tasks"
        )?;
        for r in std::iter::once(&self.weir).chain(&self.serial) {
            writeln!(
                out,
                "  {:<16} {:>9} {:>9} {:>8.2} {:>12} {:>10} {:>8}",
                r.label, r.instances, r.max_in_flight, r.wall_secs, r.round_trips, r.pipelines, r.tasks
            )?;
            if r.failed > 0 {
                writeln!(out, "    {} entities failed in this run", r.failed)?;
            }
        }
        if let Some(serial) = &self.serial {
            writeln!(
                out,
                "serial / weir: {:.1}× the wall time",
                serial.wall_secs / self.weir.wall_secs.max(f64::EPSILON)
            )?;
        }
        // One API worker answers one request at a time: the round trips
        // cost the server this much whatever the client does.
        let floor = self.weir.round_trips as f64 * self.server_ms_per_request / 1000.0;
        writeln!(
            out,
            "Airflow alone, one request at a time: {:.1} ms a request, so {} round trips take it {floor:.1} s",
            self.server_ms_per_request, self.weir.round_trips
        )?;
        let verdict = if self.weir.wall_secs <= TARGET_SECS { "PASS" } else { "MISS" };
        writeln!(out, "target ≤ {TARGET_SECS} s with default settings: {verdict} ({:.2} s)", self.weir.wall_secs)
    }
}
