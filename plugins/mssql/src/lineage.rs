//! Table-level lineage: what each view reads, from the dependencies SQL
//! Server records when a view is created (one query per batch), and the
//! edge from a synonym's base object to the synonym (`synonyms`). Edges are
//! deferred records: the sink applies them once both ends exist, and
//! reports an end it does not have.

use crate::connections::same_database;
use crate::fields::{Col, Fields, Kind, col, opt};
use std::collections::BTreeSet;
use weir_sdk::{Deferred, EntityKind, LineageEdge, Result};

pub const VIEW_SOURCES: &str = include_str!("sql/view_sources.sql");

/// The result columns of `sql/view_sources.sql`.
pub const VIEW_SOURCE_COLUMNS: &[Col] = &[
    col("schema_name", Kind::Text),
    col("table_name", Kind::Text),
    opt("source_database", Kind::Text),
    opt("source_schema", Kind::Text),
    col("source_name", Kind::Text),
];

/// One object a view reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceRow {
    /// The view.
    pub schema: String,
    pub table: String,
    /// Set when the view names another database of the server.
    pub source_database: Option<String>,
    pub source_schema: Option<String>,
    pub source_name: String,
}

impl SourceRow {
    pub fn read(row: &impl Fields) -> Result<SourceRow> {
        Ok(SourceRow {
            schema: row.get("schema_name")?,
            table: row.get("table_name")?,
            source_database: row.get("source_database")?,
            source_schema: row.get("source_schema")?,
            source_name: row.get("source_name")?,
        })
    }

    /// The source's path in this service. A three-part name that names
    /// the view's own database is this database (database names compare
    /// case-insensitively, as the server's default collations do). No
    /// path without a schema: the object would depend on who asks.
    fn path(&self, database: &str) -> Option<Vec<String>> {
        let schema = self.source_schema.clone()?;
        let db = match &self.source_database {
            Some(other) if !same_database(other, database) => other.clone(),
            _ => database.to_string(),
        };
        Some(vec![db, schema, self.source_name.clone()])
    }
}

/// One edge per distinct source of the view at `view`, in a stable order;
/// none from the view to itself.
pub fn view_edges(database: &str, view: &[String], rows: &[SourceRow]) -> Vec<Deferred> {
    let sources: BTreeSet<Vec<String>> =
        rows.iter().filter_map(|r| r.path(database)).filter(|from| from.as_slice() != view).collect();
    sources.into_iter().map(|from| edge(from, view.to_vec())).collect()
}

/// Data flows from the table at `from` into the table at `to`, both of
/// this service.
pub fn edge(from: Vec<String>, to: Vec<String>) -> Deferred {
    Deferred::Lineage(LineageEdge {
        from_kind: EntityKind::Table,
        from,
        from_service: None,
        to_kind: EntityKind::Table,
        to,
        to_service: None,
        sql: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::fixture::{FixtureRow, assert_selects_all, maybe, text};

    fn path(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    /// A row of view_sources.sql, after learn.microsoft.com
    /// "sys.sql_expression_dependencies" (referenced_database_name and
    /// referenced_schema_name NULL when not written; entity name sysname).
    fn source(database: Option<&str>, schema: Option<&str>, name: &str) -> SourceRow {
        let fixture = FixtureRow::new(
            VIEW_SOURCE_COLUMNS,
            vec![
                ("schema_name", text("Sales")),
                ("table_name", text("vSalesPerson")),
                ("source_database", maybe(database)),
                ("source_schema", maybe(schema)),
                ("source_name", text(name)),
            ],
        );
        SourceRow::read(&fixture).unwrap_or_else(|e| panic!("{}", e.message))
    }

    fn ends(edges: &[Deferred]) -> Vec<(Vec<String>, Vec<String>)> {
        edges
            .iter()
            .filter_map(|d| match d {
                Deferred::Lineage(e) => Some((e.from.clone(), e.to.clone())),
                Deferred::ForeignKey(_) => None,
            })
            .collect()
    }

    #[test]
    fn the_statement_selects_every_column_read() {
        assert_selects_all(VIEW_SOURCES, VIEW_SOURCE_COLUMNS);
    }

    #[test]
    fn one_edge_per_source_local_or_in_another_database() {
        let view = path(&["AdventureWorks", "Sales", "vSalesPerson"]);
        let rows = vec![
            source(None, Some("Sales"), "SalesPerson"),
            source(None, Some("Person"), "Person"),
            // Schema-bound views report a row per column: the same source again.
            source(None, Some("Sales"), "SalesPerson"),
            source(Some("Archive"), Some("dbo"), "OldSales"),
            // Its own database by a three-part name, in another case.
            source(Some("adventureworks"), Some("HumanResources"), "Employee"),
            // No schema: resolved per caller; no edge.
            source(Some("Archive"), None, "Loose"),
        ];
        let edges = ends(&view_edges("AdventureWorks", &view, &rows));
        let from: Vec<Vec<String>> = edges.iter().map(|(f, _)| f.clone()).collect();
        assert_eq!(
            from,
            vec![
                path(&["AdventureWorks", "HumanResources", "Employee"]),
                path(&["AdventureWorks", "Person", "Person"]),
                path(&["AdventureWorks", "Sales", "SalesPerson"]),
                path(&["Archive", "dbo", "OldSales"]),
            ]
        );
        assert!(edges.iter().all(|(_, to)| *to == view));
    }
}
