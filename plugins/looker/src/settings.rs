//! The workflow keys this connector reads, checked once per call.

use weir_sdk::filter::FilterPattern;
use weir_sdk::serde::Deserialize;
use weir_sdk::{Config, Failure, Result};

/// `sourceConfig.config` keys, as OpenMetadata's `DashboardMetadata`
/// pipeline names them. Keys the host accepts but this connector does not
/// act on are ignored here (the host warns about them).
#[derive(Debug, Default, Deserialize)]
#[serde(crate = "weir_sdk::serde", rename_all = "camelCase")]
pub struct SourceConfig {
    #[serde(default)]
    pub dashboard_filter_pattern: Option<FilterPattern>,
    #[serde(default)]
    pub chart_filter_pattern: Option<FilterPattern>,
    #[serde(default)]
    pub data_model_filter_pattern: Option<FilterPattern>,
    /// Matched against a dashboard's folder.
    #[serde(default)]
    pub project_filter_pattern: Option<FilterPattern>,
    #[serde(default)]
    pub lineage_information: Option<LineageInformation>,
    #[serde(default = "yes")]
    pub include_data_models: bool,
    #[serde(default = "yes")]
    pub include_owners: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(crate = "weir_sdk::serde", rename_all = "camelCase")]
pub struct LineageInformation {
    /// `service`, `service.database` or `service.database.schema`: where
    /// the tables an explore reads live, in the metadata store.
    #[serde(default)]
    pub db_service_prefixes: Vec<String>,
}

fn yes() -> bool {
    true
}

pub struct Settings {
    /// The instance's URL, without a trailing slash.
    pub host: String,
    pub client_id: String,
    pub source: SourceConfig,
}

impl Settings {
    pub fn from_config(config: &Config) -> Result<Settings> {
        let host = config
            .connection_str("hostPort")
            .ok_or_else(|| {
                Failure::config("serviceConnection.config.hostPort is missing (https://looker.example.com:19999)")
            })?
            .trim_end_matches('/')
            .to_string();
        let client_id = config
            .connection_str("clientId")
            .ok_or_else(|| Failure::config("serviceConnection.config.clientId is missing"))?
            .to_string();
        let source = if config.source_config.is_null() { SourceConfig::default() } else { config.source()? };
        Ok(Settings { host, client_id, source })
    }

    /// `https://host:port/api/4.0`.
    pub fn api(&self) -> String {
        format!("{}/api/4.0", self.host)
    }

    pub fn prefixes(&self) -> &[String] {
        self.source.lineage_information.as_ref().map(|l| l.db_service_prefixes.as_slice()).unwrap_or(&[])
    }
}

/// Whether `name` passes an optional pattern.
pub fn keeps(pattern: &Option<FilterPattern>, name: &str) -> bool {
    pattern.as_ref().is_none_or(|p| p.keeps(name))
}
