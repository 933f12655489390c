//! The refs of a batch, checked and grouped, so that each database's share
//! is read with a fixed number of statements whatever the batch size.

use super::Engine;
use crate::refs::{depth, kind_name};
use crate::{EntityFailure, EntityKind, EntityRef, Failure};
use std::collections::HashSet;

/// The checked refs of one kind, in the order asked for, without
/// duplicates; and a failure for each ref that cannot be answered.
#[derive(Debug, Default)]
pub struct Wanted {
    /// The paths asked for, each as long as the kind's depth.
    pub paths: Vec<Vec<String>>,
    /// The key of each path, same index: what tells apart objects that
    /// share a path (PostgreSQL's overloaded functions carry their oid).
    pub keys: Vec<Option<String>>,
    /// One per ref refused by [`Wanted::check`] (a path of the wrong
    /// length, a kind the plugin does not produce); the kit adds them to
    /// the batch.
    pub failures: Vec<EntityFailure>,
}

impl Wanted {
    /// Paths without keys, as an engine without overloading asks for them.
    pub fn of_paths(paths: Vec<Vec<String>>) -> Wanted {
        let keys = vec![None; paths.len()];
        Wanted { paths, keys, failures: Vec::new() }
    }

    /// Checks the shape of the refs of one kind. Which database a ref may
    /// name is the connections' business (`label`).
    pub fn check(engine: &Engine, kind: EntityKind, refs: &[EntityRef]) -> Wanted {
        let mut wanted = Wanted::default();
        let Some(depth) = depth(kind) else {
            for r in refs {
                let message = format!("the {} plugin produces no {}", engine.name, kind_name(kind));
                wanted.failures.push(failure(&r.path, Failure::permanent(message)));
            }
            return wanted;
        };
        let mut seen: HashSet<(&[String], Option<&str>)> = HashSet::new();
        for r in refs {
            if r.path.len() != depth {
                let message = format!("a {} path has {depth} names, this one has {}", kind_name(kind), r.path.len());
                wanted.failures.push(failure(&r.path, Failure::permanent(message)));
                continue;
            }
            if seen.insert((&r.path, r.key.as_deref())) {
                wanted.push(r.path.clone(), r.key.clone());
            }
        }
        wanted
    }

    /// Appends a path and its key at the same index. It checks nothing:
    /// [`Wanted::check`] does.
    pub fn push(&mut self, path: Vec<String>, key: Option<String>) {
        self.paths.push(path);
        self.keys.push(key);
    }

    /// Splits by database (`path[0]`), databases in order of first
    /// appearance: each is read through its own connection.
    pub fn by_database(self) -> Vec<(String, Wanted)> {
        let mut groups: Vec<(String, Wanted)> = Vec::new();
        for (path, key) in self.paths.into_iter().zip(self.keys) {
            let database = path.first().cloned().unwrap_or_default();
            match groups.iter_mut().find(|(name, _)| *name == database) {
                Some((_, group)) => group.push(path, key),
                None => {
                    let mut group = Wanted::default();
                    group.push(path, key);
                    groups.push((database, group));
                }
            }
        }
        groups
    }

    /// The (schema, name) pairs asked for, for keeping only the rows of a
    /// query that answer them.
    pub fn objects(&self) -> HashSet<(&str, &str)> {
        self.paths
            .iter()
            .filter_map(|p| match p.as_slice() {
                [_, schema, name] => Some((schema.as_str(), name.as_str())),
                _ => None,
            })
            .collect()
    }
}

/// The failure of the entity at `path`. Give the ref's path unchanged: the
/// host finds the ref of a `Transient` one by its path to process it again.
pub fn failure(path: &[String], error: Failure) -> EntityFailure {
    EntityFailure { path: path.to_vec(), error }
}

#[cfg(test)]
mod tests {
    use super::super::engine::tests::TEST_ENGINE;
    use super::*;
    use crate::refs::by_kind;

    fn r(kind: EntityKind, path: &[&str]) -> EntityRef {
        EntityRef { kind, path: path.iter().map(|s| s.to_string()).collect(), cost: 1, key: None }
    }

    fn wanted(kind: EntityKind, refs: &[EntityRef]) -> Wanted {
        Wanted::check(&TEST_ENGINE, kind, refs)
    }

    #[test]
    fn checks_depth_and_duplicates() {
        let refs = [
            r(EntityKind::Table, &["db", "public", "film"]),
            r(EntityKind::Table, &["db", "public"]),
            r(EntityKind::Table, &["other", "public", "film"]),
            r(EntityKind::Table, &["db", "public", "film"]),
            r(EntityKind::Table, &["db", "Edge Cases", "Mixed.Case \"Table\""]),
        ];
        let w = wanted(EntityKind::Table, &refs);
        assert_eq!(w.paths, vec![refs[0].path.clone(), refs[2].path.clone(), refs[4].path.clone()]);
        assert_eq!(w.keys, vec![None, None, None]);
        assert_eq!(w.failures.len(), 1);
        assert_eq!(w.failures[0].path, refs[1].path);
        assert_eq!(w.failures[0].error.message, "a table path has 3 names, this one has 2");
        assert!(w.objects().contains(&("Edge Cases", "Mixed.Case \"Table\"")));
        assert_eq!(w.objects().len(), 2);
    }

    #[test]
    fn overloads_share_a_path_and_stay_apart_by_key() {
        let keyed =
            |key: &str| EntityRef { key: Some(key.into()), ..r(EntityKind::StoredProcedure, &["db", "s", "add"]) };
        let refs = [keyed("101"), keyed("102"), keyed("101")];
        let w = wanted(EntityKind::StoredProcedure, &refs);
        assert_eq!(w.paths.len(), 2);
        assert_eq!(w.keys, vec![Some("101".to_string()), Some("102".into())]);
    }

    #[test]
    fn splits_by_database_in_order() {
        let refs = [
            r(EntityKind::Table, &["b", "s", "t1"]),
            r(EntityKind::Table, &["a", "s", "t2"]),
            r(EntityKind::Table, &["b", "s", "t3"]),
        ];
        let groups = wanted(EntityKind::Table, &refs).by_database();
        let names: Vec<(&str, usize)> = groups.iter().map(|(db, w)| (db.as_str(), w.paths.len())).collect();
        assert_eq!(names, vec![("b", 2), ("a", 1)]);
        assert_eq!(groups[0].1.paths[1], refs[2].path);
        assert_eq!(groups[0].1.keys.len(), 2);
    }

    #[test]
    fn unknown_kinds_fail_per_ref() {
        let w = wanted(EntityKind::Dashboard, &[r(EntityKind::Dashboard, &["x"])]);
        assert!(w.paths.is_empty());
        assert_eq!(w.failures.len(), 1);
        assert_eq!(w.failures[0].error.message, "the kit plugin produces no dashboard");
    }

    #[test]
    fn groups_by_kind_in_order() {
        let refs = vec![
            r(EntityKind::Table, &["db", "s", "a"]),
            r(EntityKind::DatabaseSchema, &["db", "s"]),
            r(EntityKind::Table, &["db", "s", "b"]),
        ];
        let groups = by_kind(refs);
        assert_eq!(groups.len(), 2);
        assert!(groups[0].0 == EntityKind::Table && groups[0].1.len() == 2);
        assert!(groups[1].0 == EntityKind::DatabaseSchema);
    }

    #[test]
    fn paths_alone_carry_no_keys() {
        let w = Wanted::of_paths(vec![vec!["db".into()], vec!["db2".into()]]);
        assert_eq!(w.keys, vec![None, None]);
        assert!(w.failures.is_empty());
    }
}
