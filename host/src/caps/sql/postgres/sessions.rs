//! How many sessions weir holds on one PostgreSQL server, across the pools
//! of all its databases (`ingestAllDatabases` opens one pool per
//! database). The budget is a share of the server's free connection slots,
//! measured when the run starts, so weir never takes the slots other
//! clients need.
//!
//! A plugin's session holds a permit for as long as the plugin holds it;
//! before a new physical session is opened, an idle one of another database
//! is closed if the server-wide count is at the budget. So sessions in use
//! and sessions open both stay within it.

use sqlx::Postgres;
use sqlx::pool::PoolConnection;
use sqlx::postgres::PgPool;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub struct Sessions {
    budget: u32,
    in_use: Arc<Semaphore>,
    /// Every pool on the server, by database.
    pools: Mutex<Vec<(String, PgPool)>>,
    /// One new physical session at a time, so two cannot both see room
    /// for one.
    opening: tokio::sync::Mutex<()>,
    /// How long a plugin waits for a session before its call fails as
    /// transient.
    wait: Duration,
}

impl Sessions {
    pub fn new(budget: u32, wait: Duration) -> Sessions {
        let budget = budget.max(1);
        Sessions {
            budget,
            in_use: Arc::new(Semaphore::new(budget as usize)),
            pools: Mutex::new(Vec::new()),
            opening: tokio::sync::Mutex::new(()),
            wait,
        }
    }

    pub fn budget(&self) -> u32 {
        self.budget
    }

    pub fn register(&self, database: &str, pool: PgPool) {
        if let Ok(mut pools) = self.pools.lock() {
            pools.push((database.to_string(), pool));
        }
    }

    /// A session of `database`'s pool, and the permit that counts it.
    pub async fn acquire(
        &self,
        database: &str,
        pool: &PgPool,
    ) -> Result<(PoolConnection<Postgres>, OwnedSemaphorePermit), String> {
        let waited = |what: &str| {
            format!(
                "no {what} within {} s: weir holds its whole share of the server's connections \
                 (weir.sql.connectionShare, {} sessions)",
                self.wait.as_secs(),
                self.budget
            )
        };
        let permit = tokio::time::timeout(self.wait, self.in_use.clone().acquire_owned())
            .await
            .map_err(|_| waited("free session"))?
            .map_err(|_| "the session budget was closed".to_string())?;
        if let Some(idle) = pool.try_acquire() {
            return Ok((idle, permit));
        }
        let _one = self.opening.lock().await;
        self.make_room(database).await;
        let conn = tokio::time::timeout(self.wait, pool.acquire())
            .await
            .map_err(|_| waited("session"))?
            .map_err(|e| e.to_string())?;
        Ok((conn, permit))
    }

    /// Closes idle sessions of other databases until one more fits.
    async fn make_room(&self, database: &str) {
        loop {
            let pools: Vec<(String, PgPool)> = self.pools.lock().map(|p| p.clone()).unwrap_or_default();
            let open: u32 = pools.iter().map(|(_, p)| p.size()).sum();
            if open < self.budget {
                return;
            }
            let idle = pools.iter().filter(|(db, _)| db != database).find_map(|(_, p)| p.try_acquire());
            match idle {
                Some(conn) => {
                    let _ = conn.close().await;
                }
                // Every open session is in use or being opened: the
                // permits keep that within the budget.
                None => return,
            }
        }
    }
}
