//! Which origins a run lets its plugin reach: those of `weir.http.allow`,
//! plus the connection's `hostPort` for a plugin whose `describe()` asks
//! for HTTP. A plugin declaring an origin the workflow does not grant is
//! refused before the run ([`refusals`]).

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

/// Why the workflow cannot grant the HTTP origins the plugin declares,
/// each with its fix; empty when it can. A declared origin is a pattern of
/// `weir.http.allow`'s grammar, served when some origin the workflow grants
/// matches it. Decided before anything connects.
pub fn refusals(asked: &[Capability], allow: &[String], host_port: Option<&str>) -> Vec<String> {
    let mut granted: Vec<AllowedOrigin> = allow.iter().filter_map(|entry| AllowedOrigin::parse(entry).ok()).collect();
    granted.extend(host_port.and_then(|h| AllowedOrigin::from_host_port(h).ok()));
    let mut refused = Vec::new();
    for origin in asked.iter().filter_map(|c| match c {
        Capability::Http(origin) => Some(origin.as_str()),
        Capability::Sql(_) => None,
    }) {
        if origin == "connection" {
            if host_port.is_none() {
                refused.push(
                    "the plugin declares http:connection, but serviceConnection.config has no hostPort: set hostPort \
                     to the URL of the API it reads"
                        .to_string(),
                );
            }
            continue;
        }
        match AllowedOrigin::parse(origin) {
            Err(e) => refused.push(format!(
                "the plugin declares http:{origin}, which is not an origin ({}): fix the plugin's describe()",
                e.reason
            )),
            Ok(declared) if !granted.iter().any(|g| g.overlaps(&declared)) => refused.push(format!(
                "the plugin declares http:{origin}, which neither weir.http.allow nor the connection's hostPort \
                 grants: add `{origin}` to weir.http.allow"
            )),
            Ok(_) => {}
        }
    }
    refused
}

/// Declared HTTP capabilities that are neither `connection` nor an origin
/// pattern, each saying why.
pub fn malformed(asked: &[Capability]) -> Vec<String> {
    asked
        .iter()
        .filter_map(|c| match c {
            Capability::Http(origin) if origin != "connection" => AllowedOrigin::parse(origin).err(),
            _ => None,
        })
        .map(|e| format!("http:{} is not an origin: {}", e.entry, e.reason))
        .collect()
}

/// The run's HTTP client; `None` when the plugin asks for no HTTP or the
/// workflow grants it no origin.
pub fn grant(asked: &[Capability], workflow: HttpWorkflow<'_>) -> Result<Option<Arc<HttpClient>>, HttpGrantError> {
    if !asked.iter().any(|c| matches!(c, Capability::Http(_))) {
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
    if policy.is_empty() {
        return Ok(None);
    }
    let secrets = ConnectionSecrets::new(own_origin, workflow.secrets);
    let client = HttpClient::new(policy, workflow.settings.clone(), workflow.retry.clone(), workflow.redactor.clone())
        .map_err(|e| HttpGrantError::Setup(e.to_string()))?
        .with_secrets(secrets);
    Ok(Some(Arc::new(client)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(origin: &str) -> Capability {
        Capability::Http(origin.to_string())
    }

    #[test]
    fn a_declared_origin_needs_a_grant_that_serves_it() {
        let allow = vec!["https://api.example.com".to_string(), "http://127.0.0.1:8080".to_string()];
        let asked = [http("https://api.example.com"), http("http://127.0.0.1:*"), http("connection")];
        assert_eq!(refusals(&asked, &allow, Some("https://looker.example.com")), Vec::<String>::new());
        let refused = refusals(&[http("https://other.example.com"), http("ftp://x"), http("connection")], &allow, None);
        assert_eq!(refused.len(), 3, "{refused:?}");
        assert!(refused[0].contains("add `https://other.example.com` to weir.http.allow"), "{}", refused[0]);
        assert!(refused[1].contains("is not an origin") && refused[1].contains("describe()"), "{}", refused[1]);
        assert!(refused[2].contains("no hostPort"), "{}", refused[2]);
        // The hostPort serves a declared origin too.
        assert!(refusals(&[http("https://looker.example.com")], &[], Some("looker.example.com")).is_empty());
    }
}
