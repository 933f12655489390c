//! Ingests the benchmark database through the real pipeline (a workflow
//! parsed from YAML, [`crate::plan::ingest`]) into a fresh embedded catalog,
//! and measures it: wall time, tables per second, peak RSS, queries.
//!
//! With a baseline, the same ingestion runs again in the same process with
//! `batchSize: 1` (one `process` call per table, the N+1 shape of the
//! incumbents), and the ratios are printed side by side.

use super::target::PgUrl;
use super::{BenchError, sql};
use crate::config::Workflow;
use crate::model::Relation;
use crate::plan::{IngestOptions, ingest};
use crate::procfs::{BackendSampler, CpuSnapshot, CpuUse, reset_peak_rss, rss_mib};
use crate::report::Phases;
use crate::report::RunReport;
use crate::runtime::{LoadOutcome, Runtime, RuntimeOptions};
use crate::sink::Document;
use crate::sink::catalog::Catalog;
use serde::Serialize;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The targets, for 10,000 tables on a 2-core machine.
pub const TARGET_TABLES: usize = 10_000;
pub const TARGET_WALL_SECS: f64 = 3.0;
pub const TARGET_RSS_MIB: f64 = 300.0;

pub struct BenchOptions {
    pub url: PgUrl,
    pub batch_size: usize,
    pub instances: u32,
    /// Also run with `batchSize: 1`.
    pub baseline: bool,
    /// Runs of the weir configuration; the median one is reported.
    pub repeat: usize,
    /// Compile cache directory (`None`: compile on every load).
    pub cache_dir: Option<PathBuf>,
    /// Where the temporary catalogs go.
    pub work_dir: PathBuf,
    /// Progress lines on stderr.
    pub verbose: bool,
}

/// What one ingestion varies: `bench postgres` and the scaling matrix both
/// run through [`run_once`] with one of these.
pub(super) struct RunSpec<'a> {
    pub url: &'a PgUrl,
    pub instances: u32,
    pub batch_size: usize,
    pub cache_dir: Option<&'a Path>,
    pub verbose: bool,
    /// `weir.sql.eagerRollback`: each statement's rollback on its own.
    pub eager_rollback: bool,
}

impl BenchOptions {
    fn spec(&self, batch_size: usize) -> RunSpec<'_> {
        RunSpec {
            url: &self.url,
            instances: self.instances,
            batch_size,
            cache_dir: self.cache_dir.as_deref(),
            verbose: self.verbose,
            eager_rollback: false,
        }
    }
}

/// What one ingestion cost.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunFigures {
    pub label: String,
    pub batch_size: usize,
    pub instances: u32,
    /// Around `Workflow::parse` and `ingest`, measured by the bench.
    pub wall_secs: f64,
    /// The run's own `elapsedSecs`.
    pub ingest_secs: f64,
    /// `table` entities written (tables and views).
    pub tables: usize,
    pub tables_per_sec: f64,
    /// `VmHWM` after the run (the peak was reset before it); `None` when
    /// it cannot be told apart from an earlier run's peak.
    pub peak_rss_mib: Option<f64>,
    /// `VmRSS` when the run started: a later run starts from what the
    /// earlier ones left allocated.
    pub start_rss_mib: Option<f64>,
    pub queries: u64,
    /// `process` calls for the `table` kind, and the statements the plugin
    /// sent for that kind (its discovery included).
    pub table_batches: usize,
    pub table_queries: u64,
    pub queries_per_table_batch: f64,
    pub written: usize,
    pub failed: usize,
    pub relations_applied: usize,
    pub relations_unresolved: usize,
    /// The sum of every `process` call's wall time (all instances).
    pub process_calls_secs: f64,
    pub slowest_batch_secs: f64,
    pub phases: Phases,
    /// CPU time during the run, from /proc; `None` where /proc is missing.
    pub cpu: Option<CpuUse>,
    #[serde(skip)]
    pub report: RunReport,
}

/// The catalog writes of a run, replayed alone into a fresh catalog.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Replay {
    pub documents: usize,
    pub write_calls: usize,
    pub entity_write_secs: f64,
    pub relations: usize,
    pub relation_secs: f64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceInfo {
    pub database: String,
    pub server_version: String,
    pub schemas: u64,
    pub tables: u64,
    pub views: u64,
    pub cores: usize,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Warmup {
    /// `Cached` when the compile cache already held the plugin.
    pub outcome: String,
    pub secs: f64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ratio {
    /// Baseline wall over weir wall.
    pub wall: f64,
    /// Baseline queries over weir queries.
    pub queries: f64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetCheck {
    pub name: String,
    pub limit: f64,
    pub measured: Option<f64>,
    pub unit: String,
    /// Which runs the figure comes from.
    pub basis: String,
    /// `PASS`, `MISS`, or `n/a` when the run is not the 10,000-table one
    /// or the figure could not be measured.
    pub verdict: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BenchResult {
    pub source: SourceInfo,
    pub warmup: Warmup,
    pub runs: Vec<RunFigures>,
    pub replay: Option<Replay>,
    pub ratio: Option<Ratio>,
    /// Wall time of every weir run, in order (`--repeat`).
    pub repeats: Vec<f64>,
    pub targets: Vec<TargetCheck>,
    pub notes: Vec<String>,
}

/// Runs the benchmark: the weir runs first (the first one in a process that
/// has ingested nothing yet), then the baseline if asked, then the catalog
/// replay. The peak RSS is reset before each run.
pub async fn bench_postgres(options: &BenchOptions) -> Result<BenchResult, BenchError> {
    let source = source_info(&options.url).await?;
    let mut notes = Vec::new();
    let warmup = warm_up(&[options.instances], options.cache_dir.as_deref()).await?;
    if options.cache_dir.is_none() {
        notes.push("compile cache off: every run compiles the plugin (startup phase)".into());
    }

    let peak_reset = reset_peak_rss();
    if !peak_reset {
        notes.push("cannot reset the peak RSS (/proc/self/clear_refs): the first peak includes the warm-up, later ones are not shown".into());
    }

    // The first run's catalog is kept for the replay.
    let dir = TempDir::new(&options.work_dir, "weir")?;
    let spec = options.spec(options.batch_size);
    let weir = run_repeated(&spec, "weir", dir.path(), &options.work_dir, options.repeat, true).await?;
    let (repeats, peak_max) = (weir.walls, weir.peak_max);

    let mut runs = vec![weir.median];
    if options.baseline {
        let peak_ok = reset_peak_rss();
        let dir = TempDir::new(&options.work_dir, "baseline")?;
        let baseline = run_once(&options.spec(1), "baseline", dir.path(), peak_ok).await?;
        runs.push(baseline);
    }
    // Last: the replay's memory would count in a later run's peak.
    let replay = replay(&dir.path().join("weir.db"), dir.path(), options.batch_size).await?;
    drop(dir);

    let ratio = match runs.as_slice() {
        [weir, baseline] => Some(Ratio {
            wall: baseline.wall_secs / weir.wall_secs.max(f64::EPSILON),
            queries: baseline.queries as f64 / (weir.queries.max(1)) as f64,
        }),
        _ => None,
    };
    let targets = targets(&runs[0], peak_max, repeats.len());
    if runs[0].tables < TARGET_TABLES {
        notes.push(format!(
            "the targets are for {TARGET_TABLES} tables; this database has {} (generate 100 × 100)",
            runs[0].tables
        ));
    }
    if let Some(cpu) = runs[0].cpu {
        let total = cpu.weir_secs + cpu.others_secs + cpu.idle_secs;
        if total > 0.0 && cpu.idle_secs / total < 0.15 {
            notes.push(format!(
                "the CPUs were {:.0} % busy during the weir run: it is CPU-bound here (weir {:.2} s, \
                 other processes, PostgreSQL's backends among them, {:.2} s of CPU)",
                100.0 * (1.0 - cpu.idle_secs / total),
                cpu.weir_secs,
                cpu.others_secs
            ));
        }
    }
    if runs.iter().any(|r| r.failed > 0) {
        notes.push("some entities failed: the figures cover a partial catalog".into());
    }
    Ok(BenchResult { source, warmup, runs, replay: Some(replay), ratio, repeats, targets, notes })
}

pub(super) async fn source_info(url: &PgUrl) -> Result<SourceInfo, BenchError> {
    const COUNTS: &str = "SELECT current_setting('server_version'),
            count(DISTINCT c.relnamespace) FILTER (WHERE c.relkind = 'r')::int8,
            count(*) FILTER (WHERE c.relkind = 'r')::int8,
            count(*) FILTER (WHERE c.relkind = 'v')::int8
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' AND c.relkind IN ('r', 'v')";
    let mut conn =
        url.options().connect().await.map_err(|source| BenchError::Connect { target: url.describe(), source })?;
    let (version, schemas, tables, views): (String, i64, i64, i64) =
        sqlx::query_as(COUNTS).fetch_one(&mut conn).await.map_err(sql("count the source catalog"))?;
    let _ = conn.close().await;
    let n = |v: i64| u64::try_from(v).unwrap_or_default();
    Ok(SourceInfo {
        database: url.database().to_string(),
        server_version: version,
        schemas: n(schemas),
        tables: n(tables),
        views: n(views),
        cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    })
}

/// Loads the plugin once with each of the runs' engine settings, so the
/// compile cache holds it and no run pays (or is favoured by) compilation.
/// The instance count sizes the engine's allocator, which may change the
/// cache key; a cached load costs milliseconds, so each count gets one.
pub(super) async fn warm_up(instances: &[u32], cache_dir: Option<&Path>) -> Result<Warmup, BenchError> {
    let started = Instant::now();
    let wasm = crate::plugins::builtin("postgres").ok_or(BenchError::NoPlugin)?;
    let mut compiled = false;
    for &instances in instances {
        let runtime = Runtime::new(RuntimeOptions {
            instances,
            limits: crate::runtime::Limits::default(),
            cache_dir: cache_dir.map(Path::to_path_buf),
        })?;
        compiled |= matches!(runtime.load(wasm).await?.outcome, LoadOutcome::Compiled);
    }
    let outcome = if compiled { "compiled" } else { "cached" };
    Ok(Warmup { outcome: outcome.into(), secs: started.elapsed().as_secs_f64() })
}

/// Milliseconds as seconds.
fn ms(ms: u64) -> f64 {
    std::time::Duration::from_millis(ms).as_secs_f64()
}

/// Runs of one configuration, `repeat` of them.
pub(super) struct Repeated {
    /// The median run by wall time.
    pub median: RunFigures,
    /// Every run's wall time, in order.
    pub walls: Vec<f64>,
    /// The highest peak RSS of the runs: targets are checked against it.
    pub peak_max: Option<f64>,
}

/// Runs `spec` `repeat` times: the first into `first_dir` (the caller may
/// keep its catalog), the others into directories under `work_dir`
/// removed at once. The peak RSS is reset before each later run.
pub(super) async fn run_repeated(
    spec: &RunSpec<'_>,
    label: &str,
    first_dir: &Path,
    work_dir: &Path,
    repeat: usize,
    first_peak_is_own: bool,
) -> Result<Repeated, BenchError> {
    let mut runs = vec![run_once(spec, label, first_dir, first_peak_is_own).await?];
    for _ in 1..repeat.max(1) {
        let peak_ok = reset_peak_rss();
        let again = TempDir::new(work_dir, &format!("{label}-again"))?;
        runs.push(run_once(spec, label, again.path(), peak_ok).await?);
    }
    let walls = runs.iter().map(|r| r.wall_secs).collect();
    let peak_max = runs.iter().filter_map(|r| r.peak_rss_mib).reduce(f64::max);
    runs.sort_by(|a, b| a.wall_secs.total_cmp(&b.wall_secs));
    let median = runs.swap_remove(runs.len() / 2);
    Ok(Repeated { median, walls, peak_max })
}

pub(super) async fn run_once(
    spec: &RunSpec<'_>,
    label: &str,
    dir: &Path,
    peak_is_own: bool,
) -> Result<RunFigures, BenchError> {
    let batch_size = spec.batch_size;
    if spec.verbose {
        eprintln!(
            "bench: ingesting {} ({label}, shard size {batch_size}, {} instances) …",
            spec.url.database(),
            spec.instances
        );
    }
    let yaml = spec.url.workflow(&dir.join("weir.db"), spec.instances, batch_size, spec.eager_rollback)?;
    let ingest_options = IngestOptions {
        run_id: None,
        full: false,
        catalog: None,
        progress: crate::plan::ProgressView::Hidden,
        cache_dir: spec.cache_dir.map(Path::to_path_buf),
        base_dir: None,
        max_failures: None,
    };

    let start_rss_mib = rss_mib("VmRSS:");
    let cpu_before = CpuSnapshot::take();
    let backends = BackendSampler::start(spec.url.database());
    let started = Instant::now();
    let workflow = Workflow::parse(&yaml, &format!("bench workflow ({label})"))?;
    let report = ingest(&workflow, &ingest_options)
        .await
        .map_err(|source| BenchError::Ingest { label: label.to_string(), source })?;
    let ended = Instant::now();
    let backend_ticks = backends.finish();
    let cpu = cpu_before.zip(CpuSnapshot::take()).map(|(before, after)| after.since(&before, backend_ticks));
    let wall_secs = ended.duration_since(started).as_secs_f64();
    let peak_rss_mib = if peak_is_own { rss_mib("VmHWM:") } else { None };

    let table = report.kinds.iter().find(|k| k.kind == "table");
    let tables = table.map(|k| k.written).unwrap_or_default();
    let table_batches = table.map(|k| k.batches).unwrap_or_default();
    let table_queries = table.map(|k| k.queries).unwrap_or_default();
    Ok(RunFigures {
        label: label.to_string(),
        batch_size,
        instances: report.instances,
        wall_secs,
        ingest_secs: report.elapsed_secs,
        tables,
        tables_per_sec: tables as f64 / wall_secs.max(f64::EPSILON),
        peak_rss_mib,
        start_rss_mib,
        queries: report.queries(),
        table_batches,
        table_queries,
        queries_per_table_batch: table_queries as f64 / table_batches.max(1) as f64,
        written: report.written(),
        failed: report.failed(),
        relations_applied: report.relations_applied,
        relations_unresolved: report.relations_unresolved.len(),
        process_calls_secs: ms(report.batches.total_ms),
        slowest_batch_secs: ms(report.batches.slowest_ms),
        phases: report.phases.clone(),
        cpu,
        report,
    })
}

/// Writes a finished run's documents and relations again, alone, into a
/// fresh catalog: what the catalog writes and phase 2 cost by themselves.
/// Documents are read back one batch at a time, and only the writes are
/// timed.
async fn replay(catalog: &Path, dir: &Path, batch_size: usize) -> Result<Replay, BenchError> {
    type EntityRow = (i64, String, String, Option<String>, String, String, String, String);
    let mut source = SqliteConnectOptions::new()
        .filename(catalog)
        .read_only(true)
        .connect()
        .await
        .map_err(sql(format!("open {} for the replay", catalog.display())))?;
    let fresh = Catalog::open(&dir.join("replay.db")).await?;
    let json = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap_or_default();
    let limit = i64::try_from(batch_size.max(1)).unwrap_or(i64::MAX);

    let (mut documents, mut write_calls, mut writing) = (0, 0, std::time::Duration::ZERO);
    let mut after = i64::MIN;
    loop {
        // One kind per write, as in the pipeline: a batch never mixes kinds.
        let rows: Vec<EntityRow> = sqlx::query_as(
            "SELECT rowid, kind, fqn, parent, name, document, extra, source_hash FROM entity
              WHERE rowid > ?1 AND kind = (SELECT kind FROM entity WHERE rowid > ?1 ORDER BY rowid LIMIT 1)
              ORDER BY rowid LIMIT ?2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&mut source)
        .await
        .map_err(sql("read the entities back"))?;
        let Some(last) = rows.last() else { break };
        after = last.0;
        let docs: Vec<Document> = rows
            .into_iter()
            .map(|(_, kind, fqn, parent, name, body, extra, source_hash)| Document {
                kind,
                fqn,
                parent,
                name,
                body: json(&body),
                extra: json(&extra),
                source_hash,
            })
            .collect();
        let started = Instant::now();
        fresh.write("replay", &docs).await?;
        writing += started.elapsed();
        documents += docs.len();
        write_calls += 1;
    }

    type RelationRow = (String, String, String, String, String);
    let rows: Vec<RelationRow> =
        sqlx::query_as("SELECT kind, from_fqn, to_fqn, name, document FROM relation ORDER BY rowid")
            .fetch_all(&mut source)
            .await
            .map_err(sql("read the relations back"))?;
    let _ = source.close().await;
    let strings = |v: &serde_json::Value, key: &str| -> Vec<String> {
        v.get(key)
            .and_then(|a| a.as_array())
            .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    let relations: Vec<Relation> = rows
        .into_iter()
        .map(|(kind, from, to, name, body)| {
            let body = json(&body);
            if kind == "foreignKey" {
                Relation::ForeignKey {
                    table: from,
                    name,
                    columns: strings(&body, "columns"),
                    referred_table: to,
                    referred_columns: strings(&body, "referredColumns"),
                }
            } else {
                Relation::Lineage { from, to, body, owned_by_from: false }
            }
        })
        .collect();
    let started = Instant::now();
    fresh.apply_relations("replay", &relations).await?;
    let relation_secs = started.elapsed().as_secs_f64();
    fresh.close().await;
    Ok(Replay {
        documents,
        write_calls,
        entity_write_secs: writing.as_secs_f64(),
        relations: relations.len(),
        relation_secs,
    })
}

impl TargetCheck {
    /// `PASS` or `MISS` when the target `applies` and the figure was
    /// measured, `n/a` otherwise.
    pub(super) fn judge(
        name: &str,
        limit: f64,
        measured: Option<f64>,
        unit: &str,
        basis: String,
        applies: bool,
    ) -> TargetCheck {
        let verdict = match measured {
            Some(m) if applies && m <= limit => "PASS",
            Some(_) if applies => "MISS",
            _ => "n/a",
        };
        TargetCheck { name: name.to_string(), limit, measured, unit: unit.to_string(), basis, verdict: verdict.into() }
    }

    /// The line the terminal report prints.
    pub(super) fn line(&self) -> String {
        let digits = if self.unit == "s" { 2 } else { 0 };
        let measured = match self.measured {
            Some(v) => format!("{v:.digits$} {}", self.unit).trim_end().to_string(),
            None => "—".to_string(),
        };
        format!(
            "target ({TARGET_TABLES} tables): {} ≤ {} {}: {measured} ({})  {}",
            self.name, self.limit, self.unit, self.basis, self.verdict
        )
    }
}

/// "one run", or "median of 3 runs" (`what` = "median").
pub(super) fn runs_basis(what: &str, runs: usize) -> String {
    match runs {
        0 | 1 => "one run".to_string(),
        n => format!("{what} of {n} runs"),
    }
}

/// The targets: the median run's wall time, the highest peak RSS.
fn targets(run: &RunFigures, peak_rss_mib: Option<f64>, runs: usize) -> Vec<TargetCheck> {
    let applies = run.tables >= TARGET_TABLES;
    vec![
        TargetCheck::judge("wall", TARGET_WALL_SECS, Some(run.wall_secs), "s", runs_basis("median", runs), applies),
        TargetCheck::judge("peak RSS", TARGET_RSS_MIB, peak_rss_mib, "MiB", runs_basis("highest", runs), applies),
    ]
}

/// A directory removed when dropped.
pub(super) struct TempDir(PathBuf);

impl TempDir {
    pub(super) fn new(parent: &Path, label: &str) -> Result<TempDir, BenchError> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let label = label.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_");
        let path = parent.join(format!("weir-bench-{}-{nanos:x}-{label}", std::process::id()));
        std::fs::create_dir_all(&path)
            .map_err(|source| BenchError::TempDir { path: path.display().to_string(), source })?;
        Ok(TempDir(path))
    }

    pub(super) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl BenchResult {
    /// The aligned table for a terminal.
    pub fn print(&self, out: &mut impl Write) -> std::io::Result<()> {
        let s = &self.source;
        writeln!(
            out,
            "weir bench postgres: {} (PostgreSQL {}): {} schemas, {} tables, {} views; {} cores",
            s.database, s.server_version, s.schemas, s.tables, s.views, s.cores
        )?;
        writeln!(
            out,
            "compile cache warm-up: {} in {:.2} s (not counted below)",
            self.warmup.outcome, self.warmup.secs
        )?;
        writeln!(out)?;

        let mut header = vec![String::new()];
        header.extend(self.runs.iter().map(|r| format!("{} (shard {})", r.label, r.batch_size)));
        let opt = |v: Option<f64>, unit: &str, digits: usize| match v {
            Some(v) => format!("{v:.digits$} {unit}").trim_end().to_string(),
            None => "—".to_string(),
        };
        let row = |name: &str, f: &dyn Fn(&RunFigures) -> String| {
            let mut cells = vec![name.to_string()];
            cells.extend(self.runs.iter().map(f));
            cells
        };
        let mut rows = vec![
            header,
            row("wall", &|r| format!("{:.2} s", r.wall_secs)),
            row("tables/s (tables + views)", &|r| format!("{:.0}", r.tables_per_sec)),
            row("peak RSS (VmHWM)", &|r| opt(r.peak_rss_mib, "MiB", 0)),
            row("  RSS at its start", &|r| opt(r.start_rss_mib, "MiB", 0)),
            row("queries (total)", &|r| r.queries.to_string()),
            row("table batches", &|r| r.table_batches.to_string()),
            row("queries per table batch (+ discovery)", &|r| format!("{:.2}", r.queries_per_table_batch)),
            row("entities written", &|r| r.written.to_string()),
            row("entities failed", &|r| r.failed.to_string()),
            row("relations applied / unresolved", &|r| format!("{} / {}", r.relations_applied, r.relations_unresolved)),
            row("instances", &|r| r.instances.to_string()),
            vec!["phases (wall)".to_string()],
            row("  startup (engine, plugin load)", &|r| opt(Some(r.phases.load_secs), "s", 3)),
            row("  connect + open catalog", &|r| opt(Some(r.phases.connect_secs), "s", 3)),
            row("  discover (all kinds)", &|r| opt(Some(r.phases.discover_secs), "s", 3)),
            row("  process + catalog writes", &|r| opt(Some(r.phases.process_secs), "s", 3)),
            row("  phase 2 (relations)", &|r| opt(Some(r.phases.relations_secs), "s", 3)),
            row("  sum of process calls", &|r| format!("{:.2} s", r.process_calls_secs)),
            row("  ... per instance", &|r| format!("{:.2} s", r.process_calls_secs / f64::from(r.instances.max(1)))),
            row("  slowest process call", &|r| format!("{:.3} s", r.slowest_batch_secs)),
            vec![format!("CPU time during the run ({} cores)", self.source.cores)],
            row("  weir process (user + sys)", &|r| opt(r.cpu.map(|c| c.weir_secs), "s", 2)),
            row("  other processes (PostgreSQL, ...)", &|r| opt(r.cpu.map(|c| c.others_secs), "s", 2)),
            row("    of which the run's PG backends", &|r| opt(r.cpu.and_then(|c| c.backends_secs), "s", 2)),
            row("  idle", &|r| opt(r.cpu.map(|c| c.idle_secs), "s", 2)),
        ];
        if let Some(replay) = &self.replay {
            rows.push(vec![format!("catalog replay of the weir run, alone ({} documents)", replay.documents)]);
            rows.push(vec![
                format!("  entity writes ({} calls)", replay.write_calls),
                format!("{:.3} s", replay.entity_write_secs),
            ]);
            rows.push(vec![
                format!("  phase 2 ({} relations)", replay.relations),
                format!("{:.3} s", replay.relation_secs),
            ]);
        }
        let columns = rows.iter().map(Vec::len).max().unwrap_or(1);
        let widths: Vec<usize> = (0..columns)
            .map(|i| {
                rows.iter()
                    .filter(|r| r.len() > 1)
                    .filter_map(|r| r.get(i))
                    .map(|c| c.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for r in &rows {
            if r.len() == 1 {
                writeln!(out, "{}", r[0])?;
                continue;
            }
            let mut line = format!("{:<w$}", r[0], w = widths[0]);
            for (i, cell) in r.iter().enumerate().skip(1) {
                line.push_str(&format!("   {:>w$}", cell, w = widths[i]));
            }
            writeln!(out, "{}", line.trim_end())?;
        }
        writeln!(out)?;
        if self.repeats.len() > 1 {
            let walls: Vec<String> = self.repeats.iter().map(|w| format!("{w:.2}")).collect();
            let min = self.repeats.iter().copied().fold(f64::INFINITY, f64::min);
            writeln!(out, "weir runs: {} s (min {min:.2} s; the column above is the median run)", walls.join(", "))?;
        }
        if let Some(ratio) = &self.ratio {
            writeln!(out, "baseline / weir: wall {:.1}×, queries {:.1}×", ratio.wall, ratio.queries)?;
        }
        for t in &self.targets {
            writeln!(out, "{}", t.line())?;
        }
        for n in &self.notes {
            writeln!(out, "note: {n}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(tables: usize, wall_secs: f64, peak: Option<f64>) -> RunFigures {
        RunFigures {
            label: "weir".into(),
            batch_size: 200,
            instances: 4,
            wall_secs,
            tables,
            peak_rss_mib: peak,
            cpu: Some(CpuUse { weir_secs: 2.0, others_secs: 3.5, backends_secs: Some(3.0), idle_secs: 0.5 }),
            ..RunFigures::default()
        }
    }

    #[test]
    fn targets_apply_to_the_ten_thousand_table_run_only() {
        let verdicts = |t: Vec<TargetCheck>| t.into_iter().map(|t| t.verdict).collect::<Vec<_>>();
        assert_eq!(verdicts(targets(&run(10_500, 2.9, None), Some(70.0), 1)), ["PASS", "PASS"]);
        assert_eq!(verdicts(targets(&run(10_500, 3.1, None), Some(301.0), 3)), ["MISS", "MISS"]);
        assert_eq!(verdicts(targets(&run(10_500, 3.1, None), None, 1)), ["MISS", "n/a"]);
        assert_eq!(verdicts(targets(&run(500, 0.2, None), Some(30.0), 1)), ["n/a", "n/a"]);
        assert_eq!(targets(&run(10_500, 3.0, None), None, 5)[0].basis, "median of 5 runs");
    }

    #[test]
    fn prints_one_aligned_column_per_run() {
        let weir = run(10_500, 2.5, Some(70.0));
        let result = BenchResult {
            source: SourceInfo {
                database: "weir_bench".into(),
                server_version: "15".into(),
                schemas: 100,
                tables: 10_000,
                views: 500,
                cores: 2,
            },
            warmup: Warmup { outcome: "cached".into(), secs: 0.0 },
            targets: targets(&weir, weir.peak_rss_mib, 1),
            runs: vec![weir, RunFigures { label: "baseline".into(), batch_size: 1, ..run(10_500, 20.0, None) }],
            replay: None,
            ratio: Some(Ratio { wall: 8.0, queries: 190.0 }),
            repeats: vec![2.5],
            notes: vec![],
        };
        let mut out = Vec::new();
        result.print(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let wall = text.lines().find(|l| l.starts_with("wall")).unwrap();
        let header = text.lines().find(|l| l.contains("weir (shard 200)")).unwrap();
        assert!(header.ends_with("baseline (shard 1)"), "{header}");
        assert_eq!(wall.chars().count(), header.chars().count(), "{text}");
        assert!(wall.ends_with("20.00 s"));
        assert!(text.contains("peak RSS ≤ 300 MiB: 70 MiB (one run)  PASS"), "{text}");
        assert!(text.contains("baseline / weir: wall 8.0×, queries 190.0×"));
    }
}
