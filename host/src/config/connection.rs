//! `source.serviceConnection.config`: one struct for the connection keys of
//! every connector weir ships, plus a third-party plugin's own keys
//! ([`super::custom`]).

use super::custom::{ConnectionSchema, CustomKey};
use super::env::{EnvString, Secret};
use crate::caps::sql::ConnectionKeys;
use serde::Deserialize;
use serde_yaml::Value as Yaml;

/// Unknown keys are not refused here but collected into `custom` by a
/// pass of their own ([`Workflow::parse`](super::Workflow::parse)): a
/// built-in connector refuses them, a plugin checks them against what it
/// declares.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionConfig {
    /// OpenMetadata's service type (`Postgres`, `SQLite`).
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub scheme: Option<String>,
    /// `host:port` (PostgreSQL).
    #[serde(default)]
    pub host_port: Option<EnvString>,
    #[serde(default)]
    pub username: Option<EnvString>,
    /// PostgreSQL basic auth: `authType.password`.
    #[serde(default)]
    pub auth_type: Option<AuthType>,
    /// SQL Server's password (SQLite accepts the key and ignores it).
    #[serde(default)]
    pub password: Option<Secret>,
    #[serde(default)]
    pub database: Option<EnvString>,
    /// SQLite: the database file.
    #[serde(default)]
    pub database_mode: Option<EnvString>,
    #[serde(default)]
    pub ingest_all_databases: Option<bool>,
    /// Looker: the API client's id (not a secret) and secret.
    #[serde(default)]
    pub client_id: Option<EnvString>,
    #[serde(default)]
    pub client_secret: Option<Secret>,
    /// Airflow: how its REST API is reached, and with what credentials.
    #[serde(default)]
    pub connection: Option<PipelineApiConnection>,
    /// Airflow: how many of each pipeline's latest runs are read.
    #[serde(default)]
    pub number_of_status: Option<u32>,
    /// Airflow: the pipelines to read, by name (with sourceConfig's own).
    #[serde(default)]
    pub pipeline_filter_pattern: Option<super::FilterPattern>,
    /// SQL Server: TLS for the whole session, and whether to accept any
    /// server certificate.
    #[serde(default)]
    pub encrypt: Option<bool>,
    #[serde(default)]
    pub trust_server_certificate: Option<bool>,
    /// SQL Server: the ODBC driver name of OpenMetadata's pyodbc scheme;
    /// weir speaks TDS itself.
    #[serde(default)]
    driver: Option<Yaml>,
    // Accepted for compatibility with OpenMetadata files; not acted on.
    #[serde(default)]
    ssl_mode: Option<Yaml>,
    #[serde(default)]
    ssl_config: Option<Yaml>,
    #[serde(default)]
    classification_name: Option<Yaml>,
    #[serde(default)]
    query_statement_source: Option<Yaml>,
    #[serde(default)]
    connection_options: Option<Yaml>,
    #[serde(default)]
    connection_arguments: Option<Yaml>,
    #[serde(default)]
    schema_filter_pattern: Option<Yaml>,
    #[serde(default)]
    table_filter_pattern: Option<Yaml>,
    #[serde(default)]
    database_filter_pattern: Option<Yaml>,
    #[serde(default)]
    stored_procedure_filter_pattern: Option<Yaml>,
    #[serde(default)]
    supports_metadata_extraction: Option<Yaml>,
    #[serde(default)]
    supports_usage_extraction: Option<Yaml>,
    #[serde(default)]
    supports_lineage_extraction: Option<Yaml>,
    #[serde(default, rename = "supportsDBTExtraction")]
    supports_dbt_extraction: Option<Yaml>,
    #[serde(default)]
    supports_profiler: Option<Yaml>,
    #[serde(default)]
    supports_database: Option<Yaml>,
    #[serde(default)]
    supports_query_comment: Option<Yaml>,
    #[serde(default)]
    sample_data_storage_config: Option<Yaml>,
    #[serde(default)]
    supports_data_diff: Option<Yaml>,
    #[serde(default)]
    supports_view_lineage_extraction: Option<Yaml>,
    #[serde(default)]
    git_credentials: Option<Yaml>,
    #[serde(default)]
    dashboard_filter_pattern: Option<Yaml>,
    #[serde(default)]
    chart_filter_pattern: Option<Yaml>,
    #[serde(default)]
    data_model_filter_pattern: Option<Yaml>,
    #[serde(default)]
    project_filter_pattern: Option<Yaml>,
    /// The keys none of the above, as written.
    #[serde(skip)]
    pub custom: Vec<CustomKey>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthType {
    pub password: Secret,
}

/// OpenMetadata's `AirflowRestApiConnection`: weir reads Airflow through
/// its REST API only (the `Backend` and metadata-database connections
/// read Airflow's own database, which weir does not).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PipelineApiConnection {
    /// `RestAPI`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    pub auth_config: ApiAuthConfig,
    /// `v1` (Airflow 2), `v2` (Airflow 3) or `auto` (asked of the server).
    #[serde(default)]
    pub api_version: Option<String>,
    #[serde(default, rename = "verifySSL")]
    pub verify_ssl: Option<bool>,
}

/// A user and password (Airflow 3 trades them for a token at
/// `/auth/token`; Airflow 2 takes them as basic auth), or a token.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, untagged)]
pub enum ApiAuthConfig {
    Basic { username: EnvString, password: Secret },
    Token { token: Secret },
}

impl ConnectionConfig {
    /// The keys a database connection is built from (by the SQL
    /// capability, which also checks them).
    pub fn sql_keys(&self) -> ConnectionKeys<'_> {
        fn text(s: &Option<EnvString>) -> Option<&str> {
            s.as_ref().map(EnvString::as_str)
        }
        ConnectionKeys {
            kind: self.kind.as_deref(),
            host_port: text(&self.host_port),
            username: text(&self.username),
            auth_password: self.auth_type.as_ref().map(|a| a.password.expose()),
            password: self.password.as_ref().map(Secret::expose),
            database: text(&self.database),
            database_mode: text(&self.database_mode),
            ingest_all_databases: self.ingest_all_databases,
            encrypt: self.encrypt,
            trust_server_certificate: self.trust_server_certificate,
            trusted_connection: self.connection_option("Trusted_Connection"),
            encrypt_option: self.connection_option("Encrypt"),
            ca_certificate: self.ca_certificate(),
        }
    }

    /// Checks the keys `source_type` needs; `Err((key, message))`.
    pub(super) fn check(&self, source_type: &str) -> Result<(), (String, String)> {
        if source_type.eq_ignore_ascii_case("looker") {
            let required = |key: &str, present: bool| {
                if present {
                    Ok(())
                } else {
                    Err((key.to_string(), format!("missing; source.type `{source_type}` needs it")))
                }
            };
            required("hostPort", self.host_port.is_some())?;
            required("clientId", self.client_id.is_some())?;
            required("clientSecret", self.client_secret.is_some())?;
            if let Some(hp) = &self.host_port
                && !(hp.as_str().starts_with("https://") || hp.as_str().starts_with("http://"))
            {
                return Err((
                    "hostPort".to_string(),
                    format!("`{}` must be the instance's URL (https://looker.example.com:19999)", hp.as_str()),
                ));
            }
            return Ok(());
        }
        if source_type.eq_ignore_ascii_case("airflow") {
            let Some(hp) = &self.host_port else {
                return Err((
                    "hostPort".into(),
                    format!("missing; source.type `{source_type}` needs the API server's URL"),
                ));
            };
            if !(hp.as_str().starts_with("https://") || hp.as_str().starts_with("http://")) {
                return Err((
                    "hostPort".to_string(),
                    format!("`{}` must be the Airflow API server's URL (http://airflow:8080)", hp.as_str()),
                ));
            }
            if self.connection.is_none() {
                return Err((
                    "connection".into(),
                    "missing; Airflow is read through its REST API: `connection: {type: RestAPI, authConfig: \
                     {username: ..., password: ...}}` or `authConfig: {token: ...}`"
                        .into(),
                ));
            }
            return Ok(());
        }
        self.sql_keys().check(source_type)
    }

    fn connection_option(&self, key: &str) -> Option<&Yaml> {
        let Some(Yaml::Mapping(options)) = &self.connection_options else { return None };
        options.iter().find(|(k, _)| k.as_str().is_some_and(|k| k.eq_ignore_ascii_case(key))).map(|(_, v)| v)
    }

    /// `sslConfig.caCertificate`: a CA file to check the server against.
    fn ca_certificate(&self) -> Option<&str> {
        match &self.ssl_config {
            Some(Yaml::Mapping(ssl)) => ssl.get("caCertificate").and_then(Yaml::as_str),
            _ => None,
        }
    }

    /// What the plugin may see: an allow-list of non-secret keys, and its
    /// own keys that it does not declare secret.
    pub fn plugin_view(&self, declared: &ConnectionSchema) -> serde_json::Value {
        let mut view = serde_json::Map::new();
        let mut put = |key: &str, value: Option<serde_json::Value>| {
            if let Some(value) = value {
                view.insert(key.to_string(), value);
            }
        };
        let text = |s: &Option<EnvString>| s.as_ref().map(|s| serde_json::Value::from(s.as_str()));
        put("type", self.kind.clone().map(Into::into));
        put("scheme", self.scheme.clone().map(Into::into));
        put("hostPort", text(&self.host_port));
        put("username", text(&self.username));
        put("database", text(&self.database));
        put("databaseMode", text(&self.database_mode));
        put("ingestAllDatabases", self.ingest_all_databases.map(Into::into));
        put("clientId", text(&self.client_id));
        put("encrypt", self.encrypt.map(Into::into));
        put("numberOfStatus", self.number_of_status.map(Into::into));
        put("pipelineFilterPattern", self.pipeline_filter_pattern.as_ref().and_then(|p| serde_json::to_value(p).ok()));
        if let Some(api) = &self.connection {
            let mut connection = serde_json::Map::new();
            connection.insert("type".into(), api.kind.clone().unwrap_or_else(|| "RestAPI".into()).into());
            if let Some(version) = &api.api_version {
                connection.insert("apiVersion".into(), version.clone().into());
            }
            // Which secret to fill in, never its value.
            let auth = match &api.auth_config {
                ApiAuthConfig::Basic { username, .. } => serde_json::json!({ "username": username.as_str() }),
                ApiAuthConfig::Token { .. } => serde_json::json!({ "token": true }),
            };
            connection.insert("authConfig".into(), auth);
            view.insert("connection".into(), connection.into());
        }
        for key in declared.visible(&self.custom) {
            view.insert(key.name.clone(), key.value.clone());
        }
        serde_json::Value::Object(view)
    }

    /// The host's secret keys' values (a plugin's own are not known until
    /// it says which they are: [`Workflow::plugin_secrets`](super::Workflow::plugin_secrets)).
    pub fn secrets(&self) -> Vec<String> {
        let mut secrets: Vec<String> =
            self.named_secrets(&ConnectionSchema::default()).into_iter().map(|(_, value)| value).collect();
        // Sent as basic credentials to an Airflow 2, the pair is encoded.
        if let Some(ApiAuthConfig::Basic { username, password }) = self.connection.as_ref().map(|c| &c.auth_config) {
            secrets.push(crate::caps::http::secrets::basic_credentials(username.as_str(), password.expose()));
        }
        secrets
    }

    /// The secrets by the key a plugin names them with in a
    /// `{{secret:NAME}}` placeholder: the host's keys, and the plugin's own
    /// that it declares secret.
    pub fn named_secrets(&self, declared: &ConnectionSchema) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(auth) = &self.auth_type {
            out.push(("password".to_string(), auth.password.expose().to_string()));
        }
        if let Some(p) = &self.password {
            out.push(("password".to_string(), p.expose().to_string()));
        }
        if let Some(s) = &self.client_secret {
            out.push(("clientSecret".to_string(), s.expose().to_string()));
        }
        match self.connection.as_ref().map(|c| &c.auth_config) {
            Some(ApiAuthConfig::Basic { password, .. }) => out.push(("password".into(), password.expose().into())),
            Some(ApiAuthConfig::Token { token }) => out.push(("token".into(), token.expose().into())),
            None => {}
        }
        out.extend(declared.secrets(&self.custom));
        out
    }

    /// OpenMetadata keys present in the file that weir ignores.
    pub fn ignored_keys(&self) -> Vec<&'static str> {
        let keys: [(&'static str, bool); 26] = [
            ("driver", self.driver.is_some()),
            ("sslMode", self.ssl_mode.is_some()),
            ("sslConfig", self.ssl_config.is_some() && self.ca_certificate().is_none()),
            ("classificationName", self.classification_name.is_some()),
            ("queryStatementSource", self.query_statement_source.is_some()),
            (
                "connectionOptions",
                self.connection_options.is_some()
                    && self.connection_option("Trusted_Connection").is_none()
                    && self.connection_option("Encrypt").is_none(),
            ),
            ("connectionArguments", self.connection_arguments.is_some()),
            ("schemaFilterPattern", self.schema_filter_pattern.is_some()),
            ("tableFilterPattern", self.table_filter_pattern.is_some()),
            ("databaseFilterPattern", self.database_filter_pattern.is_some()),
            ("storedProcedureFilterPattern", self.stored_procedure_filter_pattern.is_some()),
            ("supportsMetadataExtraction", self.supports_metadata_extraction.is_some()),
            ("supportsUsageExtraction", self.supports_usage_extraction.is_some()),
            ("supportsLineageExtraction", self.supports_lineage_extraction.is_some()),
            ("supportsDBTExtraction", self.supports_dbt_extraction.is_some()),
            ("supportsProfiler", self.supports_profiler.is_some()),
            ("supportsDatabase", self.supports_database.is_some()),
            ("supportsQueryComment", self.supports_query_comment.is_some()),
            ("sampleDataStorageConfig", self.sample_data_storage_config.is_some()),
            ("supportsDataDiff", self.supports_data_diff.is_some()),
            ("supportsViewLineageExtraction", self.supports_view_lineage_extraction.is_some()),
            ("gitCredentials", self.git_credentials.is_some()),
            // The connection-level defaults; `sourceConfig.config`'s patterns apply.
            ("dashboardFilterPattern", self.dashboard_filter_pattern.is_some()),
            ("chartFilterPattern", self.chart_filter_pattern.is_some()),
            ("dataModelFilterPattern", self.data_model_filter_pattern.is_some()),
            ("projectFilterPattern", self.project_filter_pattern.is_some()),
        ];
        keys.into_iter().filter(|(_, present)| *present).map(|(k, _)| k).collect()
    }
}
