//! `source.serviceConnection.config`: one struct for the connection keys of
//! every database weir ships a connector for.

use super::env::{EnvString, Secret};
use crate::caps::sql::SqlTarget;
use crate::caps::sql::mssql::{Encryption, MssqlAuth, MssqlTarget};
use crate::caps::sql::postgres::PgTarget;
use serde::Deserialize;
use serde_yaml::Value as Yaml;
use std::path::PathBuf;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
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
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthType {
    pub password: Secret,
}

/// The database engine behind a `source.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Postgres,
    Sqlite,
    Mssql,
}

impl Engine {
    pub fn of(source_type: &str) -> Option<Engine> {
        match source_type.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" => Some(Engine::Postgres),
            "sqlite" => Some(Engine::Sqlite),
            "mssql" | "sqlserver" => Some(Engine::Mssql),
            _ => None,
        }
    }
}

impl ConnectionConfig {
    /// The engine to connect to: `source.type` when it names one, else
    /// this connection's own `type` (so a third-party plugin can be handed
    /// a PostgreSQL or SQLite connection too).
    pub fn engine(&self, source_type: &str) -> Option<Engine> {
        Engine::of(source_type).or_else(|| self.kind.as_deref().and_then(Engine::of))
    }

    /// Checks the keys `source_type` needs; `Err((key, message))`.
    pub(super) fn check(&self, source_type: &str) -> Result<(), (String, String)> {
        let required = |key: &str, present: bool| {
            if present {
                Ok(())
            } else {
                Err((key.to_string(), format!("missing; source.type `{source_type}` needs it")))
            }
        };
        if source_type.eq_ignore_ascii_case("looker") {
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
        match self.engine(source_type) {
            Some(Engine::Postgres) => {
                required("hostPort", self.host_port.is_some())?;
                required("username", self.username.is_some())?;
                if let Some(hp) = &self.host_port {
                    split_host_port(hp.as_str(), POSTGRES_PORT).map_err(|m| ("hostPort".to_string(), m))?;
                }
                Ok(())
            }
            Some(Engine::Mssql) => {
                required("hostPort", self.host_port.is_some())?;
                if let Some(hp) = &self.host_port {
                    split_host_port(hp.as_str(), MSSQL_PORT).map_err(|m| ("hostPort".to_string(), m))?;
                }
                self.plaintext().map_err(|m| ("connectionOptions".to_string(), m))?;
                if self.kerberos().map_err(|m| ("connectionOptions".to_string(), m))? {
                    if self.password.is_some() {
                        return Err((
                            "password".to_string(),
                            "Kerberos (Trusted_Connection) takes no password: the ticket comes from KRB5CCNAME".into(),
                        ));
                    }
                    return Ok(());
                }
                required("username", self.username.is_some())?;
                required("password", self.password.is_some())
            }
            Some(Engine::Sqlite) => required("databaseMode", self.database_mode.is_some()),
            None => Ok(()),
        }
    }

    /// The connection the host opens for the plugin's `source` label.
    pub fn sql_target(&self, source_type: &str, base_dir: Option<&std::path::Path>) -> Option<SqlTarget> {
        match self.engine(source_type)? {
            Engine::Postgres => {
                let (host, port) = split_host_port(self.host_port.as_ref()?.as_str(), POSTGRES_PORT).ok()?;
                Some(SqlTarget::Postgres(PgTarget {
                    host,
                    port,
                    username: self.username.as_ref()?.to_string(),
                    password: self.auth_type.as_ref().map(|a| a.password.expose().to_string()),
                    database: self.database.as_ref().map(|d| d.to_string()).unwrap_or_else(|| "postgres".into()),
                }))
            }
            Engine::Sqlite => {
                let mut path = PathBuf::from(self.database_mode.as_ref()?.as_str());
                if let (true, Some(dir)) = (path.is_relative(), base_dir) {
                    path = dir.join(path);
                }
                Some(SqlTarget::Sqlite { path })
            }
            Engine::Mssql => {
                let (host, port) = split_host_port(self.host_port.as_ref()?.as_str(), MSSQL_PORT).ok()?;
                let auth = if self.kerberos().ok()? {
                    MssqlAuth::Integrated
                } else {
                    MssqlAuth::SqlServer {
                        username: self.username.as_ref()?.to_string(),
                        password: self.password.as_ref()?.expose().to_string(),
                    }
                };
                Some(SqlTarget::Mssql(MssqlTarget {
                    host,
                    port,
                    database: self.database.as_ref().map(|d| d.to_string()).unwrap_or_else(|| "master".into()),
                    auth,
                    encryption: if self.encrypt.unwrap_or(false) {
                        Encryption::Full
                    } else if self.plaintext().ok()? {
                        Encryption::Plaintext
                    } else {
                        Encryption::LoginOnly
                    },
                    trust_server_certificate: self.trust_server_certificate.unwrap_or(false),
                    ca_certificate: self.ca_certificate().map(PathBuf::from),
                }))
            }
        }
    }

    /// SQL Server integrated (Kerberos) authentication, asked for the way
    /// ODBC users already write it: `connectionOptions: {Trusted_Connection: "yes"}`.
    fn kerberos(&self) -> Result<bool, String> {
        match self.connection_option("Trusted_Connection") {
            None => Ok(false),
            Some(Yaml::Bool(b)) => Ok(*b),
            Some(Yaml::String(s)) if ["yes", "true"].contains(&s.to_ascii_lowercase().as_str()) => Ok(true),
            Some(Yaml::String(s)) if ["no", "false"].contains(&s.to_ascii_lowercase().as_str()) => Ok(false),
            Some(other) => Err(format!("Trusted_Connection must be yes or no, not {other:?}")),
        }
    }

    /// `connectionOptions: {Encrypt: DANGER_PLAINTEXT}` (tiberius's own
    /// spelling): a SQL Server session without any TLS.
    fn plaintext(&self) -> Result<bool, String> {
        match self.connection_option("Encrypt") {
            None => Ok(false),
            Some(Yaml::String(s)) if s == "DANGER_PLAINTEXT" => Ok(true),
            Some(other) => Err(format!(
                "connectionOptions.Encrypt only takes DANGER_PLAINTEXT (no TLS at all); use `encrypt: true` for TLS, not {other:?}"
            )),
        }
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

    /// What the plugin may see: an allow-list of non-secret keys.
    pub fn plugin_view(&self) -> serde_json::Value {
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
        serde_json::Value::Object(view)
    }

    pub fn secrets(&self) -> Vec<String> {
        self.named_secrets().into_iter().map(|(_, value)| value).collect()
    }

    /// The secrets by the key a plugin names them with in a
    /// `{{secret:NAME}}` placeholder.
    pub fn named_secrets(&self) -> Vec<(String, String)> {
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

const POSTGRES_PORT: u16 = 5432;
const MSSQL_PORT: u16 = 1433;

/// `host:port`, `host` (the engine's default port) or `[v6]:port`.
fn split_host_port(text: &str, default_port: u16) -> Result<(String, u16), String> {
    let text = text.trim();
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(|| format!("`{text}`: unclosed `[`"))?;
        (host, after.strip_prefix(':'))
    } else {
        match text.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    if host.is_empty() {
        return Err(format!("`{text}` has no host"));
    }
    let port = match port {
        Some(p) => p.parse::<u16>().map_err(|_| format!("`{text}`: `{p}` is not a port number"))?,
        None => default_port,
    };
    Ok((host.to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::split_host_port;

    #[test]
    fn host_port_forms() {
        assert_eq!(split_host_port("db:6543", 5432), Ok(("db".into(), 6543)));
        assert_eq!(split_host_port("db", 5432), Ok(("db".into(), 5432)));
        assert_eq!(split_host_port("sql", 1433), Ok(("sql".into(), 1433)));
        assert_eq!(split_host_port("[::1]:5433", 5432), Ok(("::1".into(), 5433)));
        assert!(split_host_port("db:x", 5432).unwrap_err().contains("not a port"));
        assert!(split_host_port(":5432", 5432).unwrap_err().contains("no host"));
    }
}
