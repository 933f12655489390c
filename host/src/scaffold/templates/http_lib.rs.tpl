//! {{name}}: a weir connector that reads table definitions from an HTTP
//! API through the host (`http:connection`: the workflow's hostPort, the
//! only origin it may reach). `GET /tables` answers
//! `[{"name": "orders", "description": "...", "columns": [{"name": "id",
//! "type": "INT"}]}]`; one request lists them, one request per batch reads
//! them again. It sends the connection's `token` as a bearer token: the
//! config schema declares `token` a secret (`"format": "password"`), so the
//! plugin never sees it; `http::secret("token")` is a placeholder the host
//! fills in outside the sandbox, for the connection's own origin only.

use std::collections::BTreeMap;
use weir_sdk::serde::Deserialize;
use weir_sdk::*;

/// The one database and schema the API's tables are filed under.
const DATABASE: &str = "api";
const SCHEMA: &str = "default";

/// The connector's own keys of `serviceConnection.config`, besides the
/// host's (`type`, `hostPort`): the host refuses a workflow that misspells
/// one or gives a value of the wrong type, naming the key and line.
const CONFIG_SCHEMA: &str = r#"{
  "type": "object",
  "connection": {
    "type": "object",
    "required": ["token"],
    "properties": {
      "token": {"type": "string", "format": "password", "description": "The API's bearer token"},
      "tablesPath": {"type": "string", "description": "Where the API lists its tables (default /tables)"}
    }
  }
}"#;

#[derive(Deserialize)]
#[serde(crate = "weir_sdk::serde")]
struct ApiTable {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    columns: Vec<ApiColumn>,
}

#[derive(Deserialize)]
#[serde(crate = "weir_sdk::serde")]
struct ApiColumn {
    name: String,
    #[serde(rename = "type", default)]
    data_type: String,
}

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
            // The connection's hostPort: the host grants that origin.
            capabilities: vec![Capability::Http("connection".into())],
            config_schema: CONFIG_SCHEMA.into(),
        }
    }

    fn discover(&mut self, config: &Config, kind: EntityKind) -> Result<Vec<EntityRef>> {
        let one = |path: &[&str]| {
            vec![EntityRef {
                kind,
                path: path.iter().map(|p| p.to_string()).collect(),
                cost: 1,
                key: None,
            }]
        };
        match kind {
            EntityKind::Database => Ok(one(&[DATABASE])),
            EntityKind::DatabaseSchema => Ok(one(&[DATABASE, SCHEMA])),
            EntityKind::Table => Ok(tables(config)?
                .into_keys()
                .map(|name| EntityRef {
                    kind,
                    path: vec![DATABASE.into(), SCHEMA.into(), name],
                    cost: 1,
                    key: None,
                })
                .collect()),
            _ => Ok(Vec::new()),
        }
    }

    fn process(&mut self, config: &Config, refs: Vec<EntityRef>) -> Result<Batch> {
        let mut batch = Batch::default();
        let mut wanted = Vec::new();
        for r in refs {
            match r.kind {
                EntityKind::Database => batch.entities.push(Entity::Database(Database {
                    name: DATABASE.into(),
                    description: None,
                })),
                EntityKind::DatabaseSchema => {
                    batch.entities.push(Entity::DatabaseSchema(DatabaseSchema {
                        database: DATABASE.into(),
                        name: SCHEMA.into(),
                        description: None,
                    }))
                }
                _ => wanted.push(r),
            }
        }
        if wanted.is_empty() {
            return Ok(batch);
        }
        // One request for the whole batch.
        let mut listed = tables(config)?;
        for r in wanted {
            let found = r.path.last().and_then(|name| listed.remove(name));
            match found {
                Some(t) => batch.entities.push(Entity::Table(table(t))),
                None => batch.failures.push(EntityFailure {
                    path: r.path,
                    error: Failure::permanent("the API no longer lists this table"),
                }),
            }
        }
        Ok(batch)
    }
}

/// `GET {hostPort}{tablesPath}`, by name.
fn tables(config: &Config) -> Result<BTreeMap<String, ApiTable>> {
    let base = config
        .connection_str("hostPort")
        .unwrap_or_default()
        .trim_end_matches('/');
    let path = config.connection_str("tablesPath").unwrap_or("/tables");
    let response = http::get(format!("{base}{path}"))
        .bearer(&http::secret("token"))
        .send()
        .map_err(|f| f.context(format!("GET {path}")))?;
    if !response.is_success() {
        return Err(Failure::permanent(format!(
            "GET {path} answered {}",
            response.status()
        )));
    }
    let listed: Vec<ApiTable> = response
        .json()
        .map_err(|f| f.context(format!("GET {path}")))?;
    Ok(listed.into_iter().map(|t| (t.name.clone(), t)).collect())
}

fn table(t: ApiTable) -> Table {
    let columns = t
        .columns
        .into_iter()
        .enumerate()
        .map(|(i, c)| Column {
            name: c.name,
            // Anything the API calls by another name is OpenMetadata's UNKNOWN.
            data_type: if is_data_type(&c.data_type) {
                c.data_type
            } else {
                "UNKNOWN".into()
            },
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
            ordinal_position: u32::try_from(i + 1).unwrap_or(u32::MAX),
        })
        .collect();
    Table {
        database: DATABASE.into(),
        schema: SCHEMA.into(),
        name: t.name,
        table_type: TableType::Regular,
        description: t.description,
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

    /// discover and process, natively: `TestHost` answers the requests
    /// from answers recorded here and keeps what the connector sent.
    #[test]
    fn one_request_lists_the_tables_and_one_reads_a_whole_batch() {
        use weir_sdk::testing::{Answer, TestHost};
        let listed =
            serde_json::json!([{"name": "orders", "columns": [{"name": "id", "type": "INT"}]}]);
        let host = TestHost::new("{{name}}")
            .connection("hostPort", "https://api.example.com")
            .http(Answer::get("https://api.example.com/tables").json(&listed));
        let mut connector = {{type_name}}::new();
        let refs = host
            .discover(&mut connector, EntityKind::Table)
            .unwrap_or_else(|f| panic!("{}", f.message));
        let batch = host
            .process(&mut connector, refs)
            .unwrap_or_else(|f| panic!("{}", f.message));
        assert_eq!(batch.entities.len(), 1);
        let sent = host.sent();
        assert_eq!(sent.len(), 2, "one request to list, one for the batch");
        assert_eq!(
            sent[0].header("authorization"),
            Some("Bearer {{secret:token}}"),
            "the host fills the token in"
        );
    }

    #[test]
    fn an_api_table_becomes_a_table_with_openmetadata_types() {
        let listed: Vec<ApiTable> = serde_json::from_str(
            r#"[{"name": "orders", "columns": [{"name": "id", "type": "INT"}, {"name": "x", "type": "weird"}]}]"#,
        )
        .unwrap_or_default();
        let t = table(listed.into_iter().next().expect("one table"));
        assert_eq!((t.name.as_str(), t.columns.len()), ("orders", 2));
        assert_eq!(t.columns[0].data_type, "INT");
        assert_eq!(t.columns[1].data_type, "UNKNOWN");
    }
}
