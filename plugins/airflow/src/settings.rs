//! The workflow keys this connector reads, checked once per call: the
//! connection (`hostPort`, `connection.authConfig`, `numberOfStatus`,
//! `pipelineFilterPattern`) and OpenMetadata's `PipelineMetadata`
//! `sourceConfig.config`.

use weir_sdk::filter::FilterPattern;
use weir_sdk::serde::Deserialize;
use weir_sdk::serde_json::Value;
use weir_sdk::{Config, Failure, Result};

/// OpenMetadata's default for `numberOfStatus`.
const DEFAULT_RUNS: u32 = 10;

#[derive(Debug, Default, Deserialize)]
#[serde(crate = "weir_sdk::serde", rename_all = "camelCase")]
pub struct SourceConfig {
    #[serde(default)]
    pub pipeline_filter_pattern: Option<FilterPattern>,
    #[serde(default)]
    pub lineage_information: Option<LineageInformation>,
    #[serde(default = "yes")]
    pub include_lineage: bool,
    #[serde(default = "yes")]
    pub include_owners: bool,
    #[serde(default = "yes")]
    pub include_tags: bool,
    #[serde(default)]
    pub status_lookback_days: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(crate = "weir_sdk::serde", rename_all = "camelCase")]
pub struct LineageInformation {
    #[serde(default)]
    pub db_service_prefixes: Vec<String>,
}

fn yes() -> bool {
    true
}

/// How the plugin proves who it is; the secret itself stays in the host.
#[derive(Debug, Clone, PartialEq)]
pub enum Auth {
    /// Traded for a token at `POST /auth/token` (Airflow 3).
    Password { username: String },
    /// A token the workflow gives, sent as is.
    Token,
}

pub struct Settings {
    /// The server's URL, without a trailing slash.
    pub host: String,
    pub auth: Auth,
    /// `v2`, `v1` or `auto`.
    pub api_version: String,
    /// Newest runs read per pipeline.
    pub runs: u32,
    pub connection_filter: Option<FilterPattern>,
    pub source: SourceConfig,
}

impl Settings {
    pub fn from_config(config: &Config) -> Result<Settings> {
        let host = config
            .connection_str("hostPort")
            .ok_or_else(|| Failure::config("serviceConnection.config.hostPort is missing (http://airflow:8080)"))?
            .trim_end_matches('/')
            .to_string();
        let api = config.connection.get("connection").unwrap_or(&Value::Null);
        let auth_config = api.get("authConfig").unwrap_or(&Value::Null);
        let auth = match (auth_config.get("username").and_then(Value::as_str), auth_config.get("token")) {
            (Some(username), _) => Auth::Password { username: username.to_string() },
            (None, Some(_)) => Auth::Token,
            (None, None) => {
                return Err(Failure::config(
                    "serviceConnection.config.connection.authConfig needs username and password, or token",
                ));
            }
        };
        let api_version = api.get("apiVersion").and_then(Value::as_str).unwrap_or("auto").to_ascii_lowercase();
        let runs = config
            .connection
            .get("numberOfStatus")
            .and_then(Value::as_u64)
            .map_or(DEFAULT_RUNS, |n| u32::try_from(n).unwrap_or(u32::MAX));
        let connection_filter = match config.connection.get("pipelineFilterPattern") {
            Some(pattern) => Some(
                weir_sdk::serde_json::from_value(pattern.clone())
                    .map_err(|e| Failure::config(format!("serviceConnection.config.pipelineFilterPattern: {e}")))?,
            ),
            None => None,
        };
        let source = if config.source_config.is_null() { SourceConfig::default() } else { config.source()? };
        Ok(Settings { host, auth, api_version, runs, connection_filter, source })
    }

    /// Whether a DAG passes both filters (the connection's and the
    /// pipeline's); the host applies them again to what comes back.
    pub fn keeps(&self, dag_id: &str) -> bool {
        [&self.connection_filter, &self.source.pipeline_filter_pattern]
            .into_iter()
            .all(|p| p.as_ref().is_none_or(|p| p.keeps(dag_id)))
    }

    pub fn prefixes(&self) -> &[String] {
        self.source.lineage_information.as_ref().map(|l| l.db_service_prefixes.as_slice()).unwrap_or(&[])
    }
}
