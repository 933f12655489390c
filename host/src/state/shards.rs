//! The shards of a run's plan in the store, for runs whose shards several
//! processes take (the pods of a distributed run, or a run resumed after it
//! was killed). A process claims a shard with a lease and renews it while
//! it works; a shard whose owner died is taken again once the lease has run
//! out; a shard done is never done twice.
//!
//! The store keeps each shard's body (its refs, as the planner serializes
//! them) and outcome (its counts) as text it does not read, so it needs to
//! know nothing of plans.

use super::{StateError, StateStore};
use crate::engines::on_pool;
use sqlx::Row;
use std::time::Duration;

/// One shard of a plan, as the planner hands it to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewShard {
    pub id: String,
    pub kind: String,
    pub cost: u64,
    /// The refs, serialized by the planner.
    pub body: String,
}

/// What became of a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Yours until the lease runs out: this is attempt `attempt` (1 for
    /// the first), and `body` is what the planner stored.
    Claimed { attempt: u32, body: String },
    /// Already done, by an earlier attempt: nothing to do.
    Done,
    /// Another process holds a lease that runs out in `left`.
    Held { owner: String, left: Duration },
    /// The run has no such shard.
    Missing,
}

/// A shard's standing, for progress and the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardState {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub attempts: u32,
    pub owner: Option<String>,
    pub outcome: Option<String>,
}

impl StateStore {
    /// Stores the plan of `run_id`, in order. Storing it again (a discovery
    /// run twice for one run id) keeps the shards already stored, and their
    /// progress.
    pub async fn plan_shards(&self, run_id: &str, shards: &[NewShard]) -> Result<(), StateError> {
        const INSERT: &str = "INSERT INTO shard (run_id, shard_id, position, kind, cost, body, status, attempts) ";
        const KEEP: &str = " ON CONFLICT (run_id, shard_id) DO NOTHING";
        let positioned: Vec<(i64, &NewShard)> = shards.iter().enumerate().map(|(i, s)| (i as i64, s)).collect();
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin_write).await.map_err(self.query_error())?;
            for chunk in positioned.chunks(super::ROWS_PER_INSERT) {
                let mut insert = sqlx::QueryBuilder::new(INSERT);
                insert.push_values(chunk, |mut row, (position, s)| {
                    row.push_bind(run_id)
                        .push_bind(s.id.as_str())
                        .push_bind(*position)
                        .push_bind(s.kind.as_str())
                        .push_bind(i64::try_from(s.cost).unwrap_or(i64::MAX))
                        .push_bind(s.body.as_str())
                        .push_bind("pending")
                        .push_bind(0_i64);
                });
                insert.push(KEEP);
                insert.build().execute(&mut *tx).await.map_err(self.query_error())?;
            }
            tx.commit().await.map_err(self.query_error())?;
        });
        Ok(())
    }

    /// Claims `shard_id` of `run_id` for `owner` for `lease`: a pending
    /// shard, one whose holder's lease ran out, or one `owner` holds
    /// already (its own retry).
    pub async fn claim(&self, run_id: &str, shard_id: &str, owner: &str, lease: Duration) -> Result<Claim, StateError> {
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        let claimed: Option<(i64, String)> = on_pool!(self, |pool, dialect| {
            let claim = format!(
                "UPDATE shard SET status = 'running', attempts = attempts + 1, owner = $3, lease_until = {now} + $4
                 WHERE run_id = $1 AND shard_id = $2
                   AND (status IN ('pending', 'unsettled')
                        OR (status = 'running' AND (lease_until < {now} OR owner = $3)))
                 RETURNING attempts, body",
                now = dialect.now_ms
            );
            let row = sqlx::query(sqlx::AssertSqlSafe(claim))
                .bind(run_id)
                .bind(shard_id)
                .bind(owner)
                .bind(lease_ms)
                .fetch_optional(pool)
                .await
                .map_err(self.query_error())?;
            match row {
                Some(row) => Some((
                    row.try_get("attempts").map_err(self.query_error())?,
                    row.try_get("body").map_err(self.query_error())?,
                )),
                None => None,
            }
        });
        if let Some((attempts, body)) = claimed {
            return Ok(Claim::Claimed { attempt: u32::try_from(attempts).unwrap_or(u32::MAX), body });
        }
        let standing: Option<(String, Option<String>, i64)> = on_pool!(self, |pool, dialect| {
            let look = format!(
                "SELECT status, owner, COALESCE(lease_until, 0) - {} AS left_ms FROM shard
                 WHERE run_id = $1 AND shard_id = $2",
                dialect.now_ms
            );
            let row = sqlx::query(sqlx::AssertSqlSafe(look))
                .bind(run_id)
                .bind(shard_id)
                .fetch_optional(pool)
                .await
                .map_err(self.query_error())?;
            match row {
                Some(row) => Some((
                    row.try_get("status").map_err(self.query_error())?,
                    row.try_get("owner").map_err(self.query_error())?,
                    row.try_get("left_ms").map_err(self.query_error())?,
                )),
                None => None,
            }
        });
        Ok(match standing {
            None => Claim::Missing,
            Some((status, _, _)) if status == "done" => Claim::Done,
            Some((_, owner, left_ms)) => Claim::Held {
                owner: owner.unwrap_or_default(),
                left: Duration::from_millis(u64::try_from(left_ms).unwrap_or(0)),
            },
        })
    }

    /// Extends `owner`'s lease on a shard it works on; `false` when it no
    /// longer holds it (its lease ran out and another process took it).
    pub async fn renew(&self, run_id: &str, shard_id: &str, owner: &str, lease: Duration) -> Result<bool, StateError> {
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        let renewed = on_pool!(self, |pool, dialect| {
            let renew = format!(
                "UPDATE shard SET lease_until = {} + $4
                 WHERE run_id = $1 AND shard_id = $2 AND owner = $3 AND status = 'running'",
                dialect.now_ms
            );
            sqlx::query(sqlx::AssertSqlSafe(renew))
                .bind(run_id)
                .bind(shard_id)
                .bind(owner)
                .bind(lease_ms)
                .execute(pool)
                .await
                .map_err(self.query_error())?
                .rows_affected()
        });
        Ok(renewed == 1)
    }

    /// Marks a shard `owner` holds done, with its outcome; `false` when it
    /// no longer held it, and the outcome was not recorded: each shard's
    /// counts are recorded once. A shard not `settled` (some of its
    /// entities failed for a cause that may pass) keeps its outcome but may
    /// be claimed again, and a later attempt's outcome replaces it.
    pub async fn complete(
        &self,
        run_id: &str,
        shard_id: &str,
        owner: &str,
        outcome: &str,
        settled: bool,
    ) -> Result<bool, StateError> {
        match self.complete_many(run_id, owner, &[(shard_id.to_string(), outcome.to_string(), settled)]).await {
            Ok(()) => Ok(true),
            Err(StateError::NotHeld { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Forgets the plan of `run_id`: what a discovery killed before it was
    /// recorded left, before the plan is made again.
    pub async fn forget_plan(&self, run_id: &str) -> Result<(), StateError> {
        const FORGET: &str = "DELETE FROM shard WHERE run_id = $1";
        on_pool!(self, |pool, _d| sqlx::query(FORGET)
            .bind(run_id)
            .execute(pool)
            .await
            .map_err(self.query_error())?
            .rows_affected());
        Ok(())
    }

    /// Claims every shard of `run_id` not done yet for `owner`, whoever
    /// held it: for the one process of a run that does all its shards (a
    /// run resumed takes over what its dead process held). Returns how many.
    pub async fn claim_all(&self, run_id: &str, owner: &str, lease: Duration) -> Result<u64, StateError> {
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        let claimed = on_pool!(self, |pool, dialect| {
            let claim = format!(
                "UPDATE shard SET status = 'running', attempts = attempts + 1, owner = $2, lease_until = {} + $3
                 WHERE run_id = $1 AND status <> 'done'",
                dialect.now_ms
            );
            sqlx::query(sqlx::AssertSqlSafe(claim))
                .bind(run_id)
                .bind(owner)
                .bind(lease_ms)
                .execute(pool)
                .await
                .map_err(self.query_error())?
                .rows_affected()
        });
        Ok(claimed)
    }

    /// [`StateStore::complete`] for several shards at once, in one
    /// transaction: (shard id, outcome, settled). All or none: a shard that
    /// is no longer `owner`'s (its lease ran out, another process took it)
    /// records none of them, and says which.
    pub async fn complete_many(
        &self,
        run_id: &str,
        owner: &str,
        shards: &[(String, String, bool)],
    ) -> Result<(), StateError> {
        const DONE: &str = "UPDATE shard SET status = $5, outcome = $4, lease_until = NULL
             WHERE run_id = $1 AND shard_id = $2 AND owner = $3 AND status = 'running'";
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin_write).await.map_err(self.query_error())?;
            for (shard_id, outcome, settled) in shards {
                let status = if *settled { "done" } else { "unsettled" };
                let done = sqlx::query(DONE)
                    .bind(run_id)
                    .bind(shard_id)
                    .bind(owner)
                    .bind(outcome)
                    .bind(status)
                    .execute(&mut *tx)
                    .await
                    .map_err(self.query_error())?
                    .rows_affected();
                if done == 0 {
                    return Err(StateError::NotHeld { shard: shard_id.clone(), owner: owner.to_string() });
                }
            }
            tx.commit().await.map_err(self.query_error())?;
        });
        Ok(())
    }

    /// The outcomes of the shards of `run_id` that are done, and the bodies
    /// of those that are not, each in plan order.
    pub async fn progress(&self, run_id: &str) -> Result<(Vec<String>, Vec<String>), StateError> {
        const DONE: &str = "SELECT outcome FROM shard WHERE run_id = $1 AND status = 'done' ORDER BY position";
        const LEFT: &str = "SELECT body FROM shard WHERE run_id = $1 AND status <> 'done' ORDER BY position";
        let (done, left): (Vec<Option<String>>, Vec<String>) = on_pool!(self, |pool, _d| {
            let done = sqlx::query_scalar(DONE).bind(run_id).fetch_all(pool).await.map_err(self.query_error())?;
            let left = sqlx::query_scalar(LEFT).bind(run_id).fetch_all(pool).await.map_err(self.query_error())?;
            (done, left)
        });
        Ok((done.into_iter().flatten().collect(), left))
    }

    /// Forgets the deferred records of every shard of `run_id` not done:
    /// they are done again, and keep their records again.
    pub async fn forget_unfinished(&self, run_id: &str) -> Result<u64, StateError> {
        const FORGET: &str = "DELETE FROM deferred WHERE run_id = $1
             AND shard_id IN (SELECT shard_id FROM shard WHERE run_id = $1 AND status <> 'done')";
        let gone = on_pool!(self, |pool, _d| sqlx::query(FORGET)
            .bind(run_id)
            .execute(pool)
            .await
            .map_err(self.query_error())?
            .rows_affected());
        Ok(gone)
    }

    /// Gives up `owner`'s claim on a shard it could not finish (the sink
    /// went away, say), so its next attempt need not wait for the lease.
    pub async fn release(&self, run_id: &str, shard_id: &str, owner: &str) -> Result<(), StateError> {
        const RELEASE: &str = "UPDATE shard SET status = 'pending', owner = NULL, lease_until = NULL
             WHERE run_id = $1 AND shard_id = $2 AND owner = $3 AND status = 'running'";
        on_pool!(self, |pool, _d| sqlx::query(RELEASE)
            .bind(run_id)
            .bind(shard_id)
            .bind(owner)
            .execute(pool)
            .await
            .map_err(self.query_error())?
            .rows_affected());
        Ok(())
    }

    /// Shards of `run_id` done, and in all: a run's progress, in one query.
    pub async fn shard_tally(&self, run_id: &str) -> Result<(u64, u64), StateError> {
        const TALLY: &str = "SELECT count(CASE WHEN status = 'done' THEN 1 END), count(*) FROM shard WHERE run_id = $1";
        let (done, all): (i64, i64) = on_pool!(self, |pool, _d| sqlx::query_as(TALLY)
            .bind(run_id)
            .fetch_one(pool)
            .await
            .map_err(self.query_error())?);
        Ok((done.max(0) as u64, all.max(0) as u64))
    }

    /// What the planner stored for one shard of `run_id`.
    pub async fn shard_body(&self, run_id: &str, shard_id: &str) -> Result<Option<String>, StateError> {
        const BODY: &str = "SELECT body FROM shard WHERE run_id = $1 AND shard_id = $2";
        let body = on_pool!(self, |pool, _d| sqlx::query_scalar(BODY)
            .bind(run_id)
            .bind(shard_id)
            .fetch_optional(pool)
            .await
            .map_err(self.query_error())?);
        Ok(body)
    }

    /// The body of every shard of `run_id`'s plan, in plan order: what the
    /// run discovered and kept, for what it saw.
    pub async fn plan_bodies(&self, run_id: &str) -> Result<Vec<String>, StateError> {
        const ALL: &str = "SELECT body FROM shard WHERE run_id = $1 ORDER BY position";
        let bodies = on_pool!(self, |pool, _d| sqlx::query_scalar(ALL)
            .bind(run_id)
            .fetch_all(pool)
            .await
            .map_err(self.query_error())?);
        Ok(bodies)
    }

    /// Every shard of `run_id`, in plan order.
    pub async fn shards(&self, run_id: &str) -> Result<Vec<ShardState>, StateError> {
        const ALL: &str = "SELECT shard_id, kind, status, attempts, owner, outcome FROM shard
             WHERE run_id = $1 ORDER BY position";
        on_pool!(self, |pool, _d| {
            let rows = sqlx::query(ALL).bind(run_id).fetch_all(pool).await.map_err(self.query_error())?;
            rows.iter()
                .map(|row| {
                    let attempts: i64 = row.try_get("attempts")?;
                    Ok(ShardState {
                        id: row.try_get("shard_id")?,
                        kind: row.try_get("kind")?,
                        status: row.try_get("status")?,
                        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                        owner: row.try_get("owner")?,
                        outcome: row.try_get("outcome")?,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()
                .map_err(self.query_error())
        })
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::tests::{Place, fk};
    use super::*;

    pub(in crate::state) fn plan() -> Vec<NewShard> {
        ["schema-0000", "table-0000", "table-0001"]
            .iter()
            .map(|id| NewShard {
                id: id.to_string(),
                kind: id.split('-').next().unwrap_or_default().into(),
                cost: 10,
                body: format!("[\"refs of {id}\"]"),
            })
            .collect()
    }

    #[tokio::test]
    async fn a_shard_is_claimed_once_taken_again_after_its_lease_and_done_once() {
        for place in Place::both("shards").await {
            let store = place.open().await;
            let shown = store.shown().to_string();
            store.plan_shards("run", &plan()).await.unwrap();
            store.plan_shards("run", &plan()[..1]).await.unwrap();
            store.plan_shards("other-run", &plan()).await.unwrap();
            let ids: Vec<String> = store.shards("run").await.unwrap().into_iter().map(|s| s.id).collect();
            assert_eq!(ids, ["schema-0000", "table-0000", "table-0001"], "in plan order, once: {shown}");

            let long = Duration::from_secs(60);
            let first = store.claim("run", "table-0000", "pod-a", long).await.unwrap();
            assert_eq!(first, Claim::Claimed { attempt: 1, body: "[\"refs of table-0000\"]".into() }, "{shown}");
            match store.claim("run", "table-0000", "pod-b", long).await.unwrap() {
                Claim::Held { owner, left } => {
                    assert_eq!(owner, "pod-a", "{shown}");
                    assert!(left > Duration::from_secs(50) && left <= long, "{left:?}: {shown}");
                }
                other => panic!("a held shard was handed to another pod: {other:?} ({shown})"),
            }
            assert!(store.renew("run", "table-0000", "pod-a", long).await.unwrap(), "{shown}");
            assert!(!store.renew("run", "table-0000", "pod-b", long).await.unwrap(), "{shown}");

            // pod-a dies: a lease of 50 ms runs out and pod-b takes the shard.
            store.claim("run", "table-0001", "pod-a", Duration::from_millis(50)).await.unwrap();
            tokio::time::sleep(Duration::from_millis(120)).await;
            let retaken = store.claim("run", "table-0001", "pod-b", long).await.unwrap();
            assert!(matches!(retaken, Claim::Claimed { attempt: 2, .. }), "{retaken:?}: {shown}");
            assert!(!store.complete("run", "table-0001", "pod-a", "{}", true).await.unwrap(), "the dead pod's outcome");
            assert!(store.complete("run", "table-0001", "pod-b", "{\"written\":1}", true).await.unwrap(), "{shown}");
            assert!(!store.complete("run", "table-0001", "pod-b", "{\"written\":2}", true).await.unwrap(), "twice");
            assert_eq!(store.claim("run", "table-0001", "pod-c", long).await.unwrap(), Claim::Done, "{shown}");
            assert_eq!(store.claim("run", "nope", "pod-c", long).await.unwrap(), Claim::Missing, "{shown}");

            let states = store.shards("run").await.unwrap();
            let done = states.iter().find(|s| s.id == "table-0001").unwrap();
            assert_eq!((done.status.as_str(), done.attempts), ("done", 2), "{shown}");
            assert_eq!(done.outcome.as_deref(), Some("{\"written\":1}"), "recorded once: {shown}");
            assert_eq!(store.shards("other-run").await.unwrap()[1].status, "pending", "runs apart: {shown}");

            // A shard that ended with failures that may pass is run again;
            // one its pod gave up on is free at once.
            store.claim("run", "schema-0000", "pod-a", long).await.unwrap();
            store.complete("run", "schema-0000", "pod-a", "{\"failed\":1}", false).await.unwrap();
            let again = store.claim("run", "schema-0000", "pod-d", long).await.unwrap();
            assert!(matches!(again, Claim::Claimed { attempt: 2, .. }), "{again:?}: {shown}");
            store.release("run", "schema-0000", "pod-d").await.unwrap();
            let free = store.claim("run", "schema-0000", "pod-e", long).await.unwrap();
            assert!(matches!(free, Claim::Claimed { attempt: 3, .. }), "{free:?}: {shown}");

            store.finish_run("run", "svc").await.unwrap();
            assert!(store.shards("run").await.unwrap().is_empty(), "forgotten with its run: {shown}");
            assert_eq!(store.shards("other-run").await.unwrap().len(), 3, "{shown}");
        }
    }

    #[tokio::test]
    async fn a_process_that_lost_its_lease_keeps_no_record_of_the_shard() {
        for place in Place::both("lost-lease").await {
            let store = place.open().await;
            let shown = store.shown().to_string();
            store.plan_shards("run", &plan()).await.unwrap();
            store.claim("run", "table-0000", "pod-a", Duration::from_millis(50)).await.unwrap();
            store.defer("run", Some(("table-0000", "pod-a")), &[fk(1)]).await.unwrap();
            // pod-a stalls past its lease; pod-b takes the shard over and
            // starts its records afresh.
            tokio::time::sleep(Duration::from_millis(120)).await;
            store.claim("run", "table-0000", "pod-b", Duration::from_secs(60)).await.unwrap();
            assert_eq!(store.forget_shard("run", "table-0000").await.unwrap(), 1, "{shown}");
            store.defer("run", Some(("table-0000", "pod-b")), &[fk(1), fk(2)]).await.unwrap();
            // pod-a wakes up and goes on: refused, and nothing of it kept.
            let late = store.defer("run", Some(("table-0000", "pod-a")), &[fk(1), fk(2)]).await;
            assert!(matches!(late, Err(StateError::NotHeld { .. })), "{late:?}: {shown}");
            assert!(late.is_err_and(|e| e.may_pass()), "{shown}");
            assert_eq!(store.count("run").await.unwrap(), 2, "pod-b's records only: {shown}");
            // A shard done is held by no one.
            store.complete("run", "table-0000", "pod-b", "{}", true).await.unwrap();
            let after = store.defer("run", Some(("table-0000", "pod-b")), &[fk(3)]).await;
            assert!(matches!(after, Err(StateError::NotHeld { .. })), "{after:?}: {shown}");
            // Nor is its outcome recorded, for this shard or any recorded with it.
            store.claim("run", "table-0001", "pod-a", Duration::from_secs(60)).await.unwrap();
            let both = [("table-0001".to_string(), "{}".to_string(), true), ("table-0000".into(), "{}".into(), true)];
            let late = store.complete_many("run", "pod-a", &both).await;
            assert!(matches!(late, Err(StateError::NotHeld { ref shard, .. }) if shard == "table-0000"), "{late:?}");
            let states = store.shards("run").await.unwrap();
            assert_eq!(states.iter().find(|s| s.id == "table-0001").unwrap().status, "running", "none: {shown}");
        }
    }
}
