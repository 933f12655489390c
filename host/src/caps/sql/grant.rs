//! Which connections a run hands its plugin: the labels the plugin's
//! `describe()` asks for (`sql:source`, `sql:source/*`) that the workflow's
//! connection can serve. The server is checked here, once per run.

use super::{ConnectionKeys, DatabaseFilter, QueryLimits, SqlError, SqlGrants, SqlServer, SqlSettings};
use crate::model::entity::Capability;
use std::path::Path;

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
            other => warnings.push(format!("the plugin asks for sql:{other}, which this workflow does not grant")),
        }
    }
    Ok(grants)
}
