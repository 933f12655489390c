//! Where entities go. Every sink takes the same [`Document`]s in two
//! phases: entities (parents before children), then the deferred
//! [`Relation`]s once every entity exists.

pub mod catalog;
// One list for the SDK and the host: see the file's own comment.
#[path = "../../../sdk/src/data_types.rs"]
mod data_types;
pub mod document;
pub mod file;
pub mod openmetadata;
pub mod pipeline;

pub use document::{Document, DocumentError};
pub use pipeline::{Acks, Pipeline, PipelineSettings, SinkFailure};

use crate::model::{Relation, ServiceKind};
use crate::state::StateStore;
use catalog::{Catalog, CatalogError, Unresolved};
use file::{FileSink, FileSinkError};
use openmetadata::OpenMetadataSink;
use std::collections::HashMap;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum SinkError {
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    File(#[from] FileSinkError),
    #[error(transparent)]
    OpenMetadata(#[from] openmetadata::SinkError),
    #[error("the sink pipeline stopped")]
    Stopped,
}

impl SinkError {
    /// Whether trying the same write again may work.
    pub fn is_transient(&self) -> bool {
        match self {
            // Another writer holds the file.
            SinkError::Catalog(CatalogError::Write(err)) => crate::sqlite_file::is_busy(err),
            _ => false,
        }
    }

    /// Whether the write may succeed if the run is tried again later: a
    /// server down or busy after the retries, not a refusal. What decides
    /// between exit status 2 (not worth retrying) and 75.
    pub fn may_pass(&self) -> bool {
        match self {
            SinkError::Catalog(e) => e.may_pass(),
            SinkError::OpenMetadata(e) => e.may_pass(),
            SinkError::File(_) | SinkError::Stopped => false,
        }
    }

    /// How long the sink asked to be left alone, when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        None
    }
}

/// Where a run's documents go: `sink.type` in the workflow.
pub enum Sink {
    /// `catalog`: the embedded SQLite catalog.
    Catalog(Catalog),
    /// `file`: JSON Lines, renamed into place at the end. Boxed: it is much
    /// larger than a pool handle.
    File(Box<FileSink>),
    /// `metadata-rest`: an OpenMetadata server.
    OpenMetadata(Box<OpenMetadataSink>),
}

impl Sink {
    pub fn name(&self) -> &'static str {
        match self {
            Sink::Catalog(_) => "catalog",
            Sink::File(_) => "file",
            Sink::OpenMetadata(_) => "metadata-rest",
        }
    }

    /// Requests the sink retried on its own (the OpenMetadata client).
    pub fn retries(&self) -> usize {
        match self {
            Sink::OpenMetadata(om) => om.retries(),
            _ => 0,
        }
    }

    /// Where the documents end up, for the report.
    pub fn target(&self) -> String {
        match self {
            Sink::Catalog(c) => c.shown().to_string(),
            Sink::File(f) => f.path().display().to_string(),
            Sink::OpenMetadata(om) => om.server().to_string(),
        }
    }

    /// Whether what earlier runs wrote is still there when this one writes:
    /// the catalog and the OpenMetadata server keep it; the file is
    /// written whole by every run, so every entity goes into it.
    pub fn keeps_earlier_runs(&self) -> bool {
        !matches!(self, Sink::File(_))
    }

    /// What the run's report should say from the sink (an OpenMetadata
    /// owner not found), taken once.
    pub fn take_warnings(&self) -> Vec<String> {
        match self {
            Sink::OpenMetadata(om) => om.take_warnings(),
            Sink::Catalog(_) | Sink::File(_) => Vec::new(),
        }
    }

    /// Tells the sink the run has begun: OpenMetadata shows it running on
    /// the workflow's ingestion pipeline, if it names one.
    pub async fn report_running(&self, run_id: &str, started_ms: i64) {
        if let Sink::OpenMetadata(om) = self {
            om.report_running(run_id, started_ms).await;
        }
    }

    /// Tells the sink how the run ended (its report, or why it could not go
    /// on): OpenMetadata shows it on the ingestion pipeline. Returns a
    /// warning when the sink could not be told.
    pub async fn report_end(&self, run_id: &str, outcome: Result<&crate::report::RunReport, &str>) -> Option<String> {
        match self {
            Sink::OpenMetadata(om) => om.report_end(run_id, outcome).await,
            Sink::Catalog(_) | Sink::File(_) => None,
        }
    }

    pub async fn put_service(&self, name: &str, service_type: &str, kind: ServiceKind) -> Result<(), SinkError> {
        match self {
            Sink::Catalog(c) => Ok(c.put_service(name, service_type).await?),
            Sink::File(f) => Ok(f.put_service(name, service_type, kind).await?),
            Sink::OpenMetadata(om) => {
                Ok(om.put_service(name, service_type, kind).await.map_err(openmetadata::SinkError::from)?)
            }
        }
    }

    /// Phase 1: writes documents. Returns the ones the sink refused, by
    /// FQN, with its reason; an `Err` means none was written.
    pub async fn write(&self, run_id: &str, docs: &[Document]) -> Result<HashMap<String, String>, SinkError> {
        match self {
            Sink::Catalog(c) => c.write(run_id, docs).await?,
            Sink::File(f) => f.write(docs).await?,
            Sink::OpenMetadata(om) => return Ok(om.write(docs).await?),
        }
        Ok(HashMap::new())
    }

    /// Phase 2, one page: applies deferred records whose target exists
    /// (the catalog stages them until [`Sink::end_relations`]).
    pub async fn apply_relations(&self, run_id: &str, relations: &[Relation]) -> Result<Vec<Unresolved>, SinkError> {
        match self {
            Sink::Catalog(c) => Ok(c.stage_relations(run_id, relations).await?),
            Sink::File(f) => Ok(f.apply_relations(relations).await?),
            Sink::OpenMetadata(om) => Ok(om.apply_relations(relations).await?),
        }
    }

    /// Phase 2, the end: the catalog replaces the run's relations with the
    /// staged ones at once.
    pub async fn end_relations(&self, run_id: &str) -> Result<(), SinkError> {
        match self {
            Sink::Catalog(c) => Ok(c.switch_relations(run_id).await?),
            Sink::File(_) | Sink::OpenMetadata(_) => Ok(()),
        }
    }

    /// The entities of `kind` in `service` the sink holds and has not marked
    /// deleted, (FQN, the last run that saw it): the catalog from its rows,
    /// the OpenMetadata server from what the state store kept it was sent.
    /// `None` for the file, which every run writes whole: what is gone from
    /// the source is simply not in it.
    pub async fn live(
        &self,
        state: &StateStore,
        service: &str,
        kind: &str,
    ) -> Result<Option<Vec<(String, String)>>, SinkError> {
        match self {
            Sink::Catalog(c) => Ok(Some(c.live(service, kind).await?)),
            Sink::OpenMetadata(_) => Ok(Some(
                state.kept_entities(&self.target(), service, kind).await.map_err(openmetadata::SinkError::from)?,
            )),
            Sink::File(_) => Ok(None),
        }
    }

    /// Marks entities ((kind, FQN)) of `service` deleted: a soft delete in
    /// the catalog, `DELETE …?hardDelete=false` on OpenMetadata. Their
    /// hashes are forgotten, so one that comes back is sent again. Returns
    /// those the sink refused, with its reason.
    pub async fn mark_deleted(
        &self,
        state: &StateStore,
        service: &str,
        entities: &[(&str, &str)],
    ) -> Result<Vec<(String, String, String)>, SinkError> {
        match self {
            Sink::Catalog(c) => {
                c.mark_deleted(entities).await?;
                Ok(Vec::new())
            }
            Sink::OpenMetadata(om) => {
                let refused = om.mark_deleted(entities).await;
                let done: Vec<(&str, &str)> = entities
                    .iter()
                    .filter(|(kind, fqn)| !refused.iter().any(|(k, f, _)| k == kind && f == fqn))
                    .copied()
                    .collect();
                state.forget_hashes(&self.target(), service, &done).await.map_err(openmetadata::SinkError::from)?;
                Ok(refused)
            }
            Sink::File(_) => Ok(Vec::new()),
        }
    }

    /// Ends the run: the catalog keeps the report, the file moves into
    /// place.
    pub async fn finish(&self, run_id: &str, service: &str, report: &serde_json::Value) -> Result<(), SinkError> {
        match self {
            Sink::Catalog(c) => {
                c.record_run(run_id, service, report).await?;
                c.close().await;
            }
            Sink::File(f) => f.finish().await?,
            // Every request was answered already: nothing is pending.
            Sink::OpenMetadata(_) => {}
        }
        Ok(())
    }
}
