//! The refs of a batch, checked and turned into the two parameters each
//! set-based query takes, so that a batch of any size is one statement per
//! query.
//!
//! The names travel as fixed-width slots in one nvarchar parameter (`@P1`),
//! the slot width in characters as the other (`@P2`); the statements cut
//! the slots from the parameter's bytes. OPENJSON or STRING_SPLIT would
//! read better, but both exist only under compatibility level 130, and
//! databases upgraded from older versions often keep a lower one. Bytes do
//! not depend on the collation either, as character positions would on a
//! supplementary-character (_SC) collation.

use std::collections::HashSet;
use weir_sdk::sql::Value;
use weir_sdk::{EntityFailure, EntityKind, EntityRef, Failure};

/// The most refs one statement takes: the statements number their slots
/// from 0 to 9999. Larger batches are read in chunks of this size.
pub const MAX_SLOTS: usize = 10_000;

/// The checked paths of one kind, in the order asked for, without
/// duplicates; and a failure for each ref that cannot be answered. T-SQL
/// has no overloading, so a path names one object and refs carry no key.
#[derive(Debug, Default)]
pub struct Wanted {
    pub paths: Vec<Vec<String>>,
    pub failures: Vec<EntityFailure>,
}

impl Wanted {
    /// Splits by database (`path[0]`), databases in order of first
    /// appearance: each is read through its own connection.
    pub fn by_database(self) -> Vec<(String, Wanted)> {
        let mut groups: Vec<(String, Wanted)> = Vec::new();
        for path in self.paths {
            let database = path.first().cloned().unwrap_or_default();
            match groups.iter_mut().find(|(name, _)| *name == database) {
                Some((_, group)) => group.paths.push(path),
                None => groups.push((database, Wanted { paths: vec![path], failures: Vec::new() })),
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

pub use weir_sdk::refs::{by_kind, depth, kind_name};

/// Checks the shape of the refs of one kind. Which database a ref may
/// name is the connections' business (`connections::label`).
pub fn wanted(kind: EntityKind, refs: &[EntityRef]) -> Wanted {
    let mut wanted = Wanted::default();
    let Some(depth) = depth(kind) else {
        for r in refs {
            let message = format!("the mssql plugin produces no {}", kind_name(kind));
            wanted.failures.push(failure(&r.path, Failure::permanent(message)));
        }
        return wanted;
    };
    let mut seen: HashSet<&[String]> = HashSet::new();
    for r in refs {
        if r.path.len() != depth {
            let message = format!("a {} path has {depth} names, this one has {}", kind_name(kind), r.path.len());
            wanted.failures.push(failure(&r.path, Failure::permanent(message)));
            continue;
        }
        if seen.insert(&r.path) {
            wanted.paths.push(r.path.clone());
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

/// `db.[Edge Cases].[a]]b]`, for messages: a name with a dot, a space or a
/// bracket in it is bracketed as T-SQL writes it.
pub fn dotted(path: &[String]) -> String {
    path.iter().map(|name| quoted(name)).collect::<Vec<_>>().join(".")
}

fn quoted(name: &str) -> String {
    if name.contains(['.', ' ', '[', ']', '"']) { bracketed(name) } else { name.to_string() }
}

/// `[name]`, with `]` doubled: T-SQL's QUOTENAME.
pub fn bracketed(name: &str) -> String {
    format!("[{}]", name.replace(']', "]]"))
}

/// The parameters naming schemas (the last name of each path), as the
/// catalog spells them.
pub fn schemas_param(paths: &[Vec<String>]) -> [Value; 2] {
    let names: Vec<String> = paths.iter().filter_map(|p| p.last()).cloned().collect();
    slots(&names)
}

/// The parameters naming tables or procedures: `[schema].[name]`, each
/// part bracketed as QUOTENAME does, which OBJECT_ID reads back exactly.
pub fn objects_param(paths: &[Vec<String>]) -> [Value; 2] {
    let names: Vec<String> = paths
        .iter()
        .filter_map(|p| match p.as_slice() {
            [_, schema, name] => Some(format!("{}.{}", bracketed(schema), bracketed(name))),
            _ => None,
        })
        .collect();
    slots(&names)
}

/// `entries` right-padded with spaces to the longest one's length, and
/// that length (at least 1, which the statements divide by). Lengths
/// count UTF-16 code units: two bytes each in the nvarchar parameter,
/// whatever the character.
fn slots(entries: &[String]) -> [Value; 2] {
    let width = entries.iter().map(|e| e.encode_utf16().count()).max().unwrap_or(0).max(1);
    let mut text = String::new();
    for entry in entries {
        text.push_str(entry);
        text.extend(std::iter::repeat_n(' ', width - entry.encode_utf16().count()));
    }
    [Value::Text(text), Value::Int(i64::try_from(width).unwrap_or(i64::MAX))]
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
            r(EntityKind::Table, &["db", "dbo", "Orders"]),
            r(EntityKind::Table, &["db", "dbo"]),
            r(EntityKind::Table, &["other", "dbo", "Orders"]),
            r(EntityKind::Table, &["db", "dbo", "Orders"]),
            r(EntityKind::Table, &["db", "Edge Cases", "Mixed.Case [Table]"]),
        ];
        let w = wanted(EntityKind::Table, &refs);
        assert_eq!(w.paths, vec![refs[0].path.clone(), refs[2].path.clone(), refs[4].path.clone()]);
        assert_eq!(w.failures.len(), 1);
        assert_eq!(w.failures[0].path, refs[1].path);
        assert!(w.objects().contains(&("Edge Cases", "Mixed.Case [Table]")));
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
    }

    #[test]
    fn unknown_kinds_fail_per_ref() {
        let w = wanted(EntityKind::Dashboard, &[r(EntityKind::Dashboard, &["x"])]);
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

    fn texts(params: [Value; 2]) -> (String, i64) {
        match params {
            [Value::Text(text), Value::Int(width)] => (text, width),
            _ => panic!("not (text, int)"),
        }
    }

    #[test]
    fn objects_go_in_fixed_width_slots_bracketed_as_quotename() {
        let paths = vec![
            vec!["db".to_string(), "dbo".into(), "Orders".into()],
            vec!["db".to_string(), "Sales".into(), "Customer".into()],
        ];
        // The example of the statements' header comments.
        assert_eq!(texts(objects_param(&paths)), ("[dbo].[Orders]    [Sales].[Customer]".to_string(), 18));
        let odd = vec![vec!["db".to_string(), "Edge Cases".into(), "a]b".into()]];
        assert_eq!(texts(objects_param(&odd)), ("[Edge Cases].[a]]b]".to_string(), 19));
    }

    #[test]
    fn widths_count_utf16_code_units() {
        // U+1F600 is two code units (four bytes) in the nvarchar parameter.
        let paths = vec![vec!["db".to_string(), "😀".into()], vec!["db".to_string(), "abc".into()]];
        let (text, width) = texts(schemas_param(&paths));
        assert_eq!(width, 3);
        assert_eq!(text, "😀 abc");
        assert_eq!(text.encode_utf16().count(), 6);
        assert_eq!(texts(schemas_param(&[])), (String::new(), 1));
    }

    #[test]
    fn dotted_brackets_odd_names() {
        let path = ["db".to_string(), "Edge Cases".into(), "a]b".into(), "plain".into()];
        assert_eq!(dotted(&path), "db.[Edge Cases].[a]]b].plain");
    }
}
