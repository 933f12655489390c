//! Which origins a run lets its plugin reach: those of `weir.http.allow`,
//! plus the connection's `hostPort` for a plugin whose `describe()` asks
//! for HTTP. Origins it asks for that are not granted are warned about
//! (and will be denied).

use super::HttpSettings;
use super::client::HttpClient;
use super::origin::{AllowedOrigin, Grant, OriginError, OriginPolicy, origin_of};
use super::secrets::ConnectionSecrets;
use crate::caps::Redactor;
use crate::model::entity::Capability;
use crate::retry::RetryPolicy;
use std::sync::Arc;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum HttpGrantError {
    #[error("weir.http.allow: {0}")]
    Allow(OriginError),
    #[error("cannot set up the HTTP capability: {0}")]
    Setup(String),
}

/// What the workflow says about the plugin's HTTP.
pub struct HttpWorkflow<'a> {
    pub settings: &'a HttpSettings,
    pub retry: &'a RetryPolicy,
    /// The connection's `hostPort`, granted to a plugin that asks for HTTP.
    pub host_port: Option<&'a str>,
    /// The connection's secrets by name, for `{{secret:NAME}}`; sent only
    /// to the connection's own origin.
    pub secrets: Vec<(String, String)>,
    pub redactor: &'a Arc<Redactor>,
}

/// The run's HTTP client; `None` when the plugin asks for no HTTP or the
/// workflow grants it no origin.
pub fn grant(
    asked: &[Capability],
    workflow: HttpWorkflow<'_>,
    warnings: &mut Vec<String>,
) -> Result<Option<Arc<HttpClient>>, HttpGrantError> {
    let origins: Vec<&str> = asked
        .iter()
        .filter_map(|c| match c {
            Capability::Http(origin) => Some(origin.as_str()),
            Capability::Sql(_) => None,
        })
        .collect();
    if origins.is_empty() {
        return Ok(None);
    }
    let mut policy = OriginPolicy::new(&workflow.settings.allow).map_err(HttpGrantError::Allow)?;
    let mut own_origin = None;
    if let Some(host_port) = workflow.host_port {
        let origin = AllowedOrigin::from_host_port(host_port).map_err(HttpGrantError::Allow)?;
        tracing::info!(origin = %origin, "granting http to the connection's hostPort");
        // As requests spell it: `scheme://host:port`, default port included.
        own_origin = reqwest::Url::parse(&origin.to_string()).ok().map(|url| origin_of(&url));
        policy.grant(Grant::Origin(origin));
    }
    for origin in origins {
        if origin == "connection" {
            if workflow.host_port.is_none() {
                warnings.push(
                    "the plugin asks for http:connection, but the connection has no hostPort to grant".to_string(),
                );
            }
            continue;
        }
        let covered = reqwest::Url::parse(origin).is_ok_and(|url| policy.check(&url).is_ok());
        if !covered {
            warnings.push(format!(
                "the plugin asks for http:{origin}, which neither weir.http.allow nor the connection's hostPort grants"
            ));
        }
    }
    if policy.is_empty() {
        return Ok(None);
    }
    let secrets = ConnectionSecrets::new(own_origin, workflow.secrets);
    let client = HttpClient::new(policy, workflow.settings.clone(), workflow.retry.clone(), workflow.redactor.clone())
        .map_err(|e| HttpGrantError::Setup(e.to_string()))?
        .with_secrets(secrets);
    Ok(Some(Arc::new(client)))
}
