//! Tables, views, indexed views and synonyms: six set-based queries per
//! batch and database (objects, columns, keys, foreign keys, checks, view
//! sources) whatever its size (up to `refs::MAX_SLOTS` refs; a larger batch
//! takes six per chunk of that size), then a pure assembly step.

use crate::columns::{self, ColumnRow};
use crate::constraints::{self, CheckRow, ForeignKeyRow, KeyRow};
use crate::definitions;
use crate::fields::{self, Col, Fields, Kind, col, opt};
use crate::lineage::{self, SourceRow};
use crate::synonyms::Base;
use crate::{ENGINE, refs};
use std::collections::{HashMap, HashSet};
use weir_sdk::sql::Connection;
use weir_sdk::sql_kit::{Wanted, failure};
use weir_sdk::{Batch, Deferred, Entity, EntityKind, Failure, Result, Table, TableType};

pub const QUERY: &str = include_str!("sql/tables.sql");

/// The result columns of `sql/tables.sql`.
pub const TABLE_COLUMNS: &[Col] = &[
    col("schema_name", Kind::Text),
    col("table_name", Kind::Text),
    col("object_type", Kind::Text),
    col("is_indexed_view", Kind::Boolean),
    opt("description", Kind::Text),
    opt("definition", Kind::Text),
    col("is_encrypted", Kind::Boolean),
    opt("owner_name", Kind::Text),
    col("column_count", Kind::Int),
    opt("row_count", Kind::Int),
    opt("size_bytes", Kind::Int),
    opt("base_object_name", Kind::Text),
    opt("base_server", Kind::Text),
    opt("base_database", Kind::Text),
    opt("base_schema", Kind::Text),
    opt("base_name", Kind::Text),
    opt("resolved_schema", Kind::Text),
    opt("resolved_name", Kind::Text),
    opt("resolved_type", Kind::Text),
];

/// One row of the tables query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableRow {
    pub schema: String,
    pub name: String,
    /// `sys.objects.type`, trimmed: `U`, `ET`, `V` or `SN`.
    pub object_type: String,
    pub indexed_view: bool,
    pub description: Option<String>,
    pub definition: Option<String>,
    pub encrypted: bool,
    pub owner: Option<String>,
    pub column_count: i64,
    pub row_count: Option<i64>,
    pub size_bytes: Option<i64>,
    /// Set for a synonym.
    pub base: Option<Base>,
}

impl TableRow {
    pub fn read(row: &impl Fields) -> Result<TableRow> {
        let base = match row.get::<Option<String>>("base_object_name")? {
            None => None,
            Some(written) => {
                let resolved_schema: Option<String> = row.get("resolved_schema")?;
                let resolved_name: Option<String> = row.get("resolved_name")?;
                let resolved_type: Option<String> = row.get("resolved_type")?;
                Some(Base {
                    written,
                    server: row.get("base_server")?,
                    database: row.get("base_database")?,
                    schema: row.get("base_schema")?,
                    name: row.get("base_name")?,
                    resolved: match (resolved_schema, resolved_name, resolved_type) {
                        (Some(schema), Some(name), Some(kind)) => Some((schema, name, kind)),
                        _ => None,
                    },
                })
            }
        };
        Ok(TableRow {
            schema: row.get("schema_name")?,
            name: row.get("table_name")?,
            object_type: row.get("object_type")?,
            indexed_view: row.get("is_indexed_view")?,
            description: row.get("description")?,
            definition: row.get("definition")?,
            encrypted: row.get("is_encrypted")?,
            owner: row.get("owner_name")?,
            column_count: row.get("column_count")?,
            row_count: row.get("row_count")?,
            size_bytes: row.get("size_bytes")?,
            base,
        })
    }
}

/// Everything the queries returned for one batch.
#[derive(Debug, Default)]
pub struct Catalog {
    pub tables: Vec<TableRow>,
    pub columns: Vec<ColumnRow>,
    pub keys: Vec<KeyRow>,
    pub foreign_keys: Vec<ForeignKeyRow>,
    pub checks: Vec<CheckRow>,
    pub sources: Vec<SourceRow>,
}

impl Catalog {
    fn extend(&mut self, other: Catalog) {
        self.tables.extend(other.tables);
        self.columns.extend(other.columns);
        self.keys.extend(other.keys);
        self.foreign_keys.extend(other.foreign_keys);
        self.checks.extend(other.checks);
        self.sources.extend(other.sources);
    }
}

pub fn process(conn: &Connection, database: &str, wanted: &Wanted) -> Result<Batch> {
    let mut catalog = Catalog::default();
    for chunk in wanted.paths.chunks(refs::MAX_SLOTS) {
        catalog.extend(read(conn, chunk)?);
    }
    Ok(assemble(database, wanted, catalog))
}

/// The six queries, for at most `refs::MAX_SLOTS` paths.
fn read(conn: &Connection, paths: &[Vec<String>]) -> Result<Catalog> {
    let params = refs::objects_param(paths);
    let run = |sql: &str, what: &str| conn.query(sql, &params).map_err(|e| e.context(format_args!("reading {what}")));
    Ok(Catalog {
        tables: fields::read_all(&run(QUERY, "tables")?, TABLE_COLUMNS, "tables", |r| TableRow::read(r))?,
        columns: fields::read_all(&run(columns::QUERY, "columns")?, columns::COLUMNS, "columns", |r| {
            ColumnRow::read(r)
        })?,
        keys: fields::read_all(&run(constraints::KEYS, "keys")?, constraints::KEY_COLUMNS, "keys", |r| {
            KeyRow::read(r)
        })?,
        foreign_keys: fields::read_all(
            &run(constraints::FOREIGN_KEYS, "foreign keys")?,
            constraints::FOREIGN_KEY_COLUMNS,
            "foreign keys",
            |r| ForeignKeyRow::read(r),
        )?,
        checks: fields::read_all(
            &run(constraints::CHECKS, "check constraints")?,
            constraints::CHECK_COLUMNS,
            "check constraints",
            |r| CheckRow::read(r),
        )?,
        sources: fields::read_all(
            &run(lineage::VIEW_SOURCES, "view sources")?,
            lineage::VIEW_SOURCE_COLUMNS,
            "view sources",
            |r| SourceRow::read(r),
        )?,
    })
}

/// OpenMetadata's tableType for a sys.objects type.
pub fn table_type(object_type: &str, indexed_view: bool) -> Option<TableType> {
    match object_type.trim() {
        "U" => Some(TableType::Regular),
        // PolyBase: the rows live in Hadoop, blob storage or another server.
        "ET" => Some(TableType::External),
        // A view with a unique clustered index: its rows are stored and
        // kept current, as a materialized view's are.
        "V" if indexed_view => Some(TableType::MaterializedView),
        "V" => Some(TableType::View),
        // See `synonyms`: an alias resolved on use, as a view is.
        "SN" => Some(TableType::View),
        _ => None,
    }
}

type Key = (String, String);

/// Groups rows by the (schema, name) they belong to, keeping only the
/// objects asked for: the queries filter by name already, but a replayed
/// or widened answer must not leak other objects into the batch.
fn group<T>(rows: Vec<T>, wanted: &HashSet<(&str, &str)>, key: impl Fn(&T) -> (&str, &str)) -> HashMap<Key, Vec<T>> {
    let mut groups: HashMap<Key, Vec<T>> = HashMap::new();
    for row in rows {
        let (schema, name) = key(&row);
        if wanted.contains(&(schema, name)) {
            let key = (schema.to_string(), name.to_string());
            groups.entry(key).or_default().push(row);
        }
    }
    groups
}

/// Builds one entity per wanted path, in order, with its foreign keys and
/// lineage; a failure for paths that no longer exist or changed between
/// queries.
pub fn assemble(database: &str, wanted: &Wanted, catalog: Catalog) -> Batch {
    let objects = wanted.objects();
    let mut tables = group(catalog.tables, &objects, |r| (&r.schema, &r.name));
    let mut columns = group(catalog.columns, &objects, |r| (&r.schema, &r.table));
    let mut keys = group(catalog.keys, &objects, |r| (&r.schema, &r.table));
    let mut foreign_keys = group(catalog.foreign_keys, &objects, |r| (&r.schema, &r.table));
    let mut checks = group(catalog.checks, &objects, |r| (&r.schema, &r.table));
    let mut sources = group(catalog.sources, &objects, |r| (&r.schema, &r.table));

    let mut batch = Batch::default();
    for path in &wanted.paths {
        let [_, schema, name] = path.as_slice() else {
            continue;
        };
        let key = (schema.clone(), name.clone());
        let Some(row) = tables.remove(&key).and_then(|rows| rows.into_iter().next()) else {
            batch.failures.push(ENGINE.not_found(EntityKind::Table, path));
            continue;
        };
        let Some(table_type) = table_type(&row.object_type, row.indexed_view) else {
            let message = format!("object type {:?} is not a table, view or synonym", row.object_type);
            batch.failures.push(failure(path, Failure::permanent(message)));
            continue;
        };
        let mut column_rows = columns.remove(&key).unwrap_or_default();
        column_rows.sort_by_key(|c| c.column_id);
        if let Some(changed) = ENGINE.changed(path, row.column_count, column_rows.len()) {
            batch.failures.push(changed);
            continue;
        }

        let (description, view_definition) = match &row.base {
            Some(base) => {
                if let Some(from) = base.path(database) {
                    batch.deferred.push(lineage::edge(from, path.clone()));
                }
                (Some(base.description(row.description.as_deref())), Some(base.definition(&row.schema, &row.name)))
            }
            None if row.object_type.trim() == "V" => {
                let rows = sources.remove(&key).unwrap_or_default();
                batch.deferred.extend(lineage::view_edges(database, path, &rows));
                (row.description, Some(definitions::text(row.definition.as_deref(), row.encrypted)))
            }
            None => (row.description, None),
        };
        for fk in constraints::foreign_keys(database, path, foreign_keys.remove(&key).unwrap_or_default()) {
            batch.deferred.push(Deferred::ForeignKey(fk));
        }
        batch.entities.push(Entity::Table(Table {
            database: database.to_string(),
            schema: row.schema,
            name: row.name,
            table_type,
            description,
            columns: column_rows.iter().zip(1..).map(|(c, position)| c.to_column(position)).collect(),
            constraints: constraints::keys(keys.remove(&key).unwrap_or_default()),
            checks: constraints::checks(checks.remove(&key).unwrap_or_default()),
            view_definition,
            partitioning: None,
            owner: row.owner,
            row_count: row.row_count,
            size_bytes: row.size_bytes,
        }));
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::columns::COLUMNS;
    use crate::constraints::{FOREIGN_KEY_COLUMNS, KEY_COLUMNS};
    use crate::fields::fixture::{FixtureRow, assert_selects_all, bit, int, maybe, null, text};
    use crate::lineage::VIEW_SOURCE_COLUMNS;
    use weir_sdk::sql::Value;
    use weir_sdk::{ConstraintKind, ErrorKind};

    const DB: &str = "AdventureWorks";

    fn path(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn wanted(paths: &[&[&str]]) -> Wanted {
        Wanted::of_paths(paths.iter().map(|p| path(p)).collect())
    }

    /// A row of tables.sql for a table or view, after learn.microsoft.com
    /// "sys.objects (Transact-SQL)" (type char(2), trimmed by the query),
    /// "sys.extended_properties" (value sql_variant, cast to nvarchar(max)),
    /// "sys.sql_modules" (definition nvarchar(max), NULL when encrypted)
    /// and "sys.partitions" (rows bigint, summed): as the host delivers
    /// them, bits as Boolean, counts as Int.
    fn object(schema: &str, name: &str, object_type: &str, columns: i64) -> Vec<(&'static str, Value)> {
        vec![
            ("schema_name", text(schema)),
            ("table_name", text(name)),
            ("object_type", text(object_type)),
            ("is_indexed_view", bit(false)),
            ("description", null()),
            ("definition", null()),
            ("is_encrypted", bit(false)),
            ("owner_name", text("dbo")),
            ("column_count", int(columns)),
            ("row_count", null()),
            ("size_bytes", null()),
            ("base_object_name", null()),
            ("base_server", null()),
            ("base_database", null()),
            ("base_schema", null()),
            ("base_name", null()),
            ("resolved_schema", null()),
            ("resolved_name", null()),
            ("resolved_type", null()),
        ]
    }

    fn set(mut values: Vec<(&'static str, Value)>, changes: Vec<(&str, Value)>) -> Vec<(&'static str, Value)> {
        for (column, value) in changes {
            match values.iter_mut().find(|(name, _)| *name == column) {
                Some(slot) => slot.1 = value,
                None => panic!("no column {column}"),
            }
        }
        values
    }

    fn table_row(values: Vec<(&'static str, Value)>) -> TableRow {
        TableRow::read(&FixtureRow::new(TABLE_COLUMNS, values)).unwrap_or_else(|e| panic!("{}", e.message))
    }

    /// A row of columns.sql (see columns.rs for the sys.columns shapes).
    fn column(schema: &str, table: &str, id: i64, name: &str, type_name: &str, max_length: i64) -> ColumnRow {
        let values = vec![
            ("schema_name", text(schema)),
            ("table_name", text(table)),
            ("column_id", int(id)),
            ("column_name", text(name)),
            ("type_name", text(type_name)),
            ("is_user_defined", bit(false)),
            ("base_type_name", null()),
            ("max_length", int(max_length)),
            ("numeric_precision", int(0)),
            ("numeric_scale", int(0)),
            ("is_nullable", bit(false)),
            ("default_definition", null()),
            ("is_identity", bit(false)),
            ("computed_definition", null()),
            ("generated_always", text("NOT_APPLICABLE")),
            ("description", null()),
        ];
        ColumnRow::read(&FixtureRow::new(COLUMNS, values)).unwrap_or_else(|e| panic!("{}", e.message))
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

    fn edges(batch: &Batch) -> Vec<(Vec<String>, Vec<String>)> {
        batch
            .deferred
            .iter()
            .filter_map(|d| match d {
                Deferred::Lineage(e) => Some((e.from.clone(), e.to.clone())),
                Deferred::ForeignKey(_) => None,
            })
            .collect()
    }

    #[test]
    fn the_statement_selects_every_column_read() {
        assert_selects_all(QUERY, TABLE_COLUMNS);
    }

    #[test]
    fn table_with_description_row_count_keys_and_foreign_key() {
        let w = wanted(&[&[DB, "Sales", "SalesOrderDetail"], &[DB, "Sales", "Gone"]]);
        // Row count: the heap or clustered index rows of every partition,
        // summed by the query (sys.partitions, index_id 0 or 1).
        let detail = table_row(set(
            object("Sales", "SalesOrderDetail", "U", 2),
            vec![
                ("description", maybe(Some("Individual products associated with a specific sales order."))),
                ("row_count", int(121_317)),
                ("size_bytes", int(17_825_792)),
            ],
        ));
        let mut detail_id = column("Sales", "SalesOrderDetail", 2, "SalesOrderDetailID", "int", 4);
        detail_id.description = Some("Primary key. One incremental unique number per product sold.".into());
        let key = |ordinal: i64, column: &str| {
            let values = vec![
                ("schema_name", text("Sales")),
                ("table_name", text("SalesOrderDetail")),
                ("constraint_name", text("PK_SalesOrderDetail")),
                ("constraint_type", text("PK")),
                ("key_ordinal", int(ordinal)),
                ("column_name", text(column)),
            ];
            KeyRow::read(&FixtureRow::new(KEY_COLUMNS, values)).unwrap_or_else(|e| panic!("{}", e.message))
        };
        let fk = ForeignKeyRow::read(&FixtureRow::new(
            FOREIGN_KEY_COLUMNS,
            vec![
                ("schema_name", text("Sales")),
                ("table_name", text("SalesOrderDetail")),
                ("constraint_name", text("FK_SalesOrderDetail_SalesOrderHeader")),
                ("key_ordinal", int(1)),
                ("column_name", text("SalesOrderID")),
                ("referred_schema", text("Sales")),
                ("referred_table", text("SalesOrderHeader")),
                ("referred_column", text("SalesOrderID")),
            ],
        ))
        .unwrap_or_else(|e| panic!("{}", e.message));
        let catalog = Catalog {
            tables: vec![detail],
            // Unordered; column 1 .. a dropped column left a gap.
            columns: vec![detail_id, column("Sales", "SalesOrderDetail", 1, "SalesOrderID", "int", 4)],
            keys: vec![key(2, "SalesOrderDetailID"), key(1, "SalesOrderID")],
            foreign_keys: vec![fk],
            ..Catalog::default()
        };
        let batch = assemble(DB, &w, catalog);
        let found = tables(&batch);
        assert_eq!(found.len(), 1);
        let t = found[0];
        assert!(matches!(t.table_type, TableType::Regular));
        assert_eq!(t.description.as_deref(), Some("Individual products associated with a specific sales order."));
        assert_eq!((t.row_count, t.size_bytes, t.owner.as_deref()), (Some(121_317), Some(17_825_792), Some("dbo")));
        let names: Vec<(&str, u32)> = t.columns.iter().map(|c| (c.name.as_str(), c.ordinal_position)).collect();
        assert_eq!(names, vec![("SalesOrderID", 1), ("SalesOrderDetailID", 2)]);
        assert_eq!(
            t.columns[1].description.as_deref(),
            Some("Primary key. One incremental unique number per product sold.")
        );
        assert_eq!(t.constraints.len(), 1);
        assert!(matches!(t.constraints[0].kind, ConstraintKind::PrimaryKey));
        assert_eq!(t.constraints[0].columns, vec!["SalesOrderID".to_string(), "SalesOrderDetailID".into()]);
        assert!(t.view_definition.is_none());
        match batch.deferred.as_slice() {
            [Deferred::ForeignKey(fk)] => {
                assert_eq!(fk.table, w.paths[0]);
                assert_eq!(fk.referred_table, path(&[DB, "Sales", "SalesOrderHeader"]));
            }
            other => panic!("{} deferred", other.len()),
        }
        assert_eq!(batch.failures.len(), 1);
        assert_eq!(batch.failures[0].path, w.paths[1]);
        assert!(matches!(batch.failures[0].error.kind, ErrorKind::Permanent));
    }

    #[test]
    fn indexed_view_is_materialized_and_plain_view_gets_lineage() {
        let w = wanted(&[&[DB, "Sales", "vOrderTotals"], &[DB, "Sales", "vSalesPerson"]]);
        let indexed = table_row(set(
            object("Sales", "vOrderTotals", "V", 1),
            vec![
                ("is_indexed_view", bit(true)),
                ("definition", text("CREATE VIEW Sales.vOrderTotals WITH SCHEMABINDING AS SELECT ...\r\n")),
                // An indexed view stores rows: its clustered index counts them.
                ("row_count", int(31_465)),
            ],
        ));
        let plain = table_row(set(
            object("Sales", "vSalesPerson", "V", 1),
            vec![("definition", text("CREATE VIEW Sales.vSalesPerson AS SELECT ..."))],
        ));
        let source = SourceRow::read(&FixtureRow::new(
            VIEW_SOURCE_COLUMNS,
            vec![
                ("schema_name", text("Sales")),
                ("table_name", text("vSalesPerson")),
                ("source_database", null()),
                ("source_schema", text("Sales")),
                ("source_name", text("SalesPerson")),
            ],
        ))
        .unwrap_or_else(|e| panic!("{}", e.message));
        let catalog = Catalog {
            tables: vec![indexed, plain],
            columns: vec![
                column("Sales", "vOrderTotals", 1, "Total", "money", 8),
                column("Sales", "vSalesPerson", 1, "Name", "nvarchar", 100),
            ],
            sources: vec![source],
            ..Catalog::default()
        };
        let batch = assemble(DB, &w, catalog);
        let found = tables(&batch);
        assert!(matches!(found[0].table_type, TableType::MaterializedView));
        assert_eq!(
            found[0].view_definition.as_deref(),
            Some("CREATE VIEW Sales.vOrderTotals WITH SCHEMABINDING AS SELECT ...")
        );
        assert_eq!(found[0].row_count, Some(31_465));
        assert!(matches!(found[1].table_type, TableType::View));
        assert_eq!(edges(&batch), vec![(path(&[DB, "Sales", "SalesPerson"]), w.paths[1].clone())]);
    }

    #[test]
    fn encrypted_view_says_so() {
        let w = wanted(&[&[DB, "dbo", "vSecret"]]);
        let row = table_row(set(object("dbo", "vSecret", "V", 0), vec![("is_encrypted", bit(true))]));
        let batch = assemble(DB, &w, Catalog { tables: vec![row], ..Catalog::default() });
        let definition = tables(&batch)[0].view_definition.clone().unwrap_or_default();
        assert!(definition.contains("WITH ENCRYPTION"), "{definition}");
    }

    #[test]
    fn synonym_is_a_view_with_its_base_columns_and_lineage() {
        let w = wanted(&[&[DB, "dbo", "Orders"], &[DB, "dbo", "OldOrders"]]);
        // After learn.microsoft.com "sys.synonyms": base_object_name
        // nvarchar(1035) as written; the query splits it with PARSENAME
        // and resolves it with OBJECT_ID.
        let local = table_row(set(
            object("dbo", "Orders", "SN", 2),
            vec![
                ("base_object_name", text("[Sales].[SalesOrderHeader]")),
                ("base_schema", text("Sales")),
                ("base_name", text("SalesOrderHeader")),
                ("resolved_schema", text("Sales")),
                ("resolved_name", text("SalesOrderHeader")),
                ("resolved_type", text("U")),
                ("description", text("Kept for the old reports.")),
            ],
        ));
        let elsewhere = table_row(set(
            object("dbo", "OldOrders", "SN", 0),
            vec![
                ("base_object_name", text("[Archive].[dbo].[Orders]")),
                ("base_database", text("Archive")),
                ("base_schema", text("dbo")),
                ("base_name", text("Orders")),
            ],
        ));
        let catalog = Catalog {
            tables: vec![local, elsewhere],
            // The columns query gives a synonym its base's columns, under
            // the synonym's own name.
            columns: vec![
                column("dbo", "Orders", 1, "SalesOrderID", "int", 4),
                column("dbo", "Orders", 4, "OrderDate", "datetime", 8),
            ],
            ..Catalog::default()
        };
        let batch = assemble(DB, &w, catalog);
        assert!(batch.failures.is_empty(), "{:?}", batch.failures.iter().map(|f| &f.error.message).collect::<Vec<_>>());
        let found = tables(&batch);
        let orders = found[0];
        assert!(matches!(orders.table_type, TableType::View));
        assert_eq!(orders.columns.len(), 2);
        assert_eq!(orders.columns[1].data_type, "DATETIME");
        assert_eq!(
            orders.description.as_deref(),
            Some("Kept for the old reports.\n\nSynonym for [Sales].[SalesOrderHeader].")
        );
        assert_eq!(
            orders.view_definition.as_deref(),
            Some("CREATE SYNONYM [dbo].[Orders] FOR [Sales].[SalesOrderHeader]")
        );
        assert_eq!(orders.row_count, None);
        let old = found[1];
        assert!(old.columns.is_empty());
        assert_eq!(old.description.as_deref(), Some("Synonym for [Archive].[dbo].[Orders]."));
        assert_eq!(
            edges(&batch),
            vec![
                (path(&[DB, "Sales", "SalesOrderHeader"]), w.paths[0].clone()),
                (path(&["Archive", "dbo", "Orders"]), w.paths[1].clone()),
            ]
        );
    }

    #[test]
    fn an_object_altered_between_queries_is_a_transient_failure() {
        let w = wanted(&[&[DB, "dbo", "t"], &[DB, "dbo", "empty"]]);
        let catalog = Catalog {
            tables: vec![table_row(object("dbo", "t", "U", 3)), table_row(object("dbo", "empty", "U", 0))],
            columns: vec![column("dbo", "t", 1, "a", "int", 4), column("dbo", "t", 2, "b", "int", 4)],
            ..Catalog::default()
        };
        let batch = assemble(DB, &w, catalog);
        assert_eq!(batch.failures.len(), 1);
        assert!(matches!(batch.failures[0].error.kind, ErrorKind::Transient));
        let found = tables(&batch);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name, "empty");
    }

    #[test]
    fn rows_of_objects_not_asked_for_are_ignored() {
        // A replayed answer holding every object of the database.
        let w = wanted(&[&[DB, "dbo", "t"]]);
        let catalog = Catalog {
            tables: vec![table_row(object("dbo", "other", "U", 1)), table_row(object("dbo", "t", "U", 1))],
            columns: vec![column("dbo", "other", 1, "x", "int", 4), column("dbo", "t", 1, "a", "int", 4)],
            ..Catalog::default()
        };
        let batch = assemble(DB, &w, catalog);
        let found = tables(&batch);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].name.as_str(), found[0].columns.len()), ("t", 1));
        assert!(batch.failures.is_empty());
    }

    #[test]
    fn table_types() {
        assert!(matches!(table_type("U", false), Some(TableType::Regular)));
        assert!(matches!(table_type("ET", false), Some(TableType::External)));
        assert!(matches!(table_type("V", false), Some(TableType::View)));
        assert!(matches!(table_type("V", true), Some(TableType::MaterializedView)));
        assert!(matches!(table_type("SN", false), Some(TableType::View)));
        assert!(matches!(table_type("U ", false), Some(TableType::Regular)));
        assert!(table_type("P", false).is_none());
    }
}
