//! Tables, views and materialized views: three set-based queries per batch
//! (relations with view lineage, columns, constraints) whatever its size,
//! then a pure assembly step.

use crate::columns::{self, ColumnRow};
use crate::constraints::{self, Classified, ConstraintRow};
use crate::{ENGINE, refs};
use std::collections::HashMap;
use weir_sdk::serde_json;
use weir_sdk::sql::{Connection, Row, Value};
use weir_sdk::sql_kit::{Wanted, failure};
use weir_sdk::{
    Batch, Deferred, Entity, EntityKind, Failure, LineageEdge, Partition, Partitioning, Result, Table, TableType,
};

const RELATIONS: &str = include_str!("sql/relations.sql");

/// One row of the relations query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Relation {
    pub schema: String,
    pub name: String,
    /// `pg_class.relkind`.
    pub kind: String,
    pub description: Option<String>,
    pub view_definition: Option<String>,
    pub owner: Option<String>,
    pub column_count: i64,
    pub row_count: Option<i64>,
    pub size_bytes: Option<i64>,
    /// For a view or materialized view: the (schema, name) of each
    /// relation it reads, from the dependency catalog.
    pub sources: Vec<(String, String)>,
    /// A partitioned table's key, key columns and partitions.
    pub partitioning: Option<PartitionRows>,
}

/// A partitioned table as the relations query returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartitionRows {
    /// `pg_get_partkeydef`: `RANGE (payment_date)`.
    pub key: String,
    pub columns: Vec<String>,
    /// (schema, name, bound) of every partition below the table.
    pub partitions: Vec<(String, String, String)>,
}

impl PartitionRows {
    fn into_contract(self) -> Partitioning {
        // The strategy is the key's first word.
        let strategy = self.key.split_whitespace().next().unwrap_or_default().to_ascii_lowercase();
        Partitioning {
            strategy,
            key: self.key,
            columns: self.columns,
            partitions: self
                .partitions
                .into_iter()
                .map(|(schema, name, bound)| Partition { schema, name, bound })
                .collect(),
        }
    }
}

impl Relation {
    fn read(row: &Row<'_>) -> Result<Relation> {
        Ok(Relation {
            schema: row.get("schema")?,
            name: row.get("name")?,
            kind: row.get("kind")?,
            description: row.get("description")?,
            view_definition: row.get("view_definition")?,
            owner: row.get("owner")?,
            column_count: row.get("column_count")?,
            row_count: row.get("row_count")?,
            size_bytes: row.get("size_bytes")?,
            // `[["schema", "name"], ...]`; NULL for tables and for views
            // that read no relation.
            sources: json_list("view sources", row.get("sources")?)?,
            partitioning: partitioning(
                row.get("partition_key")?,
                row.get("partition_columns")?,
                row.get("partitions")?,
            )?,
        })
    }
}

/// The partitioning of a partitioned table, from the relations query's
/// three columns; `None` for anything else.
fn partitioning(
    key: Option<String>,
    columns: Option<String>,
    partitions: Option<String>,
) -> Result<Option<PartitionRows>> {
    let Some(key) = key else { return Ok(None) };
    let columns: Vec<String> = json_list("partition columns", columns)?;
    let partitions: Vec<(String, String, Option<String>)> = json_list("partitions", partitions)?;
    Ok(Some(PartitionRows {
        key,
        columns,
        partitions: partitions.into_iter().map(|(s, n, b)| (s, n, b.unwrap_or_default())).collect(),
    }))
}

/// A `json_agg` array (NULL when it aggregated nothing).
fn json_list<T: weir_sdk::serde::de::DeserializeOwned>(what: &str, text: Option<String>) -> Result<Vec<T>> {
    match text {
        None => Ok(Vec::new()),
        Some(t) => serde_json::from_str(&t).map_err(|e| Failure::permanent(format!("{what} {t:?}: {e}"))),
    }
}

/// Everything the three queries returned for one batch.
#[derive(Debug, Default)]
pub struct Catalog {
    pub relations: Vec<Relation>,
    pub columns: Vec<ColumnRow>,
    pub constraints: Vec<ConstraintRow>,
}

pub fn process(conn: &Connection, database: &str, wanted: &Wanted) -> Result<Batch> {
    let param = [Value::Text(refs::tables_param(&wanted.paths))];
    let read = |sql: &str, what: &str| conn.query(sql, &param).map_err(|e| e.context(format_args!("reading {what}")));
    let catalog = Catalog {
        relations: read(RELATIONS, "tables")?.iter().map(|r| Relation::read(&r)).collect::<Result<_>>()?,
        columns: read(columns::QUERY, "columns")?.iter().map(|r| ColumnRow::read(&r)).collect::<Result<_>>()?,
        constraints: read(constraints::QUERY, "constraints")?
            .iter()
            .map(|r| ConstraintRow::read(&r))
            .collect::<Result<_>>()?,
    };
    Ok(assemble(database, &wanted.paths, catalog))
}

/// OpenMetadata's tableType for a relkind. Unlogged tables are ordinary
/// tables that skip the WAL: still Regular.
pub fn table_type(relkind: &str) -> Option<TableType> {
    match relkind {
        "r" => Some(TableType::Regular),
        "p" => Some(TableType::Partitioned),
        "f" => Some(TableType::Foreign),
        "v" => Some(TableType::View),
        "m" => Some(TableType::MaterializedView),
        _ => None,
    }
}

type Key = (String, String);

/// Builds one entity per wanted path, in order, with its foreign keys; a
/// failure for paths that no longer exist or changed between queries.
pub fn assemble(database: &str, wanted: &[Vec<String>], catalog: Catalog) -> Batch {
    let mut relations: HashMap<Key, Relation> =
        catalog.relations.into_iter().map(|r| ((r.schema.clone(), r.name.clone()), r)).collect();
    let mut columns: HashMap<Key, Vec<ColumnRow>> = HashMap::new();
    for c in catalog.columns {
        columns.entry((c.schema.clone(), c.table.clone())).or_default().push(c);
    }
    let mut constraints: HashMap<Key, Vec<ConstraintRow>> = HashMap::new();
    for c in catalog.constraints {
        constraints.entry((c.schema.clone(), c.table.clone())).or_default().push(c);
    }

    let mut batch = Batch::default();
    for path in wanted {
        let [_, schema, name] = path.as_slice() else {
            continue;
        };
        let key = (schema.clone(), name.clone());
        let Some(relation) = relations.remove(&key) else {
            batch.failures.push(ENGINE.not_found(EntityKind::Table, path));
            continue;
        };
        let Some(table_type) = table_type(&relation.kind) else {
            let message = format!("relkind {:?} is not a table or view", relation.kind);
            batch.failures.push(failure(path, Failure::permanent(message)));
            continue;
        };
        let mut rows = columns.remove(&key).unwrap_or_default();
        rows.sort_by_key(|c| c.attnum);
        if let Some(changed) = ENGINE.changed(path, relation.column_count, rows.len()) {
            batch.failures.push(changed);
            continue;
        }

        // Data flows from each relation a view reads into the view; the
        // sink applies the edge once both exist.
        for (source_schema, source_name) in &relation.sources {
            batch.deferred.push(Deferred::Lineage(LineageEdge {
                from_kind: EntityKind::Table,
                from: vec![database.to_string(), source_schema.clone(), source_name.clone()],
                from_service: None,
                to_kind: EntityKind::Table,
                to: path.clone(),
                to_service: None,
                sql: None,
            }));
        }
        let mut table = Table {
            database: database.to_string(),
            schema: relation.schema,
            name: relation.name,
            table_type,
            description: relation.description,
            columns: rows.iter().zip(1..).map(|(c, position)| c.to_column(position)).collect(),
            constraints: Vec::new(),
            checks: Vec::new(),
            view_definition: relation.view_definition.map(|sql| sql.trim().to_string()),
            partitioning: relation.partitioning.map(PartitionRows::into_contract),
            owner: relation.owner,
            row_count: relation.row_count,
            size_bytes: relation.size_bytes,
        };
        let mut rows = constraints.remove(&key).unwrap_or_default();
        // The primary key first, then by name: stable output for the
        // sink's change detection.
        rows.sort_by(|a, b| (a.kind != "p", &a.name).cmp(&(b.kind != "p", &b.name)));
        for row in rows {
            match constraints::classify(database, path, &row) {
                Some(Classified::Key(k)) => table.constraints.push(k),
                Some(Classified::Check(c)) => table.checks.push(c),
                Some(Classified::Foreign(fk)) => batch.deferred.push(Deferred::ForeignKey(fk)),
                None => {}
            }
        }
        batch.entities.push(Entity::Table(table));
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_sdk::{ConstraintKind, ErrorKind};

    fn path(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn relation(schema: &str, name: &str, kind: &str, columns: i64) -> Relation {
        Relation {
            schema: schema.into(),
            name: name.into(),
            kind: kind.into(),
            column_count: columns,
            owner: Some("postgres".into()),
            ..Relation::default()
        }
    }

    fn column(schema: &str, table: &str, attnum: i32, name: &str, type_name: &str) -> ColumnRow {
        ColumnRow {
            schema: schema.into(),
            table: table.into(),
            attnum,
            name: name.into(),
            display: type_name.into(),
            type_name: type_name.into(),
            type_kind: "b".into(),
            typmod: -1,
            ..ColumnRow::default()
        }
    }

    fn tables(batch: &Batch) -> Vec<&Table> {
        batch
            .entities
            .iter()
            .filter_map(|e| match e {
                Entity::Table(t) => Some(t),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn builds_tables_in_request_order_and_reports_missing_ones() {
        let wanted =
            vec![path(&["db", "public", "payment"]), path(&["db", "public", "gone"]), path(&["db", "Edge Cases", "v"])];
        let mut payment = relation("public", "payment", "p", 2);
        payment.row_count = Some(16049);
        let mut view = relation("Edge Cases", "v", "v", 1);
        view.view_definition = Some(" SELECT 1 AS one;".into());
        let catalog = Catalog {
            relations: vec![view, payment],
            // Unordered, and attnum 2 was dropped.
            columns: vec![
                column("public", "payment", 3, "payment_date", "timestamptz"),
                column("Edge Cases", "v", 1, "one", "int4"),
                column("public", "payment", 1, "payment_id", "int4"),
            ],
            constraints: vec![
                ConstraintRow {
                    schema: "public".into(),
                    table: "payment".into(),
                    name: "a_unique".into(),
                    kind: "u".into(),
                    columns: vec!["payment_id".into()],
                    ..ConstraintRow::default()
                },
                ConstraintRow {
                    schema: "public".into(),
                    table: "payment".into(),
                    name: "payment_pkey".into(),
                    kind: "p".into(),
                    columns: vec!["payment_date".into(), "payment_id".into()],
                    ..ConstraintRow::default()
                },
                ConstraintRow {
                    schema: "public".into(),
                    table: "payment".into(),
                    name: "payment_self_fkey".into(),
                    kind: "f".into(),
                    columns: vec!["payment_id".into()],
                    referred_schema: Some("public".into()),
                    referred_table: Some("payment".into()),
                    referred_columns: vec!["payment_id".into()],
                    ..ConstraintRow::default()
                },
            ],
        };
        let batch = assemble("db", &wanted, catalog);

        let tables = tables(&batch);
        assert_eq!(tables.len(), 2);
        let payment = tables[0];
        assert_eq!((payment.schema.as_str(), payment.name.as_str()), ("public", "payment"));
        assert!(matches!(payment.table_type, TableType::Partitioned));
        assert_eq!(payment.row_count, Some(16049));
        let positions: Vec<(&str, u32)> =
            payment.columns.iter().map(|c| (c.name.as_str(), c.ordinal_position)).collect();
        assert_eq!(positions, vec![("payment_id", 1), ("payment_date", 2)]);
        assert_eq!(payment.columns[1].data_type, "TIMESTAMPZ");
        assert_eq!(payment.constraints.len(), 2);
        assert!(matches!(payment.constraints[0].kind, ConstraintKind::PrimaryKey));
        assert!(matches!(payment.constraints[1].kind, ConstraintKind::Unique));

        let view = tables[1];
        assert!(matches!(view.table_type, TableType::View));
        assert_eq!(view.view_definition.as_deref(), Some("SELECT 1 AS one;"));

        assert_eq!(batch.failures.len(), 1);
        assert_eq!(batch.failures[0].path, wanted[1]);
        assert!(matches!(batch.failures[0].error.kind, ErrorKind::Permanent));

        assert_eq!(batch.deferred.len(), 1);
        match &batch.deferred[0] {
            Deferred::ForeignKey(fk) => {
                assert_eq!(fk.table, wanted[0]);
                assert_eq!(fk.referred_table, wanted[0]);
            }
            _ => panic!("not a foreign key"),
        }
    }

    #[test]
    fn a_table_altered_between_queries_is_a_transient_failure() {
        let wanted = vec![path(&["db", "s", "t"]), path(&["db", "s", "empty"])];
        let catalog = Catalog {
            relations: vec![relation("s", "t", "r", 3), relation("s", "empty", "r", 0)],
            columns: vec![column("s", "t", 1, "a", "int4"), column("s", "t", 2, "b", "int4")],
            constraints: vec![],
        };
        let batch = assemble("db", &wanted, catalog);
        assert_eq!(batch.failures.len(), 1);
        assert!(matches!(batch.failures[0].error.kind, ErrorKind::Transient));
        // A table with no columns at all is legal and not a race.
        let tables = tables(&batch);
        assert_eq!(tables.len(), 1);
        assert_eq!(tables[0].name, "empty");
        assert!(tables[0].columns.is_empty());
    }

    #[test]
    fn views_get_a_lineage_edge_per_source() {
        let wanted = vec![path(&["db", "sales", "v2"]), path(&["db", "sales", "customer"])];
        let mut view = relation("sales", "v2", "v", 0);
        view.sources = vec![("sales".into(), "v1".into()), ("Edge Cases".into(), "My.Table".into())];
        let catalog = Catalog { relations: vec![view, relation("sales", "customer", "r", 0)], ..Catalog::default() };
        let batch = assemble("db", &wanted, catalog);
        assert_eq!(batch.entities.len(), 2);
        let edges: Vec<(&[String], &[String])> = batch
            .deferred
            .iter()
            .filter_map(|d| match d {
                Deferred::Lineage(e) => {
                    assert!(matches!((e.from_kind, e.to_kind), (EntityKind::Table, EntityKind::Table)));
                    assert!(e.sql.is_none());
                    Some((e.from.as_slice(), e.to.as_slice()))
                }
                _ => None,
            })
            .collect();
        let v1 = path(&["db", "sales", "v1"]);
        let odd = path(&["db", "Edge Cases", "My.Table"]);
        assert_eq!(edges, vec![(v1.as_slice(), wanted[0].as_slice()), (odd.as_slice(), wanted[0].as_slice())]);
    }

    #[test]
    fn json_lists_parse() {
        let sources = |t: Option<&str>| json_list::<(String, String)>("view sources", t.map(str::to_string));
        assert_eq!(sources(None).ok(), Some(vec![]));
        let parsed = sources(Some(r#"[["sales", "v1"], ["odd.schema", "a \"b\""]]"#)).ok();
        assert_eq!(parsed, Some(vec![("sales".into(), "v1".into()), ("odd.schema".into(), "a \"b\"".into())]));
        assert!(sources(Some(r#"[["only one"]]"#)).is_err());
    }

    #[test]
    fn partitioning_reads_key_columns_and_partitions() {
        let rows = partitioning(
            Some("RANGE (payment_date)".into()),
            Some(r#"["payment_date"]"#.into()),
            Some(r#"[["public", "p2022_01", "FOR VALUES FROM ('2022-01-01') TO ('2022-02-01')"]]"#.into()),
        )
        .ok()
        .flatten()
        .map(PartitionRows::into_contract);
        let p = rows.unwrap_or_else(|| panic!("no partitioning"));
        assert_eq!(p.strategy, "range");
        assert_eq!(p.columns, vec!["payment_date".to_string()]);
        assert_eq!(p.partitions.len(), 1);
        assert_eq!(p.partitions[0].name, "p2022_01");
        assert!(matches!(partitioning(None, None, None), Ok(None)), "not partitioned");
    }

    #[test]
    fn table_types() {
        assert!(matches!(table_type("r"), Some(TableType::Regular)));
        assert!(matches!(table_type("p"), Some(TableType::Partitioned)));
        assert!(matches!(table_type("f"), Some(TableType::Foreign)));
        assert!(matches!(table_type("v"), Some(TableType::View)));
        assert!(matches!(table_type("m"), Some(TableType::MaterializedView)));
        assert!(table_type("i").is_none());
    }
}
