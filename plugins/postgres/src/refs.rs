//! The refs of a batch, checked and turned into the single JSON parameter
//! each set-based query takes, so that a batch of any size is one
//! statement per query.

use std::collections::HashSet;
use weir_sdk::serde_json::{self, json};
use weir_sdk::{EntityFailure, EntityKind, EntityRef, Failure};

/// The checked refs of one kind, in the order asked for, without
/// duplicates; and a failure for each ref that cannot be answered.
#[derive(Debug, Default)]
pub struct Wanted {
    pub paths: Vec<Vec<String>>,
    /// The key of each path, same index: stored procedures carry their oid,
    /// since overloads share a path.
    pub keys: Vec<Option<String>>,
    pub failures: Vec<EntityFailure>,
}

impl Wanted {
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
}

pub use weir_sdk::refs::{by_kind, depth, kind_name};

/// Checks the shape of the refs of one kind. Which database a ref may
/// name is the connections' business (`connections::label`).
pub fn wanted(kind: EntityKind, refs: &[EntityRef]) -> Wanted {
    let mut wanted = Wanted::default();
    let mut seen: HashSet<(&[String], Option<&str>)> = HashSet::new();
    let Some(depth) = depth(kind) else {
        for r in refs {
            let message = format!("the postgres plugin produces no {}", kind_name(kind));
            wanted.failures.push(failure(&r.path, Failure::permanent(message)));
        }
        return wanted;
    };
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

/// The failure for a ref whose object no longer exists.
pub fn not_found(kind: EntityKind, path: &[String]) -> EntityFailure {
    let message = format!("{} {} not found: dropped or renamed since discovery", kind_name(kind), dotted(path));
    failure(path, Failure::permanent(message))
}

pub fn failure(path: &[String], error: Failure) -> EntityFailure {
    EntityFailure { path: path.to_vec(), error }
}

/// `db."odd.schema".table`, for messages: dots inside names stay readable.
pub fn dotted(path: &[String]) -> String {
    path.iter()
        .map(
            |name| {
                if name.contains(['.', '"', ' ']) { format!("\"{}\"", name.replace('"', "\"\"")) } else { name.clone() }
            },
        )
        .collect::<Vec<_>>()
        .join(".")
}

/// `["a", "b"]`: the last name of each path (databases, schemas).
pub fn names_param(paths: &[Vec<String>]) -> String {
    let names: Vec<&str> = paths.iter().filter_map(|p| p.last()).map(String::as_str).collect();
    serde_json::Value::from(names).to_string()
}

/// `[{"s": schema, "t": table}]`, for `json_to_recordset`.
pub fn tables_param(paths: &[Vec<String>]) -> String {
    let rows: Vec<serde_json::Value> =
        paths.iter().filter(|p| p.len() == 3).map(|p| json!({ "s": p[1], "t": p[2] })).collect();
    serde_json::Value::from(rows).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(kind: EntityKind, path: &[&str]) -> EntityRef {
        EntityRef { kind, path: path.iter().map(|s| s.to_string()).collect(), cost: 1, key: None }
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
        let refs = [r(EntityKind::Dashboard, &["x"])];
        let w = wanted(EntityKind::Dashboard, &refs);
        assert!(w.paths.is_empty());
        assert_eq!(w.failures.len(), 1);
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
    fn parameters_escape_names() {
        let paths = vec![vec!["db".to_string(), "Edge Cases".into(), "Mixed.Case \"Table\"".into()]];
        assert_eq!(tables_param(&paths), r#"[{"s":"Edge Cases","t":"Mixed.Case \"Table\""}]"#);
        assert_eq!(names_param(&[vec!["db".into(), "sch".into()]]), r#"["sch"]"#);
        assert_eq!(tables_param(&[]), "[]");
    }

    #[test]
    fn dotted_quotes_odd_names() {
        let path = ["db".to_string(), "Edge Cases".into(), "a\"b".into(), "plain".into()];
        assert_eq!(dotted(&path), r#"db."Edge Cases"."a""b".plain"#);
    }
}
