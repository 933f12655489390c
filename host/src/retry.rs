//! How weir tries again: the backoff policy every retry loop follows
//! (`weir.retry`), the counter that decides whether one more attempt is
//! due, and the one reading of a server's `Retry-After`.
//!
//! The scheduler, the HTTP capability, the OpenMetadata client and the
//! sink pipeline each keep their own loop, since what counts as "worth
//! retrying" differs; how long to wait and when to stop is decided here.

use serde::Deserialize;
use std::time::Duration;

/// How transient failures are retried (`weir.retry`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub attempts: u32,
    /// The first delay, in milliseconds; each retry doubles it.
    pub base_delay_ms: u64,
    /// No delay grows past this, in milliseconds.
    pub max_delay_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { attempts: 3, base_delay_ms: 200, max_delay_ms: 10_000 }
    }
}

impl RetryPolicy {
    /// The delay before retry number `retry` (1-based): exponential, capped,
    /// and drawn from its upper half so that instances that failed together
    /// do not come back together.
    pub fn delay(&self, retry: u32) -> Duration {
        let exponent = retry.saturating_sub(1).min(20);
        let full = self.base_delay_ms.saturating_mul(1 << exponent).min(self.max_delay_ms);
        let jittered = full as f64 * (0.5 + fastrand::f64() * 0.5);
        Duration::from_millis(jittered as u64)
    }

    /// A counter of the retries of one piece of work under this policy.
    pub fn backoff(&self) -> Backoff<'_> {
        Backoff { policy: self, retries: 0 }
    }
}

/// The retries of one piece of work: each failed attempt asks it for the
/// wait before the next one, until the policy's retries are used up.
pub struct Backoff<'a> {
    policy: &'a RetryPolicy,
    retries: u32,
}

impl Backoff<'_> {
    /// The wait before the next attempt, or `None` when no retry is left.
    /// A wait the server asked for (`Retry-After`) is honoured as asked;
    /// without one, the policy's backoff.
    pub fn next(&mut self, asked: Option<Duration>) -> Option<Duration> {
        if self.retries >= self.policy.attempts {
            return None;
        }
        self.retries += 1;
        Some(asked.unwrap_or_else(|| self.policy.delay(self.retries)))
    }

    /// Whether another retry is left.
    pub fn can_retry(&self) -> bool {
        self.retries < self.policy.attempts
    }

    /// Retries made so far.
    pub fn retries(&self) -> u32 {
        self.retries
    }
}

/// Whether a database error may pass if the same work runs again later:
/// the server was unreachable, shutting down, out of connections or
/// resources, or the work lost a serialization race. A refusal (a wrong
/// password, a missing database or table, bad SQL) will not pass.
pub fn sqlx_error_may_pass(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            // PostgreSQL's codes have five characters: class 08 connection
            // exception, 53 insufficient resources, 57P0x shutdowns,
            // 40001/40P01 lost races.
            sqlite_busy(err)
                || (code.len() == 5
                    && (code.starts_with("08")
                        || code.starts_with("53")
                        || ["57P01", "57P02", "57P03", "40001", "40P01"].contains(&code.as_ref())))
        }
        _ => false,
    }
}

/// SQLite's "busy" and "locked" codes, extended ones included: another
/// writer holds the file.
pub fn sqlite_busy(err: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = err else { return false };
    let code = db.code().unwrap_or_default();
    code.len() < 5 && code.parse::<u32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6))
}

/// A `Retry-After` header's value in delta-seconds. The HTTP-date form is
/// not read: no server weir talks to sends it, and a wrong clock would turn
/// it into no wait or an hour's.
pub fn retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_and_keep_their_upper_half() {
        let policy = RetryPolicy { attempts: 5, base_delay_ms: 100, max_delay_ms: 1_000 };
        for (retry, full) in [(1, 100), (2, 200), (3, 400), (4, 800), (5, 1_000), (30, 1_000)] {
            for _ in 0..50 {
                let ms = policy.delay(retry).as_millis() as u64;
                assert!(ms >= full / 2 && ms <= full, "retry {retry}: {ms} ms outside {}..={full}", full / 2);
            }
        }
    }

    #[test]
    fn delays_are_spread_out() {
        let policy = RetryPolicy::default();
        let mut seen: Vec<u128> = (0..20).map(|_| policy.delay(3).as_millis()).collect();
        seen.sort();
        seen.dedup();
        assert!(seen.len() > 5, "jitter gave {seen:?}");
    }

    #[test]
    fn a_backoff_stops_after_the_policys_attempts_and_honours_what_was_asked() {
        let policy = RetryPolicy { attempts: 2, base_delay_ms: 100, max_delay_ms: 1_000 };
        let mut backoff = policy.backoff();
        assert_eq!(backoff.next(Some(Duration::from_secs(7))), Some(Duration::from_secs(7)));
        let second = backoff.next(None).map(|d| d.as_millis());
        assert!(second.is_some_and(|ms| (100..=200).contains(&ms)), "{second:?}");
        assert!(!backoff.can_retry());
        assert_eq!(backoff.next(None), None);
        assert_eq!(backoff.retries(), 2);
    }

    #[test]
    fn retry_after_is_read_in_seconds() {
        assert_eq!(retry_after(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(retry_after("0"), Some(Duration::ZERO));
        assert_eq!(retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(retry_after(""), None);
    }
}
