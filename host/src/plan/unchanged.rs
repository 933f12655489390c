//! Skip what did not change: an entity whose content hash (its document's
//! `sourceHash`) is the one its sink was last sent is not sent again, and
//! counts as `unchanged`. The catalog answers from its own rows (so a
//! catalog made afresh gets everything); the OpenMetadata server from the
//! state store, which keeps what it was sent, by target, once it has
//! written it. `--full` or `overrideMetadata: true` sends everything (and
//! still keeps the hashes); so does the file sink, whose file every run
//! writes whole.

//!
//! Runs of pipelines are never sent again once final: per pipeline, a
//! cursor in the state store says up to when the sink has every run, and
//! the plugin reads only later ones ([`StateStore::advance_cursors`]).

use super::ingest::IngestError;
use crate::config::Workflow;
use crate::model::{Kind, fqn};
use crate::sink::{Document, Sink};
use crate::state::{RunSeen, StateStore};
use std::collections::HashMap;

/// Whether a run skips what its sink has: not with `--full` or
/// `overrideMetadata`, nor into a file written whole each time.
pub fn skips_unchanged(full: bool, workflow: &Workflow, sink: &Sink) -> bool {
    !full && !workflow.override_metadata() && sink.keeps_earlier_runs()
}

pub struct Unchanged {
    /// Off: every entity is sent.
    skip: bool,
    /// The sink, as its hashes are kept under it.
    target: String,
    service: String,
    run_id: String,
    /// Sent since the last checkpoint and not failed: (kind, FQN) → hash.
    sent: HashMap<(String, String), String>,
    /// Pipeline runs sent since the last checkpoint, by FQN.
    runs: HashMap<String, RunSeen>,
}

impl Unchanged {
    pub fn new(skip: bool, target: String, service: &str, run_id: &str) -> Unchanged {
        Unchanged {
            skip,
            target,
            service: service.to_string(),
            run_id: run_id.to_string(),
            sent: HashMap::new(),
            runs: HashMap::new(),
        }
    }

    /// For each of `docs`, whether the sink has it as it is (its hash is
    /// the one last sent); all false when nothing is skipped. One lookup for
    /// them all, and nothing written.
    pub async fn same_as_sent(
        &self,
        sink: &Sink,
        state: &StateStore,
        docs: &[Document],
    ) -> Result<Vec<bool>, IngestError> {
        if !self.skip || docs.is_empty() {
            return Ok(vec![false; docs.len()]);
        }
        let keys: Vec<(&str, &str)> = docs.iter().map(|d| (d.kind.as_str(), d.fqn.as_str())).collect();
        let known = match sink {
            Sink::Catalog(catalog) => catalog.hashes(&keys).await?,
            _ => state.entity_hashes(&self.target, &self.service, &keys).await?,
        };
        Ok(docs
            .iter()
            .map(|d| !d.source_hash.is_empty() && known.get(&(d.kind.clone(), d.fqn.clone())) == Some(&d.source_hash))
            .collect())
    }

    /// Splits `docs` into those to send and those the sink has as they
    /// are; one lookup for them all.
    pub async fn split(
        &mut self,
        sink: &Sink,
        state: &StateStore,
        docs: Vec<Document>,
    ) -> Result<(Vec<Document>, Vec<Document>), IngestError> {
        let mut same_as_sent = self.same_as_sent(sink, state, &docs).await?.into_iter();
        let (same, changed): (Vec<Document>, Vec<Document>) =
            docs.into_iter().partition(|_| same_as_sent.next().unwrap_or(false));
        // Seen by this run though not written: the relations they own are
        // this run's, and they are not gone from the source.
        if !same.is_empty() {
            let keys: Vec<(&str, &str)> = same.iter().map(|d| (d.kind.as_str(), d.fqn.as_str())).collect();
            match sink {
                Sink::Catalog(catalog) => catalog.seen(&self.run_id, &keys).await?,
                _ => state.see_hashes(&self.target, &self.service, &self.run_id, &keys).await?,
            }
        }
        if !matches!(sink, Sink::Catalog(_)) {
            for d in &changed {
                self.sent.insert((d.kind.clone(), d.fqn.clone()), d.source_hash.clone());
            }
        }
        // Runs the sink has as they are count too: one still unfinished
        // holds its pipeline's cursor back.
        if self.skip {
            let runs = changed.iter().chain(&same).filter_map(|d| Some((d.fqn.clone(), run_seen(d)?)));
            self.runs.extend(runs);
        }
        Ok((changed, same))
    }

    /// The sink refused or failed it: its hash is not kept.
    pub fn failed(&mut self, kind: &str, fqn: &str) {
        self.sent.remove(&(kind.to_string(), fqn.to_string()));
        if let Some(run) = self.runs.get_mut(fqn) {
            run.settled = false;
        }
    }

    /// After a flush of the sink: the hashes of what it wrote are kept.
    pub async fn keep(&mut self, state: &StateStore) -> Result<(), IngestError> {
        if !self.runs.is_empty() {
            let runs: Vec<RunSeen> = self.runs.drain().map(|(_, run)| run).collect();
            state.advance_cursors(&self.target, &self.service, &self.run_id, &runs).await?;
        }
        if self.sent.is_empty() {
            return Ok(());
        }
        let sent: Vec<(String, String, String)> =
            self.sent.drain().filter(|(_, hash)| !hash.is_empty()).map(|((k, f), h)| (k, f, h)).collect();
        state.keep_hashes(&self.target, &self.service, &self.run_id, &sent).await?;
        Ok(())
    }
}

/// A pipeline status's run, for its pipeline's cursor: settled once final
/// (unless the sink then refuses it).
fn run_seen(doc: &Document) -> Option<RunSeen> {
    if doc.kind != Kind::PipelineStatus.entity_type() {
        return None;
    }
    let pipeline = fqn::split(doc.parent.as_deref()?).pop()?;
    let timestamp = doc.body.get("timestamp")?.as_i64()?;
    let status = doc.body.get("executionStatus").and_then(|s| s.as_str()).unwrap_or_default();
    Some(RunSeen { pipeline, timestamp, settled: matches!(status, "Successful" | "Failed" | "Skipped") })
}
