//! `older`: a connector built against `weir:connector@0.2.1`, the contract
//! before `pipeline` kinds, so the host's tests can prove such a plugin
//! still loads and runs: one database with one schema and two tables (a
//! view among them), a lineage edge from the table to the view and a log
//! line, its tables listed in pages through `discovery` (new in 0.2.1).

wit_bindgen::generate!({
    path: "../../../wit/0.2.1",
    world: "connector",
});

use weir::connector::discovery;
use weir::connector::log::{Level, log};
use weir::connector::types::*;

struct Older;

fn path(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|p| p.to_string()).collect()
}

fn reference(kind: EntityKind, parts: &[&str]) -> EntityRef {
    EntityRef { kind, path: path(parts), cost: 1, key: None }
}

fn column(name: &str, position: u32) -> Column {
    Column {
        name: name.into(),
        data_type: "INT".into(),
        data_type_display: Some("integer".into()),
        array_data_type: None,
        data_length: None,
        precision: None,
        scale: None,
        nullable: false,
        default_value: None,
        identity: None,
        generated: None,
        description: None,
        ordinal_position: position,
    }
}

impl Guest for Older {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "older".into(),
            version: "0.2.1-test".into(),
            source_types: vec!["older".into()],
            entity_kinds: vec![EntityKind::Database, EntityKind::DatabaseSchema, EntityKind::Table],
            capabilities: vec![],
            config_schema: "{}".into(),
        }
    }

    fn discover(_config: String, kind: EntityKind) -> Result<Vec<EntityRef>, Failure> {
        Ok(match kind {
            EntityKind::Database => vec![reference(kind, &["shop"])],
            EntityKind::DatabaseSchema => vec![reference(kind, &["shop", "main"])],
            EntityKind::Table => {
                discovery::emit(&[reference(kind, &["shop", "main", "orders"])]);
                vec![reference(kind, &["shop", "main", "order_totals"])]
            }
            _ => vec![],
        })
    }

    fn process(_config: String, refs: Vec<EntityRef>) -> Result<Batch, Failure> {
        log(Level::Info, "an older plugin at work", &[("refs".into(), refs.len().to_string())]);
        let mut batch = Batch { entities: vec![], deferred: vec![], failures: vec![] };
        for r in refs {
            let [database, rest @ ..] = r.path.as_slice() else { continue };
            match (r.kind, rest) {
                (EntityKind::Database, []) => {
                    batch.entities.push(Entity::Database(Database { name: database.clone(), description: None }))
                }
                (EntityKind::DatabaseSchema, [schema]) => batch.entities.push(Entity::DatabaseSchema(DatabaseSchema {
                    database: database.clone(),
                    name: schema.clone(),
                    description: Some("built against 0.2.1".into()),
                })),
                (EntityKind::Table, [schema, table]) => {
                    let view = table == "order_totals";
                    batch.entities.push(Entity::Table(Table {
                        database: database.clone(),
                        schema: schema.clone(),
                        name: table.clone(),
                        table_type: if view { TableType::View } else { TableType::Regular },
                        description: None,
                        columns: vec![column("id", 1), column("customer_id", 2)],
                        constraints: vec![],
                        checks: vec![],
                        view_definition: view.then(|| "SELECT id, customer_id FROM orders".into()),
                        partitioning: None,
                        owner: None,
                        row_count: None,
                        size_bytes: None,
                    }));
                    if view {
                        batch.deferred.push(Deferred::Lineage(LineageEdge {
                            from_kind: EntityKind::Table,
                            from: path(&["shop", "main", "orders"]),
                            from_service: None,
                            to_kind: EntityKind::Table,
                            to: r.path.clone(),
                            to_service: None,
                            sql: None,
                        }));
                    }
                }
                _ => {}
            }
        }
        Ok(batch)
    }
}

export!(Older);
