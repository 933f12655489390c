//! From a workflow to written entities: discover, filter, plan shards, run
//! them across sandboxed instances, hand the results to the sink.

mod checks;
mod deleted;
pub mod distributed;
pub(crate) mod ingest;
mod intake;
pub mod preflight;
mod progress;
mod run;
mod scheduler;
mod select;
mod shard;
mod unchanged;

pub use deleted::Finding;
pub use ingest::{
    DEFAULT_CATALOG as DEFAULT_CATALOG_PATH, DEFAULT_REFS_PER_CALL, DryRun, IngestError, IngestOptions, dry_run,
    ingest, resume,
};
pub use progress::ProgressView;
pub use run::unix_ms;

/// The state store a workflow names (`weir.stateStore`, else
/// `weir.statePath`, else this machine's default), for commands that read it.
pub async fn open_state(workflow: &crate::config::Workflow) -> Result<crate::state::StateStore, IngestError> {
    ingest::open_state(workflow, false).await
}
pub use select::Selection;
pub use shard::{DEFAULT_SHARD_SIZE, Plan, PlannedRef, Shard};
