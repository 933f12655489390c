//! The host's own SQLite files (the embedded catalog, the run state
//! store), which several runs may have open at once: two services ingested
//! into one catalog at the same time, say.
//!
//! SQLite lets one writer in at a time. A write transaction therefore takes
//! the write lock when it begins ([`WRITE`]), so it waits for the other
//! writer (the busy timeout) rather than fail when a read inside it turns
//! into a write (`SQLITE_BUSY_SNAPSHOT`, which no timeout waits for). What
//! the busy timeout does not cover (switching a new file to WAL, a schema
//! change racing another run's) is retried by [`retry_busy`].

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use std::future::Future;
use std::path::Path;
use std::time::Duration;

/// How a write transaction begins.
pub const WRITE: &str = "BEGIN IMMEDIATE";

/// How long a statement waits for another run's write to end.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// Write-ahead logging, so readers never wait for writers, and the busy
/// timeout.
pub fn options(path: &Path, create: bool) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(create)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(BUSY_TIMEOUT)
}

pub use crate::retry::sqlite_busy as is_busy;

/// Runs `attempt` again, after a short random pause, while it fails because
/// another run holds the file; up to about ten seconds of tries.
pub async fn retry_busy<T, F, Fut>(mut attempt: F) -> Result<T, sqlx::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, sqlx::Error>>,
{
    let mut tries = 0;
    loop {
        match attempt().await {
            Err(err) if is_busy(&err) && tries < 100 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(20 + fastrand::u64(0..80))).await;
            }
            outcome => return outcome,
        }
    }
}
