//! `weir bench argo`: the first pod of a distributed run at scale. Runs
//! `weir discover` on the benchmark database (as a process of its own, as
//! its pod would) and `weir argo render`, and prints what a platform team
//! sizes a cluster by: shard pods, the largest `withParam` list (Argo keeps
//! parameters in the Workflow object, which etcd caps), wall time and peak
//! memory of each.

use super::{BenchError, PgUrl, sql};
use serde::Serialize;
use sqlx::Connection;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Argo's limit on an output parameter, the reason discover writes ids and
/// not refs.
pub const WITH_PARAM_LIMIT: usize = 256 * 1024;

pub struct PodsOptions {
    /// The benchmark database (`weir bench gen-postgres`), as a URL.
    pub url: String,
    /// The weir binary the pods run.
    pub exe: PathBuf,
    pub max_pods: u32,
    pub work_dir: PathBuf,
    pub cache_dir: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodsResult {
    pub tables: usize,
    pub shard_pods: usize,
    pub max_pods: u32,
    /// Bytes of the largest per-kind list of shard ids.
    pub largest_with_param_bytes: usize,
    pub discover_secs: f64,
    pub discover_peak_rss_mib: f64,
    pub render_secs: f64,
    pub render_peak_rss_mib: f64,
    /// Bytes of the rendered documents: the same for 10 tables or 100,000.
    pub rendered_bytes: usize,
}

pub async fn bench_pods(options: &PodsOptions) -> Result<PodsResult, BenchError> {
    let bench = PgUrl::parse(&options.url)?;
    let state = sibling(&options.url, "state")?;
    let catalog = sibling(&options.url, "catalog")?;
    for url in [&state, &catalog] {
        ensure_database(&bench, url).await?;
    }
    let dir = tempfile_dir(&options.work_dir)?;
    let workflow = bench
        .workflow(Path::new("unused.db"), 4, crate::plan::DEFAULT_SHARD_SIZE, false)?
        .replace("    path: \"unused.db\"\n", &format!("    url: {}\n", serde_json::Value::from(catalog.as_str())))
        .replacen(
            "weir:\n",
            &format!(
                "workflowConfig:\n  distributedExecution:\n    maxPods: {}\nweir:\n  stateStore: {}\n",
                options.max_pods,
                serde_json::Value::from(state.as_str())
            ),
            1,
        );
    let wf = dir.join("workflow.yaml");
    std::fs::write(&wf, workflow).map_err(temp(&dir))?;
    let run_id = format!("bench-{}", std::process::id());
    let shards_out = dir.join("shards.json");
    let (discover_secs, discover_rss) = run_measured(
        options,
        &[
            "discover",
            "-c",
            &wf.display().to_string(),
            "--run-id",
            &run_id,
            "--shards-out",
            &shards_out.display().to_string(),
        ],
    )?;
    let listed: std::collections::BTreeMap<String, Vec<String>> =
        serde_json::from_str(&std::fs::read_to_string(&shards_out).map_err(temp(&dir))?)
            .map_err(|e| BenchError::Pods(format!("discover's output: {e}")))?;
    let largest = listed
        .keys()
        .map(|kind| std::fs::metadata(dir.join(format!("shards.{kind}.json"))).map(|m| m.len() as usize).unwrap_or(0));
    let largest_with_param_bytes = largest.max().unwrap_or(0);
    let shard_pods = listed.values().map(Vec::len).sum();
    let rendered = dir.join("argo.yaml");
    let (render_secs, render_rss) = run_measured(
        options,
        &[
            "argo",
            "render",
            "-c",
            &wf.display().to_string(),
            "--image",
            "weir:bench",
            "-o",
            &rendered.display().to_string(),
        ],
    )?;
    let rendered_bytes = std::fs::metadata(&rendered).map(|m| m.len() as usize).unwrap_or(0);
    let store = crate::state::StateStore::open_postgres(&state).await.map_err(|e| BenchError::Pods(e.to_string()))?;
    let discovery = store.discovery(&run_id).await.map_err(|e| BenchError::Pods(e.to_string()))?;
    let tables = discovery
        .and_then(|text| serde_json::from_str::<crate::report::RunReport>(&text).ok())
        .and_then(|r| r.kinds.iter().find(|k| k.kind == "table").map(|k| k.found))
        .unwrap_or(0);
    // The run was only planned: forget it.
    store.finish_run(&run_id, "bench").await.map_err(|e| BenchError::Pods(e.to_string()))?;
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(PodsResult {
        tables,
        shard_pods,
        max_pods: options.max_pods,
        largest_with_param_bytes,
        discover_secs,
        discover_peak_rss_mib: discover_rss,
        render_secs,
        render_peak_rss_mib: render_rss,
        rendered_bytes,
    })
}

impl PodsResult {
    pub fn print(&self, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(out, "distributed run of {} tables (maxPods {})", self.tables, self.max_pods)?;
        writeln!(out, "  shard pods                {:>10}", self.shard_pods)?;
        writeln!(
            out,
            "  largest withParam list    {:>10} B  ({:.1} % of Argo's {} kB)",
            self.largest_with_param_bytes,
            100.0 * self.largest_with_param_bytes as f64 / WITH_PARAM_LIMIT as f64,
            WITH_PARAM_LIMIT / 1024
        )?;
        writeln!(
            out,
            "  discover pod              {:>10.2} s  {:>8.1} MiB peak RSS",
            self.discover_secs, self.discover_peak_rss_mib
        )?;
        writeln!(
            out,
            "  argo render               {:>10.2} s  {:>8.1} MiB peak RSS",
            self.render_secs, self.render_peak_rss_mib
        )?;
        writeln!(out, "  rendered documents        {:>10} B  (nothing per table)", self.rendered_bytes)
    }
}

/// `url` with its database named `<database>_<suffix>`.
fn sibling(url: &str, suffix: &str) -> Result<String, BenchError> {
    let mut parsed = reqwest::Url::parse(url).map_err(|e| BenchError::Url(e.to_string()))?;
    let database = parsed.path().trim_start_matches('/').to_string();
    parsed.set_path(&format!("/{database}_{suffix}"));
    Ok(parsed.to_string())
}

async fn ensure_database(bench: &PgUrl, url: &str) -> Result<(), BenchError> {
    let name = reqwest::Url::parse(url)
        .map_err(|e| BenchError::Url(e.to_string()))?
        .path()
        .trim_start_matches('/')
        .to_string();
    let mut admin = sqlx::PgConnection::connect_with(&bench.maintenance())
        .await
        .map_err(|source| BenchError::Connect { target: bench.describe(), source })?;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(&name)
        .fetch_one(&mut admin)
        .await
        .map_err(sql("look for the database"))?;
    if !exists {
        let create = format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\""));
        sqlx::raw_sql(sqlx::AssertSqlSafe(create)).execute(&mut admin).await.map_err(sql(format!("create {name}")))?;
    }
    let _ = admin.close().await;
    Ok(())
}

fn tempfile_dir(base: &Path) -> Result<PathBuf, BenchError> {
    let dir = base.join(format!("weir-bench-pods-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(temp(&dir))?;
    Ok(dir)
}

fn temp(dir: &Path) -> impl Fn(std::io::Error) -> BenchError + '_ {
    move |source| BenchError::TempDir { path: dir.display().to_string(), source }
}

/// Runs weir with `args` as a process of its own; its wall time and peak
/// RSS (the kernel's count, from `wait4`).
fn run_measured(options: &PodsOptions, args: &[&str]) -> Result<(f64, f64), BenchError> {
    let mut command = std::process::Command::new(&options.exe);
    command.args(["--quiet"]).args(args).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped());
    if let Some(cache) = &options.cache_dir {
        command.env("WEIR_CACHE_DIR", cache);
    }
    let started = Instant::now();
    let mut child = command.spawn().map_err(|e| BenchError::Pods(format!("start {}: {e}", options.exe.display())))?;
    let mut stderr = child.stderr.take();
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(err) = stderr.as_mut() {
            let _ = std::io::Read::read_to_string(err, &mut text);
        }
        text
    });
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it in for our own
    // child, which nothing else waits for.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let secs = started.elapsed().as_secs_f64();
    let errors = errors.join().unwrap_or_default();
    if waited != pid || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(BenchError::Pods(format!(
            "weir {} failed: {}",
            args.first().copied().unwrap_or(""),
            errors.trim()
        )));
    }
    // The child is reaped: std must not wait for it again.
    std::mem::forget(child);
    // ru_maxrss is in KiB on Linux.
    Ok((secs, usage.ru_maxrss as f64 / 1024.0))
}
