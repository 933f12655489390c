//! Helpers for the refs a database connector is handed: how deep a kind's
//! path is, its name in messages, and a batch split by kind.

use crate::kind::Kind;
use crate::{EntityKind, EntityRef};

/// How many names a path of `kind` has below the service (`[db]`,
/// `[db, schema]`, `[db, schema, object]`); `None` for kinds that are not
/// database objects.
pub fn depth(kind: EntityKind) -> Option<usize> {
    let kind = Kind::from(kind);
    matches!(kind, Kind::Database | Kind::DatabaseSchema | Kind::Table | Kind::StoredProcedure).then(|| kind.path_len())
}

/// The kind as a message names it.
pub fn kind_name(kind: EntityKind) -> &'static str {
    Kind::from(kind).noun()
}

crate::kind::entity_kind_conversions!(EntityKind);

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
