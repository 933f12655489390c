//! Which connections a run hands its plugin: the labels the plugin's
//! `describe()` asks for (`sql:source`, `sql:source/*`) that the workflow's
//! connection can serve. The server is checked here, once per run.

use super::target::Engine;
use super::{ConnectionKeys, DatabaseFilter, QueryLimits, SqlError, SqlGrants, SqlServer, SqlSettings};
use crate::model::entity::Capability;
use std::path::Path;

/// The engines a connection's `type` may name, as a message lists them.
const ENGINES: &str = "Postgres, Mssql or SQLite";

/// Why the workflow cannot grant the SQL capabilities the plugin declares,
/// each with its fix; empty when it can. Decided from the keys alone,
/// before anything connects, so a plugin is refused up front rather than
/// denied mid-run.
pub fn refusals(asked: &[Capability], source_type: &str, keys: &ConnectionKeys<'_>) -> Vec<String> {
    let mut refused = Vec::new();
    for label in asked.iter().filter_map(|c| match c {
        Capability::Sql(label) => Some(label.as_str()),
        Capability::Http(_) => None,
    }) {
        match label {
            "source" if keys.engine(source_type).is_none() => refused.push(match keys.kind {
                None => format!(
                    "the plugin declares sql:source, but serviceConnection.config has no `type`: set type to the \
                     database the plugin reads ({ENGINES})"
                ),
                Some(kind) => format!(
                    "the plugin declares sql:source, but serviceConnection.config.type `{kind}` is not a database \
                     weir opens: set type to {ENGINES}"
                ),
            }),
            "source" => {}
            "source/*" => {
                let all = keys.ingest_all_databases.unwrap_or(false);
                if all && keys.engine(source_type) == Some(Engine::Sqlite) {
                    refused.push(
                        "serviceConnection.config.ingestAllDatabases is true, but a SQLite file is one database: \
                         remove ingestAllDatabases"
                            .to_string(),
                    );
                }
            }
            other => refused.push(format!(
                "the plugin declares sql:{other}, a label weir does not grant (it grants sql:source and \
                 sql:source/*): fix the plugin's describe()"
            )),
        }
    }
    refused
}

/// What the workflow says about the plugin's database.
pub struct SqlWorkflow<'a> {
    pub source_type: &'a str,
    pub keys: ConnectionKeys<'a>,
    /// Relative SQLite paths are taken from here.
    pub base_dir: Option<&'a Path>,
    /// The databases `sql:source/<database>` may reach
    /// (`databaseFilterPattern`, as discovery applies it).
    pub databases: DatabaseFilter,
    pub settings: &'a SqlSettings,
    pub limits: QueryLimits,
    /// Instances that may hold sessions at once.
    pub instances: u32,
}

/// Grants what the plugin asks for and the workflow allows; what it asks
/// for and cannot have goes into `warnings` (the plugin will see it
/// denied).
pub async fn grant(
    asked: &[Capability],
    workflow: SqlWorkflow<'_>,
    warnings: &mut Vec<String>,
) -> Result<SqlGrants, SqlError> {
    let mut grants = SqlGrants::new(workflow.limits.clone());
    let labels: Vec<&str> = asked
        .iter()
        .filter_map(|c| match c {
            Capability::Sql(label) => Some(label.as_str()),
            Capability::Http(_) => None,
        })
        .collect();
    if labels.is_empty() {
        return Ok(grants);
    }
    let target = workflow.keys.target(workflow.source_type, workflow.base_dir);
    // The server is checked once, whichever labels the plugin asks for.
    let server = match &target {
        Some(target) => {
            tracing::info!(target = %target.describe(), "checking the database connection");
            let (server, found) =
                SqlServer::connect(target, &workflow.limits, workflow.settings, workflow.instances).await?;
            for warning in found {
                tracing::warn!("{warning}");
                warnings.push(warning);
            }
            Some(server)
        }
        None => None,
    };
    for label in labels {
        match label {
            "source" => match server.as_ref().and_then(|s| s.source(None)) {
                Some(source) => {
                    tracing::info!("granting sql:source");
                    grants.grant(label, source);
                }
                None => warnings.push(format!(
                    "the plugin asks for sql:source, but source.type `{}` has no database connection weir can open",
                    workflow.source_type
                )),
            },
            // Every database on the server, one connection family; only
            // when the workflow asks for it.
            "source/*" => {
                let all = workflow.keys.ingest_all_databases.unwrap_or(false);
                let with_databases = target.as_ref().is_some_and(|t| t.has_databases());
                if let (true, true, Some(server)) = (all, with_databases, server.clone()) {
                    tracing::info!("granting sql:source/<database> for ingestAllDatabases");
                    grants.grant_databases("source", server, workflow.databases.clone());
                }
            }
            // Refused before the run (`refusals`).
            _ => {}
        }
    }
    Ok(grants)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(label: &str) -> Capability {
        Capability::Sql(label.to_string())
    }

    #[test]
    fn declared_labels_need_a_connection_that_serves_them() {
        let asked = [sql("source"), sql("source/*")];
        let sqlite = ConnectionKeys { kind: Some("SQLite"), database_mode: Some("a.db"), ..Default::default() };
        assert!(refusals(&asked, "mine", &sqlite).is_empty());
        assert!(refusals(&asked, "postgres", &ConnectionKeys::default()).is_empty(), "source.type names the engine");
        let missing = refusals(&asked, "mine", &ConnectionKeys::default());
        assert_eq!(missing.len(), 1, "{missing:?}");
        assert!(missing[0].contains("has no `type`"), "{}", missing[0]);
        let misspelt = refusals(&asked, "mine", &ConnectionKeys { kind: Some("Postgress"), ..Default::default() });
        assert!(misspelt[0].contains("`Postgress` is not a database weir opens"), "{}", misspelt[0]);
        let all = ConnectionKeys { ingest_all_databases: Some(true), ..sqlite };
        assert!(refusals(&asked, "mine", &all)[0].contains("remove ingestAllDatabases"));
        assert!(refusals(&[sql("warehouse")], "mine", &sqlite)[0].contains("fix the plugin's describe()"));
    }
}
