//! One run's working parts, set up once, and the stages that use them:
//! discover and plan, process shards, finish. A one-process `weir ingest`
//! runs every stage in one [`Run`]; a distributed run runs each in its own
//! process (`weir discover`, `weir process` per shard, `weir finalize`),
//! the state store carrying what one stage leaves the next.

use super::checks::Parents;
use super::ingest::{self, IngestError, IngestOptions, PhaseClock};
use super::intake::{Intake, Parts};
use super::progress::Progress;
use super::scheduler::{Event, Scheduler};
use super::select::Selection;
use super::shard::{DEFAULT_SHARD_SIZE, Plan, Shard};
use super::unchanged::{Unchanged, skips_unchanged};
use crate::caps::{Grants, Redactor};
use crate::config::Workflow;
use crate::model::{Kind, ServiceKind};
use crate::report::RunReport;
use crate::runtime::{Plugin, Runtime, RuntimeOptions};
use crate::sink::{Pipeline, PipelineSettings, Sink};
use crate::state::StateStore;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;
use tokio::sync::mpsc;

/// What a run's stages share: the plugin and its grants, the state store,
/// the sink and its pipeline, the scheduler, and the report being built.
pub struct Run<'w> {
    workflow: &'w Workflow,
    started: Instant,
    clock: PhaseClock,
    pub report: RunReport,
    plugin: Arc<Plugin>,
    grants: Grants,
    pub state: Arc<StateStore>,
    sink: Arc<Sink>,
    pipeline: Option<Pipeline>,
    scheduler: Arc<Scheduler>,
    selection: Selection,
    progress: Progress,
    redactor: Arc<Redactor>,
    config: Arc<str>,
    /// This process as the state store knows it (the pod's name, or host
    /// and pid).
    owner: String,
    /// The run's stages run in separate processes.
    shared: bool,
    /// Send every entity, changed or not.
    full: bool,
}

/// What a dry run found a run would do with one kind's entities.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Preview {
    pub kind: String,
    /// Changed or new: a run would send them.
    pub send: usize,
    /// The sink has them as they are.
    pub unchanged: usize,
    /// The plugin could not read them, or their documents are invalid.
    pub fail: usize,
}

/// Which shards a process works on, and what it knows of the others.
pub enum Scope {
    /// Every shard given, in this process. With `stored`, the plan is in
    /// the state store and each shard is recorded done there once it is
    /// written, with its part of the report: what `--resume` goes by.
    /// `parents`: the databases and schemas an earlier attempt wrote.
    Whole { parents: Vec<(String, String)>, stored: bool },
    /// One shard of a plan whose shards run in separate processes: the
    /// parents other processes wrote are known from the state store, and
    /// the ones it writes are kept there for them.
    Shard { parents: Vec<(String, String)> },
}

/// How often a run records the shards it has done, at most: each time, the
/// sink is flushed first.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

impl<'w> Run<'w> {
    /// Loads the plugin, grants its capabilities, opens the state store
    /// (`shared`: it must be one every process of the run reaches) and the
    /// sink.
    pub async fn open(
        workflow: &'w Workflow,
        options: &IngestOptions,
        run_id: String,
        shared: bool,
    ) -> Result<Run<'w>, IngestError> {
        let started = Instant::now();
        let service = workflow.source.service_name.to_string();
        let settings = &workflow.weir;
        let instances = settings.instances.unwrap_or_else(ingest::default_instances);
        let limits = settings.limits.clone();

        let wasm = ingest::plugin_bytes(workflow)?;
        let runtime =
            Runtime::new(RuntimeOptions { instances, limits: limits.clone(), cache_dir: options.cache_dir.clone() })?;
        let plugin = Arc::new(runtime.load(&wasm).await?);
        let declared = ingest::check_plugin(workflow, &plugin)?;
        let secrets = workflow.plugin_secrets(&declared);
        crate::logging::redact_secrets(secrets.clone());
        let redactor = Arc::new(Redactor::new(secrets));
        let mut clock = PhaseClock::start(started);
        tracing::info!(
            plugin = %plugin.info.name, version = %plugin.info.version, wit = %plugin.wit_version,
            compile = ?plugin.outcome, pooling = runtime.pooling(), "plugin loaded"
        );
        let mut report = RunReport {
            run_id,
            started_unix_ms: unix_ms(),
            service: service.clone(),
            plugin: plugin.info.name.clone(),
            plugin_version: plugin.info.version.clone(),
            instances,
            ..RunReport::default()
        };
        report.phases.load_secs = clock.lap();
        ingest::warn_ignored_keys(workflow, &mut report);

        let grants =
            ingest::grant(workflow, &plugin, &declared, instances, redactor.clone(), options, &mut report).await?;
        let state = Arc::new(ingest::open_state(workflow, shared).await?);
        let run_id: Arc<str> = Arc::from(report.run_id.as_str());
        let sink = Arc::new(ingest::open_sink(workflow, options).await?);
        report.catalog = sink.target();
        let pipeline = Pipeline::start(sink.clone(), run_id, PipelineSettings::of(workflow));
        report.phases.connect_secs = clock.lap();

        let skips = skips_unchanged(options.full, workflow, &sink);
        let last_runs = if skips && plugin.info.entity_kinds.contains(&Kind::PipelineStatus) {
            state.run_cursors(&sink.target(), &service).await?
        } else {
            Default::default()
        };
        let config: Arc<str> = Arc::from(workflow.plugin_config(&declared, &last_runs));
        let selection = Selection::of(workflow);
        let mut scheduler = Scheduler::new(plugin.clone(), grants.clone(), config.clone(), instances as usize);
        scheduler.batch_size = settings.batch_size.unwrap_or(ingest::DEFAULT_REFS_PER_CALL);
        scheduler.retry = settings.retry.clone();
        scheduler.max_failures = options.max_failures.or(settings.max_failures);
        Ok(Run {
            workflow,
            started,
            clock,
            report,
            plugin,
            grants,
            state,
            sink,
            pipeline: Some(pipeline),
            scheduler: Arc::new(scheduler),
            selection,
            progress: Progress::new(options.progress),
            redactor,
            config,
            owner: super::distributed::process_name(),
            shared,
            full: options.full,
        })
    }

    /// Stores the plan in the state store (every shard's refs) with the
    /// report so far (the discovery's part), for the processes, or the
    /// resumed run, that do the shards.
    pub async fn keep_plan(&self, plan: &Plan) -> Result<(), IngestError> {
        let run_id = &self.report.run_id;
        let stage = |what: &str, e: serde_json::Error| IngestError::Stage {
            run_id: run_id.clone(),
            reason: format!("{what}: {e}"),
        };
        let mut stored = Vec::with_capacity(plan.shards.len());
        for shard in &plan.shards {
            let body = serde_json::to_string(shard).map_err(|e| stage("plan", e))?;
            let kind = shard.kind.entity_type().to_string();
            stored.push(crate::state::NewShard { id: shard.id.clone(), kind, cost: shard.cost, body });
        }
        // A discovery killed between the plan and its record left a plan
        // that may differ from this one: it goes first.
        self.state.forget_plan(run_id).await?;
        self.state.plan_shards(run_id, &stored).await?;
        // What plugins and servers said may hold a secret: not in the store.
        let mut discovery = self.report.clone();
        discovery.redact(&self.redactor);
        let discovery = serde_json::to_string(&discovery).map_err(|e| stage("discovery", e))?;
        self.state.keep_discovery(run_id, &discovery, self.shared).await?;
        Ok(())
    }

    /// Claims every shard of the stored plan not done yet for this process.
    pub async fn claim_all(&self) -> Result<(), IngestError> {
        // No other process takes a one-process run's shards: the lease
        // only has to outlast the run.
        const WHOLE_RUN: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);
        self.state.claim_all(&self.report.run_id, &self.owner, WHOLE_RUN).await?;
        Ok(())
    }

    /// The kinds this run lists, parents first.
    pub fn wanted_kinds(&self) -> Vec<Kind> {
        ingest::wanted_kinds(&self.plugin.info.entity_kinds, &self.selection)
    }

    /// Records the run in the state store and its service in the sink:
    /// once per run, before any entity.
    pub async fn begin(&self) -> Result<(), IngestError> {
        let service = &self.report.service;
        self.state.begin_run(&self.report.run_id, service).await?;
        self.state.record_start(&self.report.run_id, service, self.shared, &self.owner).await?;
        let kind = ServiceKind::of(&self.plugin.info.entity_kinds);
        self.sink.put_service(service, &self.workflow.service_type(kind), kind).await?;
        self.sink.report_running(&self.report.run_id, self.report.started_unix_ms as i64).await;
        Ok(())
    }

    /// The run's sink, for telling it how the run ended.
    pub fn sink(&self) -> Arc<Sink> {
        self.sink.clone()
    }

    /// Lists every wanted kind and plans its refs into shards. Every kind
    /// is discovered before anything is processed, so the plan (and the
    /// progress bar) knows the whole amount. With `max_shards`, shards are
    /// made big enough that the plan has no more (one pod each, in a
    /// distributed run).
    pub async fn discover(&mut self, max_shards: Option<usize>) -> Result<Plan, IngestError> {
        let run = &mut *self;
        let discovered = ingest::discover(
            &run.scheduler,
            &run.plugin,
            &run.config,
            &run.selection,
            &run.redactor,
            &run.progress,
            &mut run.report,
        )
        .await?;
        let settings = &self.workflow.weir;
        let mut size = settings.shard_size.unwrap_or(DEFAULT_SHARD_SIZE).max(1);
        if let Some(max) = max_shards {
            // Each kind rounds its last shard up: leave one per kind.
            let refs: usize = discovered.iter().map(|(_, refs)| refs.len()).sum();
            let budget = max.saturating_sub(discovered.len()).max(1);
            size = size.max(refs.div_ceil(budget));
        }
        let plan = Plan::new(settings.shard_strategy, size, discovered);
        self.progress.planned(plan.refs(), plan.shards.len());
        tracing::info!(
            plugin = %self.plugin.info.name, strategy = %plan.strategy, shards = plan.shards.len(), refs = plan.refs(),
            instances = self.report.instances, "planned"
        );
        self.report.phases.discover_secs = self.clock.lap();
        Ok(plan)
    }

    /// Processes `shards` (in parent-first order) and writes what they
    /// give; every document is in the sink and every deferred record in
    /// the state store when it returns. Gives the shards back.
    pub async fn process(&mut self, shards: Vec<Shard>, scope: &Scope) -> Result<Vec<Shard>, IngestError> {
        let Some(pipeline) = self.pipeline.as_ref() else { return Err(crate::sink::SinkError::Stopped.into()) };
        let total: usize = shards.iter().map(|s| s.refs.len()).sum();
        if matches!(scope, Scope::Shard { .. }) {
            self.progress.planned(total, shards.len());
        }
        let mut parents = Parents::new(&self.plugin.info.entity_kinds);
        let (written, stored, share_parents) = match scope {
            Scope::Whole { parents, stored } => (parents, *stored, *stored),
            Scope::Shard { parents, .. } => (parents, false, true),
        };
        for (fqn, kind) in written {
            parents.note_written(kind, fqn);
        }
        let keeper = Checkpoint {
            state: &self.state,
            run_id: &self.report.run_id.clone(),
            owner: &self.owner,
            stored,
            share_parents,
            redactor: &self.redactor,
        };
        let report = &mut self.report;
        let mut intake = Intake {
            service: &report.service.clone(),
            plugin: &self.plugin.info.name,
            selection: &self.selection,
            pipeline,
            state: &self.state,
            run_id: &report.run_id.clone(),
            owner: &self.owner,
            started: self.started,
            progress: &self.progress,
            max_failures: self.scheduler.max_failures,
            stop: self.scheduler.stop.clone(),
            relations: Vec::new(),
            redactor: &self.redactor,
            redacted: 0,
            parents,
            columns: Vec::new(),
            finished: Vec::new(),
            failed: 0,
            held: Default::default(),
            stop_said: false,
            sink: &self.sink,
            unchanged: Unchanged::new(
                skips_unchanged(self.full, self.workflow, &self.sink),
                self.sink.target(),
                &report.service,
                &report.run_id,
            ),
        };
        let mut parts = Parts::new();
        let instances = report.instances as usize;
        // Kinds run one after another, so parents are written before
        // children. Each kind's shards are lent to the scheduler and put
        // back after, so the refs are held once, not once more per kind.
        let kinds = kinds_in_order(shards.iter().map(|s| s.kind));
        let mut pending = shards.into_iter().peekable();
        let mut done = Vec::new();
        for kind in kinds {
            let mut of_kind = Vec::new();
            while let Some(shard) = pending.next_if(|s| s.kind == kind) {
                of_kind.push(shard);
            }
            let shards: Arc<Vec<Shard>> = Arc::new(of_kind);
            if self.scheduler.stop.load(Ordering::Relaxed) {
                for shard in shards.iter() {
                    intake.cancel(shard, &mut parts);
                }
                done.extend(Arc::try_unwrap(shards).unwrap_or_else(|shared| (*shared).clone()));
                continue;
            }
            self.progress.processing(kind.entity_type());
            let (tx, mut rx) = mpsc::channel::<Event>(instances * 2);
            let producer = self.scheduler.run(shards.clone(), tx);
            let consumer = async {
                let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                tick.tick().await;
                loop {
                    tokio::select! {
                        event = rx.recv() => match event {
                            Some(event) => intake.receive(event, &shards, &mut parts).await?,
                            None => break,
                        },
                        _ = tick.tick(), if !intake.finished.is_empty() => {
                            let acks = pipeline.flush().await?;
                            intake.acknowledge(acks, report, &mut parts);
                            keeper.keep(&mut intake, &mut parts, report).await?;
                        }
                    }
                }
                Ok::<(), IngestError>(())
            };
            let ((), written) = tokio::join!(producer, consumer);
            written?;
            // Every document of this kind is in the sink before the next
            // kind (their children) starts.
            let acks = pipeline.flush().await?;
            intake.acknowledge(acks, report, &mut parts);
            keeper.keep(&mut intake, &mut parts, report).await?;
            done.extend(Arc::try_unwrap(shards).unwrap_or_else(|shared| (*shared).clone()));
        }
        let acks = pipeline.flush().await?;
        intake.acknowledge(acks, report, &mut parts);
        keeper.keep(&mut intake, &mut parts, report).await?;
        // Acknowledgements that came after their shard was recorded.
        for (_, late) in parts.drain() {
            report.absorb(late);
        }
        if intake.redacted > 0 {
            report.warnings.push(format!(
                "{} documents from the plugin held a secret of the workflow; it was replaced by *** before they \
                 were written",
                intake.redacted
            ));
        }
        drop(intake);
        self.scheduler.retire();
        self.progress.finish();
        self.report.phases.process_secs += self.clock.lap();
        Ok(done)
    }

    /// Stops the sink's writers (everything was flushed by `process`) and
    /// folds in what the run gathered along the way: the report of the
    /// stages this process ran, before phase 2.
    pub async fn close(&mut self) -> Result<(), IngestError> {
        if let Some(pipeline) = self.pipeline.take() {
            pipeline.close().await?;
        }
        self.report.warnings.extend(self.grants.warnings.take());
        self.report.warnings.extend(self.sink.take_warnings());
        self.report.peak_rss_mib = crate::procfs::rss_mib("VmHWM:");
        self.report.redact(&self.redactor);
        Ok(())
    }

    /// The last stage of a one-process run: phase 2, the run's record in
    /// the sink, the report with its plan (a resumed run's report has the
    /// shards it did, not the plan).
    pub async fn finish(mut self, plan: Option<Plan>) -> Result<RunReport, IngestError> {
        // Shards in plan order, whatever order they finished in.
        if let Some(plan) = &plan {
            let order: std::collections::HashMap<&str, usize> =
                plan.shards.iter().enumerate().map(|(i, s)| (s.id.as_str(), i)).collect();
            self.report.shards.sort_by_key(|r| order.get(r.id.as_str()).copied().unwrap_or(usize::MAX));
        } else {
            self.report.shards.sort_by(|a, b| a.id.cmp(&b.id));
        }
        self.close().await?;
        self.report.plan = plan.and_then(|plan| match serde_json::value::to_raw_value(&plan) {
            Ok(plan) => Some(plan),
            Err(e) => {
                tracing::warn!("the plan is left out of the report: {e}");
                None
            }
        });
        let report = ingest::finish_run(self.workflow, &self.sink, &self.state, &self.redactor, self.report).await?;
        self.grants.sql.close().await;
        Ok(report)
    }

    /// What a run of `plan` would send, per kind: each shard processed as a
    /// run processes it, each entity's document made and its hash compared
    /// with what the sink was last sent; nothing written anywhere. Returns
    /// (kind, would be sent, unchanged, would fail).
    pub async fn preview(&mut self, plan: &Plan) -> Result<Vec<Preview>, IngestError> {
        let skip = skips_unchanged(self.full, self.workflow, &self.sink);
        let service = self.report.service.clone();
        let unchanged = Unchanged::new(skip, self.sink.target(), &service, &self.report.run_id);
        let mut counts: Vec<Preview> = Vec::new();
        for kind in kinds_in_order(plan.shards.iter().map(|s| s.kind)) {
            let shards: Arc<Vec<Shard>> = Arc::new(plan.shards.iter().filter(|s| s.kind == kind).cloned().collect());
            let (tx, mut rx) = mpsc::channel::<Event>(self.report.instances as usize * 2);
            let producer = self.scheduler.run(shards, tx);
            let consumer = async {
                let mut row = Preview { kind: kind.entity_type().to_string(), ..Preview::default() };
                while let Some(event) = rx.recv().await {
                    match event {
                        Event::Batch { batch, .. } => {
                            row.fail += batch.failures.len();
                            let mut docs = Vec::with_capacity(batch.entities.len());
                            for entity in &batch.entities {
                                match crate::sink::document::entity_document(&service, entity) {
                                    Ok(doc) => docs.push(doc),
                                    Err(_) => row.fail += 1,
                                }
                            }
                            let same = unchanged.same_as_sent(&self.sink, &self.state, &docs).await?;
                            let n = same.iter().filter(|s| **s).count();
                            row.unchanged += n;
                            row.send += same.len() - n;
                        }
                        Event::Failed { refs, .. } => row.fail += refs.len(),
                        Event::ShardDone { .. } => {}
                    }
                }
                Ok::<Preview, IngestError>(row)
            };
            let ((), row) = tokio::join!(producer, consumer);
            counts.push(row?);
        }
        self.scheduler.retire();
        Ok(counts)
    }

    /// What the sink holds from earlier runs, in scope, that `plan` does not
    /// list: what a clean run with this plan would mark deleted.
    pub async fn disappeared(&self, plan: &Plan) -> Result<super::deleted::Finding, IngestError> {
        let seen = super::deleted::seen_in_plan(self.workflow, &plan.shards);
        let discovered: Vec<String> = self.report.kinds.iter().map(|k| k.kind.clone()).collect();
        let disappeared = super::deleted::Disappeared::of(self.workflow);
        disappeared.find(&self.sink, &self.state, &self.report.run_id, &discovered, &seen).await
    }

    /// This process's part of the run report, for a stage that ends its
    /// part here: with the sink's own retries.
    pub fn take_report(&mut self) -> RunReport {
        self.report.sink_retries += self.sink.retries();
        std::mem::take(&mut self.report)
    }

    /// Closes what the run holds open, for a stage that ends its process's
    /// part of the run here.
    pub async fn shut(self) {
        self.state.close().await;
        self.grants.sql.close().await;
    }
}

/// Where the shards a process has done are recorded as done, each with its
/// part of the report, once the sink has written them.
struct Checkpoint<'a> {
    state: &'a StateStore,
    run_id: &'a str,
    owner: &'a str,
    /// The plan is in the store: record the shards done there.
    stored: bool,
    /// Other processes write children of these parents: keep them.
    share_parents: bool,
    redactor: &'a Redactor,
}

impl Checkpoint<'_> {
    /// After a flush of the sink: the deferred records into the store, then
    /// the finished shards recorded done (and their parts folded into the
    /// run's report). A process killed after this resumes after them.
    async fn keep(
        &self,
        intake: &mut Intake<'_>,
        parts: &mut Parts,
        report: &mut RunReport,
    ) -> Result<(), IngestError> {
        intake.defer().await?;
        intake.unchanged.keep(self.state).await?;
        let mut done: Vec<(String, RunReport)> =
            intake.finished.drain(..).filter_map(|id| parts.remove(&id).map(|part| (id, part))).collect();
        if done.is_empty() {
            return Ok(());
        }
        if self.share_parents {
            self.state.keep_parents(self.run_id, &intake.parents.written()).await?;
        }
        if self.stored {
            let mut outcomes = Vec::with_capacity(done.len());
            for (id, part) in &mut done {
                part.redact(self.redactor);
                let text = serde_json::to_string(part).map_err(|e| IngestError::Stage {
                    run_id: self.run_id.to_string(),
                    reason: format!("shard {id}'s outcome: {e}"),
                })?;
                // A shard with failures that may pass, or refs cancelled
                // (maxFailures), is done again by a resumed run.
                let settled = !part.failures.iter().any(|f| f.may_pass) && part.shards.iter().all(|s| s.cancelled == 0);
                outcomes.push((id.clone(), text, settled));
            }
            self.state.complete_many(self.run_id, self.owner, &outcomes).await?;
        }
        for (_, part) in done {
            report.absorb(part);
        }
        Ok(())
    }
}

/// The kinds of a plan's shards, in their (parent-first) order.
pub fn kinds_in_order(kinds: impl Iterator<Item = Kind>) -> Vec<Kind> {
    let mut ordered: Vec<Kind> = Vec::new();
    for kind in kinds {
        if ordered.last() != Some(&kind) {
            ordered.push(kind);
        }
    }
    ordered
}

pub fn unix_ms() -> u64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)).unwrap_or_default()
}
