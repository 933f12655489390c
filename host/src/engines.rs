//! A store kept on SQLite or on PostgreSQL with one set of queries: the
//! run state store and the embedded catalog are each a file on one
//! machine, or a PostgreSQL database every process of a distributed run
//! shares. Queries are written once (`$N` parameters, `ON CONFLICT`) and
//! compiled for each engine by [`on_pool!`]; what differs between the
//! engines is in a [`Dialect`].

use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;

/// A store's connections, on one engine or the other.
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Pool {
    pub async fn close(&self) {
        match self {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }
}

/// What differs between the engines beyond the shared SQL.
pub struct Dialect {
    /// How a write transaction begins.
    pub begin_write: &'static str,
    /// The current time as an ISO 8601 UTC string.
    pub now: &'static str,
    /// A day before now, as [`Dialect::now`] writes it.
    pub day_ago: &'static str,
    /// The current time in milliseconds since the epoch: leases are read
    /// against the store's one clock, not each process's.
    pub now_ms: &'static str,
    /// The length of the JSON array `columns` of the text column
    /// `document`, 0 when it has none.
    pub document_columns: &'static str,
    /// Appended to a text column in `ORDER BY`: byte order, so both
    /// engines list the same rows in the same order.
    pub by_bytes: &'static str,
}

pub const SQLITE: Dialect = Dialect {
    begin_write: crate::sqlite_file::WRITE,
    now: "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
    day_ago: "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 day')",
    now_ms: "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
    document_columns: "COALESCE(json_array_length(document, '$.columns'), 0)",
    by_bytes: "",
};

pub const POSTGRES: Dialect = Dialect {
    begin_write: "BEGIN",
    now: r#"to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"#,
    day_ago: r#"to_char((clock_timestamp() - interval '1 day') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"#,
    now_ms: "CAST(extract(epoch FROM clock_timestamp()) * 1000 AS BIGINT)",
    document_columns: "CAST(COALESCE(json_array_length(CAST(document AS json) -> 'columns'), 0) AS BIGINT)",
    by_bytes: r#" COLLATE "C""#,
};

/// Runs `$body` with `$pool` bound to the store's pool (its field `pool`,
/// a [`Pool`]) and `$dialect` to its engine's [`Dialect`]: each method is
/// written once, and compiled for each engine.
macro_rules! on_pool {
    ($store:expr, |$pool:ident, $dialect:ident| $body:expr) => {
        match &$store.pool {
            $crate::engines::Pool::Sqlite($pool) => {
                let $dialect = &$crate::engines::SQLITE;
                let _ = $dialect;
                $body
            }
            $crate::engines::Pool::Postgres($pool) => {
                let $dialect = &$crate::engines::POSTGRES;
                let _ = $dialect;
                $body
            }
        }
    };
}
pub(crate) use on_pool;

/// Whether `location` names a PostgreSQL database rather than a file.
pub fn is_postgres_url(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// A PostgreSQL URL as errors and logs may show it: without its password
/// or query string.
pub fn shown_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(parsed) => {
            let user = match parsed.username() {
                "" => String::new(),
                user => format!("{user}@"),
            };
            let host = parsed.host_str().unwrap_or_default();
            let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
            format!("{}://{user}{host}{port}{}", parsed.scheme(), parsed.path())
        }
        Err(_) => "(a PostgreSQL URL that does not parse)".to_string(),
    }
}

/// What to keep out of logs for a PostgreSQL URL: its password as written
/// and as meant (percent-decoded), and the whole URL when it has one. A
/// URL with no password is no secret: errors name it.
pub fn url_secrets(url: &str) -> Vec<String> {
    let mut secrets = Vec::new();
    match reqwest::Url::parse(url) {
        Ok(parsed) => {
            if let Some(password) = parsed.password() {
                secrets.push(url.to_string());
                secrets.push(percent_decoded(password));
                secrets.push(password.to_string());
            }
        }
        // Not a URL this reads: all of it, to be safe.
        Err(_) => secrets.push(url.to_string()),
    }
    secrets
}

/// Why `url` is not a PostgreSQL URL weir can connect to, if it is not.
pub fn check_postgres_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).ok().filter(|u| ["postgres", "postgresql"].contains(&u.scheme()));
    match parsed.as_ref().and_then(|u| u.host_str()) {
        Some(_) => Ok(()),
        None => Err("takes a PostgreSQL URL, postgres://user:password@host:5432/database".into()),
    }
}

/// `%XX` escapes of a URL part turned back into the bytes they stand for.
fn percent_decoded(part: &str) -> String {
    let bytes = part.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// How a store sits in a PostgreSQL database: its own schema (on every
/// session's `search_path`), the script that creates what is missing, and
/// the version of its layout.
pub struct PgLayout {
    pub application: &'static str,
    pub schema: &'static str,
    /// Creates the schema and its tables, `IF NOT EXISTS`; it must create
    /// `<schema>.schema_version (version BIGINT NOT NULL)`.
    pub script: &'static str,
    /// The `pg_advisory_xact_lock` key the script runs under: `CREATE
    /// TABLE IF NOT EXISTS` from two sessions at once can still collide.
    pub lock: i64,
    pub version: i64,
    pub sessions: u32,
}

/// Why a PostgreSQL store could not be opened.
#[derive(Debug)]
pub enum PgOpenError {
    Connect(sqlx::Error),
    /// A newer weir laid it out: refused rather than misread.
    Newer {
        found: i64,
        ours: i64,
    },
}

impl PgOpenError {
    pub fn newer(found: i64, ours: i64) -> String {
        format!("its schema is version {found}, newer than this weir's ({ours}): run a newer weir")
    }
}

/// How long opening a PostgreSQL store waits for an answer.
pub const PG_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Opens the store laid out as `layout` in the database at `url`: its
/// tables are created or brought up to date first, one session at a time
/// (the role needs `CREATE` on the database the first time).
pub async fn open_postgres(url: &str, layout: &PgLayout) -> Result<PgPool, PgOpenError> {
    use sqlx::Connection;
    use std::str::FromStr;
    let options = sqlx::postgres::PgConnectOptions::from_str(url)
        .map_err(PgOpenError::Connect)?
        .application_name(layout.application)
        .options([("search_path", layout.schema)]);
    let setup = async {
        let mut conn = sqlx::PgConnection::connect_with(&options).await?;
        let version = migrate_postgres(&mut conn, layout).await;
        let _ = conn.close().await;
        version
    };
    let version = match tokio::time::timeout(PG_CONNECT_TIMEOUT, setup).await {
        Ok(outcome) => outcome.map_err(PgOpenError::Connect)?,
        Err(_) => return Err(PgOpenError::Connect(sqlx::Error::PoolTimedOut)),
    };
    if version > layout.version {
        return Err(PgOpenError::Newer { found: version, ours: layout.version });
    }
    Ok(sqlx::postgres::PgPoolOptions::new()
        .max_connections(layout.sessions)
        .acquire_timeout(PG_CONNECT_TIMEOUT)
        .connect_lazy_with(options))
}

/// Runs the layout's script under its lock and returns the version the
/// store is at. Every version so far only adds what the script creates
/// when missing, so an older store is brought up by recording the new
/// version.
async fn migrate_postgres(conn: &mut sqlx::PgConnection, layout: &PgLayout) -> Result<i64, sqlx::Error> {
    use sqlx::Connection;
    let mut tx = conn.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(layout.lock).execute(&mut *tx).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(layout.script)).execute(&mut *tx).await?;
    let read = format!("SELECT max(version) FROM {}.schema_version", layout.schema);
    let version: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(read)).fetch_one(&mut *tx).await?;
    let record = match version {
        Some(found) if found >= layout.version => None,
        Some(_) => Some(format!("UPDATE {}.schema_version SET version = $1", layout.schema)),
        None => Some(format!("INSERT INTO {}.schema_version (version) VALUES ($1)", layout.schema)),
    };
    if let Some(record) = record {
        sqlx::query(sqlx::AssertSqlSafe(record)).bind(layout.version).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(version.map_or(layout.version, |found| found.max(layout.version)))
}
