//! The receiving end of the scheduler: each event is reconciled against
//! the refs it answers, written to the catalog and counted, so that every
//! discovered entity ends up exactly once as filtered, written, failed or
//! cancelled.

use super::checks::{self, Parents};
use super::ingest::IngestError;
use super::progress::Progress;
use super::scheduler::{Event, error_kind};
use super::select::Selection;
use super::shard::Shard;
use super::unchanged::Unchanged;
use crate::caps::Redactor;
use crate::model::Relation;
use crate::model::WorkCost;
use crate::model::entity::{Batch, Deferred, Entity, EntityRef};
use crate::report::{FailureRecord, RunReport, ShardRecord};
use crate::sink::document::{self, ref_fqn};
use crate::sink::pipeline::SinkFailure;
use crate::sink::{Acks, Document, Pipeline, Sink};
use crate::state::StateStore;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// One run's receiving end: what it writes to, counts into and checks against.
pub struct Intake<'a> {
    pub service: &'a str,
    pub plugin: &'a str,
    pub selection: &'a Selection,
    pub pipeline: &'a Pipeline,
    /// Where deferred records wait for phase 2.
    pub state: &'a StateStore,
    pub run_id: &'a str,
    /// This process, which holds the shards it works on: records of a
    /// shard it no longer holds are refused.
    pub owner: &'a str,
    pub started: Instant,
    pub progress: &'a Progress,
    /// Stop the run once more refs than this have failed.
    pub max_failures: Option<usize>,
    pub stop: Arc<AtomicBool>,
    /// Deferred records not yet in the state store, with the shard each
    /// came from (a shard done again replaces its records).
    pub relations: Vec<(Arc<str>, Relation)>,
    /// Secrets never reach a sink, even when a plugin got hold of one.
    pub redactor: &'a Redactor,
    /// Documents and records a secret was taken out of.
    pub redacted: usize,
    /// The databases and schemas written so far, to refuse orphans.
    pub parents: Parents,
    /// Column names of tables written, not yet in the state store.
    pub columns: Vec<(String, Vec<String>)>,
    /// Shards whose every event is in, waiting for a flush of the sink to
    /// be done: then their parts are complete.
    pub finished: Vec<String>,
    /// Entities failed so far, in the run and in every shard's part: what
    /// `maxFailures` is held against.
    pub failed: usize,
    /// Acknowledgements of a flush made in the middle of a batch.
    pub held: Acks,
    /// The report says why the run stopped (`maxFailures`).
    pub stop_said: bool,
    /// The sink, for what it has already.
    pub sink: &'a Sink,
    /// What is not sent because the sink has it as it is.
    pub unchanged: Unchanged,
}

/// What one shard did, while it is being done: a run report of its own,
/// folded into the run's once the shard is done and written.
pub type Parts = HashMap<String, RunReport>;

/// Deferred records are moved to the state store this many at a time.
const DEFER_BATCH: usize = 1_000;

impl Intake<'_> {
    /// Folds one event of `shards` into the catalog and its shard's part.
    pub async fn receive(&mut self, event: Event, shards: &[Shard], parts: &mut Parts) -> Result<(), IngestError> {
        let shard_id = match &event {
            Event::Batch { shard, .. } | Event::Failed { shard, .. } | Event::ShardDone { shard, .. } => {
                shards[*shard].id.clone()
            }
        };
        let report = parts.entry(shard_id.clone()).or_default();
        let before = failed_in(report);
        if let Event::ShardDone { .. } = &event {
            self.finished.push(shard_id);
        }
        match event {
            Event::Batch { shard, refs, batch, cost } => {
                let record = self.record(&shards[shard], report);
                self.batch(&shards[shard], record, refs, batch, &cost, report).await?;
            }
            Event::Failed { shard, refs, error, reason, cost } => {
                let kind = shards[shard].kind.entity_type();
                let record = self.record(&shards[shard], report);
                add_cost(&mut report.shards[record], &cost);
                report.count_cost(kind, &cost);
                report.shards[record].failed += refs.len();
                report.kind_mut(kind).failed += refs.len();
                for r in &refs {
                    let entity = self.fqn(&r.path);
                    tracing::warn!(plugin = self.plugin, shard = %shards[shard].id, entity = %entity, error, "{reason}");
                    report.failures.push(FailureRecord {
                        entity,
                        kind: kind.to_string(),
                        error: error.to_string(),
                        reason: reason.clone(),
                        may_pass: error == TRANSIENT,
                        shard: Some(shards[shard].id.clone()),
                    });
                }
                self.progress.processed(refs.len());
            }
            Event::ShardDone { shard, instances, started, ended, cancelled } => {
                let record = self.record(&shards[shard], report);
                let at = |t: Instant| t.saturating_duration_since(self.started).as_secs_f64();
                let r = &mut report.shards[record];
                r.instances = instances;
                r.started_secs = at(started);
                r.ended_secs = at(ended);
                r.cancelled += cancelled;
                let secs = r.secs();
                report.kind_mut(shards[shard].kind.entity_type()).cancelled += cancelled;
                self.progress.processed(cancelled);
                tracing::debug!(plugin = self.plugin, shard = %shards[shard].id, secs, "shard done");
            }
        }
        self.failed += failed_in(report) - before;
        self.check_failures(report);
        Ok(())
    }

    /// A shard none of whose refs will run: the run was stopped first.
    pub fn cancel(&mut self, shard: &Shard, parts: &mut Parts) {
        let report = parts.entry(shard.id.clone()).or_default();
        self.finished.push(shard.id.clone());
        let record = self.record(shard, report);
        report.shards[record].cancelled += shard.refs.len();
        report.kind_mut(shard.kind.entity_type()).cancelled += shard.refs.len();
        self.progress.processed(shard.refs.len());
    }

    /// The shard's record in the report, made on first use; shards are
    /// recorded in the order they first report.
    fn record(&self, shard: &Shard, report: &mut RunReport) -> usize {
        if let Some(i) = report.shards.iter().rposition(|r| r.id == shard.id) {
            return i;
        }
        report.shards.push(ShardRecord {
            id: shard.id.clone(),
            kind: shard.kind.entity_type().to_string(),
            refs: shard.refs.len(),
            cost: shard.cost,
            ..ShardRecord::default()
        });
        report.shards.len() - 1
    }

    async fn batch(
        &mut self,
        shard: &Shard,
        record: usize,
        refs: Vec<EntityRef>,
        batch: Batch,
        cost: &WorkCost,
        report: &mut RunReport,
    ) -> Result<(), IngestError> {
        let kind = shard.kind.entity_type();
        let tag: Arc<str> = Arc::from(shard.id.as_str());
        add_cost(&mut report.shards[record], cost);
        report.count_cost(kind, cost);
        let mut asked = PendingRefs::new(&refs);
        let (mut sent, mut filtered, mut failed, mut unrequested) = (0, 0, 0, 0);
        // Entities a call brings along for its own (a dashboard's charts)
        // are written first: the call's own entities name them.
        let own_kind = shard.kind;
        let (along, own): (Vec<Entity>, Vec<Entity>) =
            batch.entities.into_iter().partition(|e| Entity::kind(e).is_some_and(|k| k < own_kind));
        let along_len = along.len();
        // Tables this batch wrote, with their columns: its foreign keys
        // must start at one of them.
        let mut written: HashMap<Vec<String>, HashSet<String>> = HashMap::new();
        // Documents ready to go, sent in one go (one look-up of what the
        // sink has) before each flush.
        let mut ready: Vec<Document> = Vec::new();
        for (i, entity) in along.into_iter().chain(own).enumerate() {
            if along_len > 0 && i == along_len {
                sent += self.send_ready(std::mem::take(&mut ready), &tag, report).await?;
                // Folded in with the next acknowledgements, which know
                // every shard's part.
                let acks = self.pipeline.flush().await?;
                self.held.absorb(acks);
            }
            let (entity_kind, path) = entity_path(&entity);
            // Brought along (a dashboard's charts), or of a kind the host
            // does not model (a raw document, never discovered): found by
            // processing, and counted under its own kind from here on. It
            // never answers a ref, even one with the same path (dashboard
            // 5, element 5).
            let along = i < along_len || entity.kind().is_none();
            let requested = !along && asked.take(&path);
            if along {
                report.kind_mut(entity_kind).found += 1;
            }
            if !requested && !along {
                // Nobody discovered it, so no filter looked at it: it is
                // not written, and is named in the report.
                unrequested += 1;
                let reason = "the plugin returned it without being asked (it was not discovered, or the filters \
                              left it out): not written"
                    .to_string();
                self.fail(report, false, failure(shard, self.fqn(&path), entity_kind, "unrequested", reason));
                continue;
            }
            if along && !self.selection.keeps_along(&entity, &path) {
                report.kind_mut(entity_kind).filtered += 1;
                continue;
            }
            if let Entity::Table(t) = &entity
                && !self.selection.keeps_table(t)
            {
                filtered += usize::from(requested);
                continue;
            }
            let checked =
                document::entity_document(self.service, &entity).map_err(|e| e.to_string()).and_then(|doc| match self
                    .parents
                    .orphan(&doc)
                {
                    Some(orphan) => Err(orphan),
                    None => Ok(doc),
                });
            match checked {
                Ok(mut doc) => {
                    self.redacted += usize::from(doc.redact(self.redactor));
                    self.parents.note(&doc);
                    if let Entity::Table(t) = &entity {
                        let names: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
                        written.insert(path.clone(), names.iter().cloned().collect());
                        self.columns.push((doc.fqn.clone(), names));
                    }
                    ready.push(doc);
                }
                Err(reason) => {
                    failed += usize::from(requested);
                    if along {
                        report.kind_mut(entity_kind).failed += 1;
                    }
                    let record = failure(shard, self.fqn(&path), entity_kind, "invalid", reason);
                    self.fail(report, true, record);
                }
            }
        }
        sent += self.send_ready(ready, &tag, report).await?;
        for deferred in &batch.deferred {
            if let Deferred::ForeignKey(fk) = deferred
                && let Some(problem) = checks::foreign_key(fk, &written)
            {
                report.relations_unresolved.push(FailureRecord {
                    entity: self.fqn(&fk.table),
                    kind: "foreignKey".into(),
                    error: "invalid".into(),
                    reason: format!("foreign key {}: {problem}", fk.name.as_deref().unwrap_or("(unnamed)")),
                    may_pass: false,
                    shard: Some(shard.id.clone()),
                });
                continue;
            }
            match document::relation(self.service, deferred) {
                Ok(mut relation) => {
                    self.redacted += usize::from(relation.redact(self.redactor));
                    self.relations.push((tag.clone(), relation));
                }
                Err(err) => report.relations_unresolved.push(FailureRecord {
                    entity: kind.to_string(),
                    kind: "relation".into(),
                    error: "invalid".into(),
                    reason: err.to_string(),
                    may_pass: false,
                    shard: Some(shard.id.clone()),
                }),
            }
        }
        for f in &batch.failures {
            let requested = asked.take(&f.path);
            unrequested += usize::from(!requested);
            failed += usize::from(requested);
            let reason = f.error.message.clone();
            self.fail(report, requested, failure(shard, self.fqn(&f.path), kind, error_kind(&f.error), reason));
        }
        // A ref the plugin answered with neither an entity nor a failure
        // would otherwise vanish from the counts.
        for path in asked.left() {
            failed += 1;
            let reason = "the plugin returned neither an entity nor a failure for it".to_string();
            self.fail(report, true, failure(shard, self.fqn(&path), kind, "missing", reason));
        }
        let counts = report.kind_mut(kind);
        counts.filtered += filtered;
        counts.failed += failed;
        counts.unrequested += unrequested;
        let r = &mut report.shards[record];
        r.sent += sent;
        r.filtered += filtered;
        r.failed += failed;
        self.progress.processed(refs.len());
        if self.relations.len() >= DEFER_BATCH || self.columns.len() >= DEFER_BATCH {
            self.defer().await?;
        }
        Ok(())
    }

    /// Moves the deferred records (and the tables' columns) gathered so
    /// far to the state store.
    pub async fn defer(&mut self) -> Result<(), IngestError> {
        self.state.keep_columns(self.run_id, &self.columns).await?;
        self.columns.clear();
        // Grouped by shard, each group in the order it came.
        let mut groups: Vec<(Arc<str>, Vec<Relation>)> = Vec::new();
        for (shard, relation) in self.relations.drain(..) {
            match groups.iter_mut().find(|(s, _)| *s == shard) {
                Some((_, records)) => records.push(relation),
                None => groups.push((shard, vec![relation])),
            }
        }
        for (shard, records) in groups {
            self.state.defer(self.run_id, Some((&shard, self.owner)), &records).await?;
        }
        Ok(())
    }

    /// Folds the sink's acknowledgements in, each into the part of the
    /// shard that sent it (the run's report for the rest): written
    /// documents count as written, refused ones as failed, with the sink's
    /// reason.
    pub fn acknowledge(&mut self, acks: Acks, report: &mut RunReport, parts: &mut Parts) {
        let mut acks = {
            let mut all = std::mem::take(&mut self.held);
            all.absorb(acks);
            all
        };
        for (shard, kinds) in std::mem::take(&mut acks.written_by_shard) {
            let part = parts.entry(shard.to_string()).or_default();
            for (kind, n) in kinds {
                part.kind_mut(&kind).written += n;
                if let Some(left) = acks.written.get_mut(&kind) {
                    *left = left.saturating_sub(n);
                }
            }
        }
        let (mine, theirs): (Vec<SinkFailure>, Vec<SinkFailure>) =
            std::mem::take(&mut acks.failures).into_iter().partition(|f| f.shard.is_none());
        for f in theirs {
            let shard = f.shard.as_deref().map(str::to_string).unwrap_or_default();
            let part = parts.entry(shard).or_default();
            let before = failed_in(part);
            self.sink_failure(f, part);
            self.failed += failed_in(part) - before;
        }
        acks.failures = mine;
        let before = failed_in(report);
        self.acknowledge_into(acks, report);
        self.failed += failed_in(report) - before;
        self.check_failures(report);
    }

    /// Folds acknowledgements into one report.
    fn acknowledge_into(&mut self, acks: Acks, report: &mut RunReport) {
        for (kind, n) in &acks.written {
            report.kind_mut(kind).written += n;
        }
        self.progress.written(acks.written_total);
        report.sink_retries += acks.retries;
        for f in acks.failures {
            self.sink_failure(f, report);
        }
    }

    /// Sends what the sink does not have as it is (counted as written when
    /// it acknowledges them); the rest counts as unchanged. How many went.
    async fn send_ready(
        &mut self,
        docs: Vec<Document>,
        tag: &Arc<str>,
        report: &mut RunReport,
    ) -> Result<usize, IngestError> {
        let (changed, same) = self.unchanged.split(self.sink, self.state, docs).await?;
        for doc in &same {
            report.kind_mut(&doc.kind).unchanged += 1;
        }
        let sent = changed.len();
        for doc in changed {
            self.pipeline.send(doc, Some(tag.clone())).await?;
        }
        Ok(sent)
    }

    fn sink_failure(&mut self, f: SinkFailure, report: &mut RunReport) {
        self.parents.forget(&f.kind, &f.fqn);
        self.unchanged.failed(&f.kind, &f.fqn);
        report.kind_mut(&f.kind).failed += 1;
        tracing::warn!(plugin = self.plugin, entity = %f.fqn, error = "sink", "{}", f.reason);
        report.failures.push(FailureRecord {
            entity: f.fqn,
            kind: f.kind,
            error: "sink".into(),
            reason: f.reason,
            may_pass: f.may_pass,
            shard: f.shard.as_deref().map(str::to_string),
        });
    }

    /// Reports a failure: among the run's failures when the entity was
    /// asked for (or brought along), apart when the plugin returned it
    /// unasked, so it is never counted against what was asked.
    fn fail(&self, report: &mut RunReport, asked: bool, record: FailureRecord) {
        let shard = record.shard.as_deref().unwrap_or("-");
        tracing::warn!(
            plugin = self.plugin, shard, entity = %record.entity, error = %record.error, asked, "{}", record.reason
        );
        if asked {
            report.failures.push(record);
        } else {
            report.unrequested_failures.push(record);
        }
    }

    fn fqn(&self, path: &[String]) -> String {
        ref_fqn(self.service, path).unwrap_or_else(|_| path.join("."))
    }

    fn check_failures(&mut self, report: &mut RunReport) {
        let Some(max) = self.max_failures else { return };
        let failed = self.failed;
        if failed > max && !self.stop_said {
            self.stop_said = true;
            self.stop.store(true, Ordering::Relaxed);
            let message = format!(
                "{failed} entities failed, more than maxFailures ({max}); running calls were finished and \
                 written, nothing new was started"
            );
            tracing::error!(plugin = self.plugin, "{message}");
            report.stopped = Some(message);
        }
    }
}

/// Entities a report counts as failed.
fn failed_in(report: &RunReport) -> usize {
    report.kinds.iter().map(|k| k.failed).sum()
}

/// The report's name for a plugin's transient failure, the one kind of
/// entity failure a later run may not meet.
const TRANSIENT: &str = "transient";

fn failure(shard: &Shard, entity: String, kind: &str, error: &str, reason: String) -> FailureRecord {
    FailureRecord {
        entity,
        kind: kind.to_string(),
        error: error.to_string(),
        reason,
        may_pass: error == TRANSIENT,
        shard: Some(shard.id.clone()),
    }
}

fn add_cost(record: &mut ShardRecord, cost: &WorkCost) {
    record.calls += cost.calls;
    record.retries += cost.retries;
    record.faults += cost.faults;
    record.queries += cost.queries;
}

/// The refs of one call, to tick off as answers name them.
struct PendingRefs<'r> {
    open: HashMap<&'r [String], usize>,
}

impl<'r> PendingRefs<'r> {
    fn new(refs: &'r [EntityRef]) -> Self {
        let mut open: HashMap<&[String], usize> = HashMap::with_capacity(refs.len());
        for r in refs {
            *open.entry(r.path.as_slice()).or_default() += 1;
        }
        PendingRefs { open }
    }

    /// Whether `path` was asked for (and not answered yet).
    fn take(&mut self, path: &[String]) -> bool {
        match self.open.get_mut(path) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        }
    }

    fn left(self) -> Vec<Vec<String>> {
        let mut left: Vec<Vec<String>> = Vec::new();
        for (path, n) in self.open {
            left.extend(std::iter::repeat_n(path.to_vec(), n));
        }
        left.sort();
        left
    }
}

/// An entity's kind name and its path (as refs spell it).
pub fn entity_path(entity: &Entity) -> (&'static str, Vec<String>) {
    match entity {
        Entity::Database(d) => ("database", vec![d.name.clone()]),
        Entity::DatabaseSchema(s) => ("databaseSchema", vec![s.database.clone(), s.name.clone()]),
        Entity::Table(t) => ("table", vec![t.database.clone(), t.schema.clone(), t.name.clone()]),
        Entity::StoredProcedure(p) => ("storedProcedure", vec![p.database.clone(), p.schema.clone(), p.name.clone()]),
        Entity::Dashboard(d) => ("dashboard", vec![d.name.clone()]),
        Entity::Chart(c) => ("chart", vec![c.name.clone()]),
        Entity::DataModel(m) => ("dashboardDataModel", vec![m.name.clone()]),
        Entity::Pipeline(p) => ("pipeline", vec![p.name.clone()]),
        Entity::PipelineStatus(s) => ("pipelineStatus", vec![s.pipeline.clone(), s.execution_id.clone()]),
        Entity::Raw(r) => ("raw", vec![r.name.clone()]),
    }
}
