//! One ingestion run, start to end.

use super::checks::{self, Parents};
use super::intake::Intake;
use super::progress::Progress;
use super::scheduler::{Event, Scheduler};
use super::select::Selection;
use super::shard::{DEFAULT_SHARD_SIZE, Plan, Shard};
use crate::caps::http::grant::{HttpGrantError, HttpWorkflow};
use crate::caps::sql::SqlError;
use crate::caps::sql::grant::SqlWorkflow;
use crate::caps::{self, Grants, Redactor};
use crate::config::Workflow;
use crate::model::entity::{EntityRef, ErrorKind};
use crate::model::{Kind, Relation, ServiceKind};
use crate::report::{FailureRecord, RunReport};
use crate::runtime::{Fault, Plugin, Runtime, RuntimeError, RuntimeOptions};
use crate::sink::catalog::{Catalog, CatalogError};
use crate::sink::file::FileSink;
use crate::sink::openmetadata::{OpenMetadataSink, SinkSetupError};
use crate::sink::{Pipeline, PipelineSettings, Sink, SinkError};
use crate::state::{StateError, StateStore};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;
use thiserror::Error;
use tokio::sync::mpsc;

/// The catalog file when neither `--catalog` nor `sink.config.path` says.
pub const DEFAULT_CATALOG: &str = "weir.db";
/// At most this many references per `process` call unless the workflow
/// says otherwise: a bigger shard is sent in several calls.
pub const DEFAULT_REFS_PER_CALL: usize = 1_000;

#[derive(Debug, Error)]
pub enum IngestError {
    #[error("no plugin serves source.type `{source_type}` (built in: {builtin}); set `weir.plugin` to a .wasm file")]
    NoPlugin { source_type: String, builtin: String },
    #[error("cannot read plugin {path}")]
    PluginFile { path: String, source: std::io::Error },
    #[error("plugin: {0}")]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    Sql(#[from] SqlError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    SinkSetup(#[from] SinkSetupError),
    #[error(transparent)]
    Http(#[from] HttpGrantError),
    /// `may_pass`: the plugin called the failure transient (its database
    /// went away, say); a fault or any other failure will not pass.
    #[error("discover {kind}: {reason}")]
    Discover { kind: &'static str, reason: String, may_pass: bool },
}

impl IngestError {
    /// Whether running the same work again later may succeed: a database,
    /// sink or state store that was unreachable or busy after the retries.
    /// Not a wrong config, a refused login or a plugin that will not load.
    /// It is what sets exit status 75 apart from 1.
    pub fn may_pass(&self) -> bool {
        match self {
            IngestError::Sql(e) => e.may_pass(),
            IngestError::Catalog(e) => e.may_pass(),
            IngestError::Sink(e) => e.may_pass(),
            IngestError::State(e) => e.may_pass(),
            IngestError::SinkSetup(e) => e.may_pass(),
            IngestError::Discover { may_pass, .. } => *may_pass,
            IngestError::NoPlugin { .. }
            | IngestError::PluginFile { .. }
            | IngestError::Runtime(_)
            | IngestError::Http(_) => false,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// `--catalog`: wins over `sink.config.path`.
    pub catalog: Option<PathBuf>,
    /// Draw progress bars on stderr.
    pub progress: bool,
    /// Compile cache directory; `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
    /// Directory relative paths in the workflow are resolved against.
    pub base_dir: Option<PathBuf>,
    /// `--max-failures`: wins over `weir.maxFailures`.
    pub max_failures: Option<usize>,
}

/// Runs the workflow end to end and returns its report. Entity failures
/// are in the report; an `Err` means the run as a whole could not go on.
pub async fn ingest(workflow: &Workflow, options: &IngestOptions) -> Result<RunReport, IngestError> {
    let started = Instant::now();
    let service = workflow.source.service_name.to_string();
    let settings = &workflow.weir;
    let instances = settings.instances.unwrap_or_else(default_instances);
    let limits = settings.limits.clone();
    let redactor = Arc::new(Redactor::new(workflow.secrets()));

    let wasm = plugin_bytes(workflow)?;
    let runtime =
        Runtime::new(RuntimeOptions { instances, limits: limits.clone(), cache_dir: options.cache_dir.clone() })?;
    let plugin = Arc::new(runtime.load(&wasm).await?);
    let mut clock = PhaseClock::start(started);
    tracing::info!(
        plugin = %plugin.info.name, version = %plugin.info.version, wit = %plugin.wit_version,
        compile = ?plugin.outcome, pooling = runtime.pooling(), "plugin loaded"
    );

    let mut report = RunReport {
        run_id: run_id(),
        service: service.clone(),
        plugin: plugin.info.name.clone(),
        plugin_version: plugin.info.version.clone(),
        instances,
        ..RunReport::default()
    };
    report.phases.load_secs = clock.lap();
    warn_ignored_keys(workflow, &mut report);

    let grants = grant(workflow, &plugin, &limits, instances, redactor.clone(), options, &mut report).await?;
    let state = Arc::new(match &settings.state_store {
        Some(url) => StateStore::open_postgres(url.expose()).await?,
        None => StateStore::open(&settings.state_path.clone().unwrap_or_else(StateStore::default_path)).await?,
    });
    state.begin_run(&report.run_id, &service).await?;
    let run_id: Arc<str> = Arc::from(report.run_id.as_str());
    let sink = Arc::new(open_sink(workflow, options, &state, &run_id).await?);
    report.catalog = sink.target();
    sink.put_service(&service, &workflow.source.kind, ServiceKind::of(&plugin.info.entity_kinds)).await?;
    let pipeline = Pipeline::start(sink.clone(), run_id, PipelineSettings::of(workflow));

    report.phases.connect_secs = clock.lap();
    let config: Arc<str> = Arc::from(workflow.plugin_config());
    let selection = Selection::new(workflow.metadata_config().clone(), &service);
    let mut scheduler = Scheduler::new(plugin.clone(), grants.clone(), config.clone(), instances as usize);
    scheduler.batch_size = settings.batch_size.unwrap_or(DEFAULT_REFS_PER_CALL);
    scheduler.retry = settings.retry.clone();
    scheduler.max_failures = options.max_failures.or(settings.max_failures);
    let scheduler = Arc::new(scheduler);
    let progress = Progress::new(options.progress);

    // Every kind is discovered before anything is processed, so the plan
    // (and the progress bar) knows the whole amount.
    let discovered = discover(&scheduler, &plugin, &config, &selection, &redactor, &progress, &mut report).await?;
    let mut plan = Plan::new(settings.shard_strategy, settings.shard_size.unwrap_or(DEFAULT_SHARD_SIZE), discovered);
    progress.planned(plan.refs(), plan.shards.len());
    tracing::info!(
        plugin = %plugin.info.name, strategy = %plan.strategy, shards = plan.shards.len(), refs = plan.refs(),
        instances, "planned"
    );
    report.phases.discover_secs = clock.lap();

    let mut intake = Intake {
        service: &service,
        plugin: &plugin.info.name,
        selection: &selection,
        pipeline: &pipeline,
        state: &state,
        run_id: &report.run_id.clone(),
        started,
        progress: &progress,
        max_failures: scheduler.max_failures,
        stop: scheduler.stop.clone(),
        relations: Vec::new(),
        redactor: &redactor,
        redacted: 0,
        parents: Parents::new(&plugin.info.entity_kinds),
        columns: Vec::new(),
    };
    // Kinds run one after another, so parents are written before children.
    // Each kind's shards are lent to the scheduler and put back after, so
    // the refs are held once, not once more per kind.
    let kinds = kinds_in_order(plan.shards.iter().map(|s| s.kind));
    let mut pending = std::mem::take(&mut plan.shards).into_iter().peekable();
    for kind in kinds {
        let mut of_kind = Vec::new();
        while let Some(shard) = pending.next_if(|s| s.kind == kind) {
            of_kind.push(shard);
        }
        let shards: Arc<Vec<Shard>> = Arc::new(of_kind);
        if scheduler.stop.load(Ordering::Relaxed) {
            for shard in shards.iter() {
                intake.cancel(shard, &mut report);
            }
            plan.shards.extend(Arc::try_unwrap(shards).unwrap_or_else(|shared| (*shared).clone()));
            continue;
        }
        progress.processing(kind.entity_type());
        let (tx, mut rx) = mpsc::channel::<Event>(instances as usize * 2);
        let producer = scheduler.run(shards.clone(), tx);
        let consumer = async {
            while let Some(event) = rx.recv().await {
                intake.receive(event, &shards, &mut report).await?;
            }
            Ok::<(), IngestError>(())
        };
        let ((), written) = tokio::join!(producer, consumer);
        written?;
        // Every document of this kind is in the sink before the next kind
        // (their children) starts.
        let acks = pipeline.flush().await?;
        intake.acknowledge(acks, &mut report);
        plan.shards.extend(Arc::try_unwrap(shards).unwrap_or_else(|shared| (*shared).clone()));
    }
    let acks = pipeline.flush().await?;
    intake.acknowledge(acks, &mut report);
    scheduler.retire();
    progress.finish();
    report.phases.process_secs = clock.lap();
    // Shards in plan order, whatever order they finished in.
    let order: std::collections::HashMap<&str, usize> =
        plan.shards.iter().enumerate().map(|(i, s)| (s.id.as_str(), i)).collect();
    report.shards.sort_by_key(|r| order.get(r.id.as_str()).copied().unwrap_or(usize::MAX));

    // Phase 2: records that point at other entities.
    intake.defer().await?;
    if intake.redacted > 0 {
        report.warnings.push(format!(
            "{} documents from the plugin held a secret of the workflow; it was replaced by *** before they were \
             written",
            intake.redacted
        ));
    }
    drop(intake);
    // Everything was flushed above: closing only stops the writers.
    pipeline.close().await?;
    apply_deferred(&sink, &state, &mut report).await?;
    state.close().await;
    report.sink_retries += sink.retries();

    report.warnings.extend(grants.warnings.take());
    for problem in report.unaccounted() {
        tracing::error!("accounting error: {problem}");
    }
    report.phases.relations_secs = clock.lap();
    report.elapsed_secs = started.elapsed().as_secs_f64();
    report.peak_rss_mib = crate::procfs::rss_mib("VmHWM:");
    report.plan = match serde_json::value::to_raw_value(&plan) {
        Ok(plan) => Some(plan),
        Err(e) => {
            tracing::warn!("the plan is left out of the report: {e}");
            None
        }
    };
    // Failure reasons and warnings carry what plugins and servers said.
    report.redact(&redactor);
    let summary = serde_json::to_value(&report).unwrap_or_default();
    sink.finish(&report.run_id, &service, &summary).await?;
    grants.sql.close().await;
    Ok(report)
}

/// Phase 2: the run's deferred records, from the state store, page by page;
/// they are forgotten once applied.
async fn apply_deferred(sink: &Sink, state: &StateStore, report: &mut RunReport) -> Result<(), IngestError> {
    const PAGE: usize = 5_000;
    let run_id = report.run_id.clone();
    let mut after = 0;
    loop {
        let page = state.deferred(&run_id, after, PAGE).await?;
        let Some((last, _)) = page.last() else { break };
        after = *last;
        let relations: Vec<Relation> = page.into_iter().map(|(_, r)| r).collect();
        // A foreign key's far end: a table of this run, with the columns.
        let referred: Vec<&str> = relations
            .iter()
            .filter_map(|r| match r {
                Relation::ForeignKey { referred_table, .. } => Some(referred_table.as_str()),
                Relation::Lineage { .. } => None,
            })
            .collect();
        let columns = state.columns(&run_id, &referred).await?;
        let (relations, refused): (Vec<Relation>, Vec<(Relation, String)>) =
            relations.into_iter().fold((Vec::new(), Vec::new()), |(mut ok, mut bad), r| {
                match checks::referred_end(&r, &columns) {
                    Some(problem) => bad.push((r, problem)),
                    None => ok.push(r),
                }
                (ok, bad)
            });
        report.relations_unresolved.extend(refused.into_iter().map(|(r, problem)| FailureRecord {
            entity: r.owner().to_string(),
            kind: r.kind().to_string(),
            error: "unresolved".into(),
            reason: format!("foreign key {}: {problem}", r.name()),
            may_pass: false,
            shard: None,
        }));
        let unresolved = sink.apply_relations(&run_id, &relations).await?;
        report.relations_applied += relations.len() - unresolved.len();
        // Appended: records the plugin sent malformed are already listed.
        report.relations_unresolved.extend(unresolved.into_iter().map(|u| FailureRecord {
            entity: u.owner,
            kind: u.kind.to_string(),
            error: "unresolved".into(),
            reason: u.reason,
            may_pass: false,
            shard: None,
        }));
    }
    sink.end_relations(&run_id).await?;
    for purged in state.finish_run(&run_id, &report.service).await? {
        let message = format!(
            "the state store held {} deferred records of run {}, which ended before its phase 2; they were removed",
            purged.records, purged.run_id
        );
        tracing::warn!("{message}");
        report.warnings.push(message);
    }
    Ok(())
}

/// The workflow's sink: the embedded catalog (`--catalog` wins over
/// `sink.config.path`), an OpenMetadata server or a JSON Lines file.
async fn open_sink(
    workflow: &Workflow,
    options: &IngestOptions,
    state: &Arc<StateStore>,
    run_id: &Arc<str>,
) -> Result<Sink, IngestError> {
    if workflow.sink_kind() == "metadata-rest" {
        let sink = OpenMetadataSink::new(workflow, state.clone(), run_id.clone(), workflow.weir.retry.clone())?;
        return Ok(Sink::OpenMetadata(Box::new(sink)));
    }
    if workflow.sink_kind() == "file"
        && let Some(path) = workflow.sink_path()
    {
        // Relative to the working directory, as the catalog's path is.
        return Ok(Sink::File(Box::new(FileSink::create(&path).await.map_err(SinkError::from)?)));
    }
    let path =
        options.catalog.clone().or_else(|| workflow.sink_path()).unwrap_or_else(|| PathBuf::from(DEFAULT_CATALOG));
    Ok(Sink::Catalog(Catalog::open(&path).await?))
}

/// Lists every wanted kind, parents first, and keeps what the filters
/// allow. The instance used is parked for the scheduler afterwards.
async fn discover(
    scheduler: &Scheduler,
    plugin: &Plugin,
    config: &str,
    selection: &Selection,
    redactor: &Redactor,
    progress: &Progress,
    report: &mut RunReport,
) -> Result<Vec<(Kind, Vec<EntityRef>)>, IngestError> {
    let mut kinds = plugin.info.entity_kinds.clone();
    kinds.sort();
    kinds.dedup();
    let mut named = scheduler.instantiate().await.map_err(|f| IngestError::Discover {
        kind: "(instance)",
        reason: f.to_string(),
        may_pass: false,
    })?;
    let mut discovered = Vec::new();
    for kind in kinds {
        if !selection.wants_kind(kind) {
            continue;
        }
        let name = kind.entity_type();
        progress.discovering(name);
        let probe = &mut named.instance;
        let queries_before = probe.queries();
        let refs = match probe.discover(config, kind).await {
            Ok(Ok(refs)) => refs,
            Ok(Err(failure)) => {
                return Err(IngestError::Discover {
                    kind: name,
                    reason: redactor.redact(&failure.message),
                    may_pass: failure.kind == ErrorKind::Transient,
                });
            }
            Err(fault) => return Err(discover_fault(name, fault, redactor)),
        };
        let refs = merge_duplicates(refs, name, report);
        let found = refs.len();
        let kept: Vec<EntityRef> = refs.into_iter().filter(|r| selection.keeps(r)).collect();
        let counts = report.kind_mut(name);
        counts.queries += probe.queries() - queries_before;
        counts.found += found;
        counts.filtered += found - kept.len();
        progress.found(found);
        tracing::info!(plugin = %plugin.info.name, kind = name, found, kept = kept.len(), "discovered");
        discovered.push((kind, kept));
    }
    scheduler.park(named);
    Ok(discovered)
}

/// Drops refs that name an entity already listed (the same path and key),
/// so each entity is processed and counted once; warns with their names.
/// Refs are told apart by a 128-bit hash of path and key, so a million of
/// them cost 16 MiB here, not a second copy of their names.
fn merge_duplicates(refs: Vec<EntityRef>, kind: &str, report: &mut RunReport) -> Vec<EntityRef> {
    let seeds = (std::hash::RandomState::new(), std::hash::RandomState::new());
    let identity = |r: &EntityRef| {
        use std::hash::BuildHasher;
        let key = (&r.path, &r.key);
        (u128::from(seeds.0.hash_one(key)) << 64) | u128::from(seeds.1.hash_one(key))
    };
    let mut seen = std::collections::HashSet::with_capacity(refs.len());
    let mut repeated: Vec<String> = Vec::new();
    let mut unique = Vec::with_capacity(refs.len());
    for r in refs {
        if seen.insert(identity(&r)) {
            unique.push(r);
        } else {
            repeated.push(r.path.join("."));
        }
    }
    if !repeated.is_empty() {
        const SHOWN: usize = 10;
        let more = repeated.len().saturating_sub(SHOWN);
        let more = if more > 0 { format!(" and {more} more") } else { String::new() };
        let message = format!(
            "discover listed {} {kind} references more than once, merged: {}{more}",
            repeated.len(),
            repeated.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ")
        );
        tracing::warn!("{message}");
        report.warnings.push(message);
    }
    unique
}

/// The kinds of a plan's shards, in their (parent-first) order.
fn kinds_in_order(kinds: impl Iterator<Item = Kind>) -> Vec<Kind> {
    let mut ordered: Vec<Kind> = Vec::new();
    for kind in kinds {
        if ordered.last() != Some(&kind) {
            ordered.push(kind);
        }
    }
    ordered
}

/// The plugin's component: `weir.plugin`, else the built-in one.
fn plugin_bytes(workflow: &Workflow) -> Result<Vec<u8>, IngestError> {
    if let Some(path) = &workflow.weir.plugin {
        return std::fs::read(path)
            .map_err(|source| IngestError::PluginFile { path: path.display().to_string(), source });
    }
    crate::plugins::builtin(&workflow.source.kind).map(<[u8]>::to_vec).ok_or_else(|| IngestError::NoPlugin {
        source_type: workflow.source.kind.clone(),
        builtin: crate::plugins::builtin_names().join(", "),
    })
}

/// Grants what the plugin asks for and the workflow allows, each
/// capability deciding its own; warns about the rest, which the plugin
/// will see denied.
async fn grant(
    workflow: &Workflow,
    plugin: &Plugin,
    limits: &crate::runtime::Limits,
    instances: u32,
    redactor: Arc<Redactor>,
    options: &IngestOptions,
    report: &mut RunReport,
) -> Result<Grants, IngestError> {
    let asked = &plugin.info.capabilities;
    let connection = &workflow.source.service_connection.config;
    // The same rule discovery applies, FQN mode included.
    let selection = Selection::new(workflow.metadata_config().clone(), workflow.source.service_name.as_str());
    let sql = SqlWorkflow {
        source_type: &workflow.source.kind,
        keys: connection.sql_keys(),
        base_dir: options.base_dir.as_deref(),
        databases: Arc::new(move |db: &str| selection.keeps_database(db)),
        settings: &workflow.weir.sql,
        limits: limits.query_limits(),
        instances,
    };
    let sql = caps::sql::grant::grant(asked, sql, &mut report.warnings).await?;
    let http = HttpWorkflow {
        settings: &workflow.weir.http,
        retry: &workflow.weir.retry,
        host_port: connection.host_port.as_ref().map(|h| h.as_str()),
        secrets: connection.named_secrets(),
        redactor: &redactor,
    };
    let http = caps::http::grant::grant(asked, http, &mut report.warnings)?;
    Ok(Grants {
        plugin: Arc::from(plugin.info.name.as_str()),
        sql: Arc::new(sql),
        http,
        redactor,
        warnings: Arc::new(caps::log::PluginMessages::default()),
    })
}

fn warn_ignored_keys(workflow: &Workflow, report: &mut RunReport) {
    let mut ignored: Vec<String> = workflow
        .source
        .service_connection
        .config
        .ignored_keys()
        .into_iter()
        .map(|k| format!("source.serviceConnection.config.{k}"))
        .collect();
    let mut source_keys = workflow.metadata_config().ignored_keys();
    if let Some(dashboard) = &workflow.dashboard {
        source_keys = dashboard.ignored_keys();
    }
    ignored.extend(source_keys.into_iter().map(|k| format!("source.sourceConfig.config.{k}")));
    if !ignored.is_empty() {
        let message = format!("weir does not act on these keys yet: {}", ignored.join(", "));
        tracing::warn!("{message}");
        report.warnings.push(message);
    }
}

fn discover_fault(kind: &'static str, fault: Fault, redactor: &Redactor) -> IngestError {
    IngestError::Discover { kind, reason: redactor.redact(&fault.to_string()), may_pass: false }
}

/// Seconds since the previous lap.
struct PhaseClock {
    last: Instant,
}

impl PhaseClock {
    fn start(at: Instant) -> Self {
        PhaseClock { last: at }
    }

    fn lap(&mut self) -> f64 {
        let now = Instant::now();
        let secs = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        secs
    }
}

/// The work is I/O-bound: twice the cores.
fn default_instances() -> u32 {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    u32::try_from(cores * 2).unwrap_or(8)
}

fn run_id() -> String {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    format!("{nanos:x}-{:x}", std::process::id())
}
