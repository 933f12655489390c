//! {{name}}: a weir connector that reads the tables of a SQLite file
//! through the connection the host opens for it (`sql:source`, read-only).
//! One query lists the tables; one query per batch reads the columns of
//! every table in it.

use std::collections::BTreeMap;
use weir_sdk::*;

/// The connection label: the workflow's `serviceConnection`.
const SOURCE: &str = "source";
/// SQLite's name for a file's own schema.
const SCHEMA: &str = "main";

const TABLES: &str = "SELECT name FROM sqlite_master
     WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name";
const COLUMNS: &str = "SELECT m.name AS tbl, c.cid AS position, c.name AS col, c.type AS declared, c.\"notnull\" AS required
     FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS c
     WHERE m.type = 'table' ORDER BY m.name, c.cid";

struct {{type_name}};

impl Connector for {{type_name}} {
    fn new() -> Self {
        {{type_name}}
    }

    fn describe() -> PluginInfo {
        PluginInfo {
            name: "{{name}}".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            source_types: vec!["{{name}}".into()],
            entity_kinds: vec![
                EntityKind::Database,
                EntityKind::DatabaseSchema,
                EntityKind::Table,
            ],
            capabilities: vec![Capability::Sql(SOURCE.into())],
            config_schema: "{}".into(),
        }
    }

    fn discover(&mut self, config: &Config, kind: EntityKind) -> Result<Vec<EntityRef>> {
        let db = database(config);
        let one = |path: Vec<String>| {
            vec![EntityRef {
                kind,
                path,
                cost: 1,
                key: None,
            }]
        };
        match kind {
            EntityKind::Database => Ok(one(vec![db])),
            EntityKind::DatabaseSchema => Ok(one(vec![db, SCHEMA.into()])),
            EntityKind::Table => {
                let rows = sql::open(SOURCE)?
                    .query(TABLES, &[])
                    .map_err(|e| e.context("listing tables"))?;
                rows.iter()
                    .map(|row| {
                        let path = vec![db.clone(), SCHEMA.into(), row.get::<String>("name")?];
                        Ok(EntityRef {
                            kind,
                            path,
                            cost: 1,
                            key: None,
                        })
                    })
                    .collect()
            }
            _ => Ok(Vec::new()),
        }
    }

    fn process(&mut self, config: &Config, refs: Vec<EntityRef>) -> Result<Batch> {
        let db = database(config);
        let mut batch = Batch::default();
        let mut tables = Vec::new();
        for r in refs {
            match (r.kind, r.path.as_slice()) {
                (EntityKind::Database, [name]) => batch.entities.push(Entity::Database(Database {
                    name: name.clone(),
                    description: None,
                })),
                (EntityKind::DatabaseSchema, [database, name]) => {
                    batch.entities.push(Entity::DatabaseSchema(DatabaseSchema {
                        database: database.clone(),
                        name: name.clone(),
                        description: None,
                    }))
                }
                (EntityKind::Table, [_, _, name]) => tables.push(name.clone()),
                _ => batch.failures.push(EntityFailure {
                    path: r.path,
                    error: Failure::permanent("not a reference this connector lists"),
                }),
            }
        }
        if tables.is_empty() {
            return Ok(batch);
        }
        // One query for the whole batch, whatever its size.
        let rows = sql::open(SOURCE)?
            .query(COLUMNS, &[])
            .map_err(|e| e.context("reading columns"))?;
        let mut columns: BTreeMap<String, Vec<Column>> = BTreeMap::new();
        for row in rows.iter() {
            let declared: String = row.get("declared")?;
            let position: i64 = row.get("position")?;
            columns.entry(row.get("tbl")?).or_default().push(column(
                row.get("col")?,
                &declared,
                row.get::<i64>("required")? == 0,
                u32::try_from(position + 1).unwrap_or(u32::MAX),
            ));
        }
        for name in tables {
            match columns.remove(&name) {
                Some(columns) => batch
                    .entities
                    .push(Entity::Table(table(&db, name, columns))),
                None => batch.failures.push(EntityFailure {
                    path: vec![db.clone(), SCHEMA.into(), name],
                    error: Failure::permanent("the table is gone from the file"),
                }),
            }
        }
        Ok(batch)
    }
}

/// The database's name: `serviceConnection.config.database`, else `main`.
fn database(config: &Config) -> String {
    config
        .connection_str("database")
        .filter(|d| !d.is_empty())
        .unwrap_or(SCHEMA)
        .to_string()
}

/// A column, its SQLite declared type mapped to OpenMetadata's data types
/// by SQLite's own affinity rules.
fn column(name: String, declared: &str, nullable: bool, ordinal_position: u32) -> Column {
    Column {
        name,
        data_type: data_type(declared).into(),
        data_type_display: Some(declared.to_string()).filter(|d| !d.is_empty()),
        array_data_type: None,
        data_length: None,
        precision: None,
        scale: None,
        nullable,
        default_value: None,
        identity: None,
        generated: None,
        description: None,
        ordinal_position,
    }
}

fn data_type(declared: &str) -> &'static str {
    let t = declared.to_ascii_uppercase();
    if t.contains("INT") {
        "INT"
    } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
        "TEXT"
    } else if t.contains("BLOB") || t.is_empty() {
        "BLOB"
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        "DOUBLE"
    } else {
        "NUMERIC"
    }
}

fn table(db: &str, name: String, columns: Vec<Column>) -> Table {
    Table {
        database: db.to_string(),
        schema: SCHEMA.into(),
        name,
        table_type: TableType::Regular,
        description: None,
        columns,
        constraints: Vec::new(),
        checks: Vec::new(),
        view_definition: None,
        partitioning: None,
        owner: None,
        row_count: None,
        size_bytes: None,
    }
}

export_connector!({{type_name}});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_map_by_sqlite_affinity() {
        assert_eq!(data_type("INTEGER"), "INT");
        assert_eq!(data_type("varchar(20)"), "TEXT");
        assert_eq!(data_type(""), "BLOB");
        assert_eq!(data_type("double precision"), "DOUBLE");
        assert_eq!(data_type("DECIMAL(10,2)"), "NUMERIC");
        assert!(
            is_data_type(data_type("whatever")),
            "every mapping is one of OpenMetadata's types"
        );
    }

    /// discover and process, natively: `TestHost` answers the queries
    /// from rows given here and keeps what the connector asked.
    #[test]
    fn one_query_lists_the_tables_and_one_reads_a_whole_batch() {
        use weir_sdk::sql::Value;
        use weir_sdk::testing::{FakeDatabase, TestHost};
        let file = FakeDatabase::new("sqlite")
            .answer(
                "FROM sqlite_master WHERE type",
                &["name"],
                vec![vec!["orders".into()], vec!["users".into()]],
            )
            .answer(
                "pragma_table_info",
                &["tbl", "position", "col", "declared", "required"],
                vec![
                    vec![
                        "orders".into(),
                        Value::Int(0),
                        "id".into(),
                        "INTEGER".into(),
                        Value::Int(1),
                    ],
                    vec![
                        "users".into(),
                        Value::Int(0),
                        "name".into(),
                        "TEXT".into(),
                        Value::Int(0),
                    ],
                ],
            );
        let host = TestHost::new("{{name}}").database("source", file);
        let mut connector = {{type_name}}::new();
        let refs = host
            .discover(&mut connector, EntityKind::Table)
            .unwrap_or_else(|f| panic!("{}", f.message));
        assert_eq!(refs.len(), 2);
        let batch = host
            .process(&mut connector, refs)
            .unwrap_or_else(|f| panic!("{}", f.message));
        assert_eq!(batch.entities.len(), 2, "both tables");
        assert!(batch.failures.is_empty());
        assert_eq!(
            host.queries().len(),
            2,
            "one query to list, one for the batch"
        );
    }

    #[test]
    fn describe_declares_what_process_returns() {
        let info = {{type_name}}::describe();
        assert_eq!(info.source_types, ["{{name}}"]);
        assert!(info.entity_kinds.contains(&EntityKind::Table));
    }
}
