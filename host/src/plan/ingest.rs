//! One ingestion run, start to end.

use super::select::Selection;
use super::worker::{Outcome, WorkerPool};
use crate::caps::sql::{DatabaseFilter, QueryLimits, SqlError, SqlGrants, SqlSource, SqlTarget};
use crate::caps::{Grants, Redactor};
use crate::config::Workflow;
use crate::report::{FailureRecord, RunReport};
use crate::runtime::bindings::types::{Capability, Entity, EntityKind, EntityRef};
use crate::runtime::{Fault, Plugin, Runtime, RuntimeError, RuntimeOptions};
use crate::sink::catalog::{Catalog, CatalogError};
use crate::sink::document::{self, kind_name, ref_fqn};
use crate::sink::{Document, Relation};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use thiserror::Error;
use tokio::sync::mpsc;

/// The catalog file when neither `--catalog` nor `sink.config.path` says.
pub const DEFAULT_CATALOG: &str = "weir.db";
/// References per `process` call.
pub const DEFAULT_BATCH_SIZE: usize = 200;

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
    #[error("discover {kind}: {reason}")]
    Discover { kind: &'static str, reason: String },
}

#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// `--catalog`: wins over `sink.config.path`.
    pub catalog: Option<PathBuf>,
    /// Draw a progress bar on stderr.
    pub progress: bool,
    /// Compile cache directory; `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
    /// Directory relative paths in the workflow are resolved against.
    pub base_dir: Option<PathBuf>,
}

/// Runs the workflow end to end and returns its report. Entity failures
/// are in the report; an `Err` means the run as a whole could not go on.
pub async fn ingest(workflow: &Workflow, options: &IngestOptions) -> Result<RunReport, IngestError> {
    let started = Instant::now();
    let service = workflow.source.service_name.to_string();
    let instances = workflow.weir.instances.unwrap_or_else(default_instances);
    let batch_size = workflow.weir.batch_size.unwrap_or(DEFAULT_BATCH_SIZE);
    let limits = workflow.weir.limits.clone();
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
    let catalog_path =
        options.catalog.clone().or_else(|| workflow.sink_path()).unwrap_or_else(|| PathBuf::from(DEFAULT_CATALOG));
    let catalog = Catalog::open(&catalog_path).await?;
    report.catalog = catalog_path.display().to_string();
    catalog.put_service(&service, &workflow.source.kind).await?;

    report.phases.connect_secs = clock.lap();
    let config: Arc<str> = Arc::from(workflow.plugin_config());
    let selection = Selection::new(workflow.metadata_config().clone(), &service);

    // Discover every kind first, so progress knows the whole amount.
    let mut discovered: Vec<(EntityKind, Vec<EntityRef>)> = Vec::new();
    let mut kinds = plugin.info.entity_kinds.clone();
    kinds.sort_by_key(|k| kind_rank(*k));
    kinds.dedup();
    let mut probe = plugin
        .instantiate(&grants)
        .await
        .map_err(|f| IngestError::Discover { kind: "(instance)", reason: f.to_string() })?;
    for kind in kinds {
        if !selection.wants_kind(kind) {
            continue;
        }
        let name = kind_name(kind);
        let queries_before = probe.queries();
        let refs = match probe.discover(&config, kind).await {
            Ok(Ok(refs)) => refs,
            Ok(Err(failure)) => {
                return Err(IngestError::Discover { kind: name, reason: redactor.redact(&failure.message) });
            }
            Err(fault) => return Err(discover_fault(name, fault, &redactor)),
        };
        let found = refs.len();
        let kept: Vec<EntityRef> = refs.into_iter().filter(|r| selection.keeps(r)).collect();
        let counts = report.kind_mut(name);
        counts.queries += probe.queries() - queries_before;
        counts.found += found;
        counts.filtered += found - kept.len();
        tracing::info!(kind = name, found, kept = kept.len(), "discovered");
        discovered.push((kind, kept));
    }
    drop(probe);
    report.phases.discover_secs = clock.lap();

    let total: usize = discovered.iter().map(|(_, refs)| refs.len()).sum();
    let progress = progress_bar(options.progress, total as u64);
    let pool = WorkerPool { plugin: plugin.clone(), grants: grants.clone(), config, instances: instances as usize };
    let mut relations: Vec<Relation> = Vec::new();
    // Kinds run one after another, so parents are written before children.
    for (kind, refs) in discovered {
        if refs.is_empty() {
            continue;
        }
        progress.set_message(kind_name(kind));
        let batches: Vec<Vec<EntityRef>> = refs.chunks(batch_size).map(<[EntityRef]>::to_vec).collect();
        let (tx, mut rx) = mpsc::channel::<Outcome>(instances as usize * 2);
        let producer = async {
            pool.run(batches, tx).await;
        };
        let consumer = async {
            while let Some(outcome) = rx.recv().await {
                absorb(
                    outcome,
                    kind,
                    &service,
                    &selection,
                    &catalog,
                    &report.run_id.clone(),
                    &mut report,
                    &mut relations,
                    &progress,
                )
                .await?;
            }
            Ok::<(), CatalogError>(())
        };
        let ((), written) = tokio::join!(producer, consumer);
        written?;
    }
    progress.finish_and_clear();
    report.phases.process_secs = clock.lap();

    // Phase 2: records that point at other entities.
    let unresolved = catalog.apply_relations(&relations).await?;
    report.relations_applied = relations.len() - unresolved.len();
    // Appended: records the plugin sent malformed are already listed.
    report.relations_unresolved.extend(unresolved.into_iter().map(|u| FailureRecord {
        entity: u.owner,
        kind: u.kind.to_string(),
        error: "unresolved".into(),
        reason: u.reason,
    }));

    report.warnings.extend(grants.warnings.take());
    report.phases.relations_secs = clock.lap();
    report.elapsed_secs = started.elapsed().as_secs_f64();
    let summary = serde_json::to_value(&report).unwrap_or_default();
    catalog.record_run(&report.run_id, &service, &summary).await?;
    catalog.close().await;
    grants.sql.close().await;
    Ok(report)
}

/// Folds one batch outcome into the catalog and the report.
#[allow(clippy::too_many_arguments)]
async fn absorb(
    outcome: Outcome,
    kind: EntityKind,
    service: &str,
    selection: &Selection,
    catalog: &Catalog,
    run_id: &str,
    report: &mut RunReport,
    relations: &mut Vec<Relation>,
    progress: &ProgressBar,
) -> Result<(), CatalogError> {
    let kind_label = kind_name(kind);
    match outcome {
        Outcome::Done { batch, refs, effort } => {
            report.count_batch(kind_label, &effort, false);
            let mut docs: Vec<Document> = Vec::with_capacity(batch.entities.len());
            for entity in &batch.entities {
                if let Entity::Table(t) = entity
                    && !selection.keeps_table(t)
                {
                    report.kind_mut(kind_label).filtered += 1;
                    continue;
                }
                match document::entity_document(service, entity) {
                    Ok(doc) => docs.push(doc),
                    Err(err) => {
                        let (entity, kind) = entity_label(service, entity);
                        report.kind_mut(&kind).failed += 1;
                        report.failures.push(FailureRecord {
                            entity,
                            kind,
                            error: "invalid".into(),
                            reason: err.to_string(),
                        });
                    }
                }
            }
            for deferred in &batch.deferred {
                match document::relation(service, deferred) {
                    Ok(relation) => relations.push(relation),
                    Err(err) => report.relations_unresolved.push(FailureRecord {
                        entity: kind_label.to_string(),
                        kind: "relation".into(),
                        error: "invalid".into(),
                        reason: err.to_string(),
                    }),
                }
            }
            for failure in &batch.failures {
                report.kind_mut(kind_label).failed += 1;
                report.failures.push(FailureRecord {
                    entity: ref_fqn(service, &failure.path).unwrap_or_else(|_| failure.path.join(".")),
                    kind: kind_label.to_string(),
                    error: super::worker::error_kind(&failure.error).into(),
                    reason: failure.error.message.clone(),
                });
            }
            catalog.write(run_id, &docs).await?;
            for doc in &docs {
                report.kind_mut(&doc.kind).written += 1;
            }
            progress.inc(refs as u64);
        }
        Outcome::Failed { refs, error, reason, faulted, effort } => {
            report.count_batch(kind_label, &effort, faulted);
            let counts = report.kind_mut(kind_label);
            counts.failed += refs.len();
            for r in &refs {
                report.failures.push(FailureRecord {
                    entity: ref_fqn(service, &r.path).unwrap_or_else(|_| r.path.join(".")),
                    kind: kind_label.to_string(),
                    error: error.to_string(),
                    reason: reason.clone(),
                });
            }
            progress.inc(refs.len() as u64);
        }
    }
    Ok(())
}

fn entity_label(service: &str, entity: &Entity) -> (String, String) {
    let (kind, path): (&str, Vec<String>) = match entity {
        Entity::Database(d) => ("database", vec![d.name.clone()]),
        Entity::DatabaseSchema(s) => ("databaseSchema", vec![s.database.clone(), s.name.clone()]),
        Entity::Table(t) => ("table", vec![t.database.clone(), t.schema.clone(), t.name.clone()]),
        Entity::StoredProcedure(p) => ("storedProcedure", vec![p.database.clone(), p.schema.clone(), p.name.clone()]),
        Entity::Dashboard(d) => ("dashboard", vec![d.name.clone()]),
        Entity::Chart(c) => ("chart", vec![c.name.clone()]),
        Entity::DataModel(m) => ("dashboardDataModel", vec![m.name.clone()]),
        Entity::Raw(r) => ("raw", vec![r.name.clone()]),
    };
    let mut parts = vec![service.to_string()];
    parts.extend(path);
    (parts.join("."), kind.to_string())
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

/// Grants what the plugin asks for and the workflow allows; warns about
/// the rest, which the plugin will see denied.
async fn grant(
    workflow: &Workflow,
    plugin: &Plugin,
    limits: &crate::runtime::Limits,
    instances: u32,
    redactor: Arc<Redactor>,
    options: &IngestOptions,
    report: &mut RunReport,
) -> Result<Grants, IngestError> {
    let query_limits = QueryLimits::from(limits);
    let mut sql = SqlGrants::new(query_limits.clone());
    let connection = &workflow.source.service_connection.config;
    let target = connection.sql_target(&workflow.source.kind, options.base_dir.as_deref());
    for capability in &plugin.info.capabilities {
        match capability {
            Capability::Sql(label) if label == "source" => match &target {
                Some(target) => {
                    tracing::info!(target = %target.describe(), "granting sql:source");
                    sql.grant(label, SqlSource::connect(target, &query_limits, instances).await?);
                }
                None => report.warnings.push(format!(
                    "the plugin asks for sql:source, but source.type `{}` has no database connection weir can open",
                    workflow.source.kind
                )),
            },
            // Every database on the server, one connection family; only
            // when the workflow asks for it.
            Capability::Sql(label) if label == "source/*" => {
                let all = connection.ingest_all_databases.unwrap_or(false);
                if let (true, Some(target @ SqlTarget::Postgres { .. })) = (all, &target) {
                    // The same rule discovery applies, FQN mode included.
                    let selection =
                        Selection::new(workflow.metadata_config().clone(), workflow.source.service_name.as_str());
                    let allow: DatabaseFilter = Arc::new(move |db: &str| selection.keeps_database(db));
                    tracing::info!("granting sql:source/<database> for ingestAllDatabases");
                    sql.grant_databases("source", target.clone(), allow, instances);
                }
            }
            Capability::Sql(label) => {
                report.warnings.push(format!("the plugin asks for sql:{label}, which this workflow does not grant"))
            }
            Capability::Http(origin) => {
                report.warnings.push(format!("the plugin asks for http:{origin}; this weir grants no HTTP origins"))
            }
        }
    }
    Ok(Grants {
        plugin: Arc::from(plugin.info.name.as_str()),
        sql: Arc::new(sql),
        redactor,
        warnings: Arc::new(crate::caps::log::Collected::default()),
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
    ignored.extend(
        workflow.metadata_config().ignored_keys().into_iter().map(|k| format!("source.sourceConfig.config.{k}")),
    );
    if !ignored.is_empty() {
        let message = format!("weir does not act on these keys yet: {}", ignored.join(", "));
        tracing::warn!("{message}");
        report.warnings.push(message);
    }
}

fn discover_fault(kind: &'static str, fault: Fault, redactor: &Redactor) -> IngestError {
    IngestError::Discover { kind, reason: redactor.redact(&fault.to_string()) }
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

/// Parents first: databases, schemas, then what lives in schemas.
fn kind_rank(kind: EntityKind) -> u8 {
    match kind {
        EntityKind::Database => 0,
        EntityKind::DatabaseSchema => 1,
        EntityKind::Table => 2,
        EntityKind::StoredProcedure => 3,
        EntityKind::Chart => 4,
        EntityKind::DataModel => 5,
        EntityKind::Dashboard => 6,
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

fn progress_bar(enabled: bool, total: u64) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg:>16} [{bar:40}] {pos}/{len} {per_sec} eta {eta}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
