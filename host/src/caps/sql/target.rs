//! Which server a run's `source` connection points at, built from the keys
//! of `source.serviceConnection.config` (OpenMetadata's spelling), and the
//! checks those keys get when the workflow is read.

use super::SqlTarget;
use super::mssql::{Encryption, MssqlAuth, MssqlTarget};
use super::postgres::PgTarget;
use serde_yaml::Value as Yaml;
use std::path::{Path, PathBuf};

const POSTGRES_PORT: u16 = 5432;
const MSSQL_PORT: u16 = 1433;

/// The database engine behind a `source.type` (or a connection's `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Postgres,
    Sqlite,
    Mssql,
}

impl Engine {
    pub fn of(name: &str) -> Option<Engine> {
        match name.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" => Some(Engine::Postgres),
            "sqlite" => Some(Engine::Sqlite),
            "mssql" | "sqlserver" => Some(Engine::Mssql),
            _ => None,
        }
    }
}

/// The connection keys a database target is built from, as the workflow
/// wrote them (environment references already filled in).
#[derive(Clone, Copy, Default)]
pub struct ConnectionKeys<'a> {
    /// The connection's own `type`, for a plugin whose `source.type` names
    /// no engine.
    pub kind: Option<&'a str>,
    pub host_port: Option<&'a str>,
    pub username: Option<&'a str>,
    /// PostgreSQL's `authType.password`.
    pub auth_password: Option<&'a str>,
    /// SQL Server's `password`.
    pub password: Option<&'a str>,
    pub database: Option<&'a str>,
    /// SQLite's database file.
    pub database_mode: Option<&'a str>,
    /// `sql:source/<database>` for every database the filter allows.
    pub ingest_all_databases: Option<bool>,
    pub encrypt: Option<bool>,
    pub trust_server_certificate: Option<bool>,
    /// `connectionOptions.Trusted_Connection` (Kerberos) and
    /// `connectionOptions.Encrypt`, SQL Server's.
    pub trusted_connection: Option<&'a Yaml>,
    pub encrypt_option: Option<&'a Yaml>,
    /// `sslConfig.caCertificate`.
    pub ca_certificate: Option<&'a str>,
}

impl ConnectionKeys<'_> {
    /// The engine to connect to: `source.type` when it names one, else the
    /// connection's own `type` (so a third-party plugin can be handed a
    /// PostgreSQL or SQLite connection too).
    pub fn engine(&self, source_type: &str) -> Option<Engine> {
        Engine::of(source_type).or_else(|| self.kind.and_then(Engine::of))
    }

    /// Checks the keys the engine needs; `Err((key, message))`.
    pub fn check(&self, source_type: &str) -> Result<(), (String, String)> {
        let required = |key: &str, present: bool| {
            if present {
                Ok(())
            } else {
                Err((key.to_string(), format!("missing; source.type `{source_type}` needs it")))
            }
        };
        match self.engine(source_type) {
            Some(Engine::Postgres) => {
                required("hostPort", self.host_port.is_some())?;
                required("username", self.username.is_some())?;
                if let Some(hp) = self.host_port {
                    split_host_port(hp, POSTGRES_PORT).map_err(|m| ("hostPort".to_string(), m))?;
                }
                Ok(())
            }
            Some(Engine::Mssql) => {
                required("hostPort", self.host_port.is_some())?;
                if let Some(hp) = self.host_port {
                    split_host_port(hp, MSSQL_PORT).map_err(|m| ("hostPort".to_string(), m))?;
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

    /// The server the host opens for the plugin's `source` label; `None`
    /// when the keys name no engine (or fail [`ConnectionKeys::check`]).
    /// A relative SQLite path is taken from `base_dir`.
    pub fn target(&self, source_type: &str, base_dir: Option<&Path>) -> Option<SqlTarget> {
        match self.engine(source_type)? {
            Engine::Postgres => {
                let (host, port) = split_host_port(self.host_port?, POSTGRES_PORT).ok()?;
                Some(SqlTarget::Postgres(PgTarget {
                    host,
                    port,
                    username: self.username?.to_string(),
                    password: self.auth_password.map(str::to_string),
                    database: self.database.unwrap_or("postgres").to_string(),
                }))
            }
            Engine::Sqlite => {
                let mut path = PathBuf::from(self.database_mode?);
                if let (true, Some(dir)) = (path.is_relative(), base_dir) {
                    path = dir.join(path);
                }
                Some(SqlTarget::Sqlite { path })
            }
            Engine::Mssql => {
                let (host, port) = split_host_port(self.host_port?, MSSQL_PORT).ok()?;
                let auth = if self.kerberos().ok()? {
                    MssqlAuth::Integrated
                } else {
                    MssqlAuth::SqlServer { username: self.username?.to_string(), password: self.password?.to_string() }
                };
                Some(SqlTarget::Mssql(MssqlTarget {
                    host,
                    port,
                    database: self.database.unwrap_or("master").to_string(),
                    auth,
                    encryption: if self.encrypt.unwrap_or(false) {
                        Encryption::Full
                    } else if self.plaintext().ok()? {
                        Encryption::Plaintext
                    } else {
                        Encryption::LoginOnly
                    },
                    trust_server_certificate: self.trust_server_certificate.unwrap_or(false),
                    ca_certificate: self.ca_certificate.map(PathBuf::from),
                }))
            }
        }
    }

    /// SQL Server integrated (Kerberos) authentication, asked for the way
    /// ODBC users already write it: `connectionOptions: {Trusted_Connection: "yes"}`.
    fn kerberos(&self) -> Result<bool, String> {
        match self.trusted_connection {
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
        match self.encrypt_option {
            None => Ok(false),
            Some(Yaml::String(s)) if s == "DANGER_PLAINTEXT" => Ok(true),
            Some(other) => Err(format!(
                "connectionOptions.Encrypt only takes DANGER_PLAINTEXT (no TLS at all); use `encrypt: true` for TLS, not {other:?}"
            )),
        }
    }
}

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
