//! What sets one SQL engine apart from another where the scaffolding is
//! the same, and which connection reads which database.
//!
//! A session of PostgreSQL or SQL Server reads the catalog of its own
//! database only, and a statement naming another database's catalog would
//! tie every query to a name; so with `ingestAllDatabases` each database is
//! read through its own label, `source/<database>`, which the host grants
//! on the same server and credentials as `source`. The configured database
//! stays on `source`.

use super::Settings;
use crate::sql::{self, Connection};
use crate::{Capability, EntityFailure, EntityKind, Failure, PluginInfo, Result};

/// The connection label the workflow's `serviceConnection` is granted as.
pub const SOURCE: &str = "source";

/// The label family of the other databases, as `describe` declares it.
pub const OTHER_DATABASES: &str = "source/*";

/// The facts of one engine the shared code needs.
#[derive(Debug, Clone, Copy)]
pub struct Engine {
    /// The plugin's name and the `serviceType` it reads (`postgres`).
    pub name: &'static str,
    /// The plugin's version, for `describe`: its `CARGO_PKG_VERSION`.
    pub version: &'static str,
    /// The engine name the host gives the connections (`Connection::engine`).
    pub engine: &'static str,
    /// The engine as messages name it (`PostgreSQL`).
    pub title: &'static str,
    /// The database the host connects to when `connection.database` is unset.
    pub default_database: &'static str,
    /// The call that names the connected database, for the message when it
    /// names none (`current_database()`).
    pub current_database: &'static str,
    /// Whether two database names name the same database, as the server
    /// compares them.
    pub same_database: fn(&str, &str) -> bool,
    /// One name as messages write it: quoted when it has a dot, a space or
    /// a quote in it, as the engine quotes identifiers.
    pub quote: fn(&str) -> String,
    /// What the line after the named skips counts (`more {skipped_rest}`).
    pub skipped_rest: &'static str,
    /// The engine's wording in `describe`'s configuration schema.
    pub schema: SchemaText,
}

/// Descriptions in the `sourceConfig.config` schema that depend on what
/// the engine calls a table and how it filters.
#[derive(Debug, Clone, Copy)]
pub struct SchemaText {
    /// For `useFqnForFiltering`: what the plugin still filters when it is on.
    pub use_fqn_for_filtering: &'static str,
    /// For `includeTables`: which of the engine's objects count as tables.
    pub include_tables: &'static str,
    /// For `includeViews`: which of the engine's objects count as views.
    pub include_views: &'static str,
}

impl Engine {
    /// Name, version, kinds in processing order, and the connections: `source`
    /// always, `source/*` which the host grants only with
    /// `ingestAllDatabases` and ignores otherwise.
    pub fn describe(&self) -> PluginInfo {
        PluginInfo {
            name: self.name.to_string(),
            version: self.version.to_string(),
            source_types: vec![self.name.to_string()],
            entity_kinds: vec![
                EntityKind::Database,
                EntityKind::DatabaseSchema,
                EntityKind::Table,
                EntityKind::StoredProcedure,
            ],
            capabilities: vec![Capability::Sql(SOURCE.into()), Capability::Sql(OTHER_DATABASES.into())],
            config_schema: self.config_schema(),
        }
    }

    /// JSON Schema of the `sourceConfig.config` keys the kit reads. The
    /// host applies the filter patterns; the plugin reads them too, to
    /// apply or push them down in discovery.
    pub fn config_schema(&self) -> String {
        let text = |s: &str| crate::serde_json::Value::from(s).to_string();
        format!(
            r##"{{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "definitions": {{
    "filterPattern": {{
      "description": "Regular expressions matched from the start of a name, case-insensitively: kept when includes is empty or one matches, and no exclude matches.",
      "type": "object",
      "properties": {{
        "includes": {{ "type": "array", "items": {{ "type": "string" }} }},
        "excludes": {{ "type": "array", "items": {{ "type": "string" }} }}
      }}
    }}
  }},
  "properties": {{
    "databaseFilterPattern": {{ "$ref": "#/definitions/filterPattern" }},
    "schemaFilterPattern": {{ "$ref": "#/definitions/filterPattern" }},
    "tableFilterPattern": {{ "$ref": "#/definitions/filterPattern" }},
    "storedProcedureFilterPattern": {{ "$ref": "#/definitions/filterPattern" }},
    "useFqnForFiltering": {{
      "description": {},
      "type": "boolean",
      "default": false
    }},
    "includeTables": {{
      "description": {},
      "type": "boolean",
      "default": true
    }},
    "includeViews": {{
      "description": {},
      "type": "boolean",
      "default": true
    }}
  }}
}}"##,
            text(self.schema.use_fqn_for_filtering),
            text(self.schema.include_tables),
            text(self.schema.include_views),
        )
    }

    /// Opens a granted connection, refusing one of another engine: the
    /// catalog queries would fail on it with a less useful message.
    pub fn open(&self, label: &str) -> Result<Connection> {
        let conn = sql::open(label).map_err(|e| e.context(format_args!("connection `{label}`")))?;
        let engine = conn.engine();
        if engine != self.engine {
            return Err(Failure::config(format!(
                "the `{label}` connection is {engine}, but this plugin reads {}",
                self.title
            )));
        }
        Ok(conn)
    }

    /// Opens the connection that reads `database`.
    pub fn open_database<P>(&self, settings: &Settings<P>, database: &str) -> Result<Connection> {
        self.open(&label(settings, database)?)
    }

    /// `db."odd.schema".table`, for messages: dots inside names stay readable.
    pub fn dotted(&self, path: &[String]) -> String {
        path.iter().map(|name| (self.quote)(name)).collect::<Vec<_>>().join(".")
    }

    /// The failure for a ref whose object no longer exists.
    pub fn not_found(&self, kind: EntityKind, path: &[String]) -> EntityFailure {
        let message = format!(
            "{} {} not found: dropped or renamed since discovery",
            crate::refs::kind_name(kind),
            self.dotted(path)
        );
        super::failure(path, Failure::permanent(message))
    }

    /// The failure for a ref whose column count changed between the
    /// statements of one batch. They do not run in one snapshot, so a
    /// table altered or dropped in between would come out wrong; counting
    /// its columns in the first statement catches it, and the host's next
    /// attempt reads it whole.
    pub fn changed(&self, path: &[String], counted: i64, read: usize) -> Option<EntityFailure> {
        if usize::try_from(counted).ok() == Some(read) {
            return None;
        }
        let message = format!("{} changed while being read ({counted} columns, then {read}); retry", self.dotted(path));
        Some(super::failure(path, Failure::transient(message)))
    }
}

/// The label that reaches `database`. Without `ingestAllDatabases` only
/// the configured database is reachable.
pub fn label<P>(settings: &Settings<P>, database: &str) -> Result<String> {
    if database == settings.database {
        Ok(SOURCE.to_string())
    } else if settings.ingest_all_databases {
        Ok(format!("{SOURCE}/{database}"))
    } else {
        Err(Failure::permanent(format!(
            "database {database:?} is not the connected database {:?} (connection.ingestAllDatabases is off)",
            settings.database
        )))
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::filter::FilterPattern;
    use crate::serde_json::{self, Value};

    /// An engine whose facts are all told apart from the kit's wording.
    pub const TEST_ENGINE: Engine = Engine {
        name: "kit",
        version: "9.8.7",
        engine: "kitdb",
        title: "KitDB",
        default_database: "main",
        current_database: "current()",
        same_database: |a, b| a.eq_ignore_ascii_case(b),
        quote: |name| if name.contains(['.', ' ']) { format!("<{name}>") } else { name.to_string() },
        skipped_rest: "things skipped",
        schema: SchemaText {
            use_fqn_for_filtering: "fqn \"quoted\"",
            include_tables: "tables",
            include_views: "views",
        },
    };

    fn settings(all: bool) -> Settings<FilterPattern> {
        Settings {
            database: "pagila".into(),
            include_tables: true,
            include_views: true,
            ingest_all_databases: all,
            filters: Default::default(),
        }
    }

    #[test]
    fn describe_lists_kinds_in_processing_order() {
        let info = TEST_ENGINE.describe();
        assert_eq!(info.name, "kit");
        assert_eq!(info.version, "9.8.7");
        assert_eq!(info.source_types, vec!["kit".to_string()]);
        assert!(
            info.entity_kinds
                == vec![
                    EntityKind::Database,
                    EntityKind::DatabaseSchema,
                    EntityKind::Table,
                    EntityKind::StoredProcedure
                ]
        );
        assert!(matches!(info.capabilities.as_slice(),
            [Capability::Sql(source), Capability::Sql(others)] if source == "source" && others == "source/*"));
    }

    #[test]
    fn config_schema_is_json_schema() {
        let schema: Value = serde_json::from_str(&TEST_ENGINE.config_schema()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["properties"]["includeViews"]["type"], "boolean");
        assert_eq!(schema["properties"]["includeTables"]["default"], true);
        assert_eq!(schema["properties"]["schemaFilterPattern"]["$ref"], "#/definitions/filterPattern");
        assert_eq!(schema["properties"]["useFqnForFiltering"]["description"], "fqn \"quoted\"");
        assert_eq!(schema["properties"]["includeTables"]["description"], "tables");
        assert_eq!(schema["properties"]["includeViews"]["description"], "views");
    }

    #[test]
    fn the_configured_database_is_source_and_the_others_need_ingest_all() {
        assert_eq!(label(&settings(false), "pagila").ok().as_deref(), Some("source"));
        assert!(label(&settings(false), "sales").is_err());
        assert_eq!(label(&settings(true), "pagila").ok().as_deref(), Some("source"));
        assert_eq!(label(&settings(true), "sales db").ok().as_deref(), Some("source/sales db"));
    }

    #[test]
    fn messages_quote_names_as_the_engine_does() {
        let path = ["db".to_string(), "Edge Cases".into(), "t".into()];
        assert_eq!(TEST_ENGINE.dotted(&path), "db.<Edge Cases>.t");
        let gone = TEST_ENGINE.not_found(EntityKind::Table, &path);
        assert_eq!(gone.path, path.to_vec());
        assert_eq!(gone.error.message, "table db.<Edge Cases>.t not found: dropped or renamed since discovery");
    }

    #[test]
    fn a_column_count_that_changed_is_a_transient_failure() {
        let path = ["db".to_string(), "s".into(), "t".into()];
        assert!(TEST_ENGINE.changed(&path, 3, 3).is_none());
        let changed = TEST_ENGINE.changed(&path, 3, 2).map(|f| (f.error.kind, f.error.message));
        assert!(matches!(changed, Some((crate::ErrorKind::Transient, ref m))
            if m == "db.s.t changed while being read (3 columns, then 2); retry"));
        assert!(TEST_ENGINE.changed(&path, -1, 0).is_some());
    }
}
