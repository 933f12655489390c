//! Synonyms (CREATE SYNONYM s.n FOR base): another name for a table or
//! view, here or in another database, or on a linked server.
//!
//! Each becomes a table entity of type View. A synonym holds no data and
//! is resolved to its base whenever it is used, which is what a view over
//! `SELECT * FROM base` does; calling it a Regular table would tell a
//! reader there are rows stored under that name. Being a view, it follows
//! `includeViews`. The entity carries the base's columns when the base is
//! in the same database (the catalog has no columns for the synonym
//! itself), a description naming the base, the CREATE SYNONYM statement
//! as its definition, and a lineage edge from the base.

use crate::connections::same_database;
use crate::refs;

/// What a synonym stands for, as the tables query returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Base {
    /// `sys.synonyms.base_object_name`, as written: `[dbo].[Orders]`,
    /// `Archive.dbo.Orders`, `[srv].[db].[dbo].[Orders]`.
    pub written: String,
    /// Its parts (PARSENAME, brackets removed), when written.
    pub server: Option<String>,
    pub database: Option<String>,
    pub schema: Option<String>,
    pub name: Option<String>,
    /// The object it resolves to in the synonym's database: (schema, name,
    /// sys.objects type).
    pub resolved: Option<(String, String, String)>,
}

impl Base {
    /// The base's path in this service: the resolved object when it is in
    /// this database; the written name when it is in another database of
    /// the server (the sink reports it if that database is not ingested);
    /// none on a linked server (another service), nor for a local name that
    /// resolves to nothing (a dangling synonym: SQL Server checks the base
    /// only when the synonym is used).
    pub fn path(&self, database: &str) -> Option<Vec<String>> {
        if self.server.is_some() {
            return None;
        }
        if let Some((schema, name, _)) = &self.resolved {
            return Some(vec![database.to_string(), schema.clone(), name.clone()]);
        }
        match (&self.database, &self.schema, &self.name) {
            (Some(other), Some(schema), Some(name)) if !same_database(other, database) => {
                Some(vec![other.clone(), schema.clone(), name.clone()])
            }
            _ => None,
        }
    }

    /// The entity's description: its own MS_Description, if any, then
    /// what it stands for.
    pub fn description(&self, own: Option<&str>) -> String {
        let line = format!("Synonym for {}.", self.written);
        match own.map(str::trim).filter(|d| !d.is_empty()) {
            Some(own) => format!("{own}\n\n{line}"),
            None => line,
        }
    }

    /// The statement that makes it, as its definition.
    pub fn definition(&self, schema: &str, name: &str) -> String {
        format!("CREATE SYNONYM {}.{} FOR {}", refs::bracketed(schema), refs::bracketed(name), self.written)
    }
}

/// Whether a synonym whose base resolves to an object of this type (in its
/// own database) is a table alias. A synonym may also name a procedure or
/// function, which is no table: discovery leaves those out. A base that
/// does not resolve here (another database or server, or gone) is kept:
/// nothing says it is not a table.
pub fn is_table_alias(base_type: Option<&str>) -> bool {
    match base_type {
        None => true,
        Some(kind) => matches!(kind.trim(), "U" | "V" | "ET"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn written(written: &str, parts: [Option<&str>; 4]) -> Base {
        let [server, database, schema, name] = parts.map(|p| p.map(str::to_string));
        Base { written: written.into(), server, database, schema, name, resolved: None }
    }

    #[test]
    fn a_local_base_is_named_as_the_catalog_has_it() {
        let mut base = written("[dbo].[orders]", [None, None, Some("dbo"), Some("orders")]);
        base.resolved = Some(("dbo".into(), "Orders".into(), "U".into()));
        assert_eq!(base.path("Shop"), Some(path(&["Shop", "dbo", "Orders"])));
    }

    #[test]
    fn other_databases_linked_servers_and_dangling_names() {
        let other = written("[Archive].[dbo].[Orders]", [None, Some("Archive"), Some("dbo"), Some("Orders")]);
        assert_eq!(other.path("Shop"), Some(path(&["Archive", "dbo", "Orders"])));
        let remote =
            written("[srv].[Archive].[dbo].[Orders]", [Some("srv"), Some("Archive"), Some("dbo"), Some("Orders")]);
        assert_eq!(remote.path("Shop"), None);
        // Names this database but resolves to nothing: dangling.
        let dangling = written("[Shop].[dbo].[Gone]", [None, Some("shop"), Some("dbo"), Some("Gone")]);
        assert_eq!(dangling.path("Shop"), None);
        let local_gone = written("[dbo].[Gone]", [None, None, Some("dbo"), Some("Gone")]);
        assert_eq!(local_gone.path("Shop"), None);
    }

    #[test]
    fn description_and_definition_name_the_base() {
        let base = written("[Archive].[dbo].[Orders]", [None, Some("Archive"), Some("dbo"), Some("Orders")]);
        assert_eq!(base.description(None), "Synonym for [Archive].[dbo].[Orders].");
        assert_eq!(base.description(Some(" ")), "Synonym for [Archive].[dbo].[Orders].");
        assert_eq!(base.description(Some("Old orders")), "Old orders\n\nSynonym for [Archive].[dbo].[Orders].");
        assert_eq!(
            base.definition("Sales", "Old Orders"),
            "CREATE SYNONYM [Sales].[Old Orders] FOR [Archive].[dbo].[Orders]"
        );
    }

    #[test]
    fn synonyms_of_routines_are_no_tables() {
        assert!(is_table_alias(None));
        assert!(is_table_alias(Some("U")));
        assert!(is_table_alias(Some("V")));
        assert!(!is_table_alias(Some("P")));
        assert!(!is_table_alias(Some("FN")));
        assert!(!is_table_alias(Some("IF")));
    }
}
