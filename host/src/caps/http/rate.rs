//! A token bucket per origin: `burst` requests at once, then `rate` per
//! second. A caller that finds the bucket empty reserves the next token and
//! sleeps until it is due, so waiting callers are served in order and the
//! rate holds however many instances share the limiter.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct RateLimiter {
    /// Tokens per second; not finite or not positive means no limit.
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Below zero when callers are waiting for tokens not yet refilled.
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    /// `rate_per_sec` of 0 (or anything not finite and positive) turns the
    /// limit off; `burst` is at least 1.
    pub fn new(rate_per_sec: f64, burst: u32) -> Self {
        RateLimiter { rate: rate_per_sec, burst: f64::from(burst.max(1)), buckets: Mutex::new(HashMap::new()) }
    }

    fn unlimited(&self) -> bool {
        !(self.rate.is_finite() && self.rate > 0.0)
    }

    /// Takes a token for `key`, waiting until one is due.
    pub async fn acquire(&self, key: &str) {
        let wait = self.reserve(key, Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Takes a token for `key` as of `now`; returns how long the caller
    /// must wait before using it.
    fn reserve(&self, key: &str, now: Instant) -> Duration {
        if self.unlimited() {
            return Duration::ZERO;
        }
        // A panic elsewhere cannot leave a bucket half-updated: take the
        // map as it is.
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let bucket = buckets.entry(key.to_string()).or_insert(Bucket { tokens: self.burst, updated: now });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate).min(self.burst);
        bucket.updated = now.max(bucket.updated);
        bucket.tokens -= 1.0;
        if bucket.tokens >= 0.0 { Duration::ZERO } else { Duration::from_secs_f64(-bucket.tokens / self.rate) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(d: Duration) -> u128 {
        d.as_millis()
    }

    #[test]
    fn a_burst_passes_then_tokens_come_at_the_rate() {
        let limiter = RateLimiter::new(10.0, 3);
        let t0 = Instant::now();
        let waits: Vec<u128> = (0..6).map(|_| ms(limiter.reserve("a", t0))).collect();
        assert_eq!(waits, vec![0, 0, 0, 100, 200, 300]);
    }

    #[test]
    fn tokens_refill_with_time_up_to_the_burst() {
        let limiter = RateLimiter::new(10.0, 2);
        let t0 = Instant::now();
        assert_eq!(ms(limiter.reserve("a", t0)), 0);
        assert_eq!(ms(limiter.reserve("a", t0)), 0);
        assert_eq!(ms(limiter.reserve("a", t0)), 100);
        // Ten seconds later the bucket is full again, but no fuller.
        let later = t0 + Duration::from_secs(10);
        assert_eq!(ms(limiter.reserve("a", later)), 0);
        assert_eq!(ms(limiter.reserve("a", later)), 0);
        assert_eq!(ms(limiter.reserve("a", later)), 100);
    }

    #[test]
    fn origins_have_buckets_of_their_own() {
        let limiter = RateLimiter::new(1.0, 1);
        let t0 = Instant::now();
        assert_eq!(ms(limiter.reserve("a", t0)), 0);
        assert_eq!(ms(limiter.reserve("b", t0)), 0);
        assert_eq!(ms(limiter.reserve("a", t0)), 1000);
    }

    #[test]
    fn a_zero_rate_means_no_limit() {
        let limiter = RateLimiter::new(0.0, 1);
        let t0 = Instant::now();
        assert!((0..100).all(|_| limiter.reserve("a", t0).is_zero()));
    }
}
