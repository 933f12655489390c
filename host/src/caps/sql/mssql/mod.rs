//! SQL Server through tiberius (TDS over tokio, TLS by rustls).
//!
//! Read-only by construction, in two independent ways: every session asks
//! for `ApplicationIntent=ReadOnly` (an availability group routes it to a
//! readable secondary), and every statement passes the host's parser check
//! in `read_only` before it is sent, since the intent alone stops nothing
//! on a primary. Connects and statements have their own deadlines
//! (`weir.limits.connectTimeoutSecs`, `statementTimeoutSecs`), enforced by
//! the host; tiberius's own 30 s per round trip is turned off, because a
//! large catalog's column query takes longer.
//!
//! - `values.rs`: parameters, result values and errors.
//! - `pool.rs`: the connections of one target, reused and capped.
//! - `read_only.rs`: the statement check.

mod pool;
pub mod read_only;
mod values;

pub use pool::{MssqlConnection, MssqlPool};

use std::path::PathBuf;
use tiberius::{AuthMethod, Config, EncryptionLevel};

/// A SQL Server to connect to. Holds the password: no `Debug`.
#[derive(Clone)]
pub struct MssqlTarget {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub auth: MssqlAuth,
    pub encryption: Encryption,
    /// OpenMetadata's `trustServerCertificate`: accept any certificate.
    pub trust_server_certificate: bool,
    /// A CA file to check the server's certificate against.
    pub ca_certificate: Option<PathBuf>,
}

/// How much of a session TLS covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encryption {
    /// OpenMetadata's `encrypt: true`: the whole session, the certificate
    /// checked unless `trustServerCertificate`.
    Full,
    /// `encrypt: false`, the default: only the login packet, as ODBC's
    /// `Encrypt=no` does, without checking the certificate (SQL Server's own
    /// is self-signed).
    LoginOnly,
    /// `connectionOptions: {Encrypt: DANGER_PLAINTEXT}`: no TLS at all, the
    /// password in clear; for servers that cannot do TLS (emulators, tests).
    Plaintext,
}

#[derive(Clone)]
pub enum MssqlAuth {
    /// A SQL Server login.
    SqlServer { username: String, password: String },
    /// Kerberos through GSSAPI, with the ticket in `KRB5CCNAME` (the
    /// `kerberos` cargo feature).
    Integrated,
}

impl MssqlTarget {
    pub fn describe(&self) -> String {
        let who = match &self.auth {
            MssqlAuth::SqlServer { username, .. } => username.as_str(),
            MssqlAuth::Integrated => "(kerberos)",
        };
        format!("SQL Server {who}@{}:{}/{}", self.host, self.port, self.database)
    }

    /// The same server and credentials, another database.
    pub fn with_database(&self, database: &str) -> MssqlTarget {
        MssqlTarget { database: database.to_string(), ..self.clone() }
    }

    fn config(&self) -> Result<Config, String> {
        let mut config = Config::new();
        config.host(&self.host);
        config.port(self.port);
        config.database(&self.database);
        config.application_name("weir");
        config.readonly(true);
        // One deadline each, the host's (`pool.rs`): tiberius's own would
        // race them with messages that do not name weir's settings, and its
        // 30 s per round trip would cut a large catalog's column query.
        config.handshake_timeout(None);
        config.command_timeout(None);
        match self.encryption {
            Encryption::Full => config.encryption(EncryptionLevel::Required),
            // tiberius's `Off` still sends the login through TLS.
            Encryption::LoginOnly => config.encryption(EncryptionLevel::Off),
            Encryption::Plaintext => {
                tracing::warn!(server = %self.host, "SQL Server session without TLS: the login travels in clear");
                config.encryption(EncryptionLevel::NotSupported);
            }
        }
        if self.trust_server_certificate || self.encryption == Encryption::LoginOnly {
            config.trust_cert();
        } else if let Some(ca) = &self.ca_certificate {
            config.trust_cert_ca(ca.display());
        }
        config.authentication(self.auth_method()?);
        Ok(config)
    }

    fn auth_method(&self) -> Result<AuthMethod, String> {
        match &self.auth {
            MssqlAuth::SqlServer { username, password } => Ok(AuthMethod::sql_server(username, password)),
            #[cfg(feature = "kerberos")]
            MssqlAuth::Integrated => Ok(AuthMethod::Integrated),
            #[cfg(not(feature = "kerberos"))]
            MssqlAuth::Integrated => Err(
                "Kerberos (integrated) authentication needs a weir built with `--features kerberos`; this one was not"
                    .to_string(),
            ),
        }
    }
}
