//! Helpers for the refs a database connector is handed: how deep a kind's
//! path is, its name in messages, and a batch split by kind.

use crate::{EntityKind, EntityRef};

/// How many names a path of `kind` has below the service (`[db]`,
/// `[db, schema]`, `[db, schema, object]`); `None` for kinds that are not
/// database objects.
pub fn depth(kind: EntityKind) -> Option<usize> {
    match kind {
        EntityKind::Database => Some(1),
        EntityKind::DatabaseSchema => Some(2),
        EntityKind::Table | EntityKind::StoredProcedure => Some(3),
        _ => None,
    }
}

/// The kind as a message names it.
pub fn kind_name(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Database => "database",
        EntityKind::DatabaseSchema => "schema",
        EntityKind::Table => "table",
        EntityKind::StoredProcedure => "stored procedure",
        EntityKind::Dashboard => "dashboard",
        EntityKind::Chart => "chart",
        EntityKind::DataModel => "data model",
    }
}

/// Splits a batch by kind, kinds in order of first appearance. The host
/// sends one kind per batch; this keeps a mixed one correct anyway.
pub fn by_kind(refs: Vec<EntityRef>) -> Vec<(EntityKind, Vec<EntityRef>)> {
    let mut groups: Vec<(EntityKind, Vec<EntityRef>)> = Vec::new();
    for r in refs {
        match groups.iter_mut().find(|(kind, _)| *kind == r.kind) {
            Some((_, group)) => group.push(r),
            None => groups.push((r.kind, vec![r])),
        }
    }
    groups
}
