//! From a workflow to written entities: discover, filter, plan shards, run
//! them across sandboxed instances, hand the results to the sink.

mod absorb;
mod checks;
mod ingest;
mod progress;
mod scheduler;
mod select;
mod shard;

pub use ingest::{DEFAULT_BATCH_SIZE, DEFAULT_CATALOG as DEFAULT_CATALOG_PATH, IngestError, IngestOptions, ingest};
pub use scheduler::{Effort, RetryPolicy};
pub use select::Selection;
pub use shard::{DEFAULT_SHARD_SIZE, Plan, PlannedRef, Shard, Strategy};
