//! Skip what did not change: an entity whose content hash (its document's
//! `sourceHash`) is the one its sink was last sent is not sent again, and
//! counts as `unchanged`. The catalog answers from its own rows (so a
//! catalog made afresh gets everything); the OpenMetadata server from the
//! state store, which keeps what it was sent, by target, once it has
//! written it. `--full` or `overrideMetadata: true` sends everything (and
//! still keeps the hashes); so does the file sink, whose file every run
//! writes whole.

use super::ingest::IngestError;
use crate::sink::{Document, Sink};
use crate::state::StateStore;
use std::collections::HashMap;

pub struct Unchanged {
    /// Off: every entity is sent.
    skip: bool,
    /// The sink, as its hashes are kept under it.
    target: String,
    service: String,
    run_id: String,
    /// Sent since the last checkpoint and not failed: (kind, FQN) → hash.
    sent: HashMap<(String, String), String>,
}

impl Unchanged {
    pub fn new(skip: bool, target: String, service: &str, run_id: &str) -> Unchanged {
        Unchanged { skip, target, service: service.to_string(), run_id: run_id.to_string(), sent: HashMap::new() }
    }

    /// Splits `docs` into those to send and those the sink has as they
    /// are; one lookup for them all.
    pub async fn split(
        &mut self,
        sink: &Sink,
        state: &StateStore,
        docs: Vec<Document>,
    ) -> Result<(Vec<Document>, Vec<Document>), IngestError> {
        let known = if self.skip && !docs.is_empty() {
            let keys: Vec<(&str, &str)> = docs.iter().map(|d| (d.kind.as_str(), d.fqn.as_str())).collect();
            match sink {
                Sink::Catalog(catalog) => catalog.hashes(&keys).await?,
                _ => state.entity_hashes(&self.target, &self.service, &keys).await?,
            }
        } else {
            HashMap::new()
        };
        let (same, changed): (Vec<Document>, Vec<Document>) = docs.into_iter().partition(|d| {
            !d.source_hash.is_empty() && known.get(&(d.kind.clone(), d.fqn.clone())) == Some(&d.source_hash)
        });
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
        Ok((changed, same))
    }

    /// The sink refused or failed it: its hash is not kept.
    pub fn failed(&mut self, kind: &str, fqn: &str) {
        self.sent.remove(&(kind.to_string(), fqn.to_string()));
    }

    /// After a flush of the sink: the hashes of what it wrote are kept.
    pub async fn keep(&mut self, state: &StateStore) -> Result<(), IngestError> {
        if self.sent.is_empty() {
            return Ok(());
        }
        let sent: Vec<(String, String, String)> =
            self.sent.drain().filter(|(_, hash)| !hash.is_empty()).map(|((k, f), h)| (k, f, h)).collect();
        state.keep_hashes(&self.target, &self.service, &self.run_id, &sent).await?;
        Ok(())
    }
}
