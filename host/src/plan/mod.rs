//! From a workflow to written entities: discover, filter, batch, run the
//! batches across sandboxed instances, hand the results to the sink.

mod ingest;
mod select;
mod worker;

pub use ingest::{DEFAULT_BATCH_SIZE, DEFAULT_CATALOG as DEFAULT_CATALOG_PATH, IngestError, IngestOptions, ingest};
pub use select::Selection;
pub use worker::Effort;
