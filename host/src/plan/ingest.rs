//! One ingestion run, start to end.

use super::checks;
use super::progress::Progress;
use super::run::{Run, Scope, unix_ms};
use super::scheduler::Scheduler;
use super::select::Selection;
use super::shard::Shard;
use crate::caps::http::grant::{HttpGrantError, HttpWorkflow};
use crate::caps::sql::SqlError;
use crate::caps::sql::grant::SqlWorkflow;
use crate::caps::{self, Grants, Redactor};
use crate::config::{ConnectionSchema, Workflow};
use crate::model::entity::{EntityRef, ErrorKind};
use crate::model::{Kind, Relation};
use crate::report::{FailureRecord, RunReport};
use crate::runtime::{Fault, Plugin, RuntimeError};
use crate::sink::catalog::{Catalog, CatalogError};
use crate::sink::file::FileSink;
use crate::sink::openmetadata::{OpenMetadataSink, SinkSetupError};
use crate::sink::{Sink, SinkError};
use crate::state::{RunStatus, RunSummary, StateError, StateStore};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use thiserror::Error;

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
    /// `weir.plugin` names a connector for other sources: a typo in
    /// `source.type`, or the wrong file.
    #[error(
        "source.type `{source_type}` is not one plugin `{plugin}` serves (it serves: {serves}): fix source.type, or \
         point weir.plugin at the connector for it"
    )]
    SourceType { source_type: String, plugin: String, serves: String },
    /// The plugin declares capabilities this workflow cannot grant; each
    /// reason names its fix.
    #[error("plugin `{plugin}` cannot run with this workflow:\n  - {}", reasons.join("\n  - "))]
    Ungrantable { plugin: String, reasons: Vec<String> },
    /// The plugin's own connection keys, as the workflow gives them, do
    /// not match what it declares; or its declaration cannot be read.
    #[error(transparent)]
    Connection(#[from] crate::config::ConfigError),
    #[error("plugin `{plugin}` cannot be run: {reason}")]
    Declaration { plugin: String, reason: String },
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
    /// A run whose stages run in separate processes needs something every
    /// one of them reaches.
    #[error("a run in separate processes needs {what} they all share: {fix}")]
    Unshared { what: String, fix: String },
    /// What a distributed run's stage needs from an earlier one is not in
    /// the state store.
    #[error("run {run_id}: {reason}")]
    Stage { run_id: String, reason: String },
    /// Another process keeps renewing its claim on the shard.
    #[error("shard {shard} is held by {owner}, which is still working on it")]
    Held { shard: String, owner: String },
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
            IngestError::Held { .. } => true,
            IngestError::NoPlugin { .. }
            | IngestError::PluginFile { .. }
            | IngestError::SourceType { .. }
            | IngestError::Ungrantable { .. }
            | IngestError::Connection(_)
            | IngestError::Declaration { .. }
            | IngestError::Runtime(_)
            | IngestError::Http(_)
            | IngestError::Unshared { .. }
            | IngestError::Stage { .. } => false,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// `--catalog`: wins over `sink.config.path`.
    pub catalog: Option<PathBuf>,
    /// Bars on a terminal, log lines in a pod, or nothing.
    pub progress: super::progress::ProgressView,
    /// Compile cache directory; `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
    /// Directory relative paths in the workflow are resolved against.
    pub base_dir: Option<PathBuf>,
    /// `--max-failures`: wins over `weir.maxFailures`.
    pub max_failures: Option<usize>,
    /// `--run-id`: the run's id, else one is made up.
    pub run_id: Option<String>,
    /// `--full`: send every entity, changed or not.
    pub full: bool,
}

/// Runs the workflow end to end in this process and returns its report.
/// Entity failures are in the report; an `Err` means the run as a whole
/// could not go on.
///
/// The plan is kept in the state store, and each shard is recorded done
/// there as soon as it is written: a run killed on the way is finished by
/// [`resume`], which does only the shards left.
pub async fn ingest(workflow: &Workflow, options: &IngestOptions) -> Result<RunReport, IngestError> {
    // OpenMetadata's id for the run, when it gave one, is weir's too.
    let pipeline_run = workflow.ingestion_pipeline().and_then(|(_, run)| run);
    let id = options.run_id.clone().or(pipeline_run).unwrap_or_else(run_id);
    let mut run = match Run::open(workflow, options, id.clone(), false).await {
        Ok(run) => run,
        Err(err) => return Err(record_unopened(workflow, &id, err).await),
    };
    if run.state.discovery(&run.report.run_id).await?.is_some() {
        let run_id = run.report.run_id.clone();
        run.shut().await;
        return Err(IngestError::Stage {
            run_id: run_id.clone(),
            reason: format!("was started before and not finished: resume it with `weir ingest --resume {run_id}`"),
        });
    }
    run.begin().await?;
    let (state, sink, run_id) = (run.state.clone(), run.sink(), run.report.run_id.clone());
    let outcome = async {
        let mut plan = run.discover(None).await?;
        run.keep_plan(&plan).await?;
        run.claim_all().await?;
        let shards = std::mem::take(&mut plan.shards);
        plan.shards = run.process(shards, &Scope::Whole { parents: Vec::new(), stored: true }).await?;
        run.finish(Some(plan)).await
    }
    .await;
    record_failure(&state, Some(&sink), &run_id, outcome).await
}

/// Records in the run history that `run_id` could not go on, if it could
/// not; hands the outcome back.
/// not; hands the outcome back. The sink is told too (OpenMetadata shows
/// the ingestion pipeline's run failed).
pub(super) async fn record_failure<T>(
    state: &StateStore,
    sink: Option<&Sink>,
    run_id: &str,
    outcome: Result<T, IngestError>,
) -> Result<T, IngestError> {
    if let Err(err) = &outcome {
        let reason = record_error(state, run_id, err).await;
        if let Some(sink) = sink
            && let Some(warning) = sink.report_end(run_id, Err(&reason)).await
        {
            tracing::warn!("{}", crate::logging::redact(&warning));
        }
    }
    outcome
}

/// Records the error in the run history; returns it as recorded.
async fn record_error(state: &StateStore, run_id: &str, err: &IngestError) -> String {
    let code = if err.may_pass() { crate::report::EXIT_MAY_PASS } else { crate::report::EXIT_FATAL };
    let reason = crate::logging::redact(&crate::text::error_chain(err));
    if let Err(e) = state.record_end(run_id, RunStatus::Failed, code, None, Some(&reason)).await {
        tracing::warn!(run = run_id, "the run history cannot record that the run failed: {e}");
    }
    reason
}

/// Records in the run history a run that could not even start (a plugin
/// that would not load, a database that would not connect), if the state
/// store can be opened; hands the error back.
async fn record_unopened(workflow: &Workflow, run_id: &str, err: IngestError) -> IngestError {
    let Ok(state) = open_state(workflow, false).await else { return err };
    let service = workflow.source.service_name.to_string();
    if state.record_start(run_id, &service, false, &super::distributed::process_name()).await.is_ok() {
        let _ = record_error(&state, run_id, &err).await;
    }
    state.close().await;
    err
}

/// What `weir ingest --dry-run` found: the discovery's counts, the plan,
/// and what a clean run would mark deleted. Nothing was written to the
/// sink or the state store.
pub struct DryRun {
    pub report: RunReport,
    pub plan: super::shard::Plan,
    pub disappeared: super::deleted::Finding,
    /// Per kind, what a run would send, skip as unchanged, or fail.
    pub preview: Vec<super::run::Preview>,
}

/// Discovers, plans and processes as a run would, and compares with what
/// the sink holds; writes nothing, to the sink or the state store.
pub async fn dry_run(workflow: &Workflow, options: &IngestOptions) -> Result<DryRun, IngestError> {
    let id = options.run_id.clone().unwrap_or_else(run_id);
    let mut run = Run::open(workflow, options, id, false).await?;
    let plan = run.discover(None).await?;
    let disappeared = run.disappeared(&plan).await;
    let preview = run.preview(&plan).await;
    let report = run.take_report();
    run.shut().await;
    Ok(DryRun { report, plan, disappeared: disappeared?, preview: preview? })
}

/// `weir ingest --resume RUN_ID`: finishes a one-process run that was
/// killed (or stopped by a cause that may pass): the shards it recorded
/// done are kept, with their counts; the others are done again (their
/// deferred records replaced), then phase 2 runs as usual. The run's plan
/// is the one it made: nothing is discovered again.
pub async fn resume(workflow: &Workflow, options: &IngestOptions, run_id: &str) -> Result<RunReport, IngestError> {
    let stage = |reason: String| IngestError::Stage { run_id: run_id.to_string(), reason };
    // What these sinks wrote before the kill is not known to the new
    // process: the file is written in one go, and OpenMetadata's phase 2
    // goes by what this process wrote.
    let unresumable = match workflow.sink_kind() {
        "file" => Some("the file sink writes its file in one go"),
        "metadata-rest" => Some("the metadata-rest sink's phase 2 needs every entity written in one process"),
        _ => None,
    };
    if let Some(why) = unresumable {
        return Err(stage(format!("cannot be resumed: {why}; run it again without --resume")));
    }
    let mut run = Run::open(workflow, options, run_id.to_string(), false).await?;
    let (state, sink) = (run.state.clone(), run.sink());
    if state.is_distributed(run_id).await? == Some(true) {
        run.shut().await;
        return Err(stage(
            "runs in separate processes (weir discover/process/finalize): run its shards with `weir process` and \
             `weir finalize`, or `argo retry` its workflow"
                .into(),
        ));
    }
    let Some(discovery) = state.discovery(run_id).await? else {
        run.shut().await;
        return Err(stage(format!(
            "is not in the state store {} (a run that finished leaves nothing to resume)",
            state.shown()
        )));
    };
    if state.run_alive(run_id).await? == Some(true) {
        run.shut().await;
        return Err(stage("is still running in another process on this machine".into()));
    }
    let discovery: RunReport = serde_json::from_str(&discovery)
        .map_err(|e| stage(format!("the state store's record of its discovery is not readable: {e}")))?;
    run.report.absorb(discovery);
    run.begin().await?;
    run.claim_all().await?;
    let (done, left) = state.progress(run_id).await?;
    let kept = done.len();
    for outcome in done {
        let part: RunReport =
            serde_json::from_str(&outcome).map_err(|e| stage(format!("a shard's recorded outcome: {e}")))?;
        run.report.absorb(part);
    }
    let shards: Vec<Shard> = left
        .iter()
        .map(|body| serde_json::from_str(body))
        .collect::<Result<_, _>>()
        .map_err(|e| stage(format!("a shard of its plan is not readable: {e}")))?;
    let forgotten = state.forget_unfinished(run_id).await?;
    tracing::info!(run = run_id, kept, left = shards.len(), forgotten, "resuming");
    run.report
        .warnings
        .push(format!("resumed: {kept} shards were done by the earlier attempt and kept, {} done now", shards.len()));
    let parents = state.parents(run_id).await?;
    let outcome = async {
        run.process(shards, &Scope::Whole { parents, stored: true }).await?;
        run.finish(None).await
    }
    .await;
    record_failure(&state, Some(&sink), run_id, outcome).await
}

/// The end of every run, whichever process ends it: phase 2, the state
/// store's records forgotten, the counts checked, the run recorded in the
/// sink.
pub(super) async fn finish_run(
    workflow: &Workflow,
    sink: &Sink,
    state: &StateStore,
    redactor: &Redactor,
    mut report: RunReport,
) -> Result<RunReport, IngestError> {
    let phase2 = Instant::now();
    // What the run saw, from its plan, before phase 2 forgets the plan.
    let seen = seen_by_run(workflow, state, &report.run_id).await?;
    apply_deferred(sink, state, &mut report).await?;
    super::deleted::mark(workflow, sink, state, &seen, &mut report).await?;
    report.warnings.extend(sink.take_warnings());
    report.sink_retries += sink.retries();
    for problem in report.unaccounted() {
        tracing::error!("accounting error: {problem}");
    }
    report.phases.relations_secs = phase2.elapsed().as_secs_f64();
    report.elapsed_secs = unix_ms().saturating_sub(report.started_unix_ms) as f64 / 1000.0;
    report.peak_rss_mib = match (report.peak_rss_mib, crate::procfs::rss_mib("VmHWM:")) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    // Failure reasons and warnings carry what plugins and servers said.
    report.redact(redactor);
    if let Some(warning) = sink.report_end(&report.run_id, Ok(&report)).await {
        report.warnings.push(redactor.redact(&warning));
    }
    let status = RunStatus::of_report(&report);
    state.record_end(&report.run_id, status, report.exit_code(), Some(&RunSummary::of(&report)), None).await?;
    state.close().await;
    let summary = serde_json::to_value(&report).unwrap_or_default();
    sink.finish(&report.run_id, &report.service, &summary).await?;
    Ok(report)
}

/// Every entity the plan of `run_id` holds: what its discovery listed and
/// the filters kept.
async fn seen_by_run(
    workflow: &Workflow,
    state: &StateStore,
    run_id: &str,
) -> Result<std::collections::HashSet<(String, String)>, IngestError> {
    let mut shards = Vec::new();
    for body in state.plan_bodies(run_id).await? {
        let shard: Shard = serde_json::from_str(&body).map_err(|e| IngestError::Stage {
            run_id: run_id.to_string(),
            reason: format!("a shard of its plan is not readable: {e}"),
        })?;
        shards.push(shard);
    }
    Ok(super::deleted::seen_in_plan(workflow, &shards))
}

/// Phase 2: the run's deferred records, from the state store, page by page;
/// they are forgotten once applied.
pub(super) async fn apply_deferred(sink: &Sink, state: &StateStore, report: &mut RunReport) -> Result<(), IngestError> {
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

/// The workflow's state store. `shared`: the run's stages run in separate
/// processes, maybe on separate machines, so only a PostgreSQL store will
/// do.
pub(crate) async fn open_state(workflow: &Workflow, shared: bool) -> Result<StateStore, IngestError> {
    let settings = &workflow.weir;
    match &settings.state_store {
        Some(url) => Ok(StateStore::open_postgres(url.expose()).await?),
        None if shared => Err(unshared_state()),
        None => Ok(StateStore::open(&settings.state_path.clone().unwrap_or_else(StateStore::default_path)).await?),
    }
}

pub(super) fn unshared_state() -> IngestError {
    IngestError::Unshared {
        what: "the state store".into(),
        fix: "set `weir.stateStore: postgres://USER:PASSWORD@HOST/DB` in the workflow (`weir.statePath` is a SQLite \
              file only one machine sees)"
            .into(),
    }
}

/// The workflow's sink: the embedded catalog (`--catalog` wins over
/// `sink.config.path`), an OpenMetadata server or a JSON Lines file.
pub(super) async fn open_sink(workflow: &Workflow, options: &IngestOptions) -> Result<Sink, IngestError> {
    if workflow.sink_kind() == "metadata-rest" {
        let sink = OpenMetadataSink::new(workflow, workflow.weir.retry.clone())?;
        return Ok(Sink::OpenMetadata(Box::new(sink)));
    }
    if workflow.sink_kind() == "file"
        && let Some(path) = workflow.sink_path()
    {
        // Relative to the working directory, as the catalog's path is.
        return Ok(Sink::File(Box::new(FileSink::create(&path).await.map_err(SinkError::from)?)));
    }
    Ok(Sink::Catalog(Catalog::open(&catalog_location(workflow, options)).await?))
}

/// Where the catalog is: `--catalog`, else `sink.config.url` (PostgreSQL),
/// else `sink.config.path`, else `weir.db`.
pub(crate) fn catalog_location(workflow: &Workflow, options: &IngestOptions) -> PathBuf {
    options
        .catalog
        .clone()
        .or_else(|| workflow.sink_url().map(|url| PathBuf::from(url.expose())))
        .or_else(|| workflow.sink_path())
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CATALOG))
}

/// Lists every wanted kind, parents first, and keeps what the filters
/// allow. The instance used is parked for the scheduler afterwards.
pub(super) async fn discover(
    scheduler: &Scheduler,
    plugin: &Plugin,
    config: &str,
    selection: &Selection,
    redactor: &Redactor,
    progress: &Progress,
    report: &mut RunReport,
) -> Result<Vec<(Kind, Vec<EntityRef>)>, IngestError> {
    let kinds = wanted_kinds(&plugin.info.entity_kinds, selection);
    let mut named = scheduler.instantiate().await.map_err(|f| IngestError::Discover {
        kind: "(instance)",
        reason: f.to_string(),
        may_pass: false,
    })?;
    let mut discovered = Vec::new();
    for kind in kinds {
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

/// The kinds a run lists, parents first: the plugin's, less those the
/// workflow leaves out (`includeStoredProcedures: false`, say).
pub(super) fn wanted_kinds(kinds: &[Kind], selection: &Selection) -> Vec<Kind> {
    let mut kinds: Vec<Kind> = kinds.iter().copied().filter(|k| selection.wants_kind(*k)).collect();
    kinds.sort();
    kinds.dedup();
    kinds
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

/// Refuses, before anything connects, a plugin this workflow cannot run:
/// one that does not serve `source.type`, whose own connection keys the
/// workflow gets wrong, or that declares a capability the workflow cannot
/// grant. What it declares of its connection keys is the answer.
pub(crate) fn check_plugin(workflow: &Workflow, plugin: &Plugin) -> Result<ConnectionSchema, IngestError> {
    let source_type = &workflow.source.kind;
    let info = &plugin.info;
    if !info.source_types.iter().any(|t| t.eq_ignore_ascii_case(source_type)) {
        return Err(IngestError::SourceType {
            source_type: source_type.clone(),
            plugin: info.name.clone(),
            serves: if info.source_types.is_empty() { "nothing".into() } else { info.source_types.join(", ") },
        });
    }
    let connection = &workflow.source.service_connection.config;
    let schema = ConnectionSchema::of(&info.config_schema)
        .map_err(|reason| IngestError::Declaration { plugin: info.name.clone(), reason })?;
    schema.check(&info.name, &connection.custom, &workflow.origin)?;
    let host_port = connection.host_port.as_ref().map(|h| h.as_str());
    let mut reasons = caps::sql::grant::refusals(&info.capabilities, source_type, &connection.sql_keys());
    reasons.extend(caps::http::grant::refusals(&info.capabilities, &workflow.weir.http.allow, host_port));
    if reasons.is_empty() {
        return Ok(schema);
    }
    Err(IngestError::Ungrantable { plugin: info.name.clone(), reasons })
}

/// The plugin's component: `weir.plugin`, else the built-in one.
pub(super) fn plugin_bytes(workflow: &Workflow) -> Result<Vec<u8>, IngestError> {
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
pub(super) async fn grant(
    workflow: &Workflow,
    plugin: &Plugin,
    declared: &ConnectionSchema,
    instances: u32,
    redactor: Arc<Redactor>,
    options: &IngestOptions,
    report: &mut RunReport,
) -> Result<Grants, IngestError> {
    let asked = &plugin.info.capabilities;
    let connection = &workflow.source.service_connection.config;
    let limits = &workflow.weir.limits;
    // The same rule discovery applies, FQN mode included.
    let selection = Selection::of(workflow);
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
        secrets: connection.named_secrets(declared),
        redactor: &redactor,
    };
    let http = caps::http::grant::grant(asked, http)?;
    Ok(Grants {
        plugin: Arc::from(plugin.info.name.as_str()),
        sql: Arc::new(sql),
        http,
        redactor,
        warnings: Arc::new(caps::log::PluginMessages::default()),
    })
}

pub(super) fn warn_ignored_keys(workflow: &Workflow, report: &mut RunReport) {
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
    if let Some(pipeline) = &workflow.pipeline {
        source_keys = pipeline.ignored_keys();
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
pub(super) struct PhaseClock {
    last: Instant,
}

impl PhaseClock {
    pub(super) fn start(at: Instant) -> Self {
        PhaseClock { last: at }
    }

    pub(super) fn lap(&mut self) -> f64 {
        let now = Instant::now();
        let secs = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        secs
    }
}

/// The work is I/O-bound: twice the cores.
pub(super) fn default_instances() -> u32 {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    u32::try_from(cores * 2).unwrap_or(8)
}

pub fn run_id() -> String {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    format!("{nanos:x}-{:x}", std::process::id())
}
