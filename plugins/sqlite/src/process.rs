//! `process`: a batch of references in, entities out.
//!
//! Databases and schemas need no query: a SQLite file has exactly one of
//! each, named from the configuration. Tables and views take the four
//! queries of [`fetch`](crate::fetch), whatever the batch size; everything
//! after that is pure code over the rows.

use crate::ddl::{self, Check, TableDdl};
use crate::fetch::{self, Catalog, ColumnRow, ForeignKeyRow, IndexRow, Object, ObjectType};
use crate::names::{SCHEMA, database_name};
use crate::types::map_declared_type;
use std::collections::{HashMap, HashSet};
use weir_sdk::{
    Batch, CheckConstraint, Column, Config, ConstraintKind, Database, DatabaseSchema, Deferred, Entity, EntityFailure,
    EntityKind, EntityRef, Failure, ForeignKey, Result, Table, TableConstraint, TableType, log,
};

pub fn process(config: &Config, refs: Vec<EntityRef>) -> Result<Batch> {
    let db = database_name(config);
    let mut batch = Batch::default();
    let tables = triage(&db, refs, &mut batch);
    if tables.is_empty() {
        return Ok(batch);
    }
    let conn = fetch::open()?;
    let catalog = fetch::fetch(&conn, &tables)?;
    for note in assemble(&db, &tables, &catalog, &mut batch) {
        log::log(log::Level::Warn, &note, &[]);
    }
    Ok(batch)
}

/// Answers the references that need no query (databases, schemas, paths
/// that cannot exist) straight into `batch`, and returns the table and view
/// names left to read, each once.
pub fn triage(db: &str, refs: Vec<EntityRef>, batch: &mut Batch) -> Vec<String> {
    let mut tables: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    for r in refs {
        let path: Vec<&str> = r.path.iter().map(String::as_str).collect();
        match (r.kind, path.as_slice()) {
            (EntityKind::Database, [name]) if *name == db => {
                batch.entities.push(Entity::Database(Database { name: db.to_string(), description: None }));
            }
            (EntityKind::DatabaseSchema, [d, s]) if *d == db && *s == SCHEMA => {
                batch.entities.push(Entity::DatabaseSchema(DatabaseSchema {
                    database: db.to_string(),
                    name: SCHEMA.to_string(),
                    description: None,
                }));
            }
            (EntityKind::Table, [d, s, name]) if *d == db && *s == SCHEMA => {
                if seen.insert(name.to_string()) {
                    tables.push(name.to_string());
                }
            }
            (EntityKind::Database | EntityKind::DatabaseSchema | EntityKind::Table, _) => {
                batch.failures.push(not_found(r.path));
            }
            (kind, _) => batch.failures.push(EntityFailure {
                path: r.path,
                error: Failure::permanent(format!("the sqlite plugin does not produce {kind:?} entities")),
            }),
        }
    }
    tables
}

fn not_found(path: Vec<String>) -> EntityFailure {
    let error = Failure::permanent(format!("not found: `{}` does not exist in the source", path.join(".")));
    EntityFailure { path, error }
}

/// Turns the catalog rows into one entity (or failure) per requested name,
/// in request order, plus their foreign keys. Returns notes worth a log
/// line.
pub fn assemble(db: &str, names: &[String], catalog: &Catalog, batch: &mut Batch) -> Vec<String> {
    let objects: HashMap<&str, &Object> = catalog.objects.iter().map(|o| (o.name.as_str(), o)).collect();
    let failures: HashMap<&str, &Failure> = catalog.failures.iter().map(|(n, f)| (n.as_str(), f)).collect();
    let columns = group(&catalog.columns, |c| &c.table);
    let indexes = group(&catalog.indexes, |i| &i.table);
    let foreign_keys = group(&catalog.foreign_keys, |f| &f.table);
    let mut notes = Vec::new();

    for name in names {
        let path = vec![db.to_string(), SCHEMA.to_string(), name.clone()];
        if let Some(failure) = failures.get(name.as_str()) {
            batch.failures.push(EntityFailure { path, error: (*failure).clone() });
            continue;
        }
        let Some(object) = objects.get(name.as_str()) else {
            batch.failures.push(not_found(path));
            continue;
        };
        let table = build_table(db, object, rows_of(&columns, name), rows_of(&indexes, name));
        batch.entities.push(Entity::Table(table));
        let (keys, mut skipped) = build_foreign_keys(db, name, rows_of(&foreign_keys, name));
        batch.deferred.extend(keys.into_iter().map(Deferred::ForeignKey));
        notes.append(&mut skipped);
    }
    notes
}

fn rows_of<'m, 'a, T>(map: &'m HashMap<&'a str, Vec<&'a T>>, name: &str) -> &'m [&'a T] {
    map.get(name).map_or(&[], Vec::as_slice)
}

fn group<T>(rows: &[T], key: impl Fn(&T) -> &String) -> HashMap<&str, Vec<&T>> {
    let mut map: HashMap<&str, Vec<&T>> = HashMap::new();
    for row in rows {
        map.entry(key(row).as_str()).or_default().push(row);
    }
    map
}

/// One table or view from its rows. `columns` and `indexes` are that
/// object's rows, in the queries' order.
pub fn build_table(db: &str, object: &Object, columns: &[&ColumnRow], indexes: &[&IndexRow]) -> Table {
    let is_table = object.kind == ObjectType::Table;
    let (ddl, description) = if is_table {
        let ddl = ddl::parse_table(&object.sql);
        let description = ddl.description.clone();
        (ddl, description)
    } else {
        (TableDdl::default(), ddl::view_description(&object.sql))
    };

    let mut primary_key: Vec<&ColumnRow> = columns.iter().copied().filter(|c| c.pk > 0).collect();
    primary_key.sort_by_key(|c| c.pk);

    // `INTEGER PRIMARY KEY` makes the column an alias of the rowid, which
    // can never be NULL, though SQLite reports it as nullable. Any other
    // primary key of a rowid table *does* accept NULLs (a legacy SQLite
    // quirk) unless declared NOT NULL, so it stays nullable; WITHOUT ROWID
    // keys are reported NOT NULL by SQLite itself. The alias is recognised
    // by its declared type and by the absence of a primary-key index, which
    // SQLite builds for every other key (including `INTEGER PRIMARY KEY
    // DESC`, which is not an alias).
    let rowid_alias = match primary_key.as_slice() {
        [only] if is_table && !ddl.without_rowid => {
            only.declared.eq_ignore_ascii_case("INTEGER") && !indexes.iter().any(|i| i.origin == "pk")
        }
        _ => false,
    };

    let columns: Vec<Column> = columns
        .iter()
        .zip(1u32..)
        .map(|(c, ordinal)| {
            let mapped = map_declared_type(&c.declared);
            Column {
                name: c.name.clone(),
                data_type: mapped.data_type.to_string(),
                data_type_display: (!c.declared.trim().is_empty()).then(|| c.declared.clone()),
                array_data_type: None,
                data_length: mapped.data_length,
                precision: mapped.precision,
                scale: mapped.scale,
                nullable: !(c.not_null || (rowid_alias && c.pk > 0)),
                default_value: c.default.clone(),
                // SQLite has no identity columns; a generated column's
                // expression lives only in the CREATE text, not read yet.
                identity: None,
                generated: None,
                description: ddl.column_description(&c.name).map(str::to_string),
                ordinal_position: ordinal,
            }
        })
        .collect();

    let mut constraints = Vec::new();
    if !primary_key.is_empty() {
        constraints.push(TableConstraint {
            kind: ConstraintKind::PrimaryKey,
            name: None,
            columns: primary_key.iter().map(|c| c.name.clone()).collect(),
        });
    }
    constraints.extend(unique_constraints(indexes));

    Table {
        database: db.to_string(),
        schema: SCHEMA.to_string(),
        name: object.name.clone(),
        table_type: if is_table { TableType::Regular } else { TableType::View },
        description,
        columns,
        constraints,
        checks: check_constraints(&object.name, &ddl.checks),
        view_definition: (!is_table).then(|| object.sql.clone()),
        partitioning: None,
        owner: None,
        row_count: None,
        size_bytes: None,
    }
}

/// One UNIQUE constraint per `origin = 'u'` index, columns in key order.
/// SQLite names these indexes itself (`sqlite_autoindex_t_1`) whatever the
/// constraint was called, so the constraint gets no name.
fn unique_constraints(indexes: &[&IndexRow]) -> Vec<TableConstraint> {
    let mut order: Vec<&str> = Vec::new();
    let mut columns: HashMap<&str, Option<Vec<String>>> = HashMap::new();
    for row in indexes.iter().filter(|i| i.origin == "u") {
        let entry = columns.entry(row.index.as_str()).or_insert_with(|| {
            order.push(row.index.as_str());
            Some(Vec::new())
        });
        // An expression in the key (never seen in a constraint) would make
        // the column list a lie: drop that index.
        match (&row.column, entry.as_mut()) {
            (Some(column), Some(list)) => list.push(column.clone()),
            _ => *entry = None,
        }
    }
    order
        .into_iter()
        .filter_map(|index| columns.remove(index).flatten())
        .map(|columns| TableConstraint { kind: ConstraintKind::Unique, name: None, columns })
        .collect()
}

/// CHECK constraints get their declared name, or one made up the way
/// PostgreSQL does it (`table_column_check`, `table_check`, then `…1`,
/// `…2` on a clash), since SQLite keeps no name for them.
pub fn check_constraints(table: &str, checks: &[Check]) -> Vec<CheckConstraint> {
    let mut used: HashSet<String> = checks.iter().filter_map(|c| c.name.clone()).collect();
    checks
        .iter()
        .map(|check| {
            let name = check.name.clone().unwrap_or_else(|| {
                let base = match &check.column {
                    Some(column) => format!("{table}_{column}_check"),
                    None => format!("{table}_check"),
                };
                let name = (0..)
                    .map(|n| if n == 0 { base.clone() } else { format!("{base}{n}") })
                    .find(|candidate| !used.contains(candidate))
                    .unwrap_or(base);
                used.insert(name.clone());
                name
            });
            CheckConstraint { name, expression: check.expression.clone() }
        })
        .collect()
}

/// The foreign keys of table `name`, grouped by the pragma's id (one id per
/// FOREIGN KEY clause, one row per column pair, already in `seq` order).
/// A key whose referred columns cannot be told is skipped with a note.
pub fn build_foreign_keys(db: &str, name: &str, rows: &[&ForeignKeyRow]) -> (Vec<ForeignKey>, Vec<String>) {
    let path = |table: &str| vec![db.to_string(), SCHEMA.to_string(), table.to_string()];
    let mut keys: Vec<(i64, ForeignKey, bool)> = Vec::new();
    for row in rows {
        if keys.last().is_none_or(|(id, _, _)| *id != row.id) {
            let key = ForeignKey {
                name: None,
                table: path(name),
                columns: Vec::new(),
                referred_table: path(&row.referred_table),
                referred_columns: Vec::new(),
            };
            keys.push((row.id, key, true));
        }
        if let Some((_, key, complete)) = keys.last_mut() {
            key.columns.push(row.column.clone());
            match &row.referred_column {
                Some(column) => key.referred_columns.push(column.clone()),
                None => *complete = false,
            }
        }
    }
    let mut notes = Vec::new();
    let keys = keys
        .into_iter()
        .filter_map(|(_, key, complete)| {
            if !complete {
                notes.push(format!(
                    "skipping foreign key {name}({}) -> {}: it names no columns and that table declares no primary key",
                    key.columns.join(", "),
                    key.referred_table.last().map_or("?", String::as_str),
                ));
            }
            complete.then_some(key)
        })
        .collect();
    (keys, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(table: &str, name: &str, declared: &str, not_null: bool, pk: i64) -> ColumnRow {
        ColumnRow { table: table.into(), name: name.into(), declared: declared.into(), not_null, default: None, pk }
    }

    fn index(table: &str, index: &str, origin: &str, column: Option<&str>) -> IndexRow {
        IndexRow { table: table.into(), index: index.into(), origin: origin.into(), column: column.map(Into::into) }
    }

    fn fk(table: &str, id: i64, column: &str, referred: &str, referred_column: Option<&str>) -> ForeignKeyRow {
        ForeignKeyRow {
            table: table.into(),
            id,
            column: column.into(),
            referred_table: referred.into(),
            referred_column: referred_column.map(Into::into),
        }
    }

    fn table_ref(path: &[&str]) -> EntityRef {
        EntityRef { kind: EntityKind::Table, path: path.iter().map(|s| s.to_string()).collect(), cost: 1, key: None }
    }

    #[test]
    fn triage_answers_databases_and_schemas_and_rejects_foreign_paths() {
        let refs = vec![
            EntityRef { kind: EntityKind::Database, path: vec!["demo".into()], cost: 1, key: None },
            EntityRef { kind: EntityKind::Database, path: vec!["other".into()], cost: 1, key: None },
            EntityRef {
                kind: EntityKind::DatabaseSchema,
                path: vec!["demo".into(), "main".into()],
                cost: 1,
                key: None,
            },
            EntityRef {
                kind: EntityKind::DatabaseSchema,
                path: vec!["demo".into(), "temp".into()],
                cost: 1,
                key: None,
            },
            table_ref(&["demo", "main", "a"]),
            table_ref(&["demo", "main", "a"]),
            table_ref(&["demo", "aux", "b"]),
            table_ref(&["demo", "main"]),
            EntityRef { kind: EntityKind::Chart, path: vec!["x".into()], cost: 1, key: None },
        ];
        let mut batch = Batch::default();
        let tables = triage("demo", refs, &mut batch);
        assert_eq!(tables, vec!["a".to_string()]);
        assert_eq!(batch.entities.len(), 2);
        assert!(matches!(&batch.entities[0], Entity::Database(d) if d.name == "demo"));
        assert!(matches!(&batch.entities[1], Entity::DatabaseSchema(s) if s.database == "demo" && s.name == "main"));
        let failed: Vec<String> = batch.failures.iter().map(|f| f.path.join(".")).collect();
        assert_eq!(failed, vec!["other", "demo.temp", "demo.aux.b", "demo.main", "x"]);
        assert!(batch.failures[0].error.message.starts_with("not found"));
    }

    #[test]
    fn a_table_with_keys_comments_and_checks() {
        let object = Object {
            name: "items".into(),
            kind: ObjectType::Table,
            sql: "CREATE TABLE items ( -- Order lines.\n\
                  \x20 order_id INTEGER NOT NULL, -- The order.\n\
                  \x20 line_no INTEGER NOT NULL,\n\
                  \x20 sku VARCHAR(32) CHECK (sku <> ''),\n\
                  \x20 price NUMERIC(10,2) DEFAULT 0, -- Unit price.\n\
                  \x20 PRIMARY KEY (order_id, line_no),\n\
                  \x20 UNIQUE (order_id, sku)\n\
                  )"
            .into(),
        };
        let mut price = column("items", "price", "NUMERIC(10,2)", false, 0);
        price.default = Some("0".into());
        let columns = [
            column("items", "order_id", "INTEGER", true, 1),
            column("items", "line_no", "INTEGER", true, 2),
            column("items", "sku", "VARCHAR(32)", false, 0),
            price,
        ];
        let indexes = [
            index("items", "sqlite_autoindex_items_1", "pk", Some("order_id")),
            index("items", "sqlite_autoindex_items_1", "pk", Some("line_no")),
            index("items", "sqlite_autoindex_items_2", "u", Some("order_id")),
            index("items", "sqlite_autoindex_items_2", "u", Some("sku")),
        ];
        let table =
            build_table("shop", &object, &columns.iter().collect::<Vec<_>>(), &indexes.iter().collect::<Vec<_>>());

        assert_eq!((table.database.as_str(), table.schema.as_str(), table.name.as_str()), ("shop", "main", "items"));
        assert_eq!(table.table_type, TableType::Regular);
        assert_eq!(table.description.as_deref(), Some("Order lines."));
        assert_eq!(table.view_definition, None);

        let sku = &table.columns[2];
        assert_eq!((sku.data_type.as_str(), sku.data_length, sku.ordinal_position), ("VARCHAR", Some(32), 3));
        assert_eq!(sku.data_type_display.as_deref(), Some("VARCHAR(32)"));
        assert!(sku.nullable);
        let price = &table.columns[3];
        assert_eq!((price.precision, price.scale, price.default_value.as_deref()), (Some(10), Some(2), Some("0")));
        assert_eq!(price.description.as_deref(), Some("Unit price."));
        assert_eq!(table.columns[0].description.as_deref(), Some("The order."));
        assert!(!table.columns[0].nullable);

        assert_eq!(table.constraints.len(), 2);
        assert_eq!(table.constraints[0].kind, ConstraintKind::PrimaryKey);
        assert_eq!(table.constraints[0].columns, vec!["order_id", "line_no"]);
        assert_eq!(table.constraints[1].kind, ConstraintKind::Unique);
        assert_eq!(table.constraints[1].columns, vec!["order_id", "sku"]);

        assert_eq!(table.checks.len(), 1);
        assert_eq!(
            (table.checks[0].name.as_str(), table.checks[0].expression.as_str()),
            ("items_sku_check", "sku <> ''")
        );
    }

    #[test]
    fn integer_primary_key_is_not_null_but_other_keys_follow_sqlite() {
        let object = |sql: &str| Object { name: "t".into(), kind: ObjectType::Table, sql: sql.into() };
        let nullable = |object: &Object, declared: &str, pk_index: bool| {
            let columns = [column("t", "id", declared, false, 1)];
            let indexes = [index("t", "sqlite_autoindex_t_1", "pk", Some("id"))];
            let indexes: Vec<&IndexRow> = if pk_index { indexes.iter().collect() } else { Vec::new() };
            build_table("d", object, &columns.iter().collect::<Vec<_>>(), &indexes).columns[0].nullable
        };
        let plain = object("CREATE TABLE t (id INTEGER PRIMARY KEY)");
        assert!(!nullable(&plain, "INTEGER", false), "rowid alias");
        assert!(nullable(&plain, "INTEGER", true), "INTEGER PRIMARY KEY DESC is no alias");
        assert!(nullable(&plain, "TEXT", true), "SQLite lets NULL into a TEXT primary key");
        assert!(nullable(&plain, "INT", false), "only the exact word INTEGER makes an alias");
    }

    #[test]
    fn views_keep_their_text_and_description() {
        let sql = "CREATE VIEW v AS -- Totals per order.\nSELECT 1 AS one, x FROM t";
        let object = Object { name: "v".into(), kind: ObjectType::View, sql: sql.into() };
        let columns = [column("v", "one", "", false, 0), column("v", "x", "REAL", false, 0)];
        let table = build_table("d", &object, &columns.iter().collect::<Vec<_>>(), &[]);
        assert_eq!(table.table_type, TableType::View);
        assert_eq!(table.view_definition.as_deref(), Some(sql));
        assert_eq!(table.description.as_deref(), Some("Totals per order."));
        assert_eq!(table.columns[0].data_type, "BLOB");
        assert_eq!(table.columns[0].data_type_display, None);
        assert_eq!(table.columns[1].data_type, "DOUBLE");
        assert!(table.constraints.is_empty() && table.checks.is_empty());
    }

    #[test]
    fn foreign_keys_are_grouped_by_id() {
        let rows = [
            fk("orders", 0, "customer_id", "addresses", Some("customer_id")),
            fk("orders", 0, "address_no", "addresses", Some("address_no")),
            fk("orders", 1, "customer_id", "customers", Some("id")),
            fk("orders", 2, "x", "nopk", None),
        ];
        let (keys, notes) = build_foreign_keys("shop", "orders", &rows.iter().collect::<Vec<_>>());
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].table, vec!["shop", "main", "orders"]);
        assert_eq!(keys[0].columns, vec!["customer_id", "address_no"]);
        assert_eq!(keys[0].referred_table, vec!["shop", "main", "addresses"]);
        assert_eq!(keys[0].referred_columns, vec!["customer_id", "address_no"]);
        assert_eq!(keys[1].referred_columns, vec!["id"]);
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("nopk"), "{}", notes[0]);
    }

    #[test]
    fn check_names_never_clash() {
        let check = |name: Option<&str>, column: Option<&str>| Check {
            name: name.map(Into::into),
            column: column.map(Into::into),
            expression: "1".into(),
        };
        let checks = [
            check(None, Some("a")),
            check(None, Some("a")),
            check(None, None),
            check(Some("t_check"), None),
            check(None, None),
        ];
        let names: Vec<String> = check_constraints("t", &checks).into_iter().map(|c| c.name).collect();
        assert_eq!(names, vec!["t_a_check", "t_a_check1", "t_check1", "t_check", "t_check2"]);
    }

    #[test]
    fn missing_and_unreadable_objects_fail_alone() {
        let catalog = Catalog {
            objects: vec![
                Object { name: "ok".into(), kind: ObjectType::Table, sql: "CREATE TABLE ok (a INT)".into() },
                Object { name: "broken".into(), kind: ObjectType::View, sql: "CREATE VIEW broken AS SELECT 1".into() },
            ],
            columns: vec![column("ok", "a", "INT", false, 0)],
            failures: vec![("broken".into(), Failure::permanent("no such table: main.gone"))],
            ..Catalog::default()
        };
        let names: Vec<String> = ["ok", "gone", "broken"].iter().map(|s| s.to_string()).collect();
        let mut batch = Batch::default();
        assemble("d", &names, &catalog, &mut batch);
        assert_eq!(batch.entities.len(), 1);
        assert!(matches!(&batch.entities[0], Entity::Table(t) if t.name == "ok" && t.columns.len() == 1));
        let failed: Vec<(String, &str)> =
            batch.failures.iter().map(|f| (f.path.join("."), f.error.message.as_str())).collect();
        assert_eq!(failed[0].0, "d.main.gone");
        assert!(failed[0].1.starts_with("not found"));
        assert_eq!(failed[1], ("d.main.broken".to_string(), "no such table: main.gone"));
    }
}
