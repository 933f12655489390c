//! The benchmark database, from a `postgres://` URL.

use super::BenchError;
use sqlx::ConnectOptions;
use sqlx::postgres::PgConnectOptions;
use std::net::SocketAddr;
use std::path::Path;
use std::str::FromStr;

/// Databases the generator refuses to fill or drop.
const RESERVED: [&str; 3] = ["postgres", "template0", "template1"];

/// A parsed `postgres://user[:password]@host[:port]/database` URL.
#[derive(Clone)]
pub struct PgUrl {
    options: PgConnectOptions,
    password: Option<String>,
    database: String,
}

impl std::fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl PgUrl {
    pub fn parse(url: &str) -> Result<PgUrl, BenchError> {
        // sqlx's message names the URL part that failed, never the URL.
        let options = PgConnectOptions::from_str(url).map_err(|e| BenchError::Url(e.to_string()))?;
        let database = options
            .get_database()
            .map(str::to_string)
            .ok_or_else(|| BenchError::Url("no database name (…/weir_bench at the end)".into()))?;
        let password = password(url)?;
        let options = match &password {
            Some(p) => options.password(p),
            None => options,
        };
        // The generator's statements are whole schemas: never log them.
        let options = options.application_name("weir-bench").disable_statement_logging();
        Ok(PgUrl { options, password, database })
    }

    pub fn database(&self) -> &str {
        &self.database
    }

    /// `user@host:port/database`, without the password.
    pub fn describe(&self) -> String {
        let o = &self.options;
        match o.get_socket() {
            Some(socket) => format!("{}@{}/{}", o.get_username(), socket.display(), self.database),
            None => format!("{}@{}:{}/{}", o.get_username(), o.get_host(), o.get_port(), self.database),
        }
    }

    /// Refuses the server's own databases: the generator drops and fills.
    pub fn check_dedicated(&self) -> Result<(), BenchError> {
        if RESERVED.contains(&self.database.as_str()) {
            return Err(BenchError::ReservedDatabase(self.database.clone()));
        }
        Ok(())
    }

    /// The benchmark database.
    pub fn options(&self) -> PgConnectOptions {
        self.options.clone()
    }

    /// The server's maintenance database, to create or drop the benchmark one.
    pub fn maintenance(&self) -> PgConnectOptions {
        self.options.clone().database("postgres")
    }

    /// `host:port` of the server (an IPv6 host in brackets), as a
    /// workflow's `hostPort` or a proxy's upstream.
    pub fn host_port(&self) -> Result<String, BenchError> {
        let o = &self.options;
        if o.get_socket().is_some() {
            return Err(BenchError::Url("a Unix-socket URL has no host:port; use a TCP URL".into()));
        }
        let host = o.get_host();
        Ok(if host.contains(':') { format!("[{host}]:{}", o.get_port()) } else { format!("{host}:{}", o.get_port()) })
    }

    /// The same database and credentials, reached at `addr` instead (a
    /// proxy in front of the server).
    pub fn via(&self, addr: SocketAddr) -> Result<PgUrl, BenchError> {
        // The socket setting would win over the new host.
        self.host_port()?;
        let options = self.options.clone().host(&addr.ip().to_string()).port(addr.port());
        Ok(PgUrl { options, password: self.password.clone(), database: self.database.clone() })
    }

    /// A workflow that ingests the database into the catalog at `catalog`.
    /// Values are JSON strings, which YAML reads as double-quoted scalars.
    pub fn workflow(
        &self,
        catalog: &Path,
        instances: u32,
        batch_size: usize,
        eager_rollback: bool,
    ) -> Result<String, BenchError> {
        let o = &self.options;
        let host_port = self.host_port()?;
        let q = |s: &str| serde_json::Value::from(s).to_string();
        let auth = match &self.password {
            Some(p) => format!("      authType:\n        password: {}\n", q(p)),
            None => String::new(),
        };
        Ok(format!(
            "source:
  type: postgres
  serviceName: bench
  serviceConnection:
    config:
      type: Postgres
      hostPort: {host_port}
      username: {user}
{auth}      database: {database}
  sourceConfig:
    config:
      type: DatabaseMetadata
sink:
  type: catalog
  config:
    path: {path}
weir:
  instances: {instances}
  shardSize: {batch_size}
  # The bench reads a database it generated, often as the role that
  # generated it: accepted knowingly (the run warns).
  sql:
    allowPrivilegedRole: true
    eagerRollback: {eager_rollback}
",
            host_port = q(&host_port),
            user = q(o.get_username()),
            database = q(&self.database),
            path = q(&catalog.display().to_string()),
        ))
    }
}

/// The password in the URL's user info, percent-decoded.
fn password(url: &str) -> Result<Option<String>, BenchError> {
    let Some((_, rest)) = url.split_once("://") else { return Ok(None) };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let Some((userinfo, _)) = authority.rsplit_once('@') else { return Ok(None) };
    let Some((_, encoded)) = userinfo.split_once(':') else { return Ok(None) };
    percent_decode(encoded)
        .map(Some)
        .ok_or_else(|| BenchError::Url("the password is not valid percent-encoded UTF-8".into()))
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_parts_and_keeps_the_password_out_of_descriptions() {
        let url = PgUrl::parse("postgres://bench:p%40ss%3Aw@db.example:6543/weir_bench").unwrap();
        assert_eq!(url.database(), "weir_bench");
        assert_eq!(url.describe(), "bench@db.example:6543/weir_bench");
        assert_eq!(url.password.as_deref(), Some("p@ss:w"));
        assert!(!format!("{url:?}").contains("p@ss"));
        let yaml = url.workflow(Path::new("/tmp/x/weir.db"), 4, 200, false).unwrap();
        let workflow = crate::config::Workflow::parse(&yaml, "bench").unwrap();
        assert_eq!(workflow.weir.instances, Some(4));
        assert_eq!(workflow.weir.shard_size, Some(200));
        assert_eq!(workflow.secrets(), vec!["p@ss:w".to_string()]);
    }

    #[test]
    fn via_points_the_url_and_the_workflow_at_another_address() {
        let url = PgUrl::parse("postgres://bench:secret@db.example:6543/weir_bench").unwrap();
        assert_eq!(url.host_port().unwrap(), "db.example:6543");
        let proxied = url.via("127.0.0.1:41000".parse().unwrap()).unwrap();
        assert_eq!(proxied.describe(), "bench@127.0.0.1:41000/weir_bench");
        let yaml = proxied.workflow(Path::new("weir.db"), 1, 1, false).unwrap();
        assert!(yaml.contains("hostPort: \"127.0.0.1:41000\""), "{yaml}");
        assert!(yaml.contains("password: \"secret\""), "{yaml}");
        let v6 = url.via("[::1]:41000".parse().unwrap()).unwrap();
        assert_eq!(v6.host_port().unwrap(), "[::1]:41000");
        let socket = PgUrl::parse("postgres://bench@%2Fvar%2Frun%2Fpostgresql/weir_bench").unwrap();
        assert!(matches!(socket.via("127.0.0.1:1".parse().unwrap()), Err(BenchError::Url(_))));
    }

    #[test]
    fn no_password_no_auth_type() {
        let url = PgUrl::parse("postgres://postgres@127.0.0.1:5432/weir_bench").unwrap();
        assert_eq!(url.password, None);
        let yaml = url.workflow(Path::new("weir.db"), 1, 1, false).unwrap();
        assert!(!yaml.contains("authType"));
        crate::config::Workflow::parse(&yaml, "bench").unwrap();
    }

    #[test]
    fn refuses_reserved_databases_and_missing_names() {
        assert!(matches!(
            PgUrl::parse("postgres://postgres@localhost/postgres").unwrap().check_dedicated(),
            Err(BenchError::ReservedDatabase(_))
        ));
        assert!(PgUrl::parse("postgres://postgres@localhost").is_err());
        assert!(PgUrl::parse("postgres://u:%zz@localhost/db").is_err());
    }
}
