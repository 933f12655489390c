//! Where entities go. Every sink takes the same [`Document`]s in two
//! phases: entities (parents before children), then the deferred
//! [`Relation`]s once every entity exists.

pub mod catalog;
mod data_types;
pub mod document;

pub use document::{Document, DocumentError, Relation};

/// Documents per write transaction.
pub const DEFAULT_BATCH: usize = 100;
