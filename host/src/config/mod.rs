//! The workflow file: OpenMetadata's ingestion format, plus one `weir`
//! section for weir's own settings.
//!
//! Unknown keys are errors that name the key path and the line. Keys that
//! OpenMetadata defines but weir does not act on yet are accepted and listed
//! in a warning, so an existing OpenMetadata workflow file runs unchanged.

mod connection;
pub mod custom;
mod env;
/// Shared with the SDK, so a plugin that filters applies the same rules.
#[path = "../../../sdk/src/filter.rs"]
mod filter;
mod service_type;

pub use connection::ConnectionConfig;
pub use custom::ConnectionSchema;
pub use env::{EnvString, Secret, resolve as resolve_env};
pub use filter::FilterPattern;

use crate::caps::http::HttpSettings;
use crate::caps::sql::{Engine, SqlSettings};
use crate::runtime::Limits;
use serde::{Deserialize, Serialize};
use serde_yaml::Value as Yaml;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read {path}")]
    Read { path: String, source: std::io::Error },
    /// A syntax or schema error; the message names the key and the line.
    #[error("{origin}: {message}")]
    Parse { origin: String, message: String },
    /// A value that parsed but cannot be used.
    #[error("{origin}: {key}: {message}")]
    Invalid { origin: String, key: String, message: String },
    #[error("{path} is larger than {} MiB, which no workflow file is", MAX_WORKFLOW_BYTES >> 20)]
    TooLarge { path: String },
}

/// The largest workflow file read: a real one is a few KiB, and reading
/// `/dev/zero` must not take the machine's memory.
pub const MAX_WORKFLOW_BYTES: u64 = 16 << 20;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Workflow {
    pub source: Source,
    #[serde(default)]
    pub sink: Option<SinkConfig>,
    #[serde(default)]
    pub workflow_config: Option<WorkflowConfig>,
    /// weir's own settings.
    #[serde(default)]
    pub weir: WeirSettings,
    // Set by OpenMetadata when it launches a workflow: see
    // `Workflow::ingestion_pipeline`.
    #[serde(default, rename = "ingestionPipelineFQN")]
    pub ingestion_pipeline_fqn: Option<Yaml>,
    #[serde(default)]
    pub pipeline_run_id: Option<Yaml>,
    /// Where the file came from, for error messages.
    #[serde(skip)]
    pub origin: String,
    /// `sourceConfig.config` of a database source, read strictly.
    #[serde(skip)]
    pub metadata: DatabaseMetadataConfig,
    /// `sourceConfig.config` of a dashboard source, read strictly.
    #[serde(skip)]
    pub dashboard: Option<DashboardMetadataConfig>,
    /// `sourceConfig.config` of a pipeline source, read strictly.
    #[serde(skip)]
    pub pipeline: Option<PipelineMetadataConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Source {
    /// The connector: `postgres`, `sqlite`, ...
    #[serde(rename = "type")]
    pub kind: String,
    pub service_name: EnvString,
    pub service_connection: ServiceConnection,
    #[serde(default)]
    pub source_config: Option<SourceConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConnection {
    pub config: ConnectionConfig,
}

/// `sourceConfig` as first read: kept raw, because its schema depends on
/// `source.type`. Database sources are then read strictly (see
/// [`Workflow::parse`]); any other plugin gets the JSON as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    #[serde(deserialize_with = "env::yaml_with_env")]
    pub config: Yaml,
}

/// The narrow second pass over the text, strict on `sourceConfig.config`
/// only, so its errors carry lines too.
#[derive(Deserialize)]
struct StrictPass<T> {
    source: StrictSource<T>,
}

#[derive(Deserialize)]
struct StrictSource<T> {
    #[serde(default = "none", rename = "sourceConfig")]
    source_config: Option<StrictSourceConfig<T>>,
}

fn none<T>() -> Option<T> {
    None
}

#[derive(Deserialize)]
struct StrictSourceConfig<T> {
    config: T,
}

/// `sourceConfig.config` of a dashboard service (OpenMetadata's
/// `DashboardMetadata` pipeline). The plugin applies the patterns, on the
/// names OpenMetadata uses (dashboard and chart titles, explore names).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DashboardMetadataConfig {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dashboard_filter_pattern: Option<FilterPattern>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart_filter_pattern: Option<FilterPattern>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_model_filter_pattern: Option<FilterPattern>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_filter_pattern: Option<FilterPattern>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lineage_information: Option<LineageInformation>,
    #[serde(default = "yes")]
    pub include_data_models: bool,
    #[serde(default = "yes")]
    pub include_owners: bool,
    /// After a clean run, dashboards seen before and gone now are marked
    /// deleted (OpenMetadata's default: on).
    #[serde(default = "yes", skip_serializing)]
    pub mark_deleted_dashboards: bool,
    #[serde(default = "yes", skip_serializing)]
    pub mark_deleted_data_models: bool,
    // Accepted for compatibility; weir does not act on these yet.
    #[serde(default, skip_serializing)]
    pub(crate) query_parser_config: Option<Yaml>,
    #[serde(default, skip_serializing)]
    pub(crate) include_tags: Option<Yaml>,
    #[serde(default, skip_serializing)]
    pub(crate) include_draft_dashboard: Option<Yaml>,
    #[serde(default, skip_serializing)]
    pub(crate) include_usage: Option<Yaml>,
    /// Send every entity, changed or not (as `--full`).
    #[serde(default, skip_serializing)]
    pub override_metadata: bool,
    #[serde(default, skip_serializing)]
    pub(crate) override_lineage: Option<Yaml>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LineageInformation {
    /// `service`, `service.database` or `service.database.schema`.
    #[serde(default)]
    pub db_service_prefixes: Vec<String>,
}

impl DashboardMetadataConfig {
    pub fn ignored_keys(&self) -> Vec<&'static str> {
        let keys: [(&'static str, bool); 5] = [
            ("queryParserConfig", self.query_parser_config.is_some()),
            ("includeTags", self.include_tags.is_some()),
            ("includeDraftDashboard", self.include_draft_dashboard.is_some()),
            ("includeUsage", self.include_usage.is_some()),
            ("overrideLineage", self.override_lineage.is_some()),
        ];
        keys.into_iter().filter(|(_, present)| *present).map(|(k, _)| k).collect()
    }
}

/// `sourceConfig.config` of a pipeline service (OpenMetadata's
/// `PipelineMetadata` pipeline). The plugin applies the pattern, on the
/// pipeline's name.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PipelineMetadataConfig {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_filter_pattern: Option<FilterPattern>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lineage_information: Option<PipelineLineageInformation>,
    #[serde(default = "yes")]
    pub include_lineage: bool,
    #[serde(default = "yes")]
    pub include_owners: bool,
    #[serde(default = "yes")]
    pub include_tags: bool,
    /// Runs older than this many days are not read (OpenMetadata's
    /// default: 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_lookback_days: Option<u32>,
    /// After a clean run, pipelines seen before and gone now are marked
    /// deleted (OpenMetadata's default: on).
    #[serde(default = "yes", skip_serializing)]
    pub mark_deleted_pipelines: bool,
    /// Send every entity, changed or not (as `--full`).
    #[serde(default, skip_serializing)]
    pub override_metadata: bool,
    // Accepted for compatibility; weir does not act on these yet.
    #[serde(default, skip_serializing)]
    pub(crate) override_lineage: Option<Yaml>,
    #[serde(default, skip_serializing)]
    pub(crate) include_un_deployed_pipelines: Option<Yaml>,
}

/// Where a pipeline's tables are: OpenMetadata names whole services
/// (`dbServiceNames`); `dbServicePrefixes` may also name a database or a
/// schema of one (`service.database`), as for dashboards. The plugin gets
/// both as prefixes.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PipelineLineageInformation {
    #[serde(default, skip_serializing)]
    pub db_service_names: Vec<String>,
    #[serde(default)]
    pub db_service_prefixes: Vec<String>,
    #[serde(default, skip_serializing)]
    pub(crate) storage_service_names: Option<Yaml>,
}

impl PipelineMetadataConfig {
    pub fn ignored_keys(&self) -> Vec<&'static str> {
        let storage = self.lineage_information.as_ref().is_some_and(|l| l.storage_service_names.is_some());
        let keys: [(&'static str, bool); 3] = [
            ("overrideLineage", self.override_lineage.is_some()),
            ("includeUnDeployedPipelines", self.include_un_deployed_pipelines.is_some()),
            ("lineageInformation.storageServiceNames", storage),
        ];
        keys.into_iter().filter(|(_, present)| *present).map(|(k, _)| k).collect()
    }

    /// As the plugin reads it: every service name a prefix too.
    fn plugin_view(&self) -> serde_json::Value {
        let mut config = self.clone();
        if let Some(lineage) = config.lineage_information.as_mut() {
            let names = std::mem::take(&mut lineage.db_service_names);
            lineage.db_service_prefixes.splice(0..0, names);
        }
        serde_json::to_value(config).unwrap_or_default()
    }
}

/// `weir.http.maxInFlight` for Airflow unless the workflow says: its API
/// server checks each request's token against its database from its event
/// loop, and stalls when more requests arrive at once than its connection
/// pool holds (measured on 3.3.2 with one API worker: 8 at once answer in
/// full; 16 slow to a crawl; 64 stall past the 30 s timeout). An Airflow
/// with more API workers takes more: raise it there.
pub const AIRFLOW_MAX_IN_FLIGHT: usize = 8;

/// Whether `weir.http.<key>` is in the document.
fn http_key_given(text: &str, key: &str) -> bool {
    let Ok(doc) = serde_yaml::from_str::<Yaml>(text) else { return false };
    doc.get("weir").and_then(|w| w.get("http")).and_then(|h| h.get(key)).is_some()
}

/// Source types whose `sourceConfig.config` is a `PipelineMetadata` one.
fn is_pipeline_source(source_type: &str) -> bool {
    source_type.eq_ignore_ascii_case("airflow")
}

/// Source types whose `sourceConfig.config` is a `DashboardMetadata` one.
fn is_dashboard_source(source_type: &str) -> bool {
    source_type.eq_ignore_ascii_case("looker")
}

/// `sourceConfig.config` of a database service (OpenMetadata's
/// `DatabaseMetadata` pipeline).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DatabaseMetadataConfig {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_filter_pattern: Option<FilterPattern>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_filter_pattern: Option<FilterPattern>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_filter_pattern: Option<FilterPattern>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_procedure_filter_pattern: Option<FilterPattern>,
    /// Match filters against fully qualified names instead of bare names.
    #[serde(default)]
    pub use_fqn_for_filtering: bool,
    #[serde(default = "yes")]
    pub include_tables: bool,
    #[serde(default = "yes")]
    pub include_views: bool,
    #[serde(default = "yes")]
    pub include_stored_procedures: bool,
    /// After a clean run, tables (and views) seen before and gone now are
    /// marked deleted (OpenMetadata's default: on).
    #[serde(default = "yes", skip_serializing)]
    pub mark_deleted_tables: bool,
    #[serde(default = "yes", skip_serializing)]
    pub mark_deleted_stored_procedures: bool,
    // Accepted for compatibility; weir does not act on these yet.
    #[serde(default, skip_serializing)]
    pub(crate) mark_deleted_schemas: Option<Yaml>,
    #[serde(default, skip_serializing)]
    pub(crate) mark_deleted_databases: Option<Yaml>,
    #[serde(default, skip_serializing)]
    pub(crate) include_tags: Option<Yaml>,
    #[serde(default, skip_serializing)]
    pub(crate) include_owners: Option<Yaml>,
    #[serde(default, skip_serializing)]
    pub(crate) owner_config: Option<Yaml>,
    #[serde(default, skip_serializing, rename = "includeDDL")]
    pub(crate) include_ddl: Option<Yaml>,
    /// Send every entity, changed or not (as `--full`).
    #[serde(default, skip_serializing)]
    pub override_metadata: bool,
    #[serde(default, skip_serializing)]
    pub(crate) query_log_duration: Option<Yaml>,
    #[serde(default, skip_serializing)]
    pub(crate) query_parsing_timeout_limit: Option<Yaml>,
    #[serde(default, skip_serializing)]
    pub(crate) threads: Option<Yaml>,
    #[serde(default, skip_serializing)]
    pub(crate) incremental: Option<Yaml>,
    #[serde(default, skip_serializing)]
    pub(crate) extract_json_schema: Option<Yaml>,
    #[serde(default, skip_serializing)]
    pub(crate) json_schema_sample_size: Option<Yaml>,
}

fn yes() -> bool {
    true
}

/// The keys of `sourceConfig.config` the host acts on itself whatever the
/// plugin: filter patterns and include flags.
const HOST_KEYS: [&str; 11] = [
    "overrideMetadata",
    "markDeletedTables",
    "markDeletedStoredProcedures",
    "databaseFilterPattern",
    "schemaFilterPattern",
    "tableFilterPattern",
    "storedProcedureFilterPattern",
    "useFqnForFiltering",
    "includeTables",
    "includeViews",
    "includeStoredProcedures",
];

/// A third-party plugin's `sourceConfig.config` read for the host's keys
/// only; the rest is the plugin's, passed through as written.
fn host_keys(raw: &Yaml) -> Result<DatabaseMetadataConfig, String> {
    let mut kept = serde_yaml::Mapping::new();
    if let Yaml::Mapping(map) = raw {
        for key in HOST_KEYS {
            if let Some(value) = map.get(key) {
                kept.insert(Yaml::from(key), value.clone());
            }
        }
    }
    serde_yaml::from_value(Yaml::Mapping(kept)).map_err(|e| e.to_string())
}

impl Default for DatabaseMetadataConfig {
    fn default() -> Self {
        // Parse an empty mapping so defaults live in one place: the serde
        // attributes above.
        serde_yaml::from_str("{}").unwrap_or_else(|_| unreachable!("an empty mapping is a valid sourceConfig"))
    }
}

impl DatabaseMetadataConfig {
    /// OpenMetadata keys present in the file that weir ignores.
    pub fn ignored_keys(&self) -> Vec<&'static str> {
        let keys: [(&'static str, bool); 12] = [
            ("markDeletedSchemas", self.mark_deleted_schemas.is_some()),
            ("markDeletedDatabases", self.mark_deleted_databases.is_some()),
            ("includeTags", self.include_tags.is_some()),
            ("includeOwners", self.include_owners.is_some()),
            ("ownerConfig", self.owner_config.is_some()),
            ("includeDDL", self.include_ddl.is_some()),
            ("queryLogDuration", self.query_log_duration.is_some()),
            ("queryParsingTimeoutLimit", self.query_parsing_timeout_limit.is_some()),
            ("threads", self.threads.is_some()),
            ("incremental", self.incremental.is_some()),
            ("extractJsonSchema", self.extract_json_schema.is_some()),
            ("jsonSchemaSampleSize", self.json_schema_sample_size.is_some()),
        ];
        keys.into_iter().filter(|(_, present)| *present).map(|(k, _)| k).collect()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkConfig {
    /// `catalog` (the default) is the embedded catalog.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub config: Option<SinkSettings>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkSettings {
    /// The catalog file (`catalog`) or the JSON Lines file (`file`).
    #[serde(default)]
    pub path: Option<EnvString>,
    /// The catalog on PostgreSQL (`catalog`), `postgres://user:pw@host/db`:
    /// one catalog every process of a distributed run writes into.
    #[serde(default)]
    pub url: Option<Secret>,
    /// Documents per write (default 100).
    #[serde(default)]
    pub bulk_sink_batch_size: Option<usize>,
    /// Writes at once (default 2).
    #[serde(default)]
    pub async_pipeline_workers: Option<usize>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WorkflowConfig {
    #[serde(default)]
    pub logger_level: Option<String>,
    #[serde(default)]
    pub open_metadata_server_config: Option<ServerConfig>,
    /// How `weir argo render` (and `weir ingest`, when `enabled`) runs the
    /// workflow as pods.
    #[serde(default)]
    pub distributed_execution: Option<DistributedExecution>,
    /// The OpenMetadata ingestion pipeline the run reports its status to
    /// (the metadata-rest sink); also read at the top level, where
    /// OpenMetadata writes it.
    #[serde(default, rename = "ingestionPipelineFQN")]
    pub ingestion_pipeline_fqn: Option<String>,
    /// The run's id in that pipeline's history (a UUID).
    #[serde(default)]
    pub pipeline_run_id: Option<String>,
    /// The share of records (0-100) that must be processed for the run's
    /// status to be partialSuccess rather than failed (default 90).
    #[serde(default)]
    pub success_threshold: Option<u8>,
    /// Accepted for OpenMetadata's workflows; weir reports failures by exit
    /// status instead.
    #[serde(default)]
    pub raise_on_error: Option<bool>,
}

/// Where a workflow file keeps each secret weir reads, and the environment
/// variable `weir argo render` has pods read it from (fed from a
/// Kubernetes Secret, so it is in no ConfigMap and no parameter).
pub const SECRET_KEYS: &[(&[&str], &str)] = &[
    (&["source", "serviceConnection", "config", "authType", "password"], "WEIR_SOURCE_PASSWORD"),
    (&["source", "serviceConnection", "config", "password"], "WEIR_SOURCE_PASSWORD"),
    (&["source", "serviceConnection", "config", "clientSecret"], "WEIR_SOURCE_CLIENT_SECRET"),
    (&["sink", "config", "url"], "WEIR_CATALOG_URL"),
    (&["workflowConfig", "openMetadataServerConfig", "securityConfig", "jwtToken"], "WEIR_OPENMETADATA_TOKEN"),
    (&["weir", "stateStore"], "WEIR_STATE_STORE"),
];

/// The variable the Argo Server's token is read from when `tokenEnv` does
/// not name one, as the `argo` command has it.
pub const DEFAULT_ARGO_TOKEN_ENV: &str = "ARGO_TOKEN";

impl DistributedExecution {
    /// The variable the Argo Server's token is read from.
    pub fn token_variable(&self) -> &str {
        self.token_env.as_deref().unwrap_or(DEFAULT_ARGO_TOKEN_ENV)
    }

    /// The Argo Server's token, from its variable, if set.
    pub fn argo_token(&self) -> Option<Secret> {
        std::env::var(self.token_variable()).ok().filter(|t| !t.trim().is_empty()).map(Secret::new)
    }
}

/// `workflowConfig.distributedExecution`: the workflow as an Argo workflow
/// of pods: discover, one pod per shard, finalize.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DistributedExecution {
    /// `weir ingest` submits the workflow to Argo instead of running it.
    #[serde(default)]
    pub enabled: bool,
    /// `argo`, the one there is.
    #[serde(default)]
    pub orchestrator: Option<String>,
    /// Shard pods at once (the workflow's `parallelism`).
    #[serde(default)]
    pub parallelism: Option<u32>,
    /// Shard pods in all at most: shards are made big enough to fit.
    #[serde(default)]
    pub max_pods: Option<u32>,
    #[serde(default)]
    pub namespace: Option<String>,
    /// The weir image the pods run, `REGISTRY/weir:TAG`.
    #[serde(default)]
    pub image: Option<String>,
    /// The Kubernetes Secret the pods read the workflow's secrets from.
    #[serde(default)]
    pub secret_name: Option<String>,
    /// The service account the pods run as.
    #[serde(default)]
    pub service_account_name: Option<String>,
    #[serde(default)]
    pub retry_policy: Option<PodRetryPolicy>,
    /// `{cpu: 500m, memory: 512Mi}`, per pod.
    #[serde(default)]
    pub resource_requests: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default)]
    pub resource_limits: Option<std::collections::BTreeMap<String, String>>,
    /// The Argo Server `weir ingest` submits to, `https://argo.example:2746`.
    #[serde(default)]
    pub argo_server: Option<EnvString>,
    /// The environment variable holding the Argo Server's bearer token
    /// (default `ARGO_TOKEN`, as the `argo` command reads it).
    #[serde(default)]
    pub token_env: Option<String>,
    /// Accept the Argo Server's certificate unchecked (its default one is
    /// self-signed), as `argo --insecure-skip-verify` does.
    #[serde(default)]
    pub insecure_skip_verify: bool,
    /// Seconds a shard stays a pod's without a renewal.
    #[serde(default)]
    pub lease_seconds: Option<u64>,
}

/// How a failed pod is run again: only for exit status 75 (a cause that
/// may pass) and for a pod that was killed or lost.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PodRetryPolicy {
    /// Runs of a pod in all, the first included (default 4).
    #[serde(default)]
    pub max_attempts: Option<u32>,
    /// The wait before the first retry (default 10).
    #[serde(default)]
    pub backoff_seconds: Option<u32>,
    /// Each wait this many times the one before (default 2).
    #[serde(default)]
    pub backoff_factor: Option<u32>,
}

/// `workflowConfig.openMetadataServerConfig`: where the `metadata-rest`
/// sink sends entities, and how it signs in.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerConfig {
    /// The API's base URL, `http://host:8585/api`.
    pub host_port: EnvString,
    /// `openmetadata` (a JWT bearer token) is the one weir speaks.
    #[serde(default)]
    pub auth_provider: Option<String>,
    #[serde(default)]
    pub security_config: Option<SecurityConfig>,
    // Other OpenMetadata client keys (verifySSL, sslConfig, ...) are
    // accepted and not acted on yet.
    #[serde(flatten)]
    pub other: std::collections::BTreeMap<String, Yaml>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityConfig {
    #[serde(default)]
    pub jwt_token: Option<Secret>,
}

/// weir's own knobs, in the workflow's `weir:` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WeirSettings {
    /// A plugin file to run instead of the built-in one for `source.type`.
    #[serde(default)]
    pub plugin: Option<PathBuf>,
    /// Sandboxed instances running at once (default: cores × 2).
    #[serde(default)]
    pub instances: Option<u32>,
    /// How discovered refs are split into shards: `cost` (default),
    /// `schema` or `count`.
    #[serde(default)]
    pub shard_strategy: ShardStrategy,
    /// References per shard for `cost` and `count` (default 200).
    #[serde(default)]
    pub shard_size: Option<usize>,
    /// At most this many references per `process` call: a larger shard is
    /// sent in several calls (default 1,000).
    #[serde(default)]
    pub batch_size: Option<usize>,
    /// Stop the run once more entities than this have failed.
    #[serde(default)]
    pub max_failures: Option<usize>,
    /// Retries of transient failures.
    #[serde(default)]
    pub retry: crate::retry::RetryPolicy,
    /// Outbound HTTP for plugins: granted origins and limits.
    #[serde(default)]
    pub http: HttpSettings,
    /// The run state store (deferred records) as a SQLite file; default
    /// `state.db` in the user's state directory (`$WEIR_STATE_DIR`
    /// overrides it).
    #[serde(default)]
    pub state_path: Option<PathBuf>,
    /// The run state store on PostgreSQL (`postgres://user:pw@host/db`),
    /// shared by every process of a run; instead of `statePath`.
    #[serde(default)]
    pub state_store: Option<Secret>,
    #[serde(default)]
    pub limits: Limits,
    /// What the host accepts of a database connection (`allowPrivilegedRole`,
    /// `connectionShare`).
    #[serde(default)]
    pub sql: SqlSettings,
    /// Marking what disappeared is refused when it would mark more than
    /// this fraction of what the run's scope held (0 to 1; default
    /// [`DEFAULT_MARK_DELETED_MAX_FRACTION`]).
    #[serde(default)]
    pub mark_deleted_max_fraction: Option<f64>,
}

/// See [`WeirSettings::mark_deleted_max_fraction`]: README "Running again"
/// says why a quarter.
pub const DEFAULT_MARK_DELETED_MAX_FRACTION: f64 = 0.25;

impl Workflow {
    /// Reads and validates a workflow file.
    pub fn load(path: &Path) -> Result<Workflow, ConfigError> {
        use std::io::Read;
        let read = |source| ConfigError::Read { path: path.display().to_string(), source };
        let mut bytes = Vec::new();
        std::fs::File::open(path).map_err(read)?.take(MAX_WORKFLOW_BYTES + 1).read_to_end(&mut bytes).map_err(read)?;
        if bytes.len() as u64 > MAX_WORKFLOW_BYTES {
            return Err(ConfigError::TooLarge { path: path.display().to_string() });
        }
        let text = String::from_utf8(bytes)
            .map_err(|e| read(std::io::Error::new(std::io::ErrorKind::InvalidData, e.utf8_error())))?;
        let mut workflow = Workflow::parse(&text, &path.display().to_string())?;
        // A relative plugin path is relative to the workflow file.
        if let (Some(plugin), Some(dir)) = (&workflow.weir.plugin, path.parent())
            && plugin.is_relative()
        {
            workflow.weir.plugin = Some(dir.join(plugin));
        }
        Ok(workflow)
    }

    /// Parses workflow text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Workflow, ConfigError> {
        let mut workflow: Workflow = serde_yaml::from_str(text)
            .map_err(|e| ConfigError::Parse { origin: origin.to_string(), message: e.to_string() })?;
        workflow.origin = origin.to_string();
        let custom = custom::read(text, origin)?;
        // A built-in connector takes no key of its own; a plugin's are
        // checked once it says which it takes (`ConnectionSchema::check`).
        if let (None, Some(key)) = (&workflow.weir.plugin, custom.first()) {
            let hint =
                custom::known_suggestion(&key.name).map(|k| format!(" (did you mean `{k}`?)")).unwrap_or_default();
            let at = key.line.map(|l| format!(" at line {l}")).unwrap_or_default();
            return Err(ConfigError::Parse {
                origin: origin.to_string(),
                message: format!(
                    "source.serviceConnection.config: unknown field `{}`{hint}{at}: the built-in `{}` connector \
                     does not take it",
                    key.name, workflow.source.kind
                ),
            });
        }
        workflow.source.service_connection.config.custom = custom;
        let strict = |e: serde_yaml::Error| ConfigError::Parse { origin: origin.to_string(), message: e.to_string() };
        if Engine::of(&workflow.source.kind).is_some() {
            let pass: StrictPass<DatabaseMetadataConfig> = serde_yaml::from_str(text).map_err(strict)?;
            workflow.metadata = pass.source.source_config.map(|s| s.config).unwrap_or_default();
        } else if is_dashboard_source(&workflow.source.kind) {
            let pass: StrictPass<DashboardMetadataConfig> = serde_yaml::from_str(text).map_err(strict)?;
            let config = match pass.source.source_config {
                Some(s) => s.config,
                None => serde_yaml::from_str("{}").map_err(strict)?,
            };
            workflow.dashboard = Some(config);
        } else if is_pipeline_source(&workflow.source.kind) {
            let pass: StrictPass<PipelineMetadataConfig> = serde_yaml::from_str(text).map_err(strict)?;
            let config = match pass.source.source_config {
                Some(s) => s.config,
                None => serde_yaml::from_str("{}").map_err(strict)?,
            };
            workflow.pipeline = Some(config);
            if !http_key_given(text, "maxInFlight") {
                workflow.weir.http.max_in_flight = AIRFLOW_MAX_IN_FLIGHT;
            }
        } else if let Some(raw) = workflow.source.source_config.as_ref().map(|s| &s.config) {
            // A third-party plugin: the host still applies the filters.
            workflow.metadata = host_keys(raw).map_err(|message| ConfigError::Invalid {
                origin: origin.to_string(),
                key: "source.sourceConfig.config".into(),
                message,
            })?;
        }
        workflow.validate()?;
        Ok(workflow)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            origin: self.origin.clone(),
            key: key.to_string(),
            message,
        };
        if self.source.service_name.as_str().trim().is_empty() {
            return Err(invalid("source.serviceName", "must not be empty".into()));
        }
        if self.source.kind.trim().is_empty() {
            return Err(invalid("source.type", "must not be empty".into()));
        }
        if let Some(fraction) = self.weir.mark_deleted_max_fraction
            && !(0.0..=1.0).contains(&fraction)
        {
            return Err(invalid(
                "weir.markDeletedMaxFraction",
                format!("{fraction} is not a fraction: give a number from 0 (never mark) to 1 (no limit)"),
            ));
        }
        if let Some(sink) = &self.sink {
            match sink.kind.as_str() {
                "catalog" => {}
                "file" if self.sink_path().is_none() => {
                    return Err(invalid("sink.config.path", "the file sink needs a path (say, out.jsonl)".into()));
                }
                "file" => {}
                "metadata-rest" => self.check_server()?,
                other => {
                    return Err(invalid(
                        "sink.type",
                        format!(
                            "`{other}` is not supported by this weir; use `catalog` (the embedded catalog), \
                             `metadata-rest` (an OpenMetadata server) or `file` (JSON Lines)"
                        ),
                    ));
                }
            }
            let settings = sink.config.as_ref();
            if settings.and_then(|c| c.bulk_sink_batch_size) == Some(0) {
                return Err(invalid("sink.config.bulk_sink_batch_size", "must be at least 1".into()));
            }
            if settings.and_then(|c| c.async_pipeline_workers) == Some(0) {
                return Err(invalid("sink.config.async_pipeline_workers", "must be at least 1".into()));
            }
        }
        if self.weir.instances == Some(0) {
            return Err(invalid("weir.instances", "must be at least 1".into()));
        }
        if self.weir.batch_size == Some(0) {
            return Err(invalid("weir.batchSize", "must be at least 1".into()));
        }
        if let Some(d) = self.distributed() {
            let key = |k: &str| format!("workflowConfig.distributedExecution.{k}");
            if let Some(other) = d.orchestrator.as_deref().filter(|o| *o != "argo") {
                return Err(invalid(&key("orchestrator"), format!("`{other}`: weir runs on `argo`")));
            }
            for (name, value) in [("parallelism", d.parallelism), ("maxPods", d.max_pods)] {
                if value == Some(0) {
                    return Err(invalid(&key(name), "must be at least 1".into()));
                }
            }
            if let Some(server) = &d.argo_server
                && !(server.as_str().starts_with("https://") || server.as_str().starts_with("http://"))
            {
                return Err(invalid(
                    &key("argoServer"),
                    format!("`{server}` is not a URL: write https://HOST:2746 (the Argo Server's address)"),
                ));
            }
            if let Some(retry) = &d.retry_policy
                && retry.max_attempts == Some(0)
            {
                return Err(invalid(&key("retryPolicy.maxAttempts"), "must be at least 1 (the first run)".into()));
            }
        }
        if self.weir.shard_size == Some(0) {
            return Err(invalid("weir.shardSize", "must be at least 1".into()));
        }
        if let Some(url) = &self.weir.state_store {
            if self.weir.state_path.is_some() {
                return Err(invalid(
                    "weir.stateStore",
                    "set weir.stateStore (a PostgreSQL URL) or weir.statePath (a SQLite file), not both".into(),
                ));
            }
            if let Err(problem) = crate::engines::check_postgres_url(url.expose()) {
                return Err(invalid(
                    "weir.stateStore",
                    format!("{problem}; for a SQLite file set weir.statePath instead"),
                ));
            }
        }
        if let Some(settings) = self.sink.as_ref().and_then(|s| s.config.as_ref())
            && let Some(url) = &settings.url
        {
            if settings.path.is_some() {
                return Err(invalid(
                    "sink.config.url",
                    "set sink.config.url (a PostgreSQL catalog) or sink.config.path (a file), not both".into(),
                ));
            }
            if self.sink_kind() != "catalog" {
                return Err(invalid(
                    "sink.config.url",
                    format!("is for `sink.type: catalog`, not `{}`", self.sink_kind()),
                ));
            }
            if let Err(problem) = crate::engines::check_postgres_url(url.expose()) {
                return Err(invalid("sink.config.url", format!("{problem}; for a catalog file set sink.config.path")));
            }
        }
        self.source
            .service_connection
            .config
            .check(&self.source.kind)
            .map_err(|(key, message)| invalid(&format!("source.serviceConnection.config.{key}"), message))?;
        Ok(())
    }

    /// `sourceConfig.config` of a database source, or its defaults.
    pub fn metadata_config(&self) -> &DatabaseMetadataConfig {
        &self.metadata
    }

    /// `sourceConfig.config.overrideMetadata`: every entity is sent, changed
    /// or not.
    pub fn override_metadata(&self) -> bool {
        self.metadata.override_metadata
            || self.dashboard.as_ref().is_some_and(|d| d.override_metadata)
            || self.pipeline.as_ref().is_some_and(|p| p.override_metadata)
    }

    /// OpenMetadata's `serviceType` of the run's service, for every sink.
    pub fn service_type(&self, kind: crate::model::ServiceKind) -> String {
        service_type::service_type(kind, self.source.service_connection.config.kind.as_deref(), &self.source.kind)
    }

    /// `sourceConfig.config` of a dashboard service, if this is one.
    pub fn dashboard_config(&self) -> Option<&DashboardMetadataConfig> {
        self.dashboard.as_ref()
    }

    /// `sourceConfig.config` of a pipeline service, if this is one.
    pub fn pipeline_config(&self) -> Option<&PipelineMetadataConfig> {
        self.pipeline.as_ref()
    }

    /// `sourceConfig.config` as the plugin receives it.
    pub fn source_config_json(&self) -> serde_json::Value {
        if Engine::of(&self.source.kind).is_some() {
            return serde_json::to_value(&self.metadata).unwrap_or_default();
        }
        if let Some(dashboard) = &self.dashboard {
            return serde_json::to_value(dashboard).unwrap_or_default();
        }
        if let Some(pipeline) = &self.pipeline {
            return pipeline.plugin_view();
        }
        let raw = self.source.source_config.as_ref().map(|s| &s.config);
        raw.and_then(|v| serde_json::to_value(v).ok()).unwrap_or_else(|| serde_json::json!({}))
    }

    /// The OpenMetadata server, for `sink.type: metadata-rest`.
    pub fn server(&self) -> Option<&ServerConfig> {
        self.workflow_config.as_ref()?.open_metadata_server_config.as_ref()
    }

    fn check_server(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: &str| ConfigError::Invalid {
            origin: self.origin.clone(),
            key: key.to_string(),
            message: message.to_string(),
        };
        const KEY: &str = "workflowConfig.openMetadataServerConfig";
        let Some(server) = self.server() else {
            return Err(invalid(KEY, "the metadata-rest sink needs the server's hostPort and a jwtToken"));
        };
        let url = server.host_port.as_str();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(invalid(
                &format!("{KEY}.hostPort"),
                "must be an http:// or https:// URL (http://host:8585/api)",
            ));
        }
        match server.auth_provider.as_deref() {
            None | Some("openmetadata") => {}
            Some(other) => {
                return Err(invalid(
                    &format!("{KEY}.authProvider"),
                    &format!("`{other}` is not supported; use `openmetadata` with securityConfig.jwtToken"),
                ));
            }
        }
        if server.security_config.as_ref().and_then(|s| s.jwt_token.as_ref()).is_none() {
            return Err(invalid(&format!("{KEY}.securityConfig.jwtToken"), "is required (a bot's JWT token)"));
        }
        Ok(())
    }

    /// `sink.type`: `catalog` unless the workflow says otherwise.
    /// `ingestionPipelineFQN` and `pipelineRunId`, from `workflowConfig`
    /// or the top level (where OpenMetadata puts them when it launches a
    /// workflow), if the workflow names a pipeline.
    pub fn ingestion_pipeline(&self) -> Option<(String, Option<String>)> {
        let config = self.workflow_config.as_ref();
        let top = |v: &Option<Yaml>| v.as_ref().and_then(Yaml::as_str).map(str::to_string);
        let fqn =
            config.and_then(|c| c.ingestion_pipeline_fqn.clone()).or_else(|| top(&self.ingestion_pipeline_fqn))?;
        let run = config.and_then(|c| c.pipeline_run_id.clone()).or_else(|| top(&self.pipeline_run_id));
        Some((fqn, run.filter(|r| !r.trim().is_empty())))
    }

    /// `workflowConfig.successThreshold`, if set.
    pub fn success_threshold(&self) -> Option<u8> {
        self.workflow_config.as_ref()?.success_threshold
    }

    /// `workflowConfig.distributedExecution`, if set.
    pub fn distributed(&self) -> Option<&DistributedExecution> {
        self.workflow_config.as_ref()?.distributed_execution.as_ref()
    }

    pub fn sink_kind(&self) -> &str {
        self.sink.as_ref().map(|s| s.kind.as_str()).unwrap_or("catalog")
    }

    /// The catalog or output file named by `sink.config.path`, if any.
    /// `sink.config.url`: the catalog on PostgreSQL.
    pub fn sink_url(&self) -> Option<&Secret> {
        self.sink.as_ref()?.config.as_ref()?.url.as_ref()
    }

    pub fn sink_path(&self) -> Option<PathBuf> {
        self.sink.as_ref()?.config.as_ref()?.path.as_ref().map(|p| PathBuf::from(p.as_str()))
    }

    /// The JSON document every plugin call receives: no secret in it.
    /// `last_runs`: per pipeline, the time up to which the sink has every
    /// run (the SDK's `Config::last_runs`).
    pub fn plugin_config(
        &self,
        declared: &ConnectionSchema,
        last_runs: &std::collections::HashMap<String, i64>,
    ) -> String {
        let mut doc = serde_json::json!({
            "serviceName": self.source.service_name.as_str(),
            "serviceType": self.source.kind,
            "connection": self.source.service_connection.config.plugin_view(declared),
            "sourceConfig": self.source_config_json(),
        });
        if !last_runs.is_empty() {
            let sorted: std::collections::BTreeMap<&String, &i64> = last_runs.iter().collect();
            doc["lastRuns"] = serde_json::json!(sorted);
        }
        doc.to_string()
    }

    /// The secrets a run of `declared`'s plugin keeps from it: the host's
    /// and the plugin's own secret keys.
    pub fn plugin_secrets(&self, declared: &ConnectionSchema) -> Vec<String> {
        let mut secrets = self.secrets();
        secrets.extend(declared.secrets(&self.source.service_connection.config.custom).into_iter().map(|(_, v)| v));
        secrets
    }

    /// Every secret in the file the host knows of, for redaction.
    pub fn secrets(&self) -> Vec<String> {
        let mut secrets = self.source.service_connection.config.secrets();
        for url in self.weir.state_store.iter().chain(self.sink_url()) {
            secrets.extend(crate::engines::url_secrets(url.expose()));
        }
        if let Some(token) = self.server().and_then(|s| s.security_config.as_ref()).and_then(|s| s.jwt_token.as_ref()) {
            secrets.push(token.expose().to_string());
        }
        if let Some(token) = self.distributed().and_then(DistributedExecution::argo_token) {
            let bare = token.expose().trim().trim_start_matches("Bearer ").to_string();
            secrets.push(bare);
        }
        secrets
    }
}

/// How refs are grouped into shards (`weir.shardStrategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShardStrategy {
    /// Balanced by total cost, largest refs placed first; as many shards as
    /// `shardSize` refs each would give.
    #[default]
    Cost,
    /// One shard per schema (per database for schemas, one for databases).
    Schema,
    /// Consecutive runs of `shardSize` refs, in path order.
    Count,
}

impl std::fmt::Display for ShardStrategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ShardStrategy::Cost => "cost",
            ShardStrategy::Schema => "schema",
            ShardStrategy::Count => "count",
        })
    }
}

#[cfg(test)]
mod tests;
