//! Checks that hold whatever path an entity came by: an entity whose parent
//! the run did not write is an orphan, and a foreign key must join columns
//! that exist, of tables the run wrote. What fails a check is reported and
//! never written, so the store holds only what the summary counts.

use crate::model::entity::ForeignKey;
use crate::model::fqn;
use crate::model::{Kind, Relation};
use crate::sink::Document;
use std::collections::{HashMap, HashSet};

/// Databases and schemas the run has written, for the kinds the plugin
/// discovers: of a kind it does not discover, no parent can be asked for.
pub struct Parents {
    databases: Option<HashSet<String>>,
    schemas: Option<HashSet<String>>,
}

impl Parents {
    pub fn new(kinds: &[Kind]) -> Parents {
        let tracked = |kind: Kind| kinds.contains(&kind).then(HashSet::new);
        Parents { databases: tracked(Kind::Database), schemas: tracked(Kind::DatabaseSchema) }
    }

    /// Why `doc` is an orphan, if it is.
    pub fn orphan(&self, doc: &Document) -> Option<String> {
        let (known, what) = match Kind::from_entity_type(&doc.kind)? {
            Kind::DatabaseSchema => (self.databases.as_ref()?, "database"),
            Kind::Table | Kind::StoredProcedure => (self.schemas.as_ref()?, "schema"),
            _ => return None,
        };
        let parent = doc.parent.as_deref().unwrap_or_default();
        (!known.contains(parent))
            .then(|| format!("its {what} `{parent}` was not discovered or not written in this run"))
    }

    /// Notes a document sent to the sink.
    pub fn note(&mut self, doc: &Document) {
        if let Some(set) = self.set_mut(&doc.kind) {
            set.insert(doc.fqn.clone());
        }
    }

    /// Notes a parent another process of the run wrote (`kind` as the
    /// sink names it).
    pub fn note_written(&mut self, kind: &str, fqn: &str) {
        if let Some(set) = self.set_mut(kind) {
            set.insert(fqn.to_string());
        }
    }

    /// The parents written so far, (FQN, kind), for the processes that
    /// write their children.
    pub fn written(&self) -> Vec<(String, String)> {
        let of = |set: &Option<HashSet<String>>, kind: Kind| {
            set.iter().flatten().map(move |fqn| (fqn.clone(), kind.entity_type().to_string())).collect::<Vec<_>>()
        };
        let mut all = of(&self.databases, Kind::Database);
        all.extend(of(&self.schemas, Kind::DatabaseSchema));
        all
    }

    /// Forgets a document the sink refused.
    pub fn forget(&mut self, kind: &str, fqn: &str) {
        if let Some(set) = self.set_mut(kind) {
            set.remove(fqn);
        }
    }

    fn set_mut(&mut self, kind: &str) -> Option<&mut HashSet<String>> {
        match Kind::from_entity_type(kind)? {
            Kind::Database => self.databases.as_mut(),
            Kind::DatabaseSchema => self.schemas.as_mut(),
            _ => None,
        }
    }
}

/// What is wrong with a foreign key at its own end, judged against the
/// tables its batch wrote (path → column names); `None` when nothing is.
pub fn foreign_key(fk: &ForeignKey, written: &HashMap<Vec<String>, HashSet<String>>) -> Option<String> {
    if fk.columns.is_empty() {
        return Some("a foreign key with no columns".into());
    }
    if fk.columns.len() != fk.referred_columns.len() {
        return Some(format!(
            "a foreign key of {} columns refers to {} columns",
            fk.columns.len(),
            fk.referred_columns.len()
        ));
    }
    let Some(columns) = written.get(&fk.table) else {
        return Some(format!("its table {} is not one this batch wrote", fk.table.join(".")));
    };
    let missing: Vec<&str> = fk.columns.iter().filter(|c| !columns.contains(*c)).map(String::as_str).collect();
    (!missing.is_empty()).then(|| format!("its table has no column {}", missing.join(", ")))
}

/// What is wrong with a foreign key at the far end, judged against the
/// column names of the tables the run wrote (`columns`, by FQN); `None`
/// when nothing is.
pub fn referred_end(relation: &Relation, columns: &HashMap<String, Vec<String>>) -> Option<String> {
    let Relation::ForeignKey { referred_table, referred_columns, .. } = relation else { return None };
    let Some(known) = columns.get(referred_table) else {
        return Some(format!("refers to `{referred_table}`, which this run did not write (filtered out or failed)"));
    };
    let missing: Vec<String> =
        referred_columns.iter().filter_map(|c| fqn::split(c).pop()).filter(|c| !known.contains(c)).collect();
    (!missing.is_empty())
        .then(|| format!("refers to column {} of `{referred_table}`, which has none", missing.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    fn fk(columns: &[&str], referred: &[&str]) -> ForeignKey {
        ForeignKey {
            name: Some("fk".into()),
            table: path(&["db", "s", "orders"]),
            columns: path(columns),
            referred_table: path(&["db", "s", "customers"]),
            referred_columns: path(referred),
        }
    }

    #[test]
    fn a_foreign_key_must_join_columns_its_table_has() {
        let written = HashMap::from([(path(&["db", "s", "orders"]), HashSet::from(["customer_id".to_string()]))]);
        assert_eq!(foreign_key(&fk(&["customer_id"], &["id"]), &written), None);
        assert!(foreign_key(&fk(&[], &[]), &written).unwrap().contains("no columns"));
        assert!(foreign_key(&fk(&["customer_id"], &["id", "x"]), &written).unwrap().contains("refers to 2 columns"));
        assert!(foreign_key(&fk(&["nope"], &["id"]), &written).unwrap().contains("no column nope"));
        assert!(foreign_key(&fk(&["customer_id"], &["id"]), &HashMap::new()).unwrap().contains("not one this batch"));
    }

    #[test]
    fn the_far_end_must_be_a_table_of_the_run_with_those_columns() {
        let relation = |col: &str| Relation::ForeignKey {
            table: "svc.db.s.orders".into(),
            name: "fk".into(),
            columns: vec!["customer_id".into()],
            referred_table: "svc.db.s.customers".into(),
            referred_columns: vec![format!("svc.db.s.customers.{col}")],
        };
        let columns = HashMap::from([("svc.db.s.customers".to_string(), vec!["id".to_string()])]);
        assert_eq!(referred_end(&relation("id"), &columns), None);
        assert!(referred_end(&relation("nope"), &columns).unwrap().contains("column nope"));
        assert!(referred_end(&relation("id"), &HashMap::new()).unwrap().contains("did not write"));
    }
}
