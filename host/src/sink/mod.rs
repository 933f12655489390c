//! Where entities go. Every sink takes the same [`Document`]s in two
//! phases: entities (parents before children), then the deferred
//! [`Relation`]s once every entity exists.

pub mod catalog;
// One list for the SDK and the host: see the file's own comment.
#[path = "../../../sdk/src/data_types.rs"]
mod data_types;
pub mod document;

pub use document::{Document, DocumentError, Relation};

/// Documents per write transaction.
pub const DEFAULT_BATCH: usize = 100;
