//! `tree`: a test-only connector that serves a database tree written in its
//! `sourceConfig.config`, data and all, so a test can send the host exactly
//! what a careless or hostile plugin would: orphans, duplicates, foreign
//! keys that join nothing, raw documents. Never shipped.
//!
//! - `treeDatabases`: names; `treeSchemas`: `[db, schema]` paths;
//!   `treeTables`: `[db, schema, table]` paths. Each is discovered as
//!   listed (duplicates included) and processed into a plain entity; a
//!   table's columns are `treeColumns` (default `["id"]`).
//! - `treeForeignKeys`: `{table, columns, referredTable, referredColumns}`
//!   objects, sent with the batch that holds `table`, or with the batch
//!   that holds the first listed table when no batch does.
//! - `treeRaw`: `{kind, name, document}` objects, sent with the batch that
//!   holds the first listed table.
//! - `treeUnasked`: `[db, schema, table]` paths of tables nobody asked for,
//!   sent with the batch that holds the first listed table.
//! - `treeSleepMs`: every `process` call sleeps that long first.

use weir_sdk::serde_json::{Value as Json, json};
use weir_sdk::*;

struct Tree;

impl Connector for Tree {
    fn new() -> Self {
        Tree
    }

    fn describe() -> PluginInfo {
        PluginInfo {
            name: "tree".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            source_types: vec!["tree".into()],
            entity_kinds: vec![EntityKind::Database, EntityKind::DatabaseSchema, EntityKind::Table],
            capabilities: Vec::new(),
            config_schema: "{}".into(),
        }
    }

    fn discover(&mut self, config: &Config, kind: EntityKind) -> Result<Vec<EntityRef>> {
        let key = match kind {
            EntityKind::Database => "treeDatabases",
            EntityKind::DatabaseSchema => "treeSchemas",
            EntityKind::Table => "treeTables",
            _ => return Ok(Vec::new()),
        };
        Ok(paths(config, key).into_iter().map(|path| EntityRef { kind, path, cost: 1, key: None }).collect())
    }

    fn process(&mut self, config: &Config, refs: Vec<EntityRef>) -> Result<Batch> {
        if let Some(ms) = config.source_config.get("treeSleepMs").and_then(Json::as_u64) {
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
        let mut batch = Batch::default();
        let columns = strings(config.source_config.get("treeColumns")).unwrap_or_else(|| vec!["id".into()]);
        let mut tables = Vec::new();
        for r in refs {
            let entity = match (r.kind, r.path.as_slice()) {
                (EntityKind::Database, [name]) => Entity::Database(Database { name: name.clone(), description: None }),
                (EntityKind::DatabaseSchema, [database, name]) => Entity::DatabaseSchema(DatabaseSchema {
                    database: database.clone(),
                    name: name.clone(),
                    description: None,
                }),
                (EntityKind::Table, [database, schema, name]) => {
                    tables.push(r.path.clone());
                    Entity::Table(table(database, schema, name, &columns))
                }
                _ => {
                    let error = Failure::permanent("tree: a ref of the wrong shape");
                    batch.failures.push(EntityFailure { path: r.path, error });
                    continue;
                }
            };
            batch.entities.push(entity);
        }
        if !tables.is_empty() {
            let first = paths(config, "treeTables").first().is_some_and(|t| tables.contains(t));
            batch.deferred.extend(foreign_keys(config, &tables, first));
            if first {
                batch.entities.extend(raw(config));
                for path in paths(config, "treeUnasked") {
                    if let [database, schema, name] = path.as_slice() {
                        batch.entities.push(Entity::Table(table(database, schema, name, &columns)));
                    }
                }
            }
        }
        Ok(batch)
    }
}

export_connector!(Tree);

fn strings(value: Option<&Json>) -> Option<Vec<String>> {
    value?.as_array().map(|list| list.iter().filter_map(Json::as_str).map(String::from).collect())
}

/// The paths under `key`: strings are one-part paths, arrays longer ones.
fn paths(config: &Config, key: &str) -> Vec<Vec<String>> {
    let list = config.source_config.get(key).and_then(Json::as_array).cloned().unwrap_or_default();
    list.iter()
        .map(|item| match item {
            Json::String(s) => vec![s.clone()],
            other => strings(Some(other)).unwrap_or_default(),
        })
        .collect()
}

fn table(database: &str, schema: &str, name: &str, columns: &[String]) -> Table {
    Table {
        database: database.into(),
        schema: schema.into(),
        name: name.into(),
        table_type: TableType::Regular,
        description: None,
        columns: columns
            .iter()
            .enumerate()
            .map(|(i, c)| Column {
                name: c.clone(),
                data_type: "INT".into(),
                data_type_display: None,
                array_data_type: None,
                data_length: None,
                precision: None,
                scale: None,
                nullable: true,
                default_value: None,
                identity: None,
                generated: None,
                description: None,
                ordinal_position: i as u32 + 1,
            })
            .collect(),
        constraints: Vec::new(),
        checks: Vec::new(),
        view_definition: None,
        partitioning: None,
        owner: None,
        row_count: None,
        size_bytes: None,
    }
}

/// The configured foreign keys this batch sends: those of its tables, and
/// in the first batch those of tables no batch holds.
fn foreign_keys(config: &Config, tables: &[Vec<String>], first: bool) -> Vec<Deferred> {
    let all = config.source_config.get("treeForeignKeys").and_then(Json::as_array).cloned().unwrap_or_default();
    let listed = paths(config, "treeTables");
    all.iter()
        .filter_map(|fk| {
            let table = strings(fk.get("table"))?;
            let ours = tables.contains(&table) || (first && !listed.contains(&table));
            ours.then(|| {
                Deferred::ForeignKey(ForeignKey {
                    name: fk.get("name").and_then(Json::as_str).map(String::from),
                    table,
                    columns: strings(fk.get("columns")).unwrap_or_default(),
                    referred_table: strings(fk.get("referredTable")).unwrap_or_default(),
                    referred_columns: strings(fk.get("referredColumns")).unwrap_or_default(),
                })
            })
        })
        .collect()
}

fn raw(config: &Config) -> Vec<Entity> {
    let all = config.source_config.get("treeRaw").and_then(Json::as_array).cloned().unwrap_or_default();
    all.iter()
        .map(|r| {
            let text = |k: &str| r.get(k).and_then(Json::as_str).unwrap_or_default().to_string();
            let document = r.get("document").cloned().unwrap_or_else(|| json!({}));
            Entity::Raw(RawEntity { kind: text("kind"), name: text("name"), document: document.to_string() })
        })
        .collect()
}
